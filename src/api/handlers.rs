//! One function per route. Query strings are parsed by hand from
//! `key=value` pairs so that every mistake (an unknown key, a repeated
//! key, a limit that is not a number from 1 to [`MAX_LIMIT`]) gets a JSON
//! 400 naming the parameter and the expected form. Read routes take a
//! [`Reader`]; what a [`Access::Public`] caller sees is trimmed here.

use super::auth::{Access, Reader, check_action};
use super::{ApiError, ApiState};
use crate::backup::history::{History, Run, Trigger};
use crate::backup::jobs::StartError;
use crate::export::{self, BackupState, LastRun, prometheus};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

type St = State<Arc<ApiState>>;
type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The largest `limit` of `GET /api/backups`.
pub const MAX_LIMIT: usize = 1000;
/// The default `limit` of `GET /api/backups`.
pub const DEFAULT_LIMIT: usize = 20;

/// Parsed query parameters, only the `allowed` keys, each at most once.
fn params(q: Params, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let Query(pairs) =
        q.map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?;
    let mut seen: Vec<&str> = Vec::new();
    for (k, _) in &pairs {
        if !allowed.contains(&k.as_str()) {
            let shown: String = k.chars().take(40).collect();
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {shown:?} (expected: {})",
                allowed.join(", ")
            )));
        }
        if seen.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "query parameter {k:?} given twice"
            )));
        }
        seen.push(k);
    }
    Ok(pairs)
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The configured base named `name` (None = the default base).
fn base_name(st: &ApiState, name: Option<&str>) -> Result<String, ApiError> {
    let cfg = &st.agent.cfg;
    match cfg.base(name) {
        Some(b) => Ok(b.name.clone()),
        None => match name {
            None => Err(ApiError::not_found(
                "no base is configured: set ONEC_BASE_PATH or bases: in config.yaml",
            )),
            Some(n) => {
                let shown: String = n.chars().take(80).collect();
                let known: Vec<&str> = cfg.bases.iter().map(|b| b.name.as_str()).collect();
                Err(ApiError::not_found(format!(
                    "no base named {shown:?} (configured: {})",
                    known.join(", ")
                )))
            }
        },
    }
}

/// Run a history query on a blocking thread with a short-lived read-only
/// connection. A missing database is an empty history (`Ok(None)`).
async fn with_history<T: Send + 'static>(
    st: &Arc<ApiState>,
    f: impl FnOnce(&History) -> Result<T, crate::backup::history::HistoryError> + Send + 'static,
) -> Result<Option<T>, ApiError> {
    let path = st.agent.cfg.history_db.clone();
    tokio::task::spawn_blocking(move || {
        if !path.exists() {
            return Ok(None);
        }
        let h = History::open_read_only(&path, export::backup::HISTORY_BUSY)
            .map_err(|e| ApiError::internal(format!("{e}")))?;
        f(&h)
            .map(Some)
            .map_err(|e| ApiError::internal(format!("{e}")))
    })
    .await
    .map_err(|e| ApiError::internal(format!("history query did not finish: {e}")))?
}

pub async fn metrics_prom(State(st): St, _: Reader, q: Params) -> Result<Response, ApiError> {
    params(q, &[])?;
    let snap = st.agent.sampler.snapshot();
    let backup = st.backup();
    // The sinks' generation changes whenever a sink's state does.
    let body = st
        .prom
        .get(&snap, &backup, st.agent.sinks.generation(), || {
            let sinks = st.agent.sinks.states();
            Bytes::from(prometheus::encode(&export::build(&snap, &backup, &sinks)))
        });
    Ok(([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], body).into_response())
}

pub async fn metrics_json(State(st): St, _: Reader, q: Params) -> Result<Json<Value>, ApiError> {
    params(q, &[])?;
    let snap = st.agent.sampler.snapshot();
    let backup = st.backup();
    Ok(Json(export::json::to_json(&snap, &backup)))
}

/// `/api/health`. Degraded (503) when: the CPU, memory or backup-disk
/// collector failed; the disk holding BACKUP_DIR is fuller than
/// `100 - MIN_FREE_PERCENT`; the history can not be read; the last
/// finished backup of a base failed or was interrupted; or a scheduled
/// base has had no success for more than `MAX_AGE_HOURS` (see
/// `export::stale_for`); or a base's last restore drill failed or its
/// drills are overdue (see [`drills_check`]); or a base's newest offsite
/// copy on a target is too old or the last upload there failed (see
/// [`offsite_check`]). Other collectors failing (e.g. no utmp in a
/// container) are listed but do not degrade. Push sinks are listed under
/// `checks.sinks` (up, last error, queue) but never degrade: a monitoring
/// endpoint being away is not this server's problem, and the queue rides
/// out short outages. A [`Access::Public`] caller gets the same checks
/// without paths, URLs and error texts (see [`redact`]).
pub async fn health(
    State(st): St,
    Reader(access): Reader,
    q: Params,
) -> Result<Response, ApiError> {
    params(q, &[])?;
    let cache = st.agent.backups.clone();
    let backup = tokio::task::spawn_blocking(move || cache.reload_now())
        .await
        .map_err(|e| ApiError::internal(format!("health check did not finish: {e}")))
        .map_err(|e| e.shown_to(access))?;
    let snap = st.agent.sampler.snapshot();
    let (mut body, ok) = health_body(&st, &snap, &backup, jiff::Timestamp::now());
    if access == Access::Public {
        redact(&mut body);
    }
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((code, Json(body)).into_response())
}

fn health_body(
    st: &ApiState,
    snap: &crate::metrics::Snapshot,
    backup: &BackupState,
    now: jiff::Timestamp,
) -> (Value, bool) {
    use crate::metrics::Collector;
    let cfg = &st.agent.cfg;
    let mut ok = true;
    let failed = export::failed_collectors(snap);
    let core = [Collector::Cpu, Collector::Memory, Collector::BackupDisk];
    let core_failed = failed.iter().any(|(c, _)| core.contains(c));
    ok &= !core_failed;
    let collectors = json!({
        "ok": !core_failed,
        "failed": failed.iter().map(|(c, e)| json!({"collector": c.as_str(), "error": e})).collect::<Vec<_>>(),
    });
    let limit = 100.0 - f64::from(cfg.min_free_percent);
    let disk = match &snap.backup_disk {
        Some(d) => {
            let good = cfg.min_free_percent == 0 || d.percent <= limit;
            ok &= good;
            json!({"ok": good, "path": d.path, "used_percent": d.percent, "limit_percent": limit, "free_bytes": d.free})
        }
        None => json!({"ok": false, "error": "the disk holding BACKUP_DIR could not be measured"}),
    };
    let history_ok = backup.history_error.is_none();
    ok &= history_ok;
    let now_s = now.as_millisecond() as f64 / 1000.0;
    let since_s = now_s - st.agent.started.elapsed().as_secs_f64();
    let mut bases = serde_json::Map::new();
    for b in &backup.bases {
        let mut problem: Option<String> = None;
        if let Some(l) = &b.last_finished
            && !l.ok
        {
            problem = Some(format!("the last backup {}", l.status));
        }
        let age_h = b.last_success_unix.map(|t| (now_s - t) / 3600.0);
        if let Some(age) = export::stale_for(cfg, b, since_s, now_s)
            && problem.is_none()
        {
            problem = Some(format!(
                "no successful backup for {:.1} h (MAX_AGE_HOURS is {})",
                age / 3600.0,
                cfg.max_age_hours
            ));
        }
        ok &= problem.is_none();
        bases.insert(
            b.name.clone(),
            json!({
                "ok": problem.is_none(),
                "problem": problem,
                "running": b.running,
                "last_status": b.last_finished.as_ref().map(|l| l.status),
                "last_success_age_hours": age_h,
            }),
        );
    }
    let (drills, drills_ok) = drills_check(cfg, backup, since_s, now_s);
    ok &= drills_ok;
    let (offsite, offsite_ok) = offsite_check(cfg.offsite_max_age_hours, backup, now_s);
    ok &= offsite_ok;
    let last_backup = backup
        .bases
        .first()
        .and_then(|b| b.last_finished.as_ref().map(|l| last_json(&b.name, l)));
    let mut sinks = serde_json::Map::new();
    let states = st.agent.sinks.states();
    for x in &states {
        sinks.insert(
            x.sink.to_string(),
            json!({
                "ok": x.up,
                "target": x.target,
                "last_error": x.last_error,
                "queue_samples": x.queue_samples,
                "errors_total": x.errors_total,
                "dropped_total": x.dropped_total,
            }),
        );
    }
    let sinks = json!({
        "ok": states.iter().all(|x| x.up),
        "degrades_health": false,
        "sinks": sinks,
    });
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": st.agent.started.elapsed().as_secs_f64(),
        "last_backup": last_backup,
        "checks": {
            "collectors": collectors,
            "backup_disk": disk,
            "history": {"ok": history_ok, "error": backup.history_error},
            "backups": bases,
            "drills": drills,
            "offsite": offsite,
            "sinks": sinks,
        },
    });
    (body, ok)
}

/// The `drills` check of `/api/health`, per base: degraded when the last
/// drill that ran failed (the newest archive would not restore) or the
/// base's drills are overdue (`export::drill_stale_for`).
fn drills_check(
    cfg: &crate::config::Config,
    backup: &BackupState,
    since_s: f64,
    now_s: f64,
) -> (Value, bool) {
    let mut all_ok = true;
    let mut bases = serde_json::Map::new();
    for b in &backup.bases {
        let d = &b.drill;
        let stale = export::drill_stale_for(cfg, b, since_s, now_s);
        let problem = if d.last_status == Some("failed") {
            Some("the last restore drill failed".to_string())
        } else {
            stale.map(|age| {
                format!(
                    "no successful restore drill for {:.1} days (BACKUP_DRILL_MAX_AGE_DAYS is {})",
                    age / 86_400.0,
                    cfg.drill_max_age_days
                )
            })
        };
        all_ok &= problem.is_none();
        bases.insert(
            b.name.clone(),
            json!({
                "ok": problem.is_none(),
                "problem": problem,
                "scheduled": d.scheduled,
                "stale": stale.is_some(),
                "last_status": d.last_status,
                "last_success_age_days": d.last_success_unix.map(|t| (now_s - t) / 86_400.0),
            }),
        );
    }
    (Value::Object(bases), all_ok)
}

/// The `offsite` check of `/api/health`: per base, per target that takes
/// it, degraded when the last upload attempt failed or the newest good
/// copy is older than `OFFSITE_MAX_AGE_HOURS` (`max_age_hours`; the stale
/// time was computed with the history, see `export::BaseOffsite`). The
/// problem names the target and the base, never a URL; the stored error
/// (masked when recorded) is `last_error`, hidden from public callers.
pub(super) fn offsite_check(max_age_hours: u32, backup: &BackupState, now_s: f64) -> (Value, bool) {
    let mut all_ok = true;
    let mut bases = serde_json::Map::new();
    for b in backup.bases.iter().filter(|b| !b.offsite.is_empty()) {
        let mut targets = serde_json::Map::new();
        for o in &b.offsite {
            let problem = if o.last_status == Some("failed") {
                Some(format!(
                    "the last upload of {} to offsite target {} failed",
                    b.name, o.target
                ))
            } else {
                o.stale_for.map(|age| match o.last_success_unix {
                    Some(_) => format!(
                        "the newest copy of {} on offsite target {} is {:.1} h old (OFFSITE_MAX_AGE_HOURS is {max_age_hours})",
                        b.name,
                        o.target,
                        age / 3600.0
                    ),
                    None => format!(
                        "no copy of {} on offsite target {} for {:.1} h (OFFSITE_MAX_AGE_HOURS is {max_age_hours})",
                        b.name,
                        o.target,
                        age / 3600.0
                    ),
                })
            };
            all_ok &= problem.is_none();
            targets.insert(
                o.target.clone(),
                json!({
                    "ok": problem.is_none(),
                    "problem": problem,
                    "stale": o.stale_for.is_some(),
                    "last_status": o.last_status,
                    "last_success_age_hours": o.last_success_unix.map(|t| (now_s - t) / 3600.0),
                    "last_error": o.last_error,
                    "queued": o.queued,
                    "queued_bytes": o.queued_bytes,
                }),
            );
        }
        bases.insert(b.name.clone(), Value::Object(targets));
    }
    (Value::Object(bases), all_ok)
}

/// Fields of `/api/health` that can carry a path, a URL or a user name:
/// removed (`path`, `target`) or replaced (error texts) for public callers.
const HIDDEN: &[&str] = &["path", "target"];
const HIDDEN_TEXT: &[&str] = &["error", "last_error"];

/// Strip [`HIDDEN`] and [`HIDDEN_TEXT`] everywhere in `v`.
fn redact(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| !HIDDEN.contains(&k.as_str()));
            for (k, x) in m.iter_mut() {
                if HIDDEN_TEXT.contains(&k.as_str()) && x.is_string() {
                    *x = json!("(hidden: ask with a token, or from the server itself)");
                } else {
                    redact(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact),
        _ => {}
    }
}

fn last_json(base: &str, l: &LastRun) -> Value {
    json!({
        "base": base,
        "run_id": l.run_id,
        "status": l.status,
        "timestamp_unix": l.timestamp_unix,
        "size_bytes": l.size_bytes,
        "duration_seconds": l.duration_seconds,
        "error": l.error,
    })
}

/// `/api/backup/last?base=NAME`: the newest run of the base (any status),
/// with `running` telling whether one is in progress now.
pub async fn backup_last(
    State(st): St,
    Reader(access): Reader,
    q: Params,
) -> Result<Json<Value>, ApiError> {
    let p = params(q, &["base"])?;
    let base = base_name(&st, param(&p, "base"))?;
    let b = base.clone();
    let last: Option<Option<Run>> = with_history(&st, move |h| h.last_run(&b))
        .await
        .map_err(|e| e.shown_to(access))?;
    let running = st.agent.jobs.running().into_iter().find(|r| r.base == base);
    match last.flatten() {
        Some(run) => Ok(Json(json!({
            "base": base,
            "status": run.status,
            "timestamp": run.finished.unwrap_or(run.started).to_string(),
            "size_bytes": run.archive_size,
            "duration_seconds": run.duration_ms.map(|ms| ms as f64 / 1000.0),
            "file": run.archive_path,
            "running": running.map(|r| json!({"stage": r.stage.as_str(), "run_id": r.run_id})),
            "run": run,
        }))),
        None => Err(ApiError::not_found(format!(
            "no backup of {base:?} is recorded yet: start one with POST /api/backup?base={base}"
        ))),
    }
}

/// `/api/backups?limit=N&base=NAME`: runs, newest first.
pub async fn backups(
    State(st): St,
    Reader(access): Reader,
    q: Params,
) -> Result<Json<Value>, ApiError> {
    let p = params(q, &["limit", "base"])?;
    let limit = match param(&p, "limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                let shown: String = v.chars().take(40).collect();
                return Err(ApiError::bad_request(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}, got {shown:?}"
                )));
            }
        },
    };
    let base = match param(&p, "base") {
        Some(n) => Some(base_name(&st, Some(n))?),
        None => None,
    };
    let b = base.clone();
    let runs = with_history(&st, move |h| h.list(limit, b.as_deref()))
        .await
        .map_err(|e| e.shown_to(access))?
        .unwrap_or_default();
    let running: Vec<Value> = st
        .agent
        .jobs
        .running()
        .into_iter()
        .filter(|r| base.as_ref().is_none_or(|b| &r.base == b))
        .map(|r| json!({"base": r.base, "stage": r.stage.as_str(), "run_id": r.run_id, "percent": r.percent()}))
        .collect();
    Ok(Json(json!({
        "base": base,
        "limit": limit,
        "count": runs.len(),
        "runs": runs,
        "running": running,
    })))
}

/// `POST /api/backup?base=NAME`: start a backup in the background.
pub async fn start_backup(
    State(st): St,
    headers: HeaderMap,
    q: Params,
) -> Result<Response, ApiError> {
    check_action(&headers, &st.agent.cfg.api)?;
    let p = params(q, &["base", "when_users_inside"])?;
    let base = base_name(&st, param(&p, "base"))?;
    let users_policy = match param(&p, "when_users_inside") {
        None => None,
        Some(w) => Some(
            crate::config::UsersPolicy::ALL
                .iter()
                .find(|(t, _)| *t == w)
                .map(|(_, p)| *p)
                .ok_or_else(|| {
                    let shown: String = w.chars().take(40).collect();
                    ApiError::bad_request(format!(
                        "unknown when_users_inside {shown:?} (expected: fail, wait, lock, close)"
                    ))
                })?,
        ),
    };
    let opts = crate::backup::jobs::StartOptions {
        force: false,
        users_policy,
    };
    let started = st
        .agent
        .jobs
        .start_with(Some(&base), Trigger::Api, opts)
        .await;
    match started {
        Ok(s) => {
            tracing::info!(base = %s.base, run_id = ?s.run_id, "backup started over HTTP");
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({"run_id": s.run_id, "base": s.base})),
            )
                .into_response())
        }
        Err(StartError::AlreadyRunning(r)) => Ok((
            StatusCode::CONFLICT,
            Json(json!({
                "error": format!("a backup of {} is already running ({}); wait for it to finish", r.base, r.stage.as_str()),
                "base": r.base,
                "stage": r.stage.as_str(),
                "run_id": r.run_id,
            })),
        )
            .into_response()),
        Err(e @ StartError::NoSuchBase(_)) => Err(ApiError::not_found(e.to_string())),
        Err(e @ StartError::ShuttingDown) => {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
        }
    }
}

pub async fn openapi() -> Json<Value> {
    Json(super::openapi::spec())
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint: see GET /api/openapi.json for the list")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this method is not allowed on this endpoint: see GET /api/openapi.json",
    )
}

#[cfg(test)]
mod offsite_check_tests {
    use super::*;
    use crate::export::{BaseBackup, BaseOffsite};

    fn state(o: Vec<BaseOffsite>) -> BackupState {
        BackupState {
            bases: vec![
                BaseBackup {
                    name: "<buh&>".into(),
                    offsite: o,
                    ..BaseBackup::default()
                },
                BaseBackup {
                    name: "not copied".into(),
                    ..BaseBackup::default()
                },
            ],
            ..BackupState::default()
        }
    }

    #[test]
    fn degraded_when_failed_or_stale_naming_target_and_base() {
        let now = 1_000_000.0;
        let good = BaseOffsite {
            target: "nas".into(),
            last_success_unix: Some(now - 3600.0),
            last_status: Some("ok"),
            ..BaseOffsite::default()
        };
        let (v, ok) = offsite_check(30, &state(vec![good.clone()]), now);
        assert!(ok, "{v}");
        assert_eq!(v["<buh&>"]["nas"]["last_success_age_hours"], 1.0);
        assert!(v.get("not copied").is_none(), "only bases a target takes");
        let failed = BaseOffsite {
            target: "yadisk".into(),
            last_status: Some("failed"),
            last_error: Some("HTTP 507".into()),
            queued: 3,
            queued_bytes: 99,
            ..good.clone()
        };
        let stale = BaseOffsite {
            target: "s3".into(),
            stale_for: Some(40.0 * 3600.0),
            ..good.clone()
        };
        let never = BaseOffsite {
            target: "sftp".into(),
            last_success_unix: None,
            last_status: None,
            stale_for: Some(31.0 * 3600.0),
            ..BaseOffsite::default()
        };
        let (v, ok) = offsite_check(30, &state(vec![good, failed, stale, never]), now);
        assert!(!ok);
        let b = &v["<buh&>"];
        assert_eq!(b["nas"]["ok"], true);
        assert_eq!(
            b["yadisk"]["problem"],
            "the last upload of <buh&> to offsite target yadisk failed"
        );
        assert_eq!(b["yadisk"]["queued"], 3);
        assert_eq!(b["yadisk"]["queued_bytes"], 99);
        assert_eq!(
            b["s3"]["problem"],
            "the newest copy of <buh&> on offsite target s3 is 40.0 h old (OFFSITE_MAX_AGE_HOURS is 30)"
        );
        assert_eq!(b["s3"]["stale"], true);
        assert_eq!(
            b["sftp"]["problem"],
            "no copy of <buh&> on offsite target sftp for 31.0 h (OFFSITE_MAX_AGE_HOURS is 30)"
        );
        // A public caller gets the same checks without the error text.
        let mut public = v.clone();
        redact(&mut public);
        assert_eq!(public["<buh&>"]["yadisk"]["ok"], false);
        assert!(!public.to_string().contains("HTTP 507"), "{public}");
        assert!(v.to_string().contains("HTTP 507"));
    }
}
