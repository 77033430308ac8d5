//! The age writer and reader: round trips at every chunk boundary, the
//! password checks, damage and truncation, and interoperability with the
//! real `age` tool when it is installed (driven through a terminal made by
//! `script`, since age reads a passphrase only from a terminal).

use super::*;
use crate::backup::crypt::Passwords;
use std::process::{Command, Stdio};

/// A low work factor keeps the tests fast; the reader accepts any up to
/// [`MAX_LOG_N`].
const TEST_LOG_N: u8 = 10;

fn seal(data: &[u8], pw: &str, log_n: u8) -> (Vec<u8>, FileKey) {
    let (mut w, key) = Writer::new(Vec::new(), &Secret::new(pw), log_n).unwrap();
    // Uneven writes, as zstd makes them.
    for piece in data.chunks(7000) {
        w.write_all(piece).unwrap();
    }
    (w.finish().unwrap(), key)
}

fn keys(pws: &[&str]) -> Keys {
    let list: Vec<Secret> = pws.iter().map(|p| Secret::new(*p)).collect();
    Keys::new(Passwords::new(None, &list))
}

fn open_all(file: &[u8], keys: &Keys) -> Result<(Vec<u8>, String), AgeError> {
    let mut o = open(file, keys)?;
    let mut out = Vec::new();
    o.reader
        .read_to_end(&mut out)
        .map_err(|e| match AgeError::find(&e) {
            Some(AgeError::Damaged { at }) => AgeError::Damaged { at: *at },
            Some(AgeError::Truncated { at }) => AgeError::Truncated { at: *at },
            _ => AgeError::Io(e),
        })?;
    Ok((out, o.key_id))
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 253) as u8).collect()
}

#[test]
fn round_trips_at_every_chunk_boundary() {
    for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5] {
        let plain = data(n);
        let (file, _) = seal(&plain, "pw", TEST_LOG_N);
        assert!(file.starts_with(MAGIC));
        let chunks = n.div_ceil(CHUNK).max(1);
        let header = file.len() - 16 - n - chunks * TAG;
        assert!(header < 200, "{n}: header of {header} bytes");
        let (got, id) = open_all(&file, &keys(&["pw"])).unwrap();
        assert_eq!(got, plain, "{n} bytes");
        assert_eq!(id, key_id(&Secret::new("pw")));
    }
}

#[test]
fn the_header_is_a_single_scrypt_stanza_as_age_writes_it() {
    let (file, _) = seal(b"x", "pw", 18);
    let end = file.windows(5).position(|w| w == b"\n--- ").unwrap() + 48;
    let text = String::from_utf8_lossy(&file[..end]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "age-encryption.org/v1");
    let args: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(args[..2], ["->", "scrypt"]);
    assert_eq!(args[2].len(), 22, "16-byte salt, unpadded base64");
    assert_eq!(args[3], "18");
    assert_eq!(lines[2].len(), 43, "a 32-byte wrapped key on one line");
    assert!(
        lines[3].starts_with("--- ") && lines[3].len() == 47,
        "{}",
        lines[3]
    );
}

#[test]
fn a_wrong_or_missing_password_is_told_apart_and_old_ones_work() {
    let (file, key) = seal(b"secret data", "new", TEST_LOG_N);
    assert!(matches!(
        open(&file[..], &keys(&["nope", "other"])),
        Err(AgeError::WrongPassword)
    ));
    assert!(matches!(
        open(&file[..], &keys(&[])),
        Err(AgeError::NoPassword)
    ));
    let (got, id) = open_all(&file, &keys(&["old", "new"])).unwrap();
    assert_eq!(got, b"secret data");
    assert_eq!(id, key_id(&Secret::new("new")));
    // The packer's file key opens it without any password (no scrypt).
    let sealed = Keys {
        passwords: Passwords::default(),
        sealed: Some((key, "abcd1234".into())),
    };
    let (got, id) = open_all(&file, &sealed).unwrap();
    assert_eq!(
        (got.as_slice(), id.as_str()),
        (&b"secret data"[..], "abcd1234")
    );
    // Another file's key does not: it falls back to the passwords.
    let (_, other) = seal(b"y", "new", TEST_LOG_N);
    let wrong_key = Keys {
        passwords: Passwords::default(),
        sealed: Some((other, "x".into())),
    };
    assert!(matches!(
        open(&file[..], &wrong_key),
        Err(AgeError::NoPassword)
    ));
}

#[test]
fn damage_anywhere_and_truncation_are_caught() {
    let plain = data(3 * CHUNK);
    let (file, _) = seal(&plain, "pw", TEST_LOG_N);
    let k = keys(&["pw"]);
    // A flipped byte in the payload.
    let mut bad = file.clone();
    let at = bad.len() - CHUNK;
    bad[at] ^= 1;
    assert!(matches!(open_all(&bad, &k), Err(AgeError::Damaged { .. })));
    // A flipped byte in the header's stanza line (the salt): the password
    // no longer unwraps the key.
    let mut bad = file.clone();
    bad[30] ^= 1;
    assert!(open_all(&bad, &k).is_err());
    // The MAC itself.
    let mac_at = file.windows(4).position(|w| w == b"--- ").unwrap() + 5;
    let mut bad = file.clone();
    bad[mac_at] = if bad[mac_at] == b'A' { b'B' } else { b'A' };
    assert!(
        matches!(open_all(&bad, &k), Err(AgeError::Header(_))),
        "mac"
    );
    // Cut at a chunk boundary: the last chunk left is a middle one.
    let header_end = file.len() - 3 * (CHUNK + TAG);
    let cut = &file[..header_end + 2 * (CHUNK + TAG)];
    assert!(matches!(open_all(cut, &k), Err(AgeError::Truncated { .. })));
    // Cut inside a chunk, and just after the header.
    assert!(open_all(&file[..file.len() - 100], &k).is_err());
    assert!(matches!(
        open_all(&file[..header_end], &k),
        Err(AgeError::Truncated { .. })
    ));
    // Extra bytes after the end.
    let mut long = file.clone();
    long.extend_from_slice(b"junk");
    assert!(open_all(&long, &k).is_err());
}

#[test]
fn hostile_headers_are_refused_before_any_work() {
    let k = keys(&["pw"]);
    let err = |h: &str| {
        open(h.as_bytes(), &k)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(err("PK\x03\x04").contains("not an age file"));
    let salt = "KSJSsYNKoOnHlmq7RsId3g";
    let body = "+e7PNbKOkhqcofLjLW8hquJpE3uM1Tz3bgMoQHx1mZU";
    let mac = "kAs4/M678l8F/AGTVpinxrSyor3Ua9lHTf32k0vJqAo";
    let huge = format!("age-encryption.org/v1\n-> scrypt {salt} 40\n{body}\n--- {mac}\n");
    assert!(err(&huge).contains("work factor 40"), "{}", err(&huge));
    let x25519 = format!("age-encryption.org/v1\n-> X25519 abc\n{body}\n--- {mac}\n");
    assert!(err(&x25519).contains("X25519"), "{}", err(&x25519));
    let endless = format!(
        "age-encryption.org/v1\n-> scrypt {salt} 10\n{}",
        "A".repeat(64 * 400)
    );
    assert!(err(&endless).contains("longer than"), "{}", err(&endless));
}

/// The age file made by `age -p` in this module's interop test run, kept as
/// a fixed vector: passphrase `pw123`, plaintext `hello world\n`, work
/// factor 18 (age's default).
const AGE_MADE: &str = "age-encryption.org/v1
-> scrypt KSJSsYNKoOnHlmq7RsId3g 18
+e7PNbKOkhqcofLjLW8hquJpE3uM1Tz3bgMoQHx1mZU
--- kAs4/M678l8F/AGTVpinxrSyor3Ua9lHTf32k0vJqAo
";

/// Its binary payload (nonce and one sealed chunk), in hex.
const AGE_MADE_PAYLOAD: &str =
    "6a48f317e9b496978a80dad772dc159ee32a781162d54ab571e549bf7509c402aa76e7896c7225a7687157a6";

#[test]
fn a_file_made_by_the_age_tool_opens() {
    let mut file = AGE_MADE.as_bytes().to_vec();
    let hex = AGE_MADE_PAYLOAD.as_bytes();
    for pair in hex.chunks(2) {
        file.push(u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap());
    }
    let (got, _) = open_all(&file, &keys(&["wrong", "pw123"])).unwrap();
    assert_eq!(got, b"hello world\n");
}

/// `age -d` under a terminal made by `script`, the passphrase typed into it.
fn age_decrypts(file: &std::path::Path, out: &std::path::Path, pw: &str) -> Option<bool> {
    let have = Command::new("age").arg("--version").output().is_ok()
        && Command::new("script").arg("--version").output().is_ok();
    if !have {
        eprintln!("skipped: `age` or `script` is not installed");
        return None;
    }
    let cmd = format!("age -d -o '{}' '{}'", out.display(), file.display());
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // age opens the terminal first; type once it has asked.
    std::thread::sleep(std::time::Duration::from_millis(700));
    writeln!(stdin, "{pw}").unwrap();
    let o = child.wait_with_output().unwrap();
    Some(o.status.success())
}

#[test]
fn the_age_tool_decrypts_what_we_write() {
    let dir = tempfile::tempdir().unwrap();
    let plain = data(2 * CHUNK + 77);
    let (file, _) = seal(&plain, "s3cret pass", LOG_N);
    let path = dir.path().join("a.age");
    std::fs::write(&path, &file).unwrap();
    let out = dir.path().join("plain");
    let Some(ok) = age_decrypts(&path, &out, "s3cret pass") else {
        return;
    };
    assert!(ok, "age -d failed");
    assert_eq!(std::fs::read(&out).unwrap(), plain);
    let out2 = dir.path().join("plain2");
    assert_eq!(age_decrypts(&path, &out2, "wrong"), Some(false));
    assert!(std::fs::read(&out2).map_or(true, |d| d.is_empty()));
}

#[test]
fn a_deferred_header_fills_its_placeholder_exactly() {
    for n in [0, CHUNK + 3] {
        let plain = data(n);
        let pw = Secret::new("pw");
        let (mut w, key, pending) =
            Writer::deferred(io::Cursor::new(Vec::new()), &pw, TEST_LOG_N).unwrap();
        w.write_all(&plain).unwrap();
        let mut file = w.finish().unwrap().into_inner();
        // Before the header is written the file opens as nothing.
        assert!(file.iter().take(20).all(|&b| b == 0));
        assert!(open_all(&file, &keys(&["pw"])).is_err());
        let header = pending.finish().unwrap();
        assert!(header.starts_with(MAGIC) && header.ends_with(b"\n"));
        file[..header.len()].copy_from_slice(&header);
        let (got, id) = open_all(&file, &keys(&["pw"])).unwrap();
        assert_eq!(got, plain, "{n} bytes");
        assert_eq!(id, key_id(&pw));
        // The key handed back opens it without the password.
        let mut sealed = keys(&[]);
        sealed.sealed = Some((key.clone(), key_id(&pw)));
        assert_eq!(open_all(&file, &sealed).unwrap().0, plain);
        assert!(matches!(
            open_all(&file, &keys(&["other"])),
            Err(AgeError::WrongPassword)
        ));
    }
}
