//! `restore` end to end with the real binary and the fake 1C: archives made
//! by the real `backup` command (copy, Designer dump, ibcmd dump; zip,
//! tar.zst, folder), `latest`, the non-empty folder refusal and `--force`,
//! hostile archives crafted by hand that cannot write outside the folder, a
//! damaged archive, a dump the fake 1C refuses, 1C missing, and the
//! password kept out of every output, log and child environment.

use crate::util::{World, ok_stdout};
use onec_backup_bot::onec::files::{CD_HEADER_LEN, check_1cd_header};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Record the fake 1C's calls (and environment) in files of the world.
fn record_calls(w: &World, extra: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    let args = w.dir.path().join("fake-args.txt");
    let env = w.dir.path().join("fake-env.txt");
    let mut text = format!(
        "FAKE_1C_ARGS_FILE={}\nFAKE_1C_ENV_FILE={}\n",
        args.display(),
        env.display()
    );
    for (k, v) in extra {
        text.push_str(&format!("{k}={v}\n"));
    }
    fs::write(w.bin.join("fake-1c.env"), text).unwrap();
    (args, env)
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

fn backup(w: &World) {
    ok_stdout(w.cmd().args(["backup", "--force"]).output().unwrap());
}

/// `restore <what> --to <to> --json <extra>`: exit code, report, stderr.
fn restore(w: &World, what: &str, to: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let out = w
        .cmd()
        .args(["restore", what, "--to"])
        .arg(to)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad json ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap(), v, stderr)
}

/// The 1Cv8.1CD in `dir` passes the header check; its page count.
fn valid_base(dir: &Path) -> u32 {
    let mut f = fs::File::open(dir.join("1Cv8.1CD")).unwrap();
    let mut h = [0u8; CD_HEADER_LEN];
    f.read_exact(&mut h).unwrap();
    let len = f.metadata().unwrap().len();
    check_1cd_header(&h, len).unwrap().pages
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn copy_archives_of_every_kind_restore_byte_for_byte() {
    for compress in ["zip", "zstd", "none"] {
        let mut w = World::new(40);
        w.set("BACKUP_METHOD", "copy")
            .set("BACKUP_COMPRESS", compress)
            .set("BACKUP_INCLUDE_LOG", "true");
        backup(&w);
        let to = w.dir.path().join("restored");
        let (code, v, err) = restore(&w, "latest", &to, &[]);
        assert_eq!(code, 0, "{compress}: {v} {err}");
        assert_eq!(v["ok"], true);
        assert_eq!(v["kind"], "copy");
        assert_eq!(v["detail"], "1CD 8.3.8, 40 pages x 8192", "{v}");
        assert_eq!(
            fs::read(to.join("1Cv8.1CD")).unwrap(),
            fs::read(w.base.join("1Cv8.1CD")).unwrap(),
            "{compress}"
        );
        assert_eq!(read(&to.join("1Cv8Log/1Cv8.lgf")), "log header\n");
        // The archive named by its path restores the same.
        let archive = w.archives().into_iter().next().unwrap();
        let again = w.dir.path().join("again");
        let (code, v, err) = restore(&w, w.backups.join(&archive).to_str().unwrap(), &again, &[]);
        assert_eq!(code, 0, "{v} {err}");
        assert_eq!(valid_base(&again), 40);
    }
}

#[test]
fn a_designer_dump_is_loaded_with_createinfobase_and_restoreib() {
    let w = World::new(8);
    backup(&w);
    let (args, _) = record_calls(&w, &[]);
    let to = w.dir.path().join("new base");
    let out = w
        .cmd()
        .args(["restore", "latest", "--to"])
        .arg(&to)
        .output()
        .unwrap();
    let stdout = ok_stdout(out);
    assert!(stdout.contains("loaded by 1cv8"), "{stdout}");
    assert!(stdout.contains("the dump's own users apply"), "{stdout}");
    let calls = read(&args);
    let lines: Vec<&str> = calls.lines().collect();
    let create = lines
        .iter()
        .position(|l| *l == "CREATEINFOBASE")
        .expect(&calls);
    assert_eq!(lines[create + 1], format!("File=\"{}\";", to.display()));
    let designer = lines.iter().position(|l| *l == "/RestoreIB").expect(&calls);
    assert!(designer > create, "{calls}");
    assert!(lines[designer + 1].ends_with(".dt"), "{calls}");
    assert!(lines.contains(&"/DumpResult") && lines.contains(&"/DisableStartupDialogs"));
    assert!(
        !calls.contains("/P"),
        "no credentials for a new base: {calls}"
    );
    // A valid base; the extracted .dt and the 1C log are gone.
    assert!(valid_base(&to) > 3);
    assert_eq!(files_in(&to), ["1Cv8.1CD"]);
}

#[test]
fn an_ibcmd_dump_in_a_tar_zst_is_loaded_by_ibcmd() {
    let mut w = World::new(8);
    w.set("BACKUP_METHOD", "ibcmd")
        .set("BACKUP_COMPRESS", "zstd");
    backup(&w);
    let (args, _) = record_calls(&w, &[]);
    let to = w.dir.path().join("restored");
    let (code, v, err) = restore(&w, "latest", &to, &[]);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(
        (v["kind"].as_str(), v["by"].as_str()),
        (Some("dump"), Some("ibcmd"))
    );
    let calls = read(&args);
    let expected = format!(
        "infobase\nrestore\n--db-path={}\n--create-database\n",
        to.display()
    );
    assert!(calls.starts_with(&expected), "{calls}");
    assert!(valid_base(&to) > 3);
    assert!(
        v["note"].as_str().unwrap().contains("dump's own users"),
        "{v}"
    );
}

#[test]
fn a_non_empty_folder_is_refused_and_force_restores_over_it() {
    let mut w = World::new(8);
    w.set("BACKUP_METHOD", "copy");
    backup(&w);
    let to = w.dir.path().join("busy");
    fs::create_dir_all(&to).unwrap();
    fs::write(to.join("1Cv8.1CD"), "someone's base").unwrap();
    let (code, v, _) = restore(&w, "latest", &to, &[]);
    assert_eq!(code, 2, "{v}");
    assert!(v["error"].as_str().unwrap().contains("--force"), "{v}");
    assert_eq!(read(&to.join("1Cv8.1CD")), "someone's base");
    let (code, v, err) = restore(&w, "latest", &to, &["--force"]);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(valid_base(&to), 8);
}

/// Run `restore` on a hand-made archive: exit 1, the entry named, nothing
/// written outside `to` (a folder two levels down in a fresh temp dir).
fn refused(w: &World, archive: &Path, entry: &str) {
    let root = w.dir.path().join(format!(
        "h-{}",
        archive.file_name().unwrap().to_string_lossy()
    ));
    let to = root.join("a/to");
    let (code, v, _) = restore(w, archive.to_str().unwrap(), &to, &[]);
    assert_eq!(code, 1, "{v}");
    let err = v["error"].as_str().unwrap();
    assert!(err.contains(entry) && err.contains("refused"), "{err}");
    let mut left = Vec::new();
    for e in walk(&root) {
        left.push(e);
    }
    assert!(left.is_empty(), "written: {left:?}");
    assert!(!Path::new("/abs").exists() && !Path::new("/tmp/x-restore-escape").exists());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn hostile_entry_names_cannot_escape_the_folder() {
    let w = World::new(4);
    for (i, name) in ["../x", "../../x", "/abs", "C:\\x", "c:/x"]
        .iter()
        .enumerate()
    {
        let archive = w.dir.path().join(format!("hostile{i}.zip"));
        let mut z = zip::ZipWriter::new(fs::File::create(&archive).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        z.start_file("1Cv8Log/ok.txt", opts).unwrap();
        z.write_all(b"fine").unwrap();
        z.start_file(*name, opts).unwrap();
        z.write_all(b"evil").unwrap();
        z.finish().unwrap();
        refused(&w, &archive, name);
    }
    // A symlink entry in a zip and in a tar.
    let archive = w.dir.path().join("link.zip");
    let mut z = zip::ZipWriter::new(fs::File::create(&archive).unwrap());
    z.add_symlink(
        "1Cv8.1CD",
        "/etc/passwd",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    z.finish().unwrap();
    refused(&w, &archive, "1Cv8.1CD");
    for (name, kind) in [
        ("link", tar::EntryType::Symlink),
        ("hard", tar::EntryType::Link),
        ("/tmp/x-restore-escape", tar::EntryType::Regular),
        ("../x", tar::EntryType::Regular),
    ] {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        // Raw name bytes: the builder's own path checks are what we test past.
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(kind);
        h.set_size(if kind == tar::EntryType::Regular {
            4
        } else {
            0
        });
        if kind != tar::EntryType::Regular {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_mode(0o644);
        h.set_cksum();
        let data: &[u8] = if kind == tar::EntryType::Regular {
            b"evil"
        } else {
            b""
        };
        b.append(&h, data).unwrap();
        let tar = b.into_inner().unwrap();
        let archive = w
            .dir
            .path()
            .join(format!("{}.tar.zst", name.replace('/', "_")));
        fs::write(&archive, zstd::encode_all(&tar[..], 1).unwrap()).unwrap();
        refused(&w, &archive, name);
    }
}

#[test]
fn a_damaged_archive_fails_with_exit_1_and_leaves_no_folder() {
    let mut w = World::new(40);
    w.set("BACKUP_METHOD", "copy");
    backup(&w);
    let archive = w.backups.join(w.archives().into_iter().next().unwrap());
    let mut bytes = fs::read(&archive).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xA5;
    fs::write(&archive, &bytes).unwrap();
    let to = w.dir.path().join("restored");
    let (code, v, _) = restore(&w, "latest", &to, &[]);
    assert_eq!(code, 1, "{v}");
    assert!(v["error"].as_str().unwrap().contains("damaged"), "{v}");
    assert!(!to.exists());
}

#[test]
fn a_dump_the_fake_1c_did_not_write_is_refused_and_kept() {
    let w = World::new(4);
    let dt = w.dir.path().join("foreign.dt");
    let mut f = fs::File::create(&dt).unwrap();
    onec_backup_bot::onec::generate::write_dt(&mut f, 50_000, 1).unwrap();
    drop(f);
    let to = w.dir.path().join("restored");
    let (code, v, _) = restore(&w, dt.to_str().unwrap(), &to, &[]);
    assert_eq!(code, 1, "{v}");
    let err = v["error"].as_str().unwrap();
    assert!(err.contains("Файл не является выгрузкой"), "{err}");
    assert!(err.contains("1C restore failed"), "{err}");
    assert!(err.contains("restore-1c.log"), "{err}");
}

#[test]
fn without_1c_the_dump_is_checked_left_in_the_folder_and_explained() {
    let mut w = World::new(4);
    backup(&w);
    w.set("ONEC_EXE", "/nonexistent/1cv8");
    let to = w.dir.path().join("restored");
    let (code, v, _) = restore(&w, "latest", &to, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["loaded"], false);
    let note = v["note"].as_str().unwrap();
    assert!(
        note.contains("Load it by hand") && note.contains("ONEC_EXE"),
        "{note}"
    );
    let left = files_in(&to);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].ends_with(".dt"), "{left:?}");
}

#[test]
fn a_password_reaches_1c_only_on_its_command_line() {
    const PW: &str = "Rest0re-Pa55-w0rd";
    let w = World::new(4);
    backup(&w);
    let to = w.dir.path().join("restored");
    let (code, v, err) = restore(&w, "latest", &to, &[]);
    assert_eq!(code, 0, "{v} {err}");
    // Load again into the existing base, whose users now apply.
    let (args, env) = record_calls(
        &w,
        &[
            ("FAKE_1C_EXPECT_USER", "admin"),
            ("FAKE_1C_EXPECT_PASSWORD", PW),
        ],
    );
    let run = |pw: &str| {
        w.cmd()
            .env("RESTORE_PW", pw)
            .env("LOG_LEVEL", "debug")
            .args([
                "restore",
                "latest",
                "--force",
                "--user",
                "admin",
                "--password-env",
            ])
            .arg("RESTORE_PW")
            .arg("--to")
            .arg(&to)
            .output()
            .unwrap()
    };
    let out = run(PW);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        read(&args).contains(&format!("/P{PW}")),
        "1C needs it on its command line"
    );
    assert!(!read(&args).contains("CREATEINFOBASE"), "the base exists");
    assert!(
        !read(&env).contains(PW),
        "the child's environment holds the password"
    );
    assert!(!text.contains(PW), "{text}");
    // A wrong one: 1C's complaint explained, the password nowhere.
    let wrong = "Wr0ng-Pa55";
    let out = run(wrong);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("user or password is wrong"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(PW), "{text}");
    assert!(!read(&to.join("restore-1c.log")).contains(wrong));
    assert!(!w.log_text().contains(PW) && !w.log_text().contains(wrong));
    // Not on our command line either: the flag takes a variable's name.
    w.cmd()
        .args(["restore", "latest", "--to", "x", "--password", PW])
        .assert()
        .code(2);
}

#[test]
fn a_hanging_1c_is_stopped_at_the_timeout_and_explained() {
    let mut w = World::new(4);
    backup(&w);
    record_calls(&w, &[("FAKE_1C_MODE", "hang")]);
    w.set("ONEC_TIMEOUT", "5");
    let to = w.dir.path().join("restored");
    let started = std::time::Instant::now();
    let (code, v, _) = restore(&w, "latest", &to, &[]);
    assert_eq!(code, 1, "{v}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let err = v["error"].as_str().unwrap();
    assert!(
        err.contains("1C infobase creation timed out after 5 s") && err.contains("modal dialog"),
        "{err}"
    );
}

#[test]
fn a_bare_dt_is_checked_then_loaded_where_it_is() {
    let mut w = World::new(4);
    w.set("BACKUP_COMPRESS", "none");
    backup(&w);
    let (args, _) = record_calls(&w, &[]);
    let archive = w.backups.join(w.archives().into_iter().next().unwrap());
    let to = w.dir.path().join("restored");
    let (code, v, err) = restore(&w, "latest", &to, &[]);
    assert_eq!(code, 0, "{v} {err}");
    let calls = read(&args);
    assert!(
        calls.contains(&format!("/RestoreIB\n{}\n", archive.display())),
        "{calls}"
    );
    assert_eq!(files_in(&to), ["1Cv8.1CD"]);
    // A damaged one never reaches 1C.
    fs::remove_file(&args).unwrap();
    let len = fs::metadata(&archive).unwrap().len();
    fs::File::options()
        .write(true)
        .open(&archive)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    let to = w.dir.path().join("again");
    let (code, v, _) = restore(&w, "latest", &to, &[]);
    assert_eq!(code, 1, "{v}");
    assert!(v["error"].as_str().unwrap().contains("truncated"), "{v}");
    assert_eq!(read(&args), "", "1C was not started");
}
