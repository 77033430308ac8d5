//! The WebDAV offsite kind against a real server, `rclone serve webdav`
//! on loopback (basic auth) serving a temp folder: an upload into a deep
//! new folder with Cyrillic names (the MKCOL chain), stat, recursive list,
//! a byte-exact round trip, replacing and renaming over an existing
//! object, a cancelled upload that leaves the old copy and no `.part`,
//! delete, a speed cap, and a wrong password that yields a clear error
//! without the password in it. Memory staying flat is shown by
//! `bench/offsite.sh`, not here.
#![cfg(unix)]

use crate::util::heavy;
use crate::util::rclone::{PASS, USER, WebDavServer, serve_webdav};
use crate::util::remote::{noise, read_back, target_at};
use onec_backup_bot::cancel::{Cancel, Cancelled};
use onec_backup_bot::config::Secret;
use onec_backup_bot::config::offsite::{Location, OffsiteTarget};
use onec_backup_bot::offsite::{self, Download, NoResume, Proof, Remote, Throttle, Upload};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const DEEP: &str = "Бухгалтерия/2026/12/Бухгалтерия_2026-12-03_0300.zip";

fn target(port: u16, path: &str, password: &str) -> OffsiteTarget {
    OffsiteTarget {
        user: Some(USER.into()),
        password: Some(Secret::new(password)),
        ..target_at(Location::WebDav {
            https: false,
            host: "127.0.0.1".into(),
            port: Some(port),
            path: path.into(),
        })
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    local: PathBuf,
    server: WebDavServer,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    let server = serve_webdav(&dir.path().join("served"), dir.path());
    Setup {
        local,
        server,
        _dir: dir,
    }
}

fn put(
    r: &dyn Remote,
    file: &Path,
    name: &str,
    throttle: &Throttle,
    cancel: &Cancel,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<offsite::Stored> {
    let size = std::fs::metadata(file).unwrap().len();
    r.put(&Upload {
        file,
        name,
        size,
        sha256: "",
        resume: &NoResume,
        throttle,
        cancel,
        progress,
    })
}

fn put_simple(r: &dyn Remote, file: &Path, name: &str) -> anyhow::Result<offsite::Stored> {
    put(
        r,
        file,
        name,
        &Throttle::unlimited(),
        &Cancel::new(),
        &|_| {},
    )
}

fn names(r: &dyn Remote, dir: &str) -> Vec<String> {
    r.list(dir).unwrap().into_iter().map(|o| o.name).collect()
}

/// Every file under `dir` on the server's disk, relative, sorted.
fn files_on_disk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn put_into_new_cyrillic_folders_stat_list_get_replace_rename_delete() {
    let _h = heavy();
    let s = setup();
    // The root folder itself does not exist yet either.
    let r = offsite::open(&target(s.server.port, "копии/1c", PASS)).unwrap();
    assert!(r.describe().contains("127.0.0.1"), "{}", r.describe());
    assert!(names(r.as_ref(), "").is_empty());
    assert!(r.stat(DEEP).unwrap().is_none());

    let v1 = noise(3 * 1024 * 1024 + 17, 1);
    let f1 = s.local.join("v1.zip");
    std::fs::write(&f1, &v1).unwrap();
    let seen = AtomicU64::new(0);
    let stored = put(
        r.as_ref(),
        &f1,
        DEEP,
        &Throttle::unlimited(),
        &Cancel::new(),
        &|n| seen.store(n, Ordering::SeqCst),
    )
    .unwrap();
    assert_eq!((stored.bytes, stored.proof), (v1.len() as u64, Proof::Size));
    assert_eq!(seen.load(Ordering::SeqCst), v1.len() as u64);
    // On the server's disk, under the decoded Cyrillic path, byte for byte.
    let on_disk = s.server.root.join("копии/1c").join(DEEP);
    assert_eq!(
        std::fs::read(&on_disk).unwrap(),
        v1,
        "{}",
        s.server.log_text()
    );

    let o = r.stat(DEEP).unwrap().expect("stat after put");
    assert_eq!((o.name.as_str(), o.size), (DEEP, v1.len() as u64));
    let age = jiff::Timestamp::now().duration_since(o.modified.expect("a modified time"));
    assert!(age.as_secs().abs() < 300, "{age:?}");
    // A folder is not an object.
    assert!(r.stat("Бухгалтерия/2026").unwrap().is_none());

    // A second base beside it; the list is recursive, names relative to the root.
    let f_small = s.local.join("small.zip");
    std::fs::write(&f_small, b"small archive").unwrap();
    put_simple(r.as_ref(), &f_small, "Склад/Склад_2026-12-03_0300.zip").unwrap();
    let all = r.list("").unwrap();
    assert_eq!(
        all.iter()
            .map(|o| (o.name.as_str(), o.size))
            .collect::<Vec<_>>(),
        [
            (DEEP, v1.len() as u64),
            ("Склад/Склад_2026-12-03_0300.zip", 13)
        ]
    );
    assert_eq!(names(r.as_ref(), "Бухгалтерия"), [DEEP]);
    assert_eq!(names(r.as_ref(), "Бухгалтерия/2026/"), [DEEP]);
    assert!(names(r.as_ref(), "нет такой").is_empty());

    assert_eq!(read_back(r.as_ref(), DEEP), v1);

    // Replace in place: the new bytes, and no `.part` left behind.
    let v2 = noise(2 * 1024 * 1024, 2);
    let f2 = s.local.join("v2.zip");
    std::fs::write(&f2, &v2).unwrap();
    put_simple(r.as_ref(), &f2, DEEP).unwrap();
    assert_eq!(read_back(r.as_ref(), DEEP), v2);
    assert_eq!(r.stat(DEEP).unwrap().unwrap().size, v2.len() as u64);
    assert!(
        files_on_disk(&s.server.root)
            .iter()
            .all(|f| !f.ends_with(".part")),
        "{:?}",
        files_on_disk(&s.server.root)
    );

    // Rename into a new folder, then another object over it.
    r.rename(DEEP, "Бухгалтерия/fixed/daily.zip").unwrap();
    assert!(r.stat(DEEP).unwrap().is_none());
    assert_eq!(read_back(r.as_ref(), "Бухгалтерия/fixed/daily.zip"), v2);
    r.rename(
        "Склад/Склад_2026-12-03_0300.zip",
        "Бухгалтерия/fixed/daily.zip",
    )
    .unwrap();
    assert_eq!(
        read_back(r.as_ref(), "Бухгалтерия/fixed/daily.zip"),
        b"small archive"
    );
    let e = r.rename("нет/такого.zip", "x.zip").unwrap_err();
    assert!(format!("{e:#}").contains("not there"), "{e:#}");
    assert!(
        r.get(Download {
            name: "нет/такого.zip",
            to: &mut Vec::new(),
            throttle: &Throttle::unlimited(),
            cancel: &Cancel::new(),
        })
        .is_err()
    );

    // Delete (twice: a missing object is no error).
    r.delete("Бухгалтерия/fixed/daily.zip").unwrap();
    r.delete("Бухгалтерия/fixed/daily.zip").unwrap();
    assert!(r.stat("Бухгалтерия/fixed/daily.zip").unwrap().is_none());
    assert!(names(r.as_ref(), "").is_empty());
    assert!(files_on_disk(&s.server.root).is_empty());
    // Names that would leave the root are refused before any request.
    assert!(r.stat("../etc/passwd").is_err());
}

#[test]
fn a_cancelled_upload_leaves_the_old_copy_and_no_part() {
    let _h = heavy();
    let s = setup();
    let r = offsite::open(&target(s.server.port, "", PASS)).unwrap();
    let old = noise(1024 * 1024, 3);
    let f_old = s.local.join("old.zip");
    std::fs::write(&f_old, &old).unwrap();
    put_simple(r.as_ref(), &f_old, "b/daily.zip").unwrap();

    let new = noise(16 * 1024 * 1024, 4);
    let f_new = s.local.join("new.zip");
    std::fs::write(&f_new, &new).unwrap();
    let cancel = Cancel::new();
    let sent = AtomicU64::new(0);
    let started = Instant::now();
    // Stop after the first chunks went out; the cap keeps the rest from
    // leaving before the stop is seen.
    let e = put(
        r.as_ref(),
        &f_new,
        "b/daily.zip",
        &Throttle::new(Some(4 * 1024 * 1024)),
        &cancel,
        &|n| {
            sent.store(n, Ordering::SeqCst);
            if n >= 1024 * 1024 {
                cancel.cancel();
            }
        },
    )
    .unwrap_err();
    assert!(e.downcast_ref::<Cancelled>().is_some(), "{e:#}");
    assert!(sent.load(Ordering::SeqCst) < new.len() as u64);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        names(r.as_ref(), ""),
        ["b/daily.zip"],
        "{}",
        s.server.log_text()
    );
    assert_eq!(read_back(r.as_ref(), "b/daily.zip"), old);
    assert_eq!(
        files_on_disk(&s.server.root),
        ["b/daily.zip"],
        "{}",
        s.server.log_text()
    );
}

#[test]
fn the_speed_cap_holds() {
    let _h = heavy();
    let s = setup();
    let r = offsite::open(&target(s.server.port, "capped", PASS)).unwrap();
    let data = noise(3 * 1024 * 1024, 5);
    let f = s.local.join("a.zip");
    std::fs::write(&f, &data).unwrap();
    let started = Instant::now();
    // 1 MiB/s with one second of budget up front: 3 MiB take >= 2 s.
    put(
        r.as_ref(),
        &f,
        "a.zip",
        &Throttle::new(Some(1024 * 1024)),
        &Cancel::new(),
        &|_| {},
    )
    .unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1800), "{took:?}");
    assert_eq!(read_back(r.as_ref(), "a.zip"), data);
}

#[test]
fn a_wrong_password_is_named_without_the_password() {
    let _h = heavy();
    let s = setup();
    let wrong = "wr0ng-Pa55-Qx7";
    let r = offsite::open(&target(s.server.port, "x", wrong)).unwrap();
    let f = s.local.join("a.zip");
    std::fs::write(&f, b"bytes").unwrap();
    let errors = [
        put_simple(r.as_ref(), &f, "a/b.zip").unwrap_err(),
        r.stat("a/b.zip").unwrap_err(),
        r.list("").unwrap_err(),
        r.delete("a/b.zip").unwrap_err(),
    ];
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{wrong}"));
    for e in errors {
        for text in [format!("{e:#}"), format!("{e:?}")] {
            assert!(
                text.contains("OFFSITE_USER / OFFSITE_PASSWORD") && text.contains("401"),
                "{text}"
            );
            assert!(text.contains("127.0.0.1"), "{text}");
            for secret in [wrong, basic.as_str(), "Authorization", PASS] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }
    assert!(files_on_disk(&s.server.root).is_empty());
}
