//! End to end with the real binary and the real tools: a backup with
//! `BACKUP_ARCHIVE_PASSWORD` makes a zip that 7-Zip tests and extracts with
//! the password and refuses without it, or a `.tar.zst.age` that `age -d`
//! decrypts; `verify` takes the password from the settings or
//! `--password-env`, names a wrong one, and opens an archive made before a
//! password change with `BACKUP_ARCHIVE_OLD_PASSWORDS`; the key id is in
//! the history, never the password (nor in logs, `list --json` or 1C's
//! command line and environment).

use crate::util::{World, contains, ok_stdout};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

const ZIP_PW: &str = "e2e-Архив пароль,1";
const AGE_PW: &str = "e2e age pass 2";

fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--help").output().is_ok();
    if !ok {
        eprintln!("skipped: `{tool}` is not installed");
    }
    ok
}

/// The password must not be in any of these, nor in the history file.
fn assert_hidden(w: &World, pw: &str, texts: &[&str]) {
    for t in texts {
        assert!(!t.contains(pw), "the archive password leaked: {t}");
    }
    assert!(!contains(&w.history_bytes(), pw), "password in the history");
    assert!(!w.log_text().contains(pw), "password in the log file");
    let list = serde_json::to_string(&w.list_json()).unwrap();
    assert!(!list.contains(pw), "password in list --json");
}

/// `verify` in the world with extra variables: exit code and all output.
fn verify(w: &World, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    command(w, "verify", args, env)
}

/// A command in the world with extra variables (an empty value removes
/// one): exit code and all output.
fn command(w: &World, name: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut c = w.command();
    c.arg(name).args(args);
    for (k, v) in env {
        if v.is_empty() {
            c.env_remove(k);
        } else {
            c.env(k, v);
        }
    }
    let o = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), text)
}

#[test]
fn an_encrypted_zip_opens_in_7zip_and_verify_takes_old_passwords() {
    let mut w = World::new(40);
    w.set("BACKUP_METHOD", "copy")
        .set("BACKUP_COMPRESS", "zip")
        .set("BACKUP_ARCHIVE_PASSWORD", ZIP_PW)
        .set("LOG_LEVEL", "debug");
    let out = w.cmd().args(["backup", "--json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = ok_stdout(out);
    let archives = w.archives();
    assert_eq!(archives.len(), 1, "{archives:?}");
    assert!(archives[0].ends_with(".zip"), "{archives:?}");
    let zip = w.backups.join(&archives[0]);
    let bytes = fs::read(&zip).unwrap();
    assert!(
        !bytes.windows(8).any(|b| b == b"1CDBMSV8"),
        "the infobase signature is readable in the encrypted archive"
    );

    let runs = w.runs();
    let id = runs[0]["key_id"]
        .as_str()
        .expect("a key id in the history")
        .to_string();
    assert_eq!(id.len(), 8);
    let (code, text) = verify(&w, &[zip.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("key id {id}")), "{text}");
    let list = ok_stdout(w.command().arg("list").output().unwrap());
    assert!(list.contains(&format!("key {id}")), "{list}");

    // A wrong password given, none in the settings: said plainly, exit 1.
    let (code, text) = verify(
        &w,
        &["--password-env", "E2E_ARCHIVE_PW", zip.to_str().unwrap()],
        &[
            ("E2E_ARCHIVE_PW", "not it"),
            ("BACKUP_ARCHIVE_PASSWORD", ""),
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("wrong password (or the archive was made with another password)"),
        "{text}"
    );
    // The right one by --password-env.
    let (code, text) = verify(
        &w,
        &["--password-env", "E2E_ARCHIVE_PW", zip.to_str().unwrap()],
        &[("E2E_ARCHIVE_PW", ZIP_PW), ("BACKUP_ARCHIVE_PASSWORD", "")],
    );
    assert_eq!(code, 0, "{text}");
    // After a password change, the old one in BACKUP_ARCHIVE_OLD_PASSWORDS.
    let (code, text) = verify(
        &w,
        &[zip.to_str().unwrap()],
        &[
            ("BACKUP_ARCHIVE_PASSWORD", "the new password"),
            ("BACKUP_ARCHIVE_OLD_PASSWORDS", "some older one"),
        ],
    );
    assert_eq!(code, 1, "{text}");
    fs::write(
        w.dir.path().join("config.yaml"),
        format!("backup:\n  archive_old_passwords:\n    - some older one\n    - '{ZIP_PW}'\n"),
    )
    .unwrap();
    let (code, text) = verify(
        &w,
        &[zip.to_str().unwrap()],
        &[("BACKUP_ARCHIVE_PASSWORD", "the new password")],
    );
    assert_eq!(code, 0, "{text}");
    assert_hidden(&w, ZIP_PW, &[&stdout, &stderr, &text]);

    // 7-Zip: the password opens it, a wrong one does not, the bytes match.
    if !have("7z") {
        return;
    }
    let z = zip.to_str().unwrap();
    let t = Command::new("7z")
        .args(["t", &format!("-p{ZIP_PW}"), z])
        .output()
        .unwrap();
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stdout));
    let t = Command::new("7z")
        .args(["t", "-pwrong", z])
        .output()
        .unwrap();
    assert!(!t.status.success(), "7z accepted a wrong password");
    let t = Command::new("7z")
        .args(["t", z])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!t.status.success(), "7z opened it without a password");
    let out = w.dir.path().join("x");
    let x = Command::new("7z")
        .args([
            "x",
            &format!("-p{ZIP_PW}"),
            &format!("-o{}", out.display()),
            z,
        ])
        .output()
        .unwrap();
    assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stdout));
    assert_eq!(
        fs::read(out.join("1Cv8.1CD")).unwrap(),
        fs::read(w.base.join("1Cv8.1CD")).unwrap()
    );
}

/// `age -d -o OUT FILE`, the passphrase typed into the terminal `script`
/// makes (age reads a passphrase from a terminal only).
fn age_decrypt(file: &Path, out: &Path, pw: &str) -> bool {
    let cmd = format!("age -d -o '{}' '{}'", out.display(), file.display());
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    use std::io::Write;
    let _ = writeln!(stdin, "{pw}");
    child.wait().unwrap().success()
}

#[test]
fn a_dump_packed_as_tar_zst_age_opens_with_age_zstd_and_tar() {
    let mut w = World::new(16);
    let args_file = w.dir.path().join("args.txt");
    let env_file = w.dir.path().join("env.txt");
    w.set("BACKUP_METHOD", "dump")
        .set("BACKUP_COMPRESS", "zstd")
        .set("BACKUP_ARCHIVE_PASSWORD", AGE_PW)
        .set("BACKUP_DELETE_DT_AFTER_COMPRESS", "false")
        .set("FAKE_1C_ARGS_FILE", &args_file.display().to_string())
        .set("FAKE_1C_ENV_FILE", &env_file.display().to_string())
        .set("LOG_LEVEL", "debug");
    let out = w.cmd().args(["backup"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = ok_stdout(out);
    let archives = w.archives();
    let age = archives.iter().find(|a| a.ends_with(".tar.zst.age"));
    let age = w
        .backups
        .join(age.unwrap_or_else(|| panic!("{archives:?}")));
    let dt = w
        .backups
        .join(archives.iter().find(|a| a.ends_with(".dt")).unwrap());
    assert!(
        fs::read(&age)
            .unwrap()
            .starts_with(b"age-encryption.org/v1\n-> scrypt ")
    );
    let args = fs::read_to_string(&args_file).unwrap();
    let env = fs::read_to_string(&env_file).unwrap();
    assert_hidden(&w, AGE_PW, &[&stdout, &stderr, &args, &env]);
    assert!(w.runs()[0]["key_id"].as_str().is_some());
    let (code, text) = verify(&w, &[age.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = verify(
        &w,
        &[age.to_str().unwrap()],
        &[("BACKUP_ARCHIVE_PASSWORD", "wrong one")],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("wrong password"), "{text}");

    if !(have("age") && have("zstd") && Command::new("script").arg("-V").output().is_ok()) {
        return;
    }
    let tar_zst = w.dir.path().join("out.tar.zst");
    assert!(age_decrypt(&age, &tar_zst, AGE_PW), "age -d failed");
    let x = w.dir.path().join("x");
    fs::create_dir_all(&x).unwrap();
    let un = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "zstd -dc '{}' | tar -x -C '{}'",
            tar_zst.display(),
            x.display()
        ))
        .status()
        .unwrap();
    assert!(un.success());
    let name = dt.file_name().unwrap();
    assert_eq!(fs::read(x.join(name)).unwrap(), fs::read(&dt).unwrap());
    let wrong = w.dir.path().join("wrong.tar.zst");
    assert!(!age_decrypt(&age, &wrong, "not the password"));
}

/// `restore` of an encrypted zip: with the settings' password it restores
/// a checked infobase; without any password, or with a wrong one, it says
/// so, exits 1 and leaves no folder; `--archive-password-env` opens it when
/// the settings no longer hold the password. The password is never shown.
#[test]
fn restore_opens_an_encrypted_zip_with_its_password_only() {
    let mut w = World::new(40);
    w.set("BACKUP_METHOD", "copy")
        .set("BACKUP_COMPRESS", "zip")
        .set("BACKUP_ARCHIVE_PASSWORD", ZIP_PW);
    ok_stdout(w.cmd().arg("backup").output().unwrap());
    let zip = w.backups.join(&w.archives()[0]);
    let zip = zip.to_str().unwrap();
    let to = w.dir.path().join("restored");
    let to_s = to.to_str().unwrap();

    let (code, text) = command(&w, "restore", &["latest", "--to", to_s], &[]);
    assert_eq!(code, 0, "{text}");
    let restored = fs::read(to.join("1Cv8.1CD")).unwrap();
    assert_eq!(restored, fs::read(w.base.join("1Cv8.1CD")).unwrap());
    fs::remove_dir_all(&to).unwrap();

    let none = [("BACKUP_ARCHIVE_PASSWORD", "")];
    let (code, text) = command(&w, "restore", &[zip, "--to", to_s], &none);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("password"), "{text}");
    assert!(!to.exists(), "a failed restore left {to_s}");

    let wrong = [
        ("BACKUP_ARCHIVE_PASSWORD", ""),
        ("E2E_ARCHIVE_PW", "not it"),
    ];
    let args = [
        zip,
        "--to",
        to_s,
        "--archive-password-env",
        "E2E_ARCHIVE_PW",
    ];
    let (code, text) = command(&w, "restore", &args, &wrong);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("wrong password"), "{text}");
    assert!(!to.exists(), "a failed restore left {to_s}");

    let right = [("BACKUP_ARCHIVE_PASSWORD", ""), ("E2E_ARCHIVE_PW", ZIP_PW)];
    let (code, out) = command(&w, "restore", &args, &right);
    assert_eq!(code, 0, "{out}");
    assert!(to.join("1Cv8.1CD").is_file());
    assert_hidden(&w, ZIP_PW, &[&text, &out]);
}
