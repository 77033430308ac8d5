//! The API's exposure over real TCP on loopback: header-read and request
//! timeouts, 1,500 idle connections against the connection cap, HTTPS
//! with a self-signed certificate, basic auth, what a caller on the
//! network sees without a token, the start-up warning, the settings'
//! checks, and the exposition cache's key.

use super::auth::Access;
use super::server::{self, Limits, Options};
use super::tests::{Reply, World, request, request_auth, wait_for_backups, world_with};
use super::*;
use crate::config::{Config, LoadOptions, load};
use base64::Engine;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn plain(limits: Limits) -> impl FnOnce(&Config) -> Options {
    move |_| Options {
        limits,
        tls: None,
        all_peers_remote: false,
    }
}

const SHORT: Limits = Limits {
    header_read: Duration::from_millis(300),
    request: Duration::from_millis(300),
    max_connections: 64,
};

/// How long until the server closes `s` (reads until EOF or an error),
/// at most `limit`.
fn time_to_close(mut s: std::net::TcpStream, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(t.elapsed()),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(t.elapsed()),
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_read_timeout_closes_slowloris_and_idle_connections() {
    let w = world_with(&[], plain(SHORT)).await;
    let addr = w.addr;
    let (slow, idle) = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /api/health HTTP/1.1\r\nHost: t\r\n")
            .unwrap();
        let slow = time_to_close(s, Duration::from_secs(5));
        let idle = time_to_close(
            std::net::TcpStream::connect(addr).unwrap(),
            Duration::from_secs(5),
        );
        (slow, idle)
    })
    .await
    .unwrap();
    let slow = slow.expect("a connection that never finishes its headers is closed");
    let idle = idle.expect("a connection that never sends anything is closed");
    assert!(slow < Duration::from_secs(2), "{slow:?}");
    assert!(idle < Duration::from_secs(2), "{idle:?}");
    // A prompt request is still answered.
    let r = request(w.addr, "GET", b"/api/openapi.json", None).await;
    assert_eq!(r.status, 200);
    w.agent.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_takes_too_long_gets_a_json_503() {
    use axum::routing::get;
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        )
        .route("/fast", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let opts = Options {
        limits: SHORT,
        tls: None,
        all_peers_remote: false,
    };
    tokio::spawn(server::serve(app, listener, opts, stop.clone()));
    let t = Instant::now();
    let r = request(addr, "GET", b"/slow", None).await;
    let took = t.elapsed();
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["error"].as_str().unwrap().contains("longer than"));
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(request(addr, "GET", b"/fast", None).await.status, 200);
    stop.cancel();
}

/// Sets the soft limit of open files for the test and puts the old one
/// back when dropped.
#[cfg(unix)]
struct NoFile(u64);

#[cfg(unix)]
impl NoFile {
    fn set(soft: u64) -> NoFile {
        let old = crate::platform::open_files_soft_limit().unwrap();
        crate::platform::set_open_files_soft_limit(soft).unwrap();
        NoFile(old)
    }
    fn soft(&self) -> u64 {
        crate::platform::open_files_soft_limit().unwrap()
    }
}

#[cfg(unix)]
impl Drop for NoFile {
    fn drop(&mut self) {
        let _ = crate::platform::set_open_files_soft_limit(self.0);
    }
}

/// 1,500 idle connections held open by this very process, with a limit
/// of open files that fits them plus the connection cap but not 1,500
/// more on the server's side (what an unbounded server would hold):
/// scrapes and health still answer within a second, a backup can be
/// started and succeeds.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifteen_hundred_idle_connections_do_not_stop_scrapes_or_backups() {
    const IDLE: usize = 1500;
    let limit = NoFile::set((IDLE + server::LIMITS.max_connections + 1000) as u64);
    assert!(
        limit.soft() >= (IDLE + server::LIMITS.max_connections + 300) as u64,
        "the hard limit of open files ({}) is too low for this test",
        limit.soft()
    );
    let w = world_with(
        &[("API_TOKEN", "w-tok-9")],
        plain(Limits {
            header_read: Duration::from_secs(60),
            ..server::LIMITS
        }),
    )
    .await;
    let opened = Instant::now();
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        let c = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::TcpStream::connect(w.addr),
        )
        .await
        .expect("connect in time")
        .expect("connect");
        idle.push(c);
    }
    let opened = opened.elapsed();
    // Let the server accept (and drop) what it does not keep.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut timings = Vec::new();
    for path in ["/api/metrics.prom", "/api/health", "/api/metrics.prom"] {
        let t = Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(1),
            request(w.addr, "GET", path.as_bytes(), None),
        )
        .await
        .unwrap_or_else(|_| panic!("{path} did not answer within 1 s"));
        timings.push((path, t.elapsed()));
        assert!(r.status == 200 || r.status == 503, "{path}: {}", r.status);
    }
    let t = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(1),
        request(w.addr, "POST", b"/api/backup", Some("w-tok-9")),
    )
    .await
    .expect("POST /api/backup answered within 1 s");
    timings.push(("POST /api/backup", t.elapsed()));
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    wait_for_backups(&w).await;
    let r = request(w.addr, "GET", b"/api/backup/last", None).await;
    assert_eq!(r.json()["status"], "ok", "{}", r.json());
    eprintln!(
        "{IDLE} idle connections opened in {opened:?} (soft limit {}); answers: {timings:?}",
        limit.soft()
    );
    drop(idle);
    w.agent.shutdown.cancel();
}

fn self_signed(dir: &std::path::Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (ck.cert.pem(), cert, key)
}

/// A world serving HTTPS with a fresh self-signed certificate (in the
/// returned folder), `extra` variables and `limits`, and a client builder
/// trusting it that reaches it as `localhost`.
pub(super) async fn tls_world(
    extra: &[(&str, &str)],
    limits: Limits,
) -> (tempfile::TempDir, World, reqwest::ClientBuilder) {
    let certs = tempfile::tempdir().unwrap();
    let (pem, cert, key) = self_signed(certs.path());
    let (c, k) = (cert.display().to_string(), key.display().to_string());
    let mut vars = vec![("API_TLS_CERT_FILE", c.as_str()), ("API_TLS_KEY_FILE", &k)];
    vars.extend_from_slice(extra);
    let w = world_with(&vars, |cfg| Options {
        limits,
        tls: Some(tls::acceptor(cfg.api.tls.as_ref().unwrap()).unwrap()),
        all_peers_remote: false,
    })
    .await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .resolve("localhost", w.addr);
    (certs, w, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_the_configured_certificate() {
    let (_certs, w, client) = tls_world(&[], SHORT).await;
    let client = client.build().unwrap();
    let url = format!("https://localhost:{}/api/health", w.addr.port());
    let r = client.get(&url).send().await.unwrap();
    assert!(r.status() == 200 || r.status() == 503, "{}", r.status());
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["status"].is_string(), "{v}");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let r = request_raw(w.addr, b"GET /api/health HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(!r.starts_with(b"HTTP/1.1 200"), "{r:?}");
    w.agent.shutdown.cancel();
}

/// Send `bytes` and read whatever comes back until the server closes.
async fn request_raw(addr: std::net::SocketAddr, bytes: &'static [u8]) -> Vec<u8> {
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(bytes).unwrap();
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        all
    })
    .await
    .unwrap()
}

fn basic(user: &str, pass: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!("Basic {b64}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_guards_reads_and_never_starts_backups() {
    let w = world_with(
        &[
            ("API_BASIC_USER", "prom"),
            ("API_BASIC_PASSWORD", "s3cret-pw"),
            ("API_TOKEN", "w-tok-3"),
        ],
        plain(SHORT),
    )
    .await;
    let good = basic("prom", "s3cret-pw");
    for path in ["/api/metrics.prom", "/api/health", "/api/backups"] {
        let r = request_auth(w.addr, "GET", path.as_bytes(), None).await;
        assert_eq!(r.status, 401, "{path}");
        assert!(
            r.head
                .to_ascii_lowercase()
                .contains("www-authenticate: basic"),
            "{}",
            r.head
        );
        for bad in [
            basic("prom", "wrong"),
            basic("other", "s3cret-pw"),
            "Basic !!!".into(),
        ] {
            let r = request_auth(w.addr, "GET", path.as_bytes(), Some(&bad)).await;
            assert_eq!(r.status, 401, "{path} {bad}");
            assert!(!String::from_utf8_lossy(&r.body).contains("s3cret-pw"));
        }
        let r = request_auth(w.addr, "GET", path.as_bytes(), Some(&good)).await;
        assert!(r.status == 200 || r.status == 503, "{path}: {}", r.status);
        let r = request(w.addr, "GET", path.as_bytes(), Some("w-tok-3")).await;
        assert!(r.status == 200 || r.status == 503, "{path}: {}", r.status);
    }
    let r = request_auth(w.addr, "POST", b"/api/backup", Some(&good)).await;
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["error"].as_str().unwrap().contains("API_TOKEN"));
    let r = request(w.addr, "POST", b"/api/backup", Some("w-tok-3")).await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    w.agent.shutdown.cancel();
}

/// Whether `r`'s body contains `needle`.
fn shows(r: &Reply, needle: &str) -> bool {
    String::from_utf8_lossy(&r.body).contains(needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_on_the_network_without_a_token_sees_no_paths() {
    let w: World = world_with(&[("API_TOKEN", "w-tok-4")], |_| Options {
        limits: SHORT,
        tls: None,
        all_peers_remote: true,
    })
    .await;
    let dir = w.dir.path().display().to_string();
    // A failed run: its error names the base's folder.
    std::fs::remove_file(w.agent.cfg.bases[0].path.join("1Cv8.1CD")).unwrap();
    let r = request(w.addr, "POST", b"/api/backup", Some("w-tok-4")).await;
    assert_eq!(r.status, 202);
    wait_for_backups(&w).await;
    let full = request(w.addr, "GET", b"/api/health", Some("w-tok-4")).await;
    assert!(shows(&full, &dir), "with a token: {}", full.json());
    let public = request(w.addr, "GET", b"/api/health", None).await;
    let v = public.json();
    assert_eq!(public.status, full.status);
    assert!(!shows(&public, &dir), "{v}");
    assert!(v["checks"]["backup_disk"]["path"].is_null(), "{v}");
    assert_eq!(v["checks"]["backups"], full.json()["checks"]["backups"]);
    assert_eq!(v["last_backup"]["status"], "failed");
    if let Ok(user) = std::env::var("USER") {
        assert!(!shows(&public, &format!("/{user}/")), "{v}");
    }
    w.agent.shutdown.cancel();

    // An error that names a path: the history database is a folder.
    let w = world_with(&[("API_TOKEN", "w-tok-5")], |cfg| {
        std::fs::create_dir_all(&cfg.history_db).unwrap();
        Options {
            limits: SHORT,
            tls: None,
            all_peers_remote: true,
        }
    })
    .await;
    let db = w.agent.cfg.history_db.display().to_string();
    let full = request(w.addr, "GET", b"/api/backups", Some("w-tok-5")).await;
    assert_eq!(full.status, 500);
    assert!(shows(&full, &db), "{}", full.json());
    let public = request(w.addr, "GET", b"/api/backups", None).await;
    assert_eq!(public.status, 500);
    assert!(!shows(&public, &db), "{}", public.json());
    let health = request(w.addr, "GET", b"/api/health", None).await;
    assert!(!shows(&health, &db), "{}", health.json());
    w.agent.shutdown.cancel();
}

/// The configuration from the environment `extra` (plus a base), or its
/// error text.
fn load_cfg(extra: &[(&str, &str)]) -> (Result<(), String>, Config) {
    let mut env: std::collections::HashMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.insert("ONEC_BASE_PATH".into(), "/srv/buh".into());
    let opts = LoadOptions {
        env: env.clone(),
        skip_files: true,
        ..Default::default()
    };
    match load(&opts) {
        Ok(c) => (Ok(()), c),
        Err(e) => {
            env.retain(|k, _| k == "ONEC_BASE_PATH");
            let c = load(&LoadOptions {
                env,
                skip_files: true,
                ..Default::default()
            })
            .unwrap();
            (Err(e.to_string()), c)
        }
    }
}

#[test]
fn half_set_pairs_and_unreadable_tls_files_are_config_errors() {
    let d = tempfile::tempdir().unwrap();
    let (_, cert, key) = self_signed(d.path());
    let (c, k) = (cert.display().to_string(), key.display().to_string());
    let missing = d.path().join("nope.pem").display().to_string();
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Env, &[&str])] = &[
        (&[("API_BASIC_USER", "u")], &["API_BASIC_PASSWORD"]),
        (&[("API_BASIC_PASSWORD", "p")], &["API_BASIC_USER"]),
        (&[("API_TLS_CERT_FILE", &c)], &["API_TLS_KEY_FILE"]),
        (&[("API_TLS_KEY_FILE", &k)], &["API_TLS_CERT_FILE"]),
        (
            &[("API_TLS_CERT_FILE", &missing), ("API_TLS_KEY_FILE", &k)],
            &["API_TLS_CERT_FILE", "nope.pem"],
        ),
        (
            &[("API_TLS_CERT_FILE", &c), ("API_TLS_KEY_FILE", &c)],
            &["API_TLS_KEY_FILE", "private key"],
        ),
        (
            &[("API_TLS_CERT_FILE", &k), ("API_TLS_KEY_FILE", &k)],
            &["API_TLS_CERT_FILE", "certificate"],
        ),
    ];
    for (env, wanted) in cases {
        let (r, _) = load_cfg(env);
        let e = r.expect_err(&format!("{env:?} must be an error"));
        for w in *wanted {
            assert!(e.contains(w), "{env:?}: {e}");
        }
        assert!(!e.contains("\"p\""), "the password is masked: {e}");
    }
    let (r, cfg) = load_cfg(&[
        ("API_TLS_CERT_FILE", &c),
        ("API_TLS_KEY_FILE", &k),
        ("API_BASIC_USER", "u"),
        ("API_BASIC_PASSWORD", "pw-77"),
    ]);
    r.unwrap();
    assert!(cfg.api.tls.is_some());
    assert_eq!(cfg.api.basic.as_ref().unwrap().0, "u");
    assert_eq!(cfg.mask("x pw-77 y"), "x *** y");
    let shown: Vec<String> = cfg.entries.iter().map(|e| e.shown.clone()).collect();
    assert!(!shown.iter().any(|s| s.contains("pw-77")), "{shown:?}");
}

#[test]
fn warns_when_read_routes_are_open_beyond_loopback() {
    for (env, warned) in [
        (&[][..], true),
        (&[("API_HOST", "192.168.1.5")][..], true),
        (&[("API_HOST", "127.0.0.1")][..], false),
        (&[("API_HOST", "::1")][..], false),
        (&[("API_HOST", "localhost")][..], false),
        (&[("API_READ_TOKEN", "r")][..], false),
        (
            &[("API_BASIC_USER", "u"), ("API_BASIC_PASSWORD", "p")][..],
            false,
        ),
        (&[("API_TOKEN", "w")][..], true),
    ] {
        let (r, cfg) = load_cfg(env);
        r.unwrap();
        let w = exposure_warning(&cfg.api);
        assert_eq!(w.is_some(), warned, "{env:?}: {w:?}");
        if let Some(w) = w {
            assert!(w.contains(&cfg.api.host), "{w}");
            assert!(w.contains("API_READ_TOKEN") && w.contains("API_HOST=127.0.0.1"));
        }
    }
}

#[test]
fn read_access_table() {
    use axum::http::{HeaderMap, HeaderValue, header};
    let with = |v: &str| {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    };
    let none = HeaderMap::new();
    let (_, open) = load_cfg(&[("API_TOKEN", "w")]);
    let open = &open.api;
    assert_eq!(auth::read_access(&none, open, true), Ok(Access::Full));
    assert_eq!(auth::read_access(&none, open, false), Ok(Access::Public));
    assert_eq!(
        auth::read_access(&with("Bearer w"), open, false),
        Ok(Access::Full)
    );
    assert_eq!(
        auth::read_access(&with("Bearer x"), open, false),
        Ok(Access::Public)
    );
    let (_, b) = load_cfg(&[("API_BASIC_USER", "u"), ("API_BASIC_PASSWORD", "p:q")]);
    let b = &b.api;
    assert_eq!(
        auth::read_access(&with(&basic("u", "p:q")), b, false),
        Ok(Access::Full)
    );
    for bad in [basic("u", "p"), basic("u", "p:q "), "Basic dTpw".into()] {
        let e = auth::read_access(&with(&bad), b, true).unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert!(e.basic_challenge);
    }
    assert!(auth::read_access(&none, b, true).is_err(), "loopback too");
}

#[test]
fn the_exposition_cache_never_serves_a_page_of_an_older_snapshot() {
    let cache = PromCache::default();
    let backup = Arc::new(BackupState::default());
    let first = Arc::new(Snapshot {
        collected_at_unix: 1.0,
        ..Default::default()
    });
    assert_eq!(cache.get(&first, &backup, 0, || "first".into()), "first");
    assert_eq!(cache.get(&first, &backup, 0, || "again".into()), "first");
    let old = Arc::as_ptr(&first) as usize;
    drop(first);
    // Newer snapshots, each dropped before the next as the sampler does:
    // an allocator hands the freed memory out again, and none of them may
    // be mistaken for the first.
    for n in 2..50 {
        let next = Arc::new(Snapshot {
            collected_at_unix: n as f64,
            ..Default::default()
        });
        let page = cache.get(&next, &backup, 0, || format!("page {n}").into());
        assert_eq!(
            page,
            format!("page {n}"),
            "address reused: {}",
            Arc::as_ptr(&next) as usize == old
        );
    }
}
