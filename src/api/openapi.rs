//! The OpenAPI 3.0 description served at `GET /api/openapi.json`, written
//! by hand next to the router. `tests/suite/api_http.rs` calls every path and
//! method listed here on the running agent and checks that the answers'
//! status codes are among the documented ones.

use serde_json::{Value, json};

fn err(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok_json(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": {"type": "object"}}}})
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
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
            }
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
                    "200": ok_json("the metrics"),
                    "400": err("query parameters were given"),
                    "401": err("API_READ_TOKEN or basic auth is set and the request did not send it")
                }
            }},
            "/api/health": {"get": {
                "summary": "Agent health: ok (200) or degraded (503), with the checks that decided it",
                "security": read_security,
                "responses": {
                    "200": ok_json("status ok"),
                    "400": err("query parameters were given"),
                    "401": err("API_READ_TOKEN or basic auth is set and the request did not send it"),
                    "503": ok_json("status degraded: a core collector failed, the backup disk is too full, the history is unreadable, a base's last backup failed or its last success is older than MAX_AGE_HOURS")
                }
            }},
            "/api/backup/last": {"get": {
                "summary": "The newest backup run of a base (the default base without ?base)",
                "security": read_security,
                "parameters": [base_param("base name (default: the first configured base)")],
                "responses": {
                    "200": ok_json("the run"),
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
                    "200": ok_json("runs and the runs in progress"),
                    "400": err("bad limit, or an unknown or repeated query parameter"),
                    "401": err("API_READ_TOKEN or basic auth is set and the request did not send it"),
                    "404": err("no such base")
                }
            }},
            "/api/backup": {"post": {
                "summary": "Start a backup of a base in the background",
                "security": [{"bearer": []}],
                "parameters": [base_param("base name (default: the first configured base)")],
                "responses": {
                    "202": ok_json("started: {\"run_id\", \"base\"}"),
                    "400": err("unknown or repeated query parameter"),
                    "401": err("missing or wrong API_TOKEN"),
                    "403": err("API_TOKEN is not configured, so backups can not be started over HTTP, or the request logged in with basic auth only (it allows reading)"),
                    "404": err("no such base"),
                    "409": err("a backup of this base is already running (with its stage)"),
                    "503": err("the agent is stopping")
                }
            }},
            "/api/openapi.json": {"get": {
                "summary": "This document (no token needed)",
                "responses": {"200": ok_json("the OpenAPI description")}
            }}
        }
    })
}
