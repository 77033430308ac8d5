//! The OpenAPI 3.0 description served at `GET /api/openapi.json`, written
//! by hand next to the router. `tests/suite/api_http.rs` calls every path and
//! method listed here on the running agent and checks that the answers'
//! status codes are among the documented ones.

use serde_json::{Value, json};

fn err(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// A JSON answer described by the named schema in `components`.
fn ok_json(desc: &str, schema: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

/// `type` or `null`.
fn nullable(t: &str) -> Value {
    json!({"type": t, "nullable": true})
}

/// The schemas of every JSON answer, with the properties the handlers
/// really send (Schemathesis checks every answer against them).
fn schemas() -> Value {
    let check = |props: Value, required: &[&str]| json!({"type": "object", "required": required, "properties": props});
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "Run": check(json!({
            "id": {"type": "integer"},
            "base": {"type": "string"},
            "trigger": {"type": "string", "enum": ["cli", "telegram", "schedule", "api"]},
            "started": {"type": "string", "format": "date-time"},
            "finished": {"type": "string", "format": "date-time", "nullable": true},
            "status": {"type": "string", "enum": ["running", "ok", "failed", "skipped", "interrupted"]},
            "method": {"type": "string"},
            "archive_path": nullable("string"),
            "archive_size": {"type": "integer", "minimum": 0, "nullable": true},
            "source_size": {"type": "integer", "minimum": 0, "nullable": true},
            "sha256": nullable("string"),
            "duration_ms": {"type": "integer", "minimum": 0, "nullable": true},
            "onec_exit_code": nullable("integer"),
            "error": nullable("string"),
            "fingerprint": nullable("string"),
            "log_path": nullable("string"),
            "pid": {"type": "integer", "minimum": 0},
            "key_id": nullable("string"),
            "policy_outcome": nullable("string"),
            "stages": nullable("string")
        }), &["id", "base", "trigger", "started", "status", "method", "pid"]),
        "Running": check(json!({
            "base": {"type": "string"},
            "stage": {"type": "string", "enum": ["preparing", "dumping", "packing", "verifying", "publishing", "pruning"]},
            "run_id": nullable("integer"),
            "percent": nullable("number")
        }), &["stage"]),
        "LastBackup": check(json!({
            "base": {"type": "string"},
            "status": {"type": "string"},
            "run_id": {"type": "integer"},
            "timestamp_unix": {"type": "number"},
            "duration_seconds": nullable("number"),
            "size_bytes": nullable("integer"),
            "error": nullable("string")
        }), &["base", "status"]),
        "Health": check(json!({
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "version": {"type": "string"},
            "uptime_seconds": {"type": "number", "minimum": 0},
            "last_backup": {"allOf": [{"$ref": "#/components/schemas/LastBackup"}], "nullable": true},
            "checks": check(json!({
                "backup_disk": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}},
                "backups": {"type": "object", "additionalProperties": {
                    "type": "object", "required": ["ok"],
                    "properties": {"ok": {"type": "boolean"}, "running": {"type": "boolean"}, "problem": nullable("string")}
                }},
                "collectors": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}, "failed": {"type": "array", "items": {"type": "string"}}}},
                "drills": {"type": "object", "additionalProperties": {
                    "type": "object", "required": ["ok", "stale"],
                    "properties": {
                        "ok": {"type": "boolean"}, "problem": nullable("string"),
                        "scheduled": {"type": "boolean"}, "stale": {"type": "boolean"},
                        "last_status": {"type": "string", "enum": ["ok", "failed"], "nullable": true},
                        "last_success_age_days": nullable("number")
                    }
                }},
                "history": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}},
                "offsite": {"type": "object", "description": "Per base, per offsite target that takes it.", "additionalProperties": {
                    "type": "object", "additionalProperties": {
                        "type": "object", "required": ["ok", "stale"],
                        "properties": {
                            "ok": {"type": "boolean"}, "problem": nullable("string"),
                            "stale": {"type": "boolean"},
                            "last_status": {"type": "string", "enum": ["ok", "failed"], "nullable": true},
                            "last_success_age_hours": nullable("number"),
                            "last_error": nullable("string"),
                            "queued": {"type": "integer", "minimum": 0},
                            "queued_bytes": {"type": "integer", "minimum": 0}
                        }
                    }
                }},
                "sinks": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}, "degrades_health": {"type": "boolean"}, "sinks": {"type": "object"}}}
            }), &["backup_disk", "backups", "collectors", "drills", "history", "offsite", "sinks"])
        }), &["status", "version", "uptime_seconds", "checks"]),
        "BackupLast": check(json!({
            "base": {"type": "string"},
            "status": {"type": "string", "enum": ["running", "ok", "failed", "skipped", "interrupted"]},
            "timestamp": {"type": "string", "format": "date-time", "nullable": true},
            "duration_seconds": nullable("number"),
            "size_bytes": {"type": "integer", "minimum": 0, "nullable": true},
            "file": nullable("string"),
            "running": {"type": "object", "nullable": true, "properties": {"stage": {"type": "string"}, "run_id": nullable("integer")}},
            "run": {"$ref": "#/components/schemas/Run"}
        }), &["base", "status", "run"]),
        "Backups": check(json!({
            "base": nullable("string"),
            "count": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
            "runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
            "running": {"type": "array", "items": {"$ref": "#/components/schemas/Running"}}
        }), &["count", "limit", "runs", "running"]),
        "Started": check(json!({
            "run_id": nullable("integer"),
            "base": {"type": "string"}
        }), &["base"]),
        "Metrics": check(json!({
            "timestamp": {"type": "string"},
            "timestamp_unix": {"type": "number"},
            "version": {"type": "string"},
            "cpu_percent": {"type": "number"},
            "memory_percent": {"type": "number"},
            "disk_percent": {"type": "number"},
            "uptime_seconds": {"type": "number"},
            "logged_users_count": {"type": "integer"},
            "rdp_active_count": {"type": "integer"},
            "cpu": {"type": "object"},
            "memory": {"type": "object"},
            "disk": {"type": "object"},
            "disk_io": {"type": "object"},
            "network": {"type": "object"},
            "processes": {"type": "object"},
            "system": {"type": "object"},
            "agent": {"type": "object"},
            "backup": {"type": "object"},
            "onec_clients": {"type": "object"},
            "logged_users": {"type": "array"},
            "rdp_sessions": {"type": "array"},
            "collectors": {"type": "array"}
        }), &["timestamp", "timestamp_unix", "version", "cpu", "memory", "disk", "backup"]),
        "OpenApi": check(json!({
            "openapi": {"type": "string"},
            "info": {"type": "object"},
            "paths": {"type": "object"},
            "components": {"type": "object"}
        }), &["openapi", "info", "paths"])
    })
}

fn base_param(desc: &str) -> Value {
    json!({"name": "base", "in": "query", "required": false, "schema": {"type": "string"}, "description": desc})
}

/// The document.
pub fn spec() -> Value {
    let read_security = json!([{}, {"bearer": []}, {"basic": []}]);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "OneCBackupBot agent API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Metrics, health and backups of 1C:Enterprise file infobases. \
                Read endpoints need `Authorization: Bearer <API_READ_TOKEN>` (API_TOKEN is \
                accepted too) when API_READ_TOKEN is set, or basic auth when \
                API_BASIC_USER / API_BASIC_PASSWORD are set; either is accepted when both \
                are. POST /api/backup always needs the bearer API_TOKEN. Without read \
                protection, callers not on loopback get /api/health and errors without \
                paths, URLs and error texts. Errors are JSON objects with an `error` string; \
                a request not answered within 30 s gets 503."
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"}
            },
            "schemas": schemas()
        },
        "paths": {
            "/api/metrics.prom": {"get": {
                "summary": "Metrics in Prometheus text format 0.0.4",
                "security": read_security,
                "responses": {
                    "200": {"description": "the exposition", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "400": err("query parameters were given"),
                    "401": err("API_READ_TOKEN or basic auth is set and the request did not send it")
                }
            }},
            "/api/metrics": {"get": {
                "summary": "The same metrics as nested JSON (the prototype's collect_all_metrics shape)",
                "security": read_security,
                "responses": {
                    "200": ok_json("the metrics", "Metrics"),
                    "400": err("query parameters were given"),
                    "401": err("API_READ_TOKEN or basic auth is set and the request did not send it")
                }
            }},
            "/api/health": {"get": {
                "summary": "Agent health: ok (200) or degraded (503), with the checks that decided it",
                "security": read_security,
                "responses": {
                    "200": ok_json("status ok", "Health"),
                    "400": err("query parameters were given"),
                    "401": err("API_READ_TOKEN or basic auth is set and the request did not send it"),
                    "503": ok_json("status degraded: a core collector failed, the backup disk is too full, the history is unreadable, a base's last backup failed or its last success is older than MAX_AGE_HOURS", "Health")
                }
            }},
            "/api/backup/last": {"get": {
                "summary": "The newest backup run of a base (the default base without ?base)",
                "security": read_security,
                "parameters": [base_param("base name (default: the first configured base)")],
                "responses": {
                    "200": ok_json("the run", "BackupLast"),
                    "400": err("unknown or repeated query parameter"),
                    "401": err("API_READ_TOKEN or basic auth is set and the request did not send it"),
                    "404": err("no such base, or no run recorded yet")
                }
            }},
            "/api/backups": {"get": {
                "summary": "Backup runs, newest first",
                "security": read_security,
                "parameters": [
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}},
                    base_param("only runs of this base")
                ],
                "responses": {
                    "200": ok_json("runs and the runs in progress", "Backups"),
                    "400": err("bad limit, or an unknown or repeated query parameter"),
                    "401": err("API_READ_TOKEN or basic auth is set and the request did not send it"),
                    "404": err("no such base")
                }
            }},
            "/api/backup": {"post": {
                "summary": "Start a backup of a base in the background",
                "security": [{"bearer": []}],
                "parameters": [
                    base_param("base name (default: the first configured base)"),
                    {"name": "when_users_inside", "in": "query", "required": false,
                     "schema": {"type": "string", "enum": ["fail", "wait", "lock", "close"]},
                     "description": "use this users-inside policy for this run instead of BACKUP_WHEN_USERS_INSIDE (lock needs ONEC_LOCK_CODE)"}
                ],
                "responses": {
                    "202": ok_json("started", "Started"),
                    "400": err("unknown or repeated query parameter, or an unknown users-inside policy"),
                    "401": err("missing or wrong API_TOKEN"),
                    "403": err("API_TOKEN is not configured, so backups can not be started over HTTP, or the request logged in with basic auth only (it allows reading)"),
                    "404": err("no such base"),
                    "409": err("a backup of this base is already running (with its stage)"),
                    "503": err("the agent is stopping")
                }
            }},
            "/api/openapi.json": {"get": {
                "summary": "This document (no token needed)",
                "responses": {"200": ok_json("the OpenAPI description", "OpenApi")}
            }}
        }
    })
}
