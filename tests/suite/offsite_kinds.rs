//! The whole program against every remote kind of offsite target, each
//! on a real loopback server and configured as a user would: S3 on
//! moto_server checking signatures (`OFFSITE_*` variables), WebDAV on
//! `rclone serve webdav` with basic auth and SFTP on OpenSSH's sshd with
//! a passphrase-protected key and a pinned host key (both from the
//! `offsite:` list of `config.yaml`). One scenario, parametrised by kind:
//! console backups upload verified copies (bytes and SHA-256 read back
//! through the server's own storage), remote retention deletes only this
//! program's objects of that base, `fixed` mode fills and replaces its
//! slots and a killed upload keeps the last copy, `restore --from` and
//! `drill --from` work from the copy alone, and no secret shows in any
//! output, log, the history database or `config check`. Then S3's
//! multipart upload killed mid-way (a console push, and the agent) and
//! resumed with the same upload id, only the missing parts sent (counted
//! in moto's request log).
#![cfg(unix)]

use crate::util::moto::{Keys, Moto};
use crate::util::proc::{Proc, wait_for};
use crate::util::rclone::{self, WebDavServer, serve_webdav};
use crate::util::remote::{read_back, sha256_hex};
use crate::util::sshd::{Sshd, keygen};
use crate::util::{Heavy, World, contains, file_name, heavy};
use onec_backup_bot::cancel::Cancel;
use onec_backup_bot::config::Secret;
use onec_backup_bot::offsite::s3::{S3, TEST_PART_SIZE_ENV};
use onec_backup_bot::offsite::{NoResume, Remote, Throttle, Upload};
use onec_backup_bot::onec::generate::{CdFormat, generate_1cd};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const BUCKET: &str = "onec-offsite";
/// The S3 part size of these tests (moto allows parts down to `MIN_PART`).
const PART: u64 = 64 << 10;
const MIN_PART: u64 = 4 << 10;
const KEY_PASSPHRASE: &str = "Kinds-Key-Pa55phrase-Ключ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    S3,
    WebDav,
    Sftp,
}

/// A running server of one kind and what a target on it needs.
struct Server {
    kind: Kind,
    dir: tempfile::TempDir,
    moto: Option<(Moto, Keys)>,
    webdav: Option<WebDavServer>,
    sshd: Option<(Sshd, PathBuf)>,
    _heavy: Heavy,
}

/// The objects under one root of a server, read through its own storage
/// (the served folder) or, for S3, through the S3 API with other keys'
/// code paths (our client, not the program under test).
enum Store {
    Dir(PathBuf),
    S3(Box<S3>),
}

impl Server {
    fn start(kind: Kind) -> Server {
        let heavy = heavy();
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let mut s = Server {
            kind,
            dir,
            moto: None,
            webdav: None,
            sshd: None,
            _heavy: heavy,
        };
        match kind {
            Kind::S3 => {
                let (m, k) = Moto::start_checking_signatures(MIN_PART);
                s.moto = Some((m, k));
                s.s3("").create_bucket().unwrap();
            }
            Kind::WebDav => {
                let root = s.dir.path().join("served");
                s.webdav = Some(serve_webdav(&root, s.dir.path()));
            }
            Kind::Sftp => {
                let sshd = Sshd::start(&s.dir.path().join("sshd"));
                let key = s.dir.path().join("id_ed25519");
                keygen(&key, "ed25519", KEY_PASSPHRASE);
                sshd.authorize(&key);
                s.sshd = Some((sshd, key));
            }
        }
        s
    }

    /// An S3 client on `prefix` (S3 only).
    fn s3(&self, prefix: &str) -> S3 {
        let (m, k) = self.moto.as_ref().unwrap();
        S3::new(
            BUCKET,
            prefix,
            Some(&m.endpoint()),
            None,
            true,
            &k.id,
            Secret::new(&k.secret),
        )
        .unwrap()
        .with_part_size(PART)
    }

    /// The target's settings for objects under `root`, by their
    /// `config.yaml` field names.
    fn fields(&self, root: &str) -> Vec<(String, String)> {
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        match self.kind {
            Kind::S3 => {
                let (m, k) = self.moto.as_ref().unwrap();
                vec![
                    f("url", &format!("s3://{BUCKET}/{root}")),
                    f("endpoint", &m.endpoint()),
                    f("path_style", "true"),
                    f("access_key_id", &k.id),
                    f("secret_access_key", &k.secret),
                ]
            }
            Kind::WebDav => {
                let w = self.webdav.as_ref().unwrap();
                vec![
                    f("url", &format!("webdav://127.0.0.1:{}/{root}", w.port)),
                    f("user", rclone::USER),
                    f("password", rclone::PASS),
                    // Read back: WebDAV's default is the size only.
                    f("verify", "read"),
                ]
            }
            Kind::Sftp => {
                let (sshd, key) = self.sshd.as_ref().unwrap();
                let path = self.dir.path().join("sftp").join(root);
                vec![
                    f(
                        "url",
                        &format!(
                            "sftp://{}@127.0.0.1:{}{}",
                            sshd.user,
                            sshd.port,
                            path.display()
                        ),
                    ),
                    f("key_file", &key.display().to_string()),
                    f("key_passphrase", KEY_PASSPHRASE),
                    f("known_host", &sshd.fingerprint),
                ]
            }
        }
    }

    /// The secrets a target of this kind is given, by setting.
    fn secrets(&self) -> Vec<(&'static str, String)> {
        match self.kind {
            Kind::S3 => vec![(
                "secret_access_key",
                self.moto.as_ref().unwrap().1.secret.clone(),
            )],
            Kind::WebDav => vec![("password", rclone::PASS.to_string())],
            Kind::Sftp => vec![("key_passphrase", KEY_PASSPHRASE.to_string())],
        }
    }

    /// How the program verifies an upload to this kind (as configured).
    fn verified(&self) -> &'static str {
        match self.kind {
            Kind::S3 => "etag",
            Kind::WebDav | Kind::Sftp => "read",
        }
    }

    fn store(&self, root: &str) -> Store {
        match self.kind {
            Kind::S3 => Store::S3(Box::new(self.s3(root))),
            Kind::WebDav => Store::Dir(self.webdav.as_ref().unwrap().root.join(root)),
            Kind::Sftp => Store::Dir(self.dir.path().join("sftp").join(root)),
        }
    }

    fn log_text(&self) -> String {
        match self.kind {
            Kind::S3 => self.moto.as_ref().unwrap().0.log_text(),
            Kind::WebDav => self.webdav.as_ref().unwrap().log_text(),
            Kind::Sftp => self.sshd.as_ref().unwrap().0.log_text(),
        }
    }
}

impl Store {
    /// Every object, relative and `/`-separated, sorted.
    fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = match self {
            Store::Dir(d) => crate::util::walk_all(d)
                .into_iter()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect(),
            Store::S3(s3) => s3.list("").unwrap().into_iter().map(|o| o.name).collect(),
        };
        out.sort();
        out
    }

    fn read(&self, name: &str) -> Option<Vec<u8>> {
        match self {
            Store::Dir(d) => fs::read(d.join(name)).ok(),
            Store::S3(s3) => {
                s3.head(name).unwrap()?;
                Some(read_back(s3.as_ref(), name))
            }
        }
    }

    /// An object put there by someone else.
    fn plant(&self, name: &str, bytes: &[u8]) {
        match self {
            Store::Dir(d) => {
                let p = d.join(name);
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(p, bytes).unwrap();
            }
            Store::S3(s3) => {
                let tmp = tempfile::NamedTempFile::new().unwrap();
                fs::write(tmp.path(), bytes).unwrap();
                s3.put(&Upload {
                    file: tmp.path(),
                    name,
                    size: bytes.len() as u64,
                    sha256: &sha256_hex(bytes),
                    resume: &NoResume,
                    throttle: &Throttle::unlimited(),
                    cancel: &Cancel::new(),
                    progress: &|_| {},
                })
                .unwrap();
            }
        }
    }

    /// Whether an upload is visibly under way: a temporary object of a
    /// kind that writes one (S3 shows nothing before it completes).
    fn uploading(&self) -> bool {
        match self {
            Store::Dir(_) => self.names().iter().any(|n| n.contains(".uploading")),
            Store::S3(_) => true,
        }
    }
}

/// Give the base other pages (another seed), so the next archive differs.
fn change_base(w: &World, pages: u32, seed: u64) {
    generate_1cd(&w.base.join("1Cv8.1CD"), CdFormat::V8_3_8, pages, seed).unwrap();
}

/// A world backing up `buh` by copy to a target on `srv` under `root`,
/// configured from the environment (S3) or `config.yaml` (the others),
/// with `extra` fields (`mode`, `keep.last`); everything the program
/// printed is kept to look for secrets in.
struct Case<'a> {
    w: World,
    srv: &'a Server,
    /// The target's name (`offsite` from the environment).
    target: String,
    /// Its settings as configured, by `config.yaml` field name.
    fields: Vec<(String, String)>,
    store: Store,
    seen: RefCell<String>,
}

impl<'a> Case<'a> {
    fn new(srv: &'a Server, pages: u32, root: &str, extra: &[(&str, &str)]) -> Case<'a> {
        let mut w = World::new(pages);
        w.set("BACKUP_METHOD", "copy");
        w.set("LOG_LEVEL", "debug");
        if srv.kind == Kind::S3 {
            w.set(TEST_PART_SIZE_ENV, &PART.to_string());
        }
        let mut fields = srv.fields(root);
        fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let target = match srv.kind {
            Kind::S3 => "offsite",
            Kind::WebDav => "yadisk",
            Kind::Sftp => "nas",
        };
        let mut c = Case {
            w,
            srv,
            target: target.to_string(),
            fields: Vec::new(),
            store: srv.store(root),
            seen: RefCell::new(String::new()),
        };
        c.configure(fields);
        c
    }

    /// Configure the target with `fields`: `OFFSITE_*` variables for S3,
    /// the `offsite:` list of `config.yaml` for the others.
    fn configure(&mut self, fields: Vec<(String, String)>) {
        if self.srv.kind == Kind::S3 {
            for (k, v) in &fields {
                let var = format!("OFFSITE_{}", k.replace('.', "_").to_uppercase());
                self.w.set(&var, v);
            }
        } else {
            let yaml = yaml(&self.target, &fields);
            fs::write(self.w.dir.path().join("config.yaml"), yaml).unwrap();
        }
        self.fields = fields;
    }

    /// The configuration with one field's value replaced.
    fn with(&self, field: &str, value: &str) -> Vec<(String, String)> {
        let mut f = self.fields.clone();
        for (k, v) in &mut f {
            if k == field {
                *v = value.to_string();
            }
        }
        f
    }

    fn keep(&self, text: &str) {
        self.seen.borrow_mut().push_str(text);
    }

    /// `onec-backup-bot <args> --json`-style: code, JSON answer, stderr.
    /// `restore <which> --from <target> --to <to> --json`.
    fn restore(&self, which: &str, to: &Path) -> (i32, Value, String) {
        let to = to.display().to_string();
        self.json(
            &[
                "restore",
                which,
                "--from",
                &self.target,
                "--to",
                &to,
                "--json",
            ],
            &[],
        )
    }

    fn json(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
        let (code, v, err) = self.w.json(args, env);
        self.keep(&format!("{v}\n{err}\n"));
        (code, v, err)
    }

    /// A forced console backup that must succeed (uploads included).
    fn backup(&self, extra: &[&str]) -> Value {
        let (code, v, err) = self.json(&[&["backup", "--force", "--json"], extra].concat(), &[]);
        assert_eq!(
            code,
            0,
            "{v}\n{err}\nserver log:\n{}",
            tail(&self.srv.log_text())
        );
        assert_eq!(v["status"], "ok", "{v}");
        v
    }

    /// `offsite push --json` that must succeed.
    fn push(&self) -> Value {
        let (code, v, err) = self.json(&["offsite", "push", "--json"], &[]);
        assert_eq!(
            code,
            0,
            "{v}\n{err}\nserver log:\n{}",
            tail(&self.srv.log_text())
        );
        v
    }

    /// The newest queue item of the target: state, resume state, pid.
    fn queue_row(&self) -> Option<(String, Option<String>, Option<i64>)> {
        let db = rusqlite::Connection::open(self.w.backups.join("app.sqlite3")).ok()?;
        db.query_row(
            "SELECT state, resume, pid FROM offsite_queue WHERE target = ?1 \
             ORDER BY id DESC LIMIT 1",
            [&self.target],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ok()
    }

    /// Start `offsite push` capped to `bandwidth` bytes/s, wait until it is
    /// uploading (and `more` holds), then SIGKILL it.
    fn kill_a_slow_push(&self, bandwidth: u64, more: impl Fn(&Self) -> bool) {
        let rate = bandwidth.max(1).to_string();
        let mut env: Vec<(&str, &str)> = vec![("OFFSITE_BANDWIDTH", rate.as_str())];
        let yaml_path = self.w.dir.path().join("config.yaml");
        let saved_yaml = fs::read_to_string(&yaml_path).ok();
        if let Some(y) = &saved_yaml {
            // A YAML target's cap is its own `bandwidth:` field.
            env.clear();
            fs::write(&yaml_path, y.clone() + &format!("    bandwidth: {rate}\n")).unwrap();
        }
        let mut push: Proc = self.w.spawn(&["offsite", "push"], &env);
        wait_for("the upload to start", Duration::from_secs(30), || {
            assert!(
                push.0.try_wait().unwrap().is_none(),
                "the slow push exited before it was killed"
            );
            self.queue_row().is_some_and(|(s, _, _)| s == "uploading")
                && self.store.uploading()
                && more(self)
        });
        push.0.kill().unwrap();
        push.0.wait().unwrap();
        if let Some(y) = saved_yaml {
            fs::write(&yaml_path, y).unwrap();
        }
    }
}

/// The `offsite:` list of `config.yaml` with one target.
fn yaml(name: &str, fields: &[(String, String)]) -> String {
    let q = |v: &str| {
        if v.bytes().all(|b| b.is_ascii_digit()) || v == "true" {
            v.to_string()
        } else {
            format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
        }
    };
    let mut out = format!("offsite:\n  - name: {name}\n");
    let mut keep = String::new();
    for (k, v) in fields {
        match k.strip_prefix("keep.") {
            Some(opt) => keep.push_str(&format!("      {opt}: {}\n", q(v))),
            None => out.push_str(&format!("    {k}: {}\n", q(v))),
        }
    }
    if !keep.is_empty() {
        out.push_str("    keep:\n");
        out.push_str(&keep);
    }
    out
}

fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(4000);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Upload, verification, remote retention, restore and drill from the
/// copy, `fixed` mode with a killed upload, and the secrets nowhere: the
/// whole program against one kind.
pub fn scenario(kind: Kind) {
    let t0 = Instant::now();
    let srv = Server::start(kind);
    let started = t0.elapsed();
    history_mode(&srv);
    fixed_mode(&srv);
    eprintln!(
        "offsite_kinds {kind:?}: server up in {:.1} s, scenario {:.1} s",
        started.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}

/// Two backups with `keep: last 1` beside a foreign object and another
/// base's; restore and drill from the copy; secrets nowhere.
fn history_mode(srv: &Server) {
    let c = Case::new(srv, 64, "history", &[("keep.last", "1")]);
    let (w, store) = (&c.w, &c.store);
    store.plant("buh/foreign.zip", b"not ours");
    store.plant("zup/zup_old.zip", b"zup's copy");

    // config check shows the target with its secrets masked.
    let check = w.cmd().args(["config", "check"]).output().unwrap();
    let check_text = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    c.keep(&check_text);
    assert!(check.status.success(), "{check_text}");
    assert!(check_text.contains("***"), "{check_text}");
    for (setting, _) in srv.secrets() {
        let env_name = format!("OFFSITE_{}", setting.to_uppercase());
        assert!(
            check_text.contains(setting) || check_text.contains(&env_name),
            "config check names {setting}: {check_text}"
        );
    }

    let v1 = c.backup(&[]);
    let a1 = v1["archive"].as_str().unwrap().to_string();
    let o1 = format!("buh/{}", file_name(&a1));
    let up = &v1["offsite"]["uploaded"][0];
    assert_eq!(up["target"], c.target.as_str(), "{v1}");
    assert_eq!(up["object"], o1.as_str(), "{v1}");
    assert_eq!(up["status"], "ok", "{v1}");
    assert_eq!(up["verified"], srv.verified(), "{v1}");
    let bytes1 = fs::read(&a1).unwrap();
    assert_eq!(up["bytes"], bytes1.len() as u64, "{v1}");
    let stored = store.read(&o1).expect("the copy on the server");
    assert_eq!(stored.len(), bytes1.len(), "the copy's size");
    assert_eq!(
        sha256_hex(&stored),
        sha256_hex(&bytes1),
        "the copy's SHA-256"
    );
    let runs = w.runs();
    assert_eq!(runs[0]["offsite"], json!([c.target]), "{runs:?}");
    if let Some(recorded) = runs[0]["sha256"].as_str() {
        assert_eq!(
            recorded,
            sha256_hex(&stored),
            "the run's SHA-256 is the copy's"
        );
    }
    if let Store::S3(s3) = store {
        let head = s3.head(&o1).unwrap().unwrap();
        assert_eq!(head.sha256.as_deref(), Some(sha256_hex(&bytes1).as_str()));
        if bytes1.len() as u64 > PART {
            let parts = (bytes1.len() as u64).div_ceil(PART);
            assert!(
                head.etag.ends_with(&format!("-{parts}")),
                "a multipart upload of {parts} parts: {}",
                head.etag
            );
        }
    }
    let (code, st, err) = c.json(&["offsite", "status", "--json"], &[]);
    assert_eq!(code, 0, "{st}\n{err}");
    assert_eq!(st[0]["target"], c.target.as_str(), "{st}");
    assert_eq!(st[0]["last_object"], o1.as_str(), "{st}");
    assert_eq!(st[0]["last_verified"], srv.verified(), "{st}");
    assert_eq!(st[0]["queued"], 0, "{st}");
    assert_eq!(st[0]["stale"], false, "{st}");

    // Another base's object this program uploaded (a row of its own).
    rusqlite::Connection::open(w.backups.join("app.sqlite3"))
        .unwrap()
        .execute(
            "INSERT INTO offsite_uploads (target, run_id, base, object, bytes, duration_ms, \
             verified, status, started, finished) VALUES (?1, 999, 'zup', \
             'zup/zup_old.zip', 10, 1, 'size', 'ok', '2020-01-01T00:00:00.000Z', \
             '2020-01-01T00:00:00.000Z')",
            [&c.target],
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    change_base(w, 64, 2);
    let v2 = c.backup(&[]);
    let a2 = v2["archive"].as_str().unwrap().to_string();
    let o2 = format!("buh/{}", file_name(&a2));
    assert_eq!(v2["offsite"]["pruned"], json!([o1]), "{v2}");
    assert_eq!(
        store.names(),
        [
            o2.clone(),
            "buh/foreign.zip".into(),
            "zup/zup_old.zip".into()
        ],
        "retention deleted only our older copy of buh"
    );
    assert_eq!(store.read("buh/foreign.zip").unwrap(), b"not ours");
    assert_eq!(store.read("zup/zup_old.zip").unwrap(), b"zup's copy");
    let runs = w.runs();
    assert_eq!(runs[0]["offsite"], json!([c.target]));
    assert_eq!(runs[1]["offsite"], json!([]), "the pruned copy is gone");

    // The local archive is gone: the copy is all there is.
    fs::rename(&a2, w.dir.path().join("kept.zip")).unwrap();
    let to = w.dir.path().join("restored");
    let (code, r, err) = c.restore("latest", &to);
    assert_eq!(code, 0, "{r}\n{err}");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        fs::read(to.join("1Cv8.1CD")).unwrap(),
        fs::read(w.base.join("1Cv8.1CD")).unwrap(),
        "the restored base is the backed-up one"
    );
    let (code, d, err) = c.json(&["drill", "--from", &c.target, "--json"], &[]);
    assert_eq!(code, 0, "{d}\n{err}");
    assert_eq!(d["status"], "ok", "{d}");

    // Tampered on the server (same size, other bytes): refused loudly.
    let mut bad = store.read(&o2).unwrap();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    store.plant(&o2, &bad);
    let to2 = w.dir.path().join("restored-tampered");
    let out = w
        .cmd()
        .args(["restore", "latest", "--from", &c.target, "--to"])
        .arg(&to2)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    c.keep(&stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does NOT match"), "{stderr}");
    assert!(!to2.join("1Cv8.1CD").exists());

    // A wrong secret: the local backup is ok, the upload fails with a
    // failed row and an error naming the target (the wrong secret is a
    // secret too); the right one back, a push recovers.
    let mut c = c;
    let (setting, secret) = srv.secrets()[0].clone();
    let wrong = format!("{secret}-Wrong-7");
    let right = c.fields.clone();
    c.configure(c.with(setting, &wrong));
    std::thread::sleep(Duration::from_millis(1100));
    change_base(&c.w, 64, 4);
    let (code, v, err) = c.json(&["backup", "--force", "--json"], &[]);
    assert_eq!(code, 1, "{v}\n{err}");
    assert_eq!(v["status"], "ok", "the local backup is ok: {v}");
    let error = v["offsite"]["failed"][0]["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("offsite target {}", c.target)),
        "{error}"
    );
    eprintln!("offsite_kinds {:?}: a wrong {setting}: {error}", srv.kind);
    // What to fix, as this target was configured: the variable, or the
    // target's field in config.yaml.
    let hint = if srv.kind == Kind::S3 {
        format!("OFFSITE_{}", setting.to_uppercase())
    } else {
        format!("{setting}:")
    };
    assert!(error.contains(&hint), "the error names {hint}: {error}");
    let (_, st, _) = c.json(&["offsite", "status", "--json"], &[]);
    assert_eq!(st[0]["queued"], 1, "{st}");
    assert!(st[0]["last_error"].is_string(), "{st}");
    c.configure(right);
    let pushed = c.push();
    assert_eq!(pushed["uploaded"].as_array().unwrap().len(), 1, "{pushed}");

    // Every list and answer, then the secrets: nowhere.
    let w = &c.w;
    for args in [
        &["list", "--json"][..],
        &["offsite", "status"],
        &["offsite", "prune", "--dry-run", "--json"],
        &["list"],
    ] {
        let out = w.cmd().args(args).output().unwrap();
        c.keep(&String::from_utf8_lossy(&out.stdout));
        c.keep(&String::from_utf8_lossy(&out.stderr));
    }
    // Console commands log to stderr (kept above); the agent's file is
    // looked at in `fixed_mode`.
    let seen = c.seen.borrow().clone() + &w.log_text();
    let db = w.history_bytes();
    assert!(
        contains(&db, "offsite target"),
        "the failed row is recorded"
    );
    for (setting, secret) in srv.secrets().into_iter().chain([("wrong", wrong)]) {
        assert!(!seen.contains(&secret), "{setting} shown:\n{seen}");
        assert!(!contains(&db, &secret), "{setting} in the history database");
    }
}

/// Mode `fixed`: the first archive fills daily, weekly and monthly; the
/// second replaces daily only; a third killed mid-upload leaves the second
/// in place, and the next push replaces it with nothing temporary left.
fn fixed_mode(srv: &Server) {
    let c = Case::new(srv, 64, "fixed", &[("mode", "fixed")]);
    let (w, store) = (&c.w, &c.store);
    let slot = |s: &str| format!("buh/buh_{s}.zip");
    let base1 = fs::read(w.base.join("1Cv8.1CD")).unwrap();
    let v1 = c.backup(&[]);
    let name1 = file_name(v1["archive"].as_str().unwrap());
    let a1 = fs::read(v1["archive"].as_str().unwrap()).unwrap();
    for s in ["daily", "weekly", "monthly"] {
        assert_eq!(store.read(&slot(s)).as_deref(), Some(&a1[..]), "{s}");
    }
    let uploaded: Vec<&str> = v1["offsite"]["uploaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["verified"].as_str().unwrap())
        .collect();
    assert_eq!(uploaded, [srv.verified(); 3], "{v1}");

    std::thread::sleep(Duration::from_millis(1100));
    change_base(w, 64, 2);
    let v2 = c.backup(&[]);
    let a2 = fs::read(v2["archive"].as_str().unwrap()).unwrap();
    assert_ne!(a1, a2);
    assert_eq!(store.read(&slot("daily")).unwrap(), a2, "daily replaced");
    assert_eq!(store.read(&slot("weekly")).unwrap(), a1, "weekly kept");
    assert_eq!(store.read(&slot("monthly")).unwrap(), a1, "monthly kept");

    // A third archive, uploaded slowly and killed mid-way.
    std::thread::sleep(Duration::from_millis(1100));
    change_base(w, 64, 3);
    let v3 = c.backup(&["--no-offsite"]);
    let a3 = fs::read(v3["archive"].as_str().unwrap()).unwrap();
    // S3 shows nothing before an upload completes: wait for a saved part.
    let multipart = srv.kind == Kind::S3 && a3.len() as u64 > PART;
    c.kill_a_slow_push((a3.len() as u64 / 8).max(1), |c| {
        !multipart || c.queue_row().is_some_and(|r| r.1.is_some())
    });
    assert_eq!(
        store.read(&slot("daily")).unwrap(),
        a2,
        "the last good copy stays"
    );
    // The agent takes the killed process's item over and completes it.
    let mut agent = w.agent(&[]);
    wait_for("the agent to upload it", Duration::from_secs(60), || {
        assert!(agent.running(), "the agent exited: {}", agent.stderr());
        c.queue_row().is_some_and(|r| r.0 == "done")
    });
    assert_eq!(agent.stop(Duration::from_secs(20)), 0, "{}", agent.stderr());
    c.keep(&agent.stderr());
    let log = w.log_text();
    assert!(log.contains("offsite: uploaded"), "{log}");
    assert_eq!(w.runs()[0]["offsite"], json!([c.target]));
    assert_eq!(store.read(&slot("daily")).unwrap(), a3, "daily replaced");
    assert_eq!(store.read(&slot("weekly")).unwrap(), a1);
    assert_eq!(store.read(&slot("monthly")).unwrap(), a1);
    assert_eq!(
        store.names(),
        ["daily", "monthly", "weekly"].map(slot),
        "nothing temporary is left"
    );
    // Restores from the slots: the newest from daily, the first archive
    // (by its name) from weekly / monthly; and a drill.
    for (which, base) in [
        ("latest", fs::read(w.base.join("1Cv8.1CD")).unwrap()),
        (name1.as_str(), base1),
    ] {
        let to = w.dir.path().join(format!("restored-{}", which.len()));
        let (code, r, err) = c.restore(which, &to);
        assert_eq!(code, 0, "{which}: {r}\n{err}");
        assert_eq!(fs::read(to.join("1Cv8.1CD")).unwrap(), base, "{which}");
    }
    let (code, d, err) = c.json(&["drill", "--from", &c.target, "--json"], &[]);
    assert_eq!((code, &d["status"]), (0, &json!("ok")), "{d}\n{err}");
    let seen = c.seen.borrow().clone() + &w.log_text();
    for (setting, secret) in srv.secrets() {
        assert!(!seen.contains(&secret), "{setting} shown:\n{seen}");
        assert!(
            !contains(&w.history_bytes(), &secret),
            "{setting} in the db"
        );
    }
}

#[test]
fn s3_whole_program() {
    scenario(Kind::S3);
}

#[test]
fn webdav_whole_program() {
    scenario(Kind::WebDav);
}

#[test]
fn sftp_whole_program() {
    scenario(Kind::Sftp);
}

/// The parts saved in the newest queue item's resume state.
fn saved_parts(c: &Case) -> usize {
    c.queue_row()
        .and_then(|(_, resume, _)| resume)
        .and_then(|r| serde_json::from_str::<Value>(&r).ok())
        .and_then(|v| v["parts"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// The UploadPart requests moto answered 200 in `log`: (part number,
/// upload id).
fn part_puts(log: &str) -> Vec<(u32, String)> {
    let param = |line: &str, k: &str| -> Option<String> {
        let start = line.find(&format!("{k}="))? + k.len() + 1;
        let rest = &line[start..];
        let end = rest.find(['&', ' ', '"', '\x1b']).unwrap_or(rest.len());
        Some(rest[..end].to_string())
    };
    log.lines()
        .filter(|l| l.contains("\"PUT /") && l.contains("partNumber=") && l.contains("\" 200"))
        .filter_map(|l| Some((param(l, "partNumber")?.parse().ok()?, param(l, "uploadId")?)))
        .collect()
}

/// What a killed S3 upload left: the object name, the archive's bytes,
/// its parts, the saved upload id and parts, and where moto's log stood.
struct Killed {
    object: String,
    bytes: Vec<u8>,
    n_parts: u64,
    upload_id: String,
    saved: usize,
    mark: usize,
}

/// A backup of a base big enough for several parts, queued only, then
/// `kill` (which must SIGKILL an upload after at least two parts); checks
/// what the queue row kept.
fn kill_mid_upload(srv: &Server, c: &Case, kill: impl FnOnce()) -> Killed {
    let v = c.backup(&["--no-offsite"]);
    let archive = v["archive"].as_str().unwrap().to_string();
    let bytes = fs::read(&archive).unwrap();
    let n_parts = (bytes.len() as u64).div_ceil(PART);
    assert!(n_parts >= 6, "{} bytes: too few parts", bytes.len());
    kill();
    let (state, resume, pid) = c.queue_row().expect("the queue item");
    assert_eq!(state, "uploading", "left by the killed process");
    assert!(pid.is_some());
    let saved: Value = serde_json::from_str(resume.as_deref().expect("a resume state")).unwrap();
    let upload_id = saved["upload_id"].as_str().unwrap().to_string();
    let n_saved = saved["parts"].as_array().unwrap().len();
    assert!(
        n_saved >= 2 && (n_saved as u64) < n_parts,
        "{n_saved} of {n_parts} parts saved: {saved}"
    );
    let object = format!("buh/{}", file_name(&archive));
    assert!(
        c.store.read(&object).is_none(),
        "nothing under the final name before the upload completes"
    );
    Killed {
        object,
        bytes,
        n_parts,
        upload_id,
        saved: n_saved,
        mark: srv.log_text().len(),
    }
}

/// After the resumed upload: the object complete with its SHA-256 and
/// multipart ETag, the queue item done, and only the missing parts sent,
/// all to the saved upload (one upload was ever started).
fn check_resumed(srv: &Server, c: &Case, k: &Killed) {
    let stored = c.store.read(&k.object).expect("the object");
    assert_eq!(stored.len(), k.bytes.len());
    assert_eq!(
        sha256_hex(&stored),
        sha256_hex(&k.bytes),
        "the object is the archive"
    );
    let Store::S3(s3) = &c.store else {
        unreachable!()
    };
    let head = s3.head(&k.object).unwrap().unwrap();
    assert_eq!(head.sha256.as_deref(), Some(sha256_hex(&k.bytes).as_str()));
    assert!(
        head.etag.ends_with(&format!("-{}", k.n_parts)),
        "{}",
        head.etag
    );
    assert_eq!(c.queue_row().unwrap().0, "done");
    let log = srv.log_text();
    let after = part_puts(&log[k.mark..]);
    assert!(
        !after.is_empty(),
        "the resumed upload sent the missing parts"
    );
    assert!(
        after.iter().all(|(_, id)| *id == k.upload_id),
        "the saved upload {} was resumed: {after:?}",
        k.upload_id
    );
    assert!(
        after.len() as u64 <= k.n_parts - k.saved as u64,
        "only the missing parts were sent after the kill: {} of {} ({} saved)",
        after.len(),
        k.n_parts,
        k.saved
    );
    assert!(
        after.iter().all(|(n, _)| *n as usize > k.saved),
        "no saved part sent again: {after:?}"
    );
    eprintln!(
        "offsite_kinds s3 resume: {} bytes, {} parts, {} saved before the kill, {} sent after",
        k.bytes.len(),
        k.n_parts,
        k.saved,
        after.len()
    );
    let starts = log
        .lines()
        .filter(|l| l.contains("\"POST /") && l.contains("?uploads"))
        .count();
    assert_eq!(starts, 1, "one multipart upload was ever started");
}

#[test]
fn s3_a_killed_console_push_resumes_its_multipart_upload() {
    let t0 = Instant::now();
    let srv = Server::start(Kind::S3);
    let c = Case::new(&srv, 256, "resume", &[]);
    // Two parts a second: killed once two parts are saved.
    let k = kill_mid_upload(&srv, &c, || {
        c.kill_a_slow_push(2 * PART, |c| saved_parts(c) >= 2)
    });
    let pushed = c.push();
    let up = &pushed["uploaded"][0];
    assert_eq!(up["object"], k.object.as_str(), "{pushed}");
    assert_eq!(up["verified"], "etag", "{pushed}");
    check_resumed(&srv, &c, &k);
    eprintln!(
        "offsite_kinds s3 console resume: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn s3_a_killed_agent_resumes_its_multipart_upload_after_a_restart() {
    let t0 = Instant::now();
    let srv = Server::start(Kind::S3);
    let c = Case::new(&srv, 256, "agent", &[]);
    let k = kill_mid_upload(&srv, &c, || {
        let rate = (2 * PART).to_string();
        let mut agent = c.w.start_agent(&[("OFFSITE_BANDWIDTH", &rate)]);
        wait_for(
            "the agent to save two parts",
            Duration::from_secs(60),
            || {
                assert!(agent.running(), "the agent exited: {}", agent.stderr());
                saved_parts(&c) >= 2
            },
        );
        agent.kill();
    });
    let mut agent = c.w.start_agent(&[]);
    wait_for(
        "the restarted agent to finish it",
        Duration::from_secs(60),
        || {
            assert!(agent.running(), "the agent exited: {}", agent.stderr());
            c.w.runs()[0]["offsite"] == json!([c.target])
        },
    );
    assert_eq!(agent.stop(Duration::from_secs(20)), 0, "{}", agent.stderr());
    check_resumed(&srv, &c, &k);
    let log = c.w.log_text();
    assert!(log.contains("resuming the upload"), "{log}");
    let secret = &srv.secrets()[0].1;
    assert!(!log.contains(secret.as_str()) && !agent.stderr().contains(secret.as_str()));
    eprintln!(
        "offsite_kinds s3 agent resume: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
