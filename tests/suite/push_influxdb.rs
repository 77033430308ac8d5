//! InfluxDB end to end: a real InfluxDB 1.6 (auth on, bound to loopback,
//! temp dirs) stores what our line-protocol encoder writes — tricky
//! measurement, tag and string values come back as they were — and what
//! the real agent pushes (1.x API with user and password): host metrics
//! grouped into measurements with typed fields, and a `backup_run` point
//! per finished backup, queryable with InfluxQL. Debian has no InfluxDB 2,
//! so the 2.x request (path, query, token, body) is checked against a
//! loopback recorder.
#![cfg(unix)]

use crate::util::http::{request, urlencode};
use crate::util::proc::wait_for;
use crate::util::recorder::{Answer, Recorder};
use crate::util::servers::{influx_query, influxd};
use crate::util::{World, heavy, host};
use onec_backup_bot::push::line_protocol::{self, Line, Value as V};
use serde_json::{Value, json};
use std::time::Duration;

const ADMIN: (&str, &str) = ("admin", "adm-Pa55");

/// The rows of the first series of an InfluxQL answer.
fn rows(v: &Value) -> Vec<Value> {
    v["results"][0]["series"][0]["values"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn real_influxdb_1_6_stores_our_points() {
    let _heavy = heavy();
    let w = World::new(32);
    let influx = influxd(&w.dir.path().join("influx"));
    let port = influx.port;
    // The first user of a fresh server may be created without auth.
    let v = influx_query(
        port,
        &format!(
            "CREATE USER {} WITH PASSWORD '{}' WITH ALL PRIVILEGES",
            ADMIN.0, ADMIN.1
        ),
        None,
        None,
    );
    assert!(v["results"][0]["error"].is_null(), "{v}");
    let v = influx_query(port, "CREATE DATABASE onec", Some(ADMIN), None);
    assert!(v["results"][0]["error"].is_null(), "{v}");

    // The encoder's escaping, read back by the real server.
    let tricky = Line {
        measurement: "odd meas,urement".into(),
        tags: vec![
            ("path".into(), r"C:\".into()),
            ("dir".into(), r"D:\1C\Buh".into()),
            ("tag key".into(), "a=b,c d".into()),
        ],
        fields: vec![
            ("field,key".into(), V::Float(1.5)),
            ("n".into(), V::Int(-3)),
            ("msg".into(), V::Str("say \"hi\" \\ bye".into())),
        ],
        time_s: 1_700_000_000,
    };
    let r = request(
        port,
        "POST",
        format!(
            "/write?db=onec&precision=s&u={}&p={}",
            ADMIN.0,
            urlencode(ADMIN.1)
        ),
        &[],
        line_protocol::encode(&[tricky]).as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let v = influx_query(
        port,
        r#"SELECT "field,key", "n", "msg", "dir", "tag key" FROM "odd meas,urement""#,
        Some(ADMIN),
        Some("onec"),
    );
    assert_eq!(
        rows(&v),
        [json!([
            "2023-11-14T22:13:20Z",
            1.5,
            -3,
            "say \"hi\" \\ bye",
            r"D:\1C\Buh",
            "a=b,c d"
        ])],
        "{v}"
    );
    // InfluxDB 1.x cannot take a tag value ending in a backslash: it is
    // dropped, so `C:\` is tagged `C:`.
    let v = influx_query(
        port,
        r#"SHOW TAG VALUES FROM "odd meas,urement" WITH KEY = "path""#,
        Some(ADMIN),
        Some("onec"),
    );
    assert_eq!(rows(&v), [json!(["path", "C:"])], "{v}");

    // The agent, through the 1.x API with basic auth.
    let agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        ("API_TOKEN", "api-tok"),
        ("INFLUXDB_URL", &format!("http://127.0.0.1:{port}")),
        ("INFLUXDB_DATABASE", "onec"),
        ("INFLUXDB_USER", ADMIN.0),
        ("INFLUXDB_PASSWORD", ADMIN.1),
    ]);
    let h = host();
    let cpu =
        format!(r#"SELECT last("percent"), last("count_logical") FROM "cpu" WHERE "host" = '{h}'"#);
    wait_for("cpu points in InfluxDB", Duration::from_secs(30), || {
        !rows(&influx_query(port, &cpu, Some(ADMIN), Some("onec"))).is_empty()
    });
    let r = rows(&influx_query(port, &cpu, Some(ADMIN), Some("onec")));
    assert!(r[0][1].is_number() && r[0][2].as_i64() > Some(0), "{r:?}");
    let v = influx_query(
        port,
        r#"SHOW FIELD KEYS FROM "cpu""#,
        Some(ADMIN),
        Some("onec"),
    );
    let types: Vec<(String, String)> = rows(&v)
        .iter()
        .map(|r| (r[0].as_str().unwrap().into(), r[1].as_str().unwrap().into()))
        .collect();
    assert!(
        types.contains(&("percent".into(), "float".into())),
        "{types:?}"
    );
    assert!(
        types.contains(&("count_logical".into(), "integer".into())),
        "{types:?}"
    );
    let v = influx_query(
        port,
        r#"SHOW TAG VALUES FROM "filesystem" WITH KEY = "mountpoint""#,
        Some(ADMIN),
        Some("onec"),
    );
    assert!(
        rows(&v).iter().any(|r| r[1] == "/"),
        "the root filesystem: {v}"
    );

    // A backup over the API becomes a backup_run point.
    let r = agent.request("POST", "/api/backup", Some("api-tok"));
    assert_eq!(r.status, 202, "{}", r.text());
    let q = r#"SELECT "ok", "size_bytes", "duration_seconds", "status", "base", "trigger" FROM "backup_run""#;
    wait_for("the backup_run point", Duration::from_secs(60), || {
        !rows(&influx_query(port, q, Some(ADMIN), Some("onec"))).is_empty()
    });
    let r = rows(&influx_query(port, q, Some(ADMIN), Some("onec")));
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0][1], 1);
    assert!(
        r[0][2].as_i64() > Some(0) && r[0][3].as_f64() > Some(0.0),
        "{r:?}"
    );
    assert_eq!(
        (&r[0][4], &r[0][5], &r[0][6]),
        (&json!("ok"), &json!("buh"), &json!("api"))
    );
    let q = format!(
        r#"SELECT last("runs_total") FROM "backup" WHERE "base" = 'buh' AND "status" = 'ok' AND "host" = '{h}'"#
    );
    wait_for(
        "the run counted in the backup measurement",
        Duration::from_secs(30),
        || {
            rows(&influx_query(port, &q, Some(ADMIN), Some("onec")))
                .first()
                .is_some_and(|r| r[1] == 1)
        },
    );
    let s = agent.sink("influxdb");
    assert_eq!(s["ok"], true, "{s}");
    assert!(!w.log_text().contains(ADMIN.1));
    assert!(
        !influx.log_text().contains("panic"),
        "{}",
        influx.log_text()
    );
}

#[test]
fn influxdb_2_requests_carry_the_token_org_and_bucket() {
    let w = World::new(32);
    let rec = Recorder::start(Answer::Status(204, String::new()));
    let _agent = w.agent(&[
        ("METRICS_INTERVAL", "1"),
        ("INFLUXDB_URL", &rec.url()),
        ("INFLUXDB_TOKEN", "tok-Secret=="),
        ("INFLUXDB_ORG", "My Org"),
        ("INFLUXDB_BUCKET", "onec"),
    ]);
    wait_for("a write", Duration::from_secs(20), || {
        !rec.requests().is_empty()
    });
    let r = &rec.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.target, "/api/v2/write?org=My+Org&bucket=onec&precision=s");
    assert_eq!(r.header("Authorization"), Some("Token tok-Secret=="));
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    let body = r.text();
    let h = host();
    let cpu = body
        .lines()
        .find(|l| l.starts_with(&format!("cpu,host={h} ")))
        .unwrap_or_else(|| panic!("{body}"));
    assert!(
        cpu.contains(" percent=") || cpu.contains(",percent="),
        "{cpu}"
    );
    assert!(
        cpu.contains("count_logical=") && cpu.contains("i,"),
        "{cpu}"
    );
    for l in body.lines() {
        let ts = l.rsplit(' ').next().unwrap();
        assert!(ts.len() == 10 && ts.parse::<i64>().is_ok(), "seconds: {l}");
        assert!(l.contains(&format!("host={h}")), "{l}");
    }
    assert!(!w.log_text().contains("tok-Secret"));
}
