//! The router in-process on a loopback port, over plain HTTP/1.1: content
//! types, JSON errors, bad parameters, auth, and the exposition cache.
//! (`tests/suite/api_http.rs` drives the real binary end to end.) The helpers
//! here are shared with `hardening_tests.rs`.

use super::*;
use crate::config::{LoadOptions, load};
use crate::onec::generate::{CdFormat, generate_1cd};

pub(super) struct World {
    pub(super) dir: tempfile::TempDir,
    pub(super) addr: std::net::SocketAddr,
    pub(super) agent: Arc<Agent>,
}

async fn world(extra: &[(&str, &str)]) -> World {
    world_with(extra, |_| server::Options {
        limits: server::LIMITS,
        tls: None,
        all_peers_remote: false,
    })
    .await
}

/// A temporary base and backup folder, the agent configured from them and
/// `extra`, served on a loopback port with the options `opts` gives for
/// that configuration.
pub(super) async fn world_with(
    extra: &[(&str, &str)],
    opts: impl FnOnce(&crate::config::Config) -> server::Options,
) -> World {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("buh");
    std::fs::create_dir_all(&base).unwrap();
    generate_1cd(&base.join("1Cv8.1CD"), CdFormat::V8_3_8, 32, 3).unwrap();
    let backups = dir.path().join("b");
    std::fs::create_dir_all(&backups).unwrap();
    let mut env: std::collections::HashMap<String, String> = [
        ("ONEC_BASE_PATH", base.display().to_string()),
        ("BACKUP_DIR", backups.display().to_string()),
        ("BACKUP_METHOD", "copy".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let cfg = load(&LoadOptions::only_env(env)).unwrap();
    let opts = opts(&cfg);
    let agent = Agent::new(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with(agent.clone(), listener, opts));
    World { dir, addr, agent }
}

/// Wait until no backup of `buh` runs.
pub(super) async fn wait_for_backups(w: &World) {
    let jobs = w.agent.jobs.clone();
    tokio::task::spawn_blocking(move || {
        while jobs.is_running("buh") {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
}

/// The end-to-end tests' one HTTP client (a plain socket, raw targets),
/// shared rather than written again here.
#[allow(dead_code)]
#[path = "../../tests/util/http.rs"]
pub(super) mod http;
pub(super) use http::Reply;

/// One request over a fresh connection (`Connection: close`), raw bytes
/// allowed in the target so that non-UTF-8 can be sent.
pub(super) async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    target: &[u8],
    auth: Option<&str>,
) -> Reply {
    let auth = auth.map(|t| format!("Bearer {t}"));
    request_auth(addr, method, target, auth.as_deref()).await
}

/// [`request`] with any `Authorization` value.
pub(super) async fn request_auth(
    addr: std::net::SocketAddr,
    method: &str,
    target: &[u8],
    auth: Option<&str>,
) -> Reply {
    let (method, target) = (method.to_owned(), target.to_owned());
    let auth = auth.map(|a| ("Authorization".to_owned(), a.to_owned()));
    tokio::task::spawn_blocking(move || {
        let headers: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (&**k, &**v)).collect();
        let r = http::request(addr.port(), &method, &target, &headers, b"");
        assert_ne!(r.status, 0, "no answer from {addr}");
        r
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_prom_is_text_0_0_4_and_cached_per_snapshot() {
    let w = world(&[]).await;
    let r = request(w.addr, "GET", b"/api/metrics.prom", None).await;
    assert_eq!(r.status, 200);
    assert!(r.head.contains("text/plain; version=0.0.4"), "{}", r.head);
    let text = String::from_utf8(r.body).unwrap();
    assert!(text.contains("# TYPE onec_network_bytes_recv counter\n"));
    assert!(
        text.contains("onec_backup_running{base=\"buh\"} 0\n"),
        "{text}"
    );
    let again = request(w.addr, "GET", b"/api/metrics.prom", None).await;
    assert_eq!(
        String::from_utf8(again.body).unwrap(),
        text,
        "same snapshot, same text"
    );
    w.agent.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_and_bad_input_is_400() {
    let w = world(&[]).await;
    let cases: &[(&str, &[u8], u16)] = &[
        ("GET", b"/nope", 404),
        ("GET", b"/api/nope", 404),
        ("DELETE", b"/api/metrics", 405),
        ("GET", b"/api/backups?limit=-1", 400),
        ("GET", b"/api/backups?limit=99999999999999999999999", 400),
        ("GET", b"/api/backups?limit=0", 400),
        ("GET", b"/api/backups?limit=abc", 400),
        ("GET", b"/api/backups?limit=1&limit=2", 400),
        ("GET", b"/api/backups?zzz=1", 400),
        ("GET", b"/api/backups?base=%FF%FE", 404),
        ("GET", b"/api/backups?base=nope", 404),
        ("GET", b"/api/backups?%%%=&&&==", 400),
        ("GET", b"/api/backup/last?base=%00", 404),
        ("GET", b"/api/metrics?x=1", 400),
        ("POST", b"/api/backup", 403),
    ];
    for (method, target, code) in cases {
        let r = request(w.addr, method, target, None).await;
        let shown = String::from_utf8_lossy(target);
        assert_eq!(
            r.status,
            *code,
            "{method} {shown}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let v = r.json();
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {shown}: {v}"
        );
    }
    let r = request(w.addr, "GET", b"/api/backups?limit=1000", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["runs"], serde_json::json!([]));
    w.agent.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_token_guards_reads_but_not_the_spec() {
    let w = world(&[("API_READ_TOKEN", "r-tok-1"), ("API_TOKEN", "w-tok-1")]).await;
    for path in [
        "/api/metrics.prom",
        "/api/metrics",
        "/api/health",
        "/api/backups",
    ] {
        let r = request(w.addr, "GET", path.as_bytes(), None).await;
        assert_eq!(r.status, 401, "{path}");
        assert!(!String::from_utf8_lossy(&r.body).contains("r-tok-1"));
        let r = request(w.addr, "GET", path.as_bytes(), Some("wrong")).await;
        assert_eq!(r.status, 401, "{path}");
        let r = request(w.addr, "GET", path.as_bytes(), Some("r-tok-1")).await;
        assert!(r.status == 200 || r.status == 503, "{path}: {}", r.status);
    }
    let r = request(w.addr, "GET", b"/api/openapi.json", None).await;
    assert_eq!(r.status, 200);
    let r = request(w.addr, "POST", b"/api/backup", Some("r-tok-1")).await;
    assert_eq!(r.status, 401, "the read token can not start backups");
    w.agent.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_checks_and_goes_degraded_after_a_failure() {
    let w = world(&[("API_TOKEN", "w-tok-2")]).await;
    let r = request(w.addr, "GET", b"/api/health", None).await;
    let v = r.json();
    assert_eq!(r.status, 200, "{v}");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["last_backup"], serde_json::Value::Null);
    assert_eq!(v["checks"]["backups"]["buh"]["ok"], true);
    // Break the base, then back it up: the run fails and health degrades.
    std::fs::remove_file(w.agent.cfg.bases[0].path.join("1Cv8.1CD")).unwrap();
    let r = request(w.addr, "POST", b"/api/backup", Some("w-tok-2")).await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    wait_for_backups(&w).await;
    let r = request(w.addr, "GET", b"/api/health", None).await;
    let v = r.json();
    assert_eq!(r.status, 503, "{v}");
    assert_eq!(v["status"], "degraded");
    assert_eq!(v["last_backup"]["status"], "failed", "{v}");
    assert_eq!(v["checks"]["backups"]["buh"]["ok"], false);
    w.agent.shutdown.cancel();
}

/// `checks.offsite`: per base and target, degraded when the last upload
/// failed, with a problem naming the target and the base (never the URL);
/// the stored error is shown to a token holder and hidden from an
/// anonymous caller on the network, as every other error text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_has_an_offsite_check_per_base_and_target() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("nas-copies").display().to_string();
    let w = world_with(&[("API_TOKEN", "w-tok-3"), ("OFFSITE_URL", &url)], |_| {
        server::Options {
            limits: server::LIMITS,
            tls: None,
            all_peers_remote: true,
        }
    })
    .await;
    let r = request(w.addr, "GET", b"/api/health", Some("w-tok-3")).await;
    let v = r.json();
    assert_eq!(v["checks"]["offsite"]["buh"]["offsite"]["ok"], true, "{v}");
    assert_eq!(v["checks"]["offsite"]["buh"]["offsite"]["stale"], false);
    // An upload attempt failed (any process may have written it).
    let h = crate::backup::history::History::open(&w.agent.cfg.history_db).unwrap();
    let t = jiff::Timestamp::now();
    h.record_upload(&crate::backup::history::NewUpload {
        target: "offsite",
        run_id: 1,
        base: "buh",
        object: "buh/a.zip",
        bytes: Some(1),
        verified: None,
        status: crate::backup::history::UploadStatus::Failed,
        error: Some("offsite target offsite: disk <full>"),
        started: &t,
        finished: &t,
    })
    .unwrap();
    let r = request(w.addr, "GET", b"/api/health", Some("w-tok-3")).await;
    let v = r.json();
    assert_eq!(r.status, 503, "{v}");
    let c = &v["checks"]["offsite"]["buh"]["offsite"];
    assert_eq!(c["ok"], false, "{v}");
    assert_eq!(c["last_status"], "failed");
    assert_eq!(
        c["problem"],
        "the last upload of buh to offsite target offsite failed"
    );
    assert_eq!(c["last_error"], "offsite target offsite: disk <full>");
    let anon = request(w.addr, "GET", b"/api/health", None).await;
    let body = String::from_utf8(anon.body.clone()).unwrap();
    assert_eq!(anon.status, 503);
    assert!(!body.contains("disk <full>"), "{body}");
    assert!(!body.contains(&url), "{body}");
    assert_eq!(
        anon.json()["checks"]["offsite"]["buh"]["offsite"]["ok"],
        false
    );
    w.agent.shutdown.cancel();
}
