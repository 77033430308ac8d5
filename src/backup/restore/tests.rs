//! Restoring every kind of output of the packer, refusing what must be
//! refused, and leaving nothing behind when a restore fails.

use super::*;
use crate::backup::archive::{Options, Source, pack, write_archive};
use crate::backup::crypt::Passwords;
use crate::backup::verify::tests::{blocks, tar_header, write_tar_zst};
use crate::cancel::Cancel;
use crate::config::Compress;
use crate::config::Secret;
use crate::onec::generate::{CdFormat, write_1cd, write_dt};
use std::io::Write;

struct Fx {
    dir: tempfile::TempDir,
    src: PathBuf,
}

fn fixture(with_dt: bool) -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("1Cv8Log")).unwrap();
    if with_dt {
        let mut dt = Vec::new();
        write_dt(&mut dt, 300_000, 4).unwrap();
        fs::write(src.join("buh.dt"), &dt).unwrap();
    } else {
        let mut cd = Vec::new();
        write_1cd(&mut cd, CdFormat::V8_3_8, 200, 2).unwrap();
        fs::write(src.join("1Cv8.1CD"), &cd).unwrap();
        fs::write(
            src.join("1Cv8Log/1Cv8.lgf"),
            "1CV8LOG(ver 2.0)\n".repeat(50),
        )
        .unwrap();
    }
    Fx { dir, src }
}

impl Fx {
    fn names(&self) -> Vec<&'static str> {
        if self.src.join("buh.dt").exists() {
            vec!["buh.dt"]
        } else {
            vec!["1Cv8.1CD", "1Cv8Log/1Cv8.lgf"]
        }
    }

    fn sources(&self) -> Vec<Source> {
        self.names()
            .iter()
            .map(|n| Source {
                name: n.to_string(),
                path: self.src.join(n),
            })
            .collect()
    }

    fn pack(&self, compress: Compress, name: &str) -> PathBuf {
        let out = self.dir.path().join(name);
        let cancel = Cancel::new();
        write_archive(
            &self.sources(),
            &out,
            compress,
            None,
            2,
            &mut |_| {},
            &cancel,
        )
        .unwrap();
        out
    }

    /// An archive encrypted with `password`.
    fn pack_sealed(&self, compress: Compress, name: &str, password: &str) -> PathBuf {
        let out = self.dir.path().join(name);
        let pw = Secret::new(password);
        let opts = Options {
            compress,
            level: None,
            threads: 2,
            password: Some(&pw),
        };
        pack(&self.sources(), &out, &opts, &mut |_| {}, &Cancel::new()).unwrap();
        out
    }

    fn to(&self) -> PathBuf {
        self.dir.path().join("restored")
    }
}

fn restore_to(archive: &Path, to: &Path, force: bool) -> Result<RestoreReport, RestoreError> {
    restore_with(archive, to, force, &Passwords::default())
}

/// [`restore_to`] with the passwords of an encrypted archive.
fn restore_with(
    archive: &Path,
    to: &Path,
    force: bool,
    passwords: &Passwords,
) -> Result<RestoreReport, RestoreError> {
    let cancel = Cancel::new();
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |p: Progress| seen.lock().unwrap().push(p);
    let r = restore(&RestoreRequest {
        archive,
        to,
        force,
        loader: None,
        user: None,
        password: None,
        passwords,
        timeout: Duration::from_secs(10),
        cancel: &cancel,
        progress: &progress,
    });
    if r.is_ok() {
        let seen = seen.lock().unwrap();
        let last = seen.last().expect("progress reported");
        assert_eq!(last.done, last.total, "{seen:?}");
    }
    r
}

#[rstest::rstest]
#[case::zip(Compress::Zip, "b.zip")]
#[case::tar_zst(Compress::Zstd, "b.tar.zst")]
#[case::folder(Compress::None, "b")]
fn copy_archives_restore_byte_for_byte(#[case] compress: Compress, #[case] name: &str) {
    let fx = fixture(false);
    let archive = fx.pack(compress, name);
    let to = fx.to();
    let rep = restore_to(&archive, &to, false).unwrap();
    assert_eq!(rep.kind, RestoredKind::Copy);
    assert_eq!(rep.files, 2);
    assert_eq!(rep.detail.as_deref(), Some("1CD 8.3.8, 200 pages x 8192"));
    for n in fx.names() {
        assert_eq!(
            fs::read(to.join(n)).unwrap(),
            fs::read(fx.src.join(n)).unwrap(),
            "{n}"
        );
    }
    assert_eq!(rep.bytes, 200 * 8192 + 17 * 50);
    // No temporaries are left.
    let mut left = Vec::new();
    verify::walk(&to, String::new(), &mut left).unwrap();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn a_dump_without_a_loader_is_extracted_and_checked_not_loaded() {
    let fx = fixture(true);
    for (archive, compress) in [("d.zip", Compress::Zip), ("d.tar.zst", Compress::Zstd)] {
        let archive = fx.pack(compress, archive);
        let to = fx.dir.path().join(format!("to-{compress:?}"));
        let rep = restore_to(&archive, &to, false).unwrap();
        assert_eq!(
            rep.kind,
            RestoredKind::Dump {
                loaded: false,
                by: None
            }
        );
        assert_eq!(
            fs::read(to.join("buh.dt")).unwrap(),
            fs::read(fx.src.join("buh.dt")).unwrap()
        );
        assert!(rep.detail.unwrap().contains("not loaded"));
    }
    // A bare .dt is copied under its own name (a .dt by its signature
    // gets the extension).
    let to = fx.dir.path().join("bare");
    let rep = restore_to(&fx.src.join("buh.dt"), &to, false).unwrap();
    assert_eq!(rep.files, 1);
    assert!(to.join("buh.dt").is_file());
    let unnamed = fx.dir.path().join("dump-file");
    fs::copy(fx.src.join("buh.dt"), &unnamed).unwrap();
    let to = fx.dir.path().join("unnamed");
    restore_to(&unnamed, &to, false).unwrap();
    assert!(to.join("dump-file.dt").is_file());
}

#[test]
fn a_bare_1cd_becomes_the_infobase_file() {
    let fx = fixture(false);
    let bare = fx.dir.path().join("old copy");
    fs::copy(fx.src.join("1Cv8.1CD"), &bare).unwrap();
    let to = fx.to();
    let rep = restore_to(&bare, &to, false).unwrap();
    assert_eq!(rep.kind, RestoredKind::Copy);
    assert!(to.join("1Cv8.1CD").is_file());
}

#[test]
fn a_non_empty_folder_is_refused_unless_forced() {
    let fx = fixture(false);
    let archive = fx.pack(Compress::Zip, "b.zip");
    let to = fx.to();
    fs::create_dir_all(&to).unwrap();
    fs::write(to.join("keep.txt"), "mine").unwrap();
    fs::write(to.join("1Cv8.1CD"), "old").unwrap();
    let err = restore_to(&archive, &to, false).unwrap_err();
    assert!(matches!(err, RestoreError::NotEmpty { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(fs::read_to_string(to.join("1Cv8.1CD")).unwrap(), "old");
    restore_to(&archive, &to, true).unwrap();
    assert_eq!(fs::read_to_string(to.join("keep.txt")).unwrap(), "mine");
    assert_eq!(fs::metadata(to.join("1Cv8.1CD")).unwrap().len(), 200 * 8192);
    // A base 1C has open is never written over.
    fs::write(to.join("1Cv8.1CL"), "").unwrap();
    let err = restore_to(&archive, &to, true).unwrap_err();
    assert!(matches!(err, RestoreError::InUse { .. }), "{err}");
    assert!(err.to_string().contains("leave 1C"), "{err}");
    fs::remove_file(to.join("1Cv8.1CL")).unwrap();
    // A file where the folder should be.
    let err = restore_to(&archive, &to.join("keep.txt"), true).unwrap_err();
    assert!(matches!(err, RestoreError::NotAFolder { .. }), "{err}");
}

#[test]
fn a_damaged_archive_fails_and_leaves_nothing() {
    let fx = fixture(false);
    let archive = fx.pack(Compress::Zip, "b.zip");
    let mut bytes = fs::read(&archive).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    fs::write(&archive, &bytes).unwrap();
    let to = fx.to();
    let err = restore_to(&archive, &to, false).unwrap_err();
    assert!(matches!(err, RestoreError::Damaged(_)), "{err}");
    assert!(err.to_string().contains("damaged"), "{err}");
    assert!(!to.exists(), "the folder it created is removed");
}

#[test]
fn a_base_whose_1cd_is_short_is_reported_damaged() {
    let fx = fixture(false);
    let cd = fx.src.join("1Cv8.1CD");
    let len = fs::metadata(&cd).unwrap().len();
    fs::File::options()
        .write(true)
        .open(&cd)
        .unwrap()
        .set_len(len - 8192)
        .unwrap();
    let archive = fx.pack(Compress::Zstd, "b.tar.zst");
    let err = restore_to(&archive, &fx.to(), false).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn an_archive_without_an_infobase_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = tar_header("notes.txt", b'0', 2);
    tar.extend(blocks(b"ok"));
    tar.extend(vec![0; 1024]);
    let archive = dir.path().join("x.tar.zst");
    write_tar_zst(&archive, &tar);
    let to = dir.path().join("to");
    let err = restore_to(&archive, &to, false).unwrap_err();
    assert!(matches!(err, RestoreError::NoInfobase { .. }), "{err}");
    assert!(!to.exists());
}

/// A tar.zst of (name, type, content) entries, names as given.
fn hostile_tar(entries: &[(&str, u8, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = Vec::new();
    for (name, kind, data) in entries {
        tar.extend(tar_header(name, *kind, data.len() as u64));
        tar.extend(blocks(data));
    }
    tar.extend(vec![0; 1024]);
    write_tar_zst(&dir.path().join("h.tar.zst"), &tar);
    dir
}

#[rstest::rstest]
#[case::dot_dot("../escaped", b'0', "'..'")]
#[case::absolute("/tmp/escaped", b'0', "absolute")]
#[case::drive("C:\\escaped", b'0', "backslash")]
#[case::symlink("link", b'2', "symbolic link")]
#[case::hard_link("hard", b'1', "hard link")]
#[case::device("dev", b'3', "device")]
#[case::fifo("fifo", b'6', "device or pipe")]
fn hostile_tar_entries_are_refused_and_nothing_escapes(
    #[case] name: &str,
    #[case] kind: u8,
    #[case] why: &str,
) {
    let dir = hostile_tar(&[("1Cv8Log/ok.txt", b'0', b"ok"), (name, kind, b"evil")]);
    let to = dir.path().join("deep/to");
    let err = restore_to(&dir.path().join("h.tar.zst"), &to, false).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RestoreError::Unsafe { .. }), "{text}");
    assert!(
        text.contains(why) && text.contains(&printable(name).into_owned()),
        "{text}"
    );
    assert!(!dir.path().join("deep/escaped").exists());
    assert!(!Path::new("/tmp/escaped").exists() || name != "/tmp/escaped");
    // What was written before the refusal is removed again.
    assert!(!to.join("1Cv8Log/ok.txt").exists());
    assert!(!to.exists());
}

#[test]
fn a_name_twice_is_refused() {
    let dir = hostile_tar(&[("a.txt", b'0', b"1"), ("A.TXT", b'0', b"2")]);
    let err = restore_to(&dir.path().join("h.tar.zst"), &dir.path().join("to"), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("second entry with the same name"), "{err}");
}

#[test]
fn hostile_zip_entries_are_refused() {
    for (name, why) in [
        ("../x", "'..'"),
        ("/abs", "absolute"),
        ("C:\\x", "backslash"),
        ("C:x", "drive letter"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("h.zip");
        let mut w = zip::ZipWriter::new(fs::File::create(&archive).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file(name, opts).unwrap();
        w.write_all(b"evil").unwrap();
        w.finish().unwrap();
        let to = dir.path().join("a/b");
        let err = restore_to(&archive, &to, false).unwrap_err().to_string();
        assert!(err.contains(why), "{name}: {err}");
        assert!(!dir.path().join("a/x").exists() && !dir.path().join("a/b/x").exists());
    }
}

#[cfg(unix)]
#[test]
fn a_link_already_in_the_target_is_not_followed() {
    let fx = fixture(false);
    let archive = fx.pack(Compress::Zip, "b.zip");
    let outside = fx.dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let to = fx.to();
    fs::create_dir_all(&to).unwrap();
    std::os::unix::fs::symlink(&outside, to.join("1Cv8Log")).unwrap();
    let err = restore_to(&archive, &to, true).unwrap_err().to_string();
    assert!(err.contains("exists as a link or a file"), "{err}");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    // A link at a file's own name is replaced, not written through.
    fs::remove_file(to.join("1Cv8Log")).unwrap();
    let target = outside.join("victim");
    fs::write(&target, "untouched").unwrap();
    std::os::unix::fs::symlink(&target, to.join("1Cv8.1CD")).unwrap();
    restore_to(&archive, &to, true).unwrap();
    assert_eq!(fs::read_to_string(&target).unwrap(), "untouched");
    assert!(
        !fs::symlink_metadata(to.join("1Cv8.1CD"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn a_folder_cannot_be_restored_into_itself() {
    let fx = fixture(false);
    let folder = fx.pack(Compress::None, "b");
    let err = restore_to(&folder, &folder.join("inner"), false).unwrap_err();
    assert!(matches!(err, RestoreError::InsideArchive { .. }), "{err}");
    assert!(!folder.join("inner").exists());
}

#[test]
fn cancel_stops_and_cleans_up() {
    let fx = fixture(false);
    let archive = fx.pack(Compress::Zip, "b.zip");
    let cancel = Cancel::new();
    cancel.cancel();
    let to = fx.to();
    let err = restore(&RestoreRequest {
        archive: &archive,
        to: &to,
        force: false,
        loader: None,
        user: None,
        password: None,
        passwords: &Passwords::default(),
        timeout: Duration::from_secs(1),
        cancel: &cancel,
        progress: &|_| {},
    })
    .unwrap_err();
    assert!(matches!(err, RestoreError::Cancelled), "{err}");
    assert!(!to.exists());
}

#[test]
fn encrypted_archives_restore_with_a_password_and_refuse_a_wrong_one() {
    let pws = |list: &[&str]| {
        let v: Vec<Secret> = list.iter().map(|p| Secret::new(*p)).collect();
        Passwords::new(None, &v)
    };
    for (with_dt, compress, name) in [
        (false, Compress::Zip, "c.zip"),
        (true, Compress::Zip, "d.zip"),
        (false, Compress::Zstd, "c.tar.zst.age"),
        (true, Compress::Zstd, "d.tar.zst.age"),
    ] {
        let fx = fixture(with_dt);
        let archive = fx.pack_sealed(compress, name, "right one");
        let to = fx.to();
        let e = restore_with(&archive, &to, false, &pws(&["wrong"])).unwrap_err();
        assert!(e.to_string().contains("wrong password"), "{name}: {e}");
        assert!(
            fs::read_dir(&to).map_or(true, |mut d| d.next().is_none()),
            "{name}: left files"
        );
        let e = restore_with(&archive, &to, false, &Passwords::default()).unwrap_err();
        assert!(e.to_string().contains("encrypted"), "{name}: {e}");
        let r = restore_with(&archive, &to, false, &pws(&["old", "right one"])).unwrap();
        for n in fx.names() {
            assert_eq!(
                fs::read(to.join(n)).unwrap(),
                fs::read(fx.src.join(n)).unwrap(),
                "{name}: {n}"
            );
        }
        let copy = matches!(r.kind, RestoredKind::Copy);
        assert_eq!(copy, !with_dt, "{name}: {:?}", r.kind);
    }
}
