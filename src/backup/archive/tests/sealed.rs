//! Encrypted archives against the real tools: a zip with a password is
//! tested and extracted by 7-Zip with it and refused without it or with a
//! wrong one, holds no plain `1CDBMSV8` signature, and a zip 7-Zip encrypts
//! opens with our verification; a `.tar.zst.age` verifies with the right
//! password and names a wrong one.

use super::*;
use crate::backup::crypt::{Keys, Passwords, key_id};
use crate::backup::verify::{VerifyError, verify, verify_with};
use crate::config::Secret;

fn pack_sealed(fx: &Fixture, compress: Compress, name: &str, pw: &str) -> (PathBuf, Packed) {
    let tmp = fx.dir.path().join(name);
    let secret = Secret::new(pw);
    let opts = Options {
        compress,
        level: None,
        threads: 2,
        password: Some(&secret),
    };
    let packed = super::super::pack(&fx.sources, &tmp, &opts, &mut |_| {}, &Cancel::new()).unwrap();
    assert_eq!(packed.bytes, fs::metadata(&tmp).unwrap().len());
    (tmp, packed)
}

fn keys(pws: &[&str]) -> Keys {
    let list: Vec<Secret> = pws.iter().map(|p| Secret::new(*p)).collect();
    Keys::new(Passwords::new(None, &list))
}

/// `7z ARGS…` with its output, or `None` when 7-Zip is not installed.
fn seven_zip(args: &[&str]) -> Option<(bool, String)> {
    if !tool("7z") {
        return None;
    }
    let o = Command::new("7z").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    Some((o.status.success(), text))
}

#[test]
fn an_encrypted_zip_opens_in_7zip_with_its_password_only() {
    let fx = fixture();
    let pw = "Пароль с пробелом 1";
    let (zip, packed) = pack_sealed(&fx, Compress::Zip, "e.zip", pw);
    assert!(packed.file_key.is_none());
    let bytes = fs::read(&zip).unwrap();
    assert!(
        !bytes.windows(8).any(|w| w == b"1CDBMSV8"),
        "the infobase signature is visible in the encrypted zip"
    );
    assert!(
        !bytes.windows(8).any(|w| w == b"1CV8LOG("),
        "log text is visible"
    );
    // Method 99 and the AE-2 extra field in the local header.
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 99);
    assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]) & 1, 1);
    assert!(bytes.windows(6).any(|w| w == [0x01, 0x99, 7, 0, 2, 0]));

    // Our verification: right, wrong, old, none.
    let r = verify_with(&zip, &keys(&[pw]), &Cancel::new()).unwrap();
    assert_eq!(r.entries.len(), fx.contents.len());
    assert_eq!(r.key_id.as_deref(), Some(key_id(&Secret::new(pw)).as_str()));
    assert!(
        r.entries[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .starts_with("1CD"),
        "{:?}",
        r.entries
    );
    let e = verify_with(&zip, &keys(&["wrong"]), &Cancel::new()).unwrap_err();
    assert!(matches!(e, VerifyError::WrongPassword { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("wrong password (or the archive was made with another password)"),
        "{e}"
    );
    assert!(!e.to_string().contains(pw));
    let r = verify_with(&zip, &keys(&["new one", pw]), &Cancel::new()).unwrap();
    assert_eq!(r.key_id, Some(key_id(&Secret::new(pw))));
    let e = verify(&zip, &Cancel::new()).unwrap_err();
    assert!(matches!(e, VerifyError::NeedPassword { .. }), "{e}");

    // 7-Zip: tests it with the password, refuses without or with another.
    let z = zip.to_str().unwrap();
    let Some((ok, text)) = seven_zip(&["t", &format!("-p{pw}"), z]) else {
        return;
    };
    assert!(ok && text.contains("Everything is Ok"), "7z t: {text}");
    let (ok, text) = seven_zip(&["t", "-pwrong", z]).unwrap();
    assert!(!ok, "7z t with a wrong password passed: {text}");
    assert!(text.contains("Wrong password"), "{text}");
    // No password: 7-Zip would ask on a terminal; with none it fails.
    let o = Command::new("7z")
        .args(["t", z])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success(), "7z t without a password passed");
    // And extracts the very bytes.
    let out = fx.dir.path().join("x");
    let (ok, text) =
        seven_zip(&["x", &format!("-p{pw}"), &format!("-o{}", out.display()), z]).unwrap();
    assert!(ok, "7z x: {text}");
    for (name, data) in &fx.contents {
        assert_eq!(&fs::read(out.join(name)).unwrap(), data, "{name}");
    }
}

#[test]
fn a_zip_7zip_encrypts_with_aes256_verifies_with_ours() {
    let fx = fixture();
    let made = fx.dir.path().join("7z.zip");
    let files: Vec<String> = fx.sources.iter().map(|s| s.name.clone()).collect();
    let mut args = vec![
        "a".to_string(),
        "-tzip".into(),
        "-mem=AES256".into(),
        "-pseven".into(),
        made.display().to_string(),
    ];
    args.extend(files);
    if !tool("7z") {
        return;
    }
    let o = Command::new("7z")
        .args(&args)
        .current_dir(fx.dir.path().join("src"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let r = verify_with(&made, &keys(&["x", "seven"]), &Cancel::new()).unwrap();
    let mut names: Vec<&str> = r.entries.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    let mut want: Vec<&str> = fx.contents.iter().map(|(n, _)| n.as_str()).collect();
    want.sort();
    assert_eq!(names, want);
    let e = verify_with(&made, &keys(&["x"]), &Cancel::new()).unwrap_err();
    assert!(matches!(e, VerifyError::WrongPassword { .. }), "{e}");
}

#[test]
fn damage_in_an_encrypted_zip_is_damage_not_a_wrong_password() {
    let fx = fixture();
    let (zip, _) = pack_sealed(&fx, Compress::Zip, "d.zip", "pw");
    let mut bytes = fs::read(&zip).unwrap();
    // Inside the first entry's ciphertext (after its header and salt).
    bytes[200] ^= 0x10;
    fs::write(&zip, &bytes).unwrap();
    let e = verify_with(&zip, &keys(&["pw"]), &Cancel::new()).unwrap_err();
    assert!(!matches!(e, VerifyError::WrongPassword { .. }), "{e}");
    assert!(e.to_string().contains("damaged"), "{e}");
}

#[test]
fn an_encrypted_tar_zst_is_age_and_verifies_with_the_packers_key_or_a_password() {
    let fx = fixture();
    let (path, packed) = pack_sealed(&fx, Compress::Zstd, "e.tar.zst.age", "pw");
    let bytes = fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert!(!bytes.windows(8).any(|w| w == b"1CDBMSV8"));
    let id = key_id(&Secret::new("pw"));
    // Right after packing: the file key, no password needed.
    let sealed = Keys {
        passwords: Passwords::default(),
        sealed: Some((packed.file_key.clone().unwrap(), id.clone())),
    };
    let r = verify_with(&path, &sealed, &Cancel::new()).unwrap();
    assert_eq!(r.entries.len(), fx.contents.len());
    assert_eq!(r.key_id.as_deref(), Some(id.as_str()));
    let r = verify_with(&path, &keys(&["old", "pw"]), &Cancel::new()).unwrap();
    assert_eq!(r.key_id.as_deref(), Some(id.as_str()));
    let e = verify_with(&path, &keys(&["nope"]), &Cancel::new()).unwrap_err();
    assert!(matches!(e, VerifyError::WrongPassword { .. }), "{e}");
    let e = verify(&path, &Cancel::new()).unwrap_err();
    assert!(matches!(e, VerifyError::NeedPassword { .. }), "{e}");
    // A cut file is truncated, a flipped byte damaged.
    let cut = fx.dir.path().join("cut.tar.zst.age");
    fs::write(&cut, &bytes[..bytes.len() - 30]).unwrap();
    let e = verify_with(&cut, &sealed, &Cancel::new()).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::Damaged { .. } | VerifyError::Truncated { .. }
        ),
        "{e}"
    );
    let mut bad = bytes.clone();
    let at = bad.len() - 40;
    bad[at] ^= 4;
    fs::write(&cut, &bad).unwrap();
    let e = verify_with(&cut, &sealed, &Cancel::new()).unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
}

#[test]
fn extensions_name_the_encrypted_tar_zst() {
    assert_eq!(
        sealed_extension(Compress::Zstd, false, true),
        ".tar.zst.age"
    );
    assert_eq!(sealed_extension(Compress::Zstd, false, false), ".tar.zst");
    assert_eq!(sealed_extension(Compress::Zip, true, true), ".zip");
}

#[test]
fn a_password_without_an_archive_is_refused() {
    let fx = fixture();
    let secret = Secret::new("pw");
    let opts = Options {
        compress: Compress::None,
        level: None,
        threads: 1,
        password: Some(&secret),
    };
    let tmp = fx.dir.path().join("none");
    let e = super::super::pack(&fx.sources, &tmp, &opts, &mut |_| {}, &Cancel::new()).unwrap_err();
    assert!(e.to_string().contains("zip or zstd"), "{e}");
    assert!(!tmp.exists());
}

#[test]
fn an_unsealed_tar_zst_age_verifies_while_its_header_is_made_and_ends_a_normal_age_file() {
    let fx = fixture();
    let tmp = fx.dir.path().join("u.tar.zst.age");
    let secret = Secret::new("pw");
    let opts = Options {
        compress: Compress::Zstd,
        level: None,
        threads: 2,
        password: Some(&secret),
    };
    let packed =
        super::super::pack_unsealed(&fx.sources, &tmp, &opts, &mut |_| {}, &Cancel::new()).unwrap();
    // Until sealed the file starts with the placeholder: nothing opens it.
    let header = packed
        .header
        .expect("an age file leaves its header pending");
    let before = fs::read(&tmp).unwrap();
    assert!(before[..header.len()].iter().all(|&b| b == 0));
    assert!(verify_with(&tmp, &keys(&["pw"]), &Cancel::new()).is_err());
    let id = key_id(&secret);
    let sealed = Keys {
        passwords: Passwords::default(),
        sealed: Some((packed.file_key.clone().unwrap(), id.clone())),
    };
    let r = crate::backup::verify::verify_sealing(&tmp, &sealed, header, &Cancel::new()).unwrap();
    assert_eq!(r.entries.len(), fx.contents.len());
    assert_eq!(r.key_id.as_deref(), Some(id.as_str()));
    // Afterwards it is an ordinary age file: the password opens it, and
    // the hash the verification reported is the finished file's.
    let after = fs::read(&tmp).unwrap();
    assert!(after.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert_eq!(r.size, after.len() as u64);
    let again = verify_with(&tmp, &keys(&["pw"]), &Cancel::new()).unwrap();
    assert_eq!(again.sha256, r.sha256);
    assert_eq!(
        before.len(),
        after.len(),
        "the header filled its placeholder"
    );

    // A flipped payload byte is caught while the header is still pending.
    let packed =
        super::super::pack_unsealed(&fx.sources, &tmp, &opts, &mut |_| {}, &Cancel::new()).unwrap();
    let mut bytes = fs::read(&tmp).unwrap();
    let at = bytes.len() - 40;
    bytes[at] ^= 4;
    fs::write(&tmp, &bytes).unwrap();
    let sealed = Keys {
        passwords: Passwords::default(),
        sealed: Some((packed.file_key.clone().unwrap(), id)),
    };
    let e = crate::backup::verify::verify_sealing(
        &tmp,
        &sealed,
        packed.header.unwrap(),
        &Cancel::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("damaged"), "{e}");
}
