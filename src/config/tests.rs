//! Loading from real files in temp dirs: precedence, problems reported
//! together, secrets never shown.

use super::*;
use std::fs;

/// Options for files in `dir` (created empty when absent, so a `.env` in
/// the current folder can never leak into a test).
fn opts(dir: &Path, env: &[(&str, &str)]) -> LoadOptions {
    for name in [".env", "config.yaml"] {
        if !dir.join(name).exists() {
            fs::write(dir.join(name), "").unwrap();
        }
    }
    LoadOptions {
        env_file: Some(dir.join(".env")),
        config_file: Some(dir.join("config.yaml")),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        skip_files: false,
    }
}

/// `load` with the files in `dir` and `env` as the process environment.
fn load_in(dir: &tempfile::TempDir, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    load(&opts(dir.path(), env))
}

/// `load` with no files (empty ones in a fresh temp folder) and `env`.
fn load_env(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    load_in(&tempfile::tempdir().unwrap(), env)
}

/// A temp folder whose `config.yaml` holds `yaml`.
fn with_yaml(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_yaml(&dir, yaml);
    dir
}

/// A temp folder whose `.env` holds `dotenv`.
fn with_dotenv(dotenv: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".env"), dotenv).unwrap();
    dir
}

fn write_yaml(dir: &tempfile::TempDir, yaml: &str) {
    fs::write(dir.path().join("config.yaml"), yaml).unwrap();
}

/// Assert that `text` contains every one of `parts`, naming the one missing.
pub(super) fn assert_contains(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

/// Assert that `text` contains none of `parts`, naming the one shown.
fn assert_lacks(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(!text.contains(part), "{part:?} shown in:\n{text}");
    }
}

fn entry<'a>(cfg: &'a Config, name: &str) -> &'a Entry {
    cfg.entries
        .iter()
        .find(|e| e.key.display_name() == name)
        .unwrap()
}

#[test]
fn defaults_without_any_file() {
    let cfg = load_env(&[]).unwrap();
    assert_eq!(cfg.timezone_name, "Europe/Moscow");
    assert_eq!(cfg.api.port, 8080);
    assert_eq!(cfg.api.host, "0.0.0.0");
    assert_eq!(cfg.metrics_interval.as_secs(), 60);
    assert_eq!(cfg.backup_dir, PathBuf::from("backups"));
    assert_eq!(cfg.history_db, PathBuf::from("backups").join("app.sqlite3"));
    assert!(cfg.bases.is_empty());
    assert_eq!(entry(&cfg, "BACKUP_METHOD").origin, Some(Origin::Default));
}

#[test]
fn time_zone_name_follows_app_timezone() {
    let cfg = load_env(&[("APP_TIMEZONE", "Asia/Novosibirsk")]).unwrap();
    assert_eq!(cfg.timezone_name, "Asia/Novosibirsk");
    assert_eq!(cfg.timezone.iana_name(), Some("Asia/Novosibirsk"));
}

/// The key table is the one source of defaults: each one passes its own
/// kind, and a key with a default is set even when its value is invalid.
#[test]
fn every_table_default_is_valid_for_its_kind() {
    for key in keys::KEYS {
        if let Some(d) = key.default {
            assert!(
                value::validate(key.kind, d).is_ok(),
                "default {d:?} of {} is not a valid {:?}",
                key.yaml,
                key.kind
            );
        }
    }
    let err = load_env(&[("API_PORT", "99999"), ("METRICS_INTERVAL", "0")]).unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
}

#[test]
fn precedence_env_over_dotenv_over_yaml_over_default() {
    let dir = with_dotenv("ONEC_TIMEOUT=100\nAPI_PORT=9000\n");
    write_yaml(
        &dir,
        "onec:\n  timeout: 200\n  base_path: /srv/buh\nbackup:\n  method: copy\n",
    );
    let cfg = load_in(&dir, &[("API_PORT", "9100")]).unwrap();
    assert_eq!(cfg.api.port, 9100);
    assert_eq!(
        entry(&cfg, "API_PORT").origin.as_ref().unwrap().kind(),
        "env"
    );
    assert_eq!(
        entry(&cfg, "ONEC_TIMEOUT").origin.as_ref().unwrap().kind(),
        ".env"
    );
    assert_eq!(cfg.bases[0].timeout.as_secs(), 100);
    assert_eq!(
        entry(&cfg, "BACKUP_METHOD").origin.as_ref().unwrap().kind(),
        "config.yaml"
    );
    assert_eq!(cfg.bases[0].method, Method::Copy);
    assert_eq!(cfg.bases[0].name, "buh");
    assert_eq!(cfg.bases[0].prefix, "buh_");
    assert_eq!(
        entry(&cfg, "METRICS_INTERVAL").origin,
        Some(Origin::Default)
    );
}

#[test]
fn aliases_and_prototype_names() {
    let cfg = load_env(&[
        ("ONEC_BASE_PATH", "/b/x"),
        ("ONEC_USER", "Иванов"),
        ("ONEC_PASSWORD", "pw1"),
    ])
    .unwrap();
    assert_eq!(cfg.bases[0].user.as_deref(), Some("Иванов"));
    assert_eq!(cfg.bases[0].password.as_ref().unwrap().expose(), "pw1");
    // The prototype's names win over the aliases when both are set.
    let cfg = load_env(&[
        ("ONEC_BASE_PATH", "/b/x"),
        ("ONEC_UC", "a"),
        ("ONEC_USER", "b"),
    ])
    .unwrap();
    assert_eq!(cfg.bases[0].user.as_deref(), Some("a"));
}

#[test]
fn every_problem_is_reported_together() {
    let dir = with_dotenv("METRICS_INTERVAL=soon\n");
    write_yaml(&dir, "backup:\n  method: rsync\n  compres: zip\n");
    let err = load_in(
        &dir,
        &[
            ("API_PORT", "70000"),
            ("ONEC_UP", "hunter2"),
            ("INFLUXDB_URL", "ftp://x"),
        ],
    )
    .unwrap_err();
    let text = err.to_string();
    // The unknown key stops YAML from being used, but the env and .env problems are still all there.
    // The unknown key does not hide the value problems of the same file.
    assert_contains(&text, &["backup.compres", "did you mean `compress`"]);
    assert_contains(&text, &["backup.method: got \"rsync\""]);
    assert_contains(
        &text,
        &["environment variable API_PORT: got \"70000\", expected a whole number from 1 to 65535"],
    );
    assert_contains(&text, &[".env:1 (METRICS_INTERVAL)"]);
    assert_contains(&text, &["INFLUXDB_URL", "http://"]);
    assert!(!text.contains("hunter2"));
    assert_eq!(err.problems.len(), 5, "{text}");
}

#[test]
fn bad_yaml_values_name_file_key_value_and_form() {
    let dir = with_yaml(
        "app:\n  timezone: Mars/Olympus\nbackup:\n  method: rsync\n  compress: zstd\n  compress_level: 30\nonec:\n  up: s3cret-pass\n  timeout: 1\n",
    );
    let err = load_in(&dir, &[]).unwrap_err();
    let text = err.to_string();
    assert_contains(
        &text,
        &["config.yaml: app.timezone: got \"Mars/Olympus\", expected an IANA time zone name"],
    );
    assert_contains(
        &text,
        &["config.yaml: backup.method: got \"rsync\", expected one of: dump, ibcmd, copy"],
    );
    assert_contains(&text, &["backup.compress_level: got \"30\""]);
    assert_contains(
        &text,
        &["onec.timeout: got \"1\", expected a whole number from 5"],
    );
    assert!(!text.contains("s3cret-pass"));
}

#[test]
fn compress_level_range_depends_on_compression() {
    let err = load_env(&[("ONEC_BASE_PATH", "/b"), ("BACKUP_COMPRESS_LEVEL", "12")]).unwrap_err();
    assert!(err.to_string().contains("from 0 to 9 for zip"), "{err}");
    let cfg = load_env(&[
        ("ONEC_BASE_PATH", "/b"),
        ("BACKUP_COMPRESS", "zstd"),
        ("BACKUP_COMPRESS_LEVEL", "12"),
    ])
    .unwrap();
    assert_eq!(cfg.bases[0].compress_level, Some(12));
}

#[test]
fn bases_list_inherits_and_overrides() {
    let dir = with_yaml(
        r#"
onec:
  base_path: /srv/1c/buh
  uc: Admin
backup:
  method: dump
  keep: {daily: 7}
bases:
  - name: zup
    path: /srv/1c/zup
    method: copy
    include_log: true
    keep: {monthly: 3}
  - name: "<Тест & Co>"
    path: /srv/1c/test
    password: other
"#,
    );
    let cfg = load_in(&dir, &[]).unwrap();
    let names: Vec<&str> = cfg.bases.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["buh", "zup", "<Тест & Co>"]);
    assert_eq!(cfg.bases[0].keep.daily, Some(7));
    let zup = cfg.base(Some("ZUP")).unwrap();
    assert_eq!(zup.method, Method::Copy);
    assert!(zup.include_log);
    assert_eq!(zup.keep.daily, None);
    assert_eq!(zup.keep.monthly, Some(3));
    assert_eq!(zup.user.as_deref(), Some("Admin"));
    assert_eq!(zup.prefix, "zup_");
    let t = cfg.base(Some("<Тест & Co>")).unwrap();
    assert_eq!(t.password.as_ref().unwrap().expose(), "other");
    assert_eq!(t.prefix, "test_");
    assert_eq!(cfg.base(None).unwrap().name, "buh");
}

#[test]
fn base_errors_duplicates_and_missing_fields() {
    let dir = with_yaml(
        "bases:\n  - name: a\n    path: /x\n  - name: A\n    path: /y\n  - path: /z\n  - name: b\n    prefix: 'b/'\n    path: /w\n",
    );
    let err = load_in(&dir, &[]).unwrap_err();
    let text = err.to_string();
    assert_contains(&text, &["not already used"]);
    assert_contains(&text, &["bases[2]", "`name:`"]);
    assert_contains(&text, &["\"b/\"", "file-name prefix"]);
}

#[test]
fn allow_lists_merge_env_and_yaml() {
    let dir =
        with_yaml("security:\n  allowed_user_ids: [1, 2]\ntelegram:\n  broadcast_chat_id: -100\n");
    let cfg = load_in(
        &dir,
        &[("ALLOWED_USER_IDS", "2, 3"), ("NOTIFY_CHAT_IDS", "5")],
    )
    .unwrap();
    assert_eq!(cfg.telegram.allowed_user_ids, [2, 3, 1]);
    assert_eq!(cfg.telegram.notify_chat_ids, [5, -100]);
    let err = load_in(&dir, &[("ALLOWED_USER_IDS", "12,abc")]).unwrap_err();
    assert!(err.to_string().contains("`abc` is not a number"));
}

#[test]
fn check_output_masks_secrets_and_names_sources() {
    let dir = with_dotenv(
        "BOT_TOKEN=123456:ABCDEF-secret-token\nUPTIME_KUMA_PUSH_URL=https://kuma.local/api/push/pushTokenXYZ\n",
    );
    let cfg = load_in(
        &dir,
        &[
            ("ONEC_UP", "p@ss"),
            ("ONEC_BASE_PATH", "/srv/b"),
            ("API_TOKEN", "tok-123"),
        ],
    )
    .unwrap();
    let out = render_check(&cfg);
    for secret in ["123456:ABCDEF", "p@ss", "pushTokenXYZ", "tok-123"] {
        assert!(!out.contains(secret), "{secret} leaked:\n{out}");
    }
    assert_contains(&out, &["https://kuma.local/***"]);
    let bot = out.lines().find(|l| l.starts_with("BOT_TOKEN")).unwrap();
    assert_contains(bot, &["***", ".env"]);
    assert_contains(&out, &["BOT_TOKEN is set but ALLOWED_USER_IDS is empty"]);
    let debug = format!("{cfg:?}");
    assert!(
        !debug.contains("p@ss") && !debug.contains("tok-123"),
        "Debug leaks secrets"
    );
    assert_eq!(cfg.mask("x p@ss tok-123 y"), "x *** *** y");
}

#[test]
fn explicit_missing_file_is_an_error_default_missing_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let o = LoadOptions {
        config_file: Some(dir.path().join("nope.yaml")),
        ..Default::default()
    };
    let err = load(&o).unwrap_err();
    assert!(err.to_string().contains("nope.yaml"), "{err}");
}

#[test]
fn within_and_urls_validated() {
    let err = load_env(&[
        ("BACKUP_KEEP_WITHIN", "forever"),
        ("TELEGRAM_PROXY", "socks4://h:1"),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert_contains(&text, &["BACKUP_KEEP_WITHIN", "30d"]);
    assert_contains(&text, &["TELEGRAM_PROXY", "socks5://"]);
    let cfg = load_env(&[
        ("BACKUP_KEEP_WITHIN", "30d"),
        ("TELEGRAM_PROXY", "socks5://127.0.0.1:1080"),
    ])
    .unwrap();
    assert!(cfg.telegram.proxy.is_some());
}

#[test]
fn example_files_document_every_key_and_load_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let env_example = fs::read_to_string(root.join(".env.example")).unwrap();
    let yaml_example = fs::read_to_string(root.join("config.example.yaml")).unwrap();
    for key in keys::KEYS {
        for name in key.env.iter().take(1) {
            assert!(
                env_example.contains(&format!("\n{name}=")),
                ".env.example lacks {name}"
            );
        }
        let leaf = key.yaml.rsplit('.').next().unwrap();
        assert!(
            yaml_example.contains(&format!("{leaf}:")),
            "config.example.yaml lacks {}",
            key.yaml
        );
    }
    // Both examples load as they are (Windows paths and all).
    let o = LoadOptions {
        env_file: Some(root.join(".env.example")),
        config_file: Some(root.join("config.example.yaml")),
        env: HashMap::new(),
        skip_files: false,
    };
    let cfg = load(&o).unwrap();
    assert_eq!(cfg.bases.len(), 2);
    assert_eq!(cfg.bases[1].name, "zup");
    assert_eq!(cfg.bases[0].keep.half_yearly, Some(4));
}

#[test]
fn schedules_are_validated_and_inherited() {
    let dir = with_yaml(
        "onec:\n  base_path: /srv/buh\nbackup:\n  schedule: '5 13,18 * * *'\n  quiet_hours: '00:00-07:59'\nbases:\n  - name: zup\n    path: /srv/zup\n    schedule: '0 30 23 * * *'\n",
    );
    let cfg = load_in(&dir, &[]).unwrap();
    assert_eq!(
        cfg.bases[0].schedule.as_ref().unwrap().as_str(),
        "5 13,18 * * *"
    );
    assert!(cfg.bases[0].quiet_hours.is_some());
    assert_eq!(
        cfg.bases[1].schedule.as_ref().unwrap().as_str(),
        "0 30 23 * * *"
    );
    assert_eq!(cfg.catch_up.as_secs(), 6 * 3600);
    assert_eq!(cfg.shutdown_grace.as_secs(), 30);
    let err = load_in(
        &dir,
        &[
            ("BACKUP_SCHEDULE", "5 25 * * *"),
            ("BACKUP_QUIET_HOURS", "late"),
        ],
    )
    .unwrap_err();
    let text = err.to_string();
    assert_contains(&text, &["BACKUP_SCHEDULE", "hour"]);
    assert_contains(&text, &["BACKUP_QUIET_HOURS", "00:00-07:59"]);
}

#[test]
fn drill_schedules_are_inherited_overridden_and_validated() {
    let dir = with_yaml(
        "onec:\n  base_path: /srv/buh\nbackup:\n  backup_dir: /srv/backups\n  drill_schedule: '0 4 * * 0'\nbases:\n  - name: zup\n    path: /srv/zup\n    drill: '0 5 * * 6'\n  - name: trade\n    path: /srv/trade\n",
    );
    let cfg = load_in(&dir, &[]).unwrap();
    let drill = |i: usize| cfg.bases[i].drill.as_ref().map(|s| s.as_str().to_string());
    assert_eq!(drill(0).as_deref(), Some("0 4 * * 0"));
    assert_eq!(drill(1).as_deref(), Some("0 5 * * 6"));
    assert_eq!(drill(2).as_deref(), Some("0 4 * * 0"));
    // The backup schedule is its own setting.
    assert!(cfg.bases[0].schedule.is_none());
    // Defaults: beside the history database, 8 days.
    assert_eq!(cfg.drill_dir, Path::new("/srv/backups").join("drill"));
    assert_eq!(cfg.drill_max_age_days, 8);
    let cfg = load_in(
        &dir,
        &[
            ("BACKUP_HISTORY_DB", "/var/lib/obb/h.sqlite3"),
            ("BACKUP_DRILL_MAX_AGE_DAYS", "15"),
        ],
    )
    .unwrap();
    assert_eq!(cfg.drill_dir, Path::new("/var/lib/obb").join("drill"));
    assert_eq!(cfg.drill_max_age_days, 15);
    let cfg = load_in(&dir, &[("BACKUP_DRILL_DIR", "/scratch/drills")]).unwrap();
    assert_eq!(cfg.drill_dir, Path::new("/scratch/drills"));
    assert!(render_check(&cfg).contains("drill=\"0 5 * * 6\""));
    // Without any drill schedule every base is drilled only by hand.
    let cfg = load_env(&[("ONEC_BASE_PATH", "/srv/buh")]).unwrap();
    assert!(cfg.bases[0].drill.is_none());
    let bad = with_yaml(
        "onec:\n  base_path: /srv/buh\nbases:\n  - name: zup\n    path: /srv/zup\n    drill: 'sunday'\n",
    );
    let text = load_in(&bad, &[("BACKUP_DRILL_MAX_AGE_DAYS", "0")])
        .unwrap_err()
        .to_string();
    assert_contains(&text, &["bases[0].drill", "sunday"]);
    assert_contains(&text, &["BACKUP_DRILL_MAX_AGE_DAYS", "0"]);
}

#[test]
fn push_settings_defaults_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = load_in(&dir, &[]).unwrap();
    let e = &cfg.export;
    assert_eq!(e.prometheus_remote_queue_samples, 100_000);
    assert_eq!(e.prometheus_remote_max_age.as_secs(), 3600);
    assert_eq!(e.push_timeout.as_secs(), 10);
    assert!(!e.pushgateway_keep_on_exit && !e.uptime_kuma_heartbeat);

    write_yaml(
        &dir,
        "pushgateway:\n  keep_on_exit: true\nuptime_kuma:\n  heartbeat: yes\npush:\n  timeout_secs: 3\n",
    );
    let cfg = load_in(
        &dir,
        &[
            ("INFLUXDB_URL", "http://influx:8086"),
            ("INFLUXDB_DATABASE", "onec"),
            ("INFLUXDB_USER", "writer"),
            ("INFLUXDB_PASSWORD", "influx-pw"),
            ("PROMETHEUS_PUSHGATEWAY_PASSWORD", "pg-pw"),
        ],
    )
    .unwrap();
    let e = &cfg.export;
    assert!(e.pushgateway_keep_on_exit && e.uptime_kuma_heartbeat);
    assert_eq!(e.push_timeout.as_secs(), 3);
    assert_eq!(e.influxdb_database.as_deref(), Some("onec"));
    // Passwords are secrets; a password of a sink that is off is still one.
    assert_eq!(cfg.mask("influx-pw pg-pw"), "*** ***");
    let out = render_check(&cfg);
    assert_lacks(&out, &["influx-pw", "pg-pw"]);
    assert_contains(
        &out,
        &["warning: PROMETHEUS_PUSHGATEWAY_PASSWORD set but PROMETHEUS_PUSHGATEWAY_URL is empty"],
    );
}

/// The basic-auth sinks: a user without a password, settings without the
/// sink's URL, and credentials both in the URL and in the settings.
#[test]
fn sink_credentials_are_cross_checked() {
    let cfg = load_env(&[
        ("GRAFANA_LOKI_USER", "u"),
        ("INFLUXDB_URL", "http://influx:8086"),
        ("INFLUXDB_DATABASE", "onec"),
        ("INFLUXDB_PASSWORD", "p"),
        ("PROMETHEUS_PUSHGATEWAY_PASSWORD", "p"),
    ])
    .unwrap();
    let w = cfg.warnings.join("\n");
    for want in [
        "GRAFANA_LOKI_USER and GRAFANA_LOKI_PASSWORD should be set together (basic auth needs both)",
        "PROMETHEUS_PUSHGATEWAY_USER and PROMETHEUS_PUSHGATEWAY_PASSWORD should be set together",
        "INFLUXDB_USER and INFLUXDB_PASSWORD should be set together",
        "PROMETHEUS_PUSHGATEWAY_PASSWORD set but PROMETHEUS_PUSHGATEWAY_URL is empty: this push is off",
        "GRAFANA_LOKI_USER set but GRAFANA_LOKI_URL is empty: this push is off",
    ] {
        assert!(w.contains(want), "missing {want:?} in\n{w}");
    }
    assert!(!w.contains("GRAFANA_PROMETHEUS"), "{w}");
    assert!(!w.contains("INFLUXDB_PASSWORD set but"), "{w}");
    let cfg = load_env(&[("INFLUXDB_TOKEN", "t"), ("INFLUXDB_ORG", "o")]).unwrap();
    assert!(
        cfg.warnings.contains(
            &"INFLUXDB_TOKEN, INFLUXDB_ORG set but INFLUXDB_URL is empty: this push is off".into()
        ),
        "{:?}",
        cfg.warnings
    );
    let err = load_env(&[
        ("GRAFANA_PROMETHEUS_URL", "https://a:b@prom/api/v1/push"),
        ("GRAFANA_PROMETHEUS_USER", "u"),
        ("GRAFANA_PROMETHEUS_PASSWORD", "p"),
        ("GRAFANA_LOKI_URL", "https://a:b@loki/loki/api/v1/push"),
    ])
    .unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(
        err.problems[0].to_string(),
        "environment variable GRAFANA_PROMETHEUS_URL: credentials either in the URL or in \
         GRAFANA_PROMETHEUS_USER / GRAFANA_PROMETHEUS_PASSWORD, not both: remove the \
         user:password@ part of the URL"
    );
}

#[test]
fn influxdb_takes_one_of_two_groups() {
    let err = load_env(&[
        ("INFLUXDB_URL", "http://influx:8086"),
        ("INFLUXDB_DATABASE", "onec"),
        ("INFLUXDB_TOKEN", "tok"),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert_contains(
        &text,
        &[
            "either INFLUXDB_DATABASE (InfluxDB 1.x) or INFLUXDB_TOKEN",
            "also set: INFLUXDB_TOKEN",
        ],
    );
    let err = load_env(&[
        ("INFLUXDB_URL", "http://influx:8086"),
        ("INFLUXDB_ORG", "o"),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert_contains(
        &text,
        &[
            "INFLUXDB_TOKEN as well",
            "INFLUXDB_BUCKET as well",
            "or set INFLUXDB_DATABASE for InfluxDB 1.x",
        ],
    );
    assert_eq!(err.problems.len(), 2, "{text}");
    let err = load_env(&[
        ("INFLUXDB_URL", "http://influx:8086"),
        ("INFLUXDB_TOKEN", "t"),
        ("INFLUXDB_ORG", "o"),
        ("INFLUXDB_BUCKET", "b"),
        ("INFLUXDB_USER", "u"),
    ])
    .unwrap_err();
    assert!(
        err.to_string().contains("they are for InfluxDB 1.x"),
        "{err}"
    );
}

#[test]
fn urls_are_shown_without_user_info() {
    let cfg = load_env(&[
        (
            "GRAFANA_PROMETHEUS_URL",
            "https://123456:glc_secret@prometheus.example/api/prom/push",
        ),
        ("GRAFANA_LOKI_URL", "http://u:loki-pw@loki:3100"),
    ])
    .unwrap();
    let out = render_check(&cfg);
    assert_lacks(&out, &["glc_secret", "loki-pw"]);
    assert_contains(
        &out,
        &[
            "https://prometheus.example/api/prom/push",
            "http://loki:3100",
        ],
    );
    assert_eq!(redact_url("http://a:b@h:1/p?q=x@y"), "http://h:1/p?***");
    assert_eq!(redact_url("http://h/p@x"), "http://h/p@x");
    let err = load_env(&[("GRAFANA_LOKI_URL", "ftp://u:pw@h")]).unwrap_err();
    assert!(!err.to_string().contains("pw@"), "{err}");
}

#[test]
fn sink_credentials_go_in_the_url_or_the_settings_not_both() {
    let err = load_env(&[
        (
            "GRAFANA_LOKI_URL",
            "https://123:url-secret@logs.example.net",
        ),
        ("GRAFANA_LOKI_USER", "123"),
        ("GRAFANA_LOKI_PASSWORD", "pw"),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert_contains(
        &text,
        &[
            "GRAFANA_LOKI_URL",
            "credentials either in the URL or in GRAFANA_LOKI_USER",
        ],
    );
    assert!(!text.contains("url-secret"), "{text}");
    // Either way alone is fine.
    for env in [
        &[(
            "GRAFANA_LOKI_URL",
            "https://123:url-secret@logs.example.net",
        )][..],
        &[
            ("GRAFANA_LOKI_URL", "https://logs.example.net"),
            ("GRAFANA_LOKI_USER", "123"),
            ("GRAFANA_LOKI_PASSWORD", "pw"),
        ][..],
    ] {
        load_env(env).unwrap();
    }
}

#[test]
fn two_bases_whose_folders_share_a_name_are_refused_naming_both() {
    // D:\Org1\Buh and D:\Org2\Buh would both write Buh_<date>.zip, and one
    // base's retention would delete the other's archives.
    let dir = with_yaml(
        "bases:\n  - name: org1\n    path: /srv/x/Buh\n  - name: org2\n    path: /srv/y/Buh\n",
    );
    let text = load_in(&dir, &[]).unwrap_err().to_string();
    assert_contains(&text, &["\"org1\"", "\"org2\"", "prefix:"]);
    // Prefixes that differ only in case collide too (NTFS).
    write_yaml(
        &dir,
        "bases:\n  - name: a\n    path: /srv/a\n    prefix: Buh_\n  - name: b\n    path: /srv/b\n    prefix: buh_\n",
    );
    let text = load_in(&dir, &[]).unwrap_err().to_string();
    assert_contains(&text, &["\"a\"", "\"b\""]);
    // Given their own prefixes, both load.
    write_yaml(
        &dir,
        "bases:\n  - name: org1\n    path: /srv/x/Buh\n  - name: org2\n    path: /srv/y/Buh\n    prefix: Buh2_\n",
    );
    let cfg = load_in(&dir, &[]).unwrap();
    assert_eq!(cfg.bases[0].prefix, "Buh_");
    assert_eq!(cfg.bases[1].prefix, "Buh2_");
}

#[test]
fn default_prefix_is_the_folder_name_made_safe_for_windows() {
    use super::resolve::default_prefix;
    use std::path::Path;
    assert_eq!(default_prefix(Path::new("/srv/1c/Buh")), "Buh_");
    assert_eq!(default_prefix(Path::new("/srv/1c/Зарплата/")), "Зарплата_");
    assert_eq!(default_prefix(Path::new("/")), "base_");
    assert_eq!(default_prefix(Path::new(r"D:\Org1\Buh")), "Buh_");
    assert_eq!(default_prefix(Path::new("/srv/Buh:2024?")), "Buh_2024__");
    assert_eq!(default_prefix(Path::new("/srv/a*b|c\"d<e>")), "a_b_c_d_e__");
    assert_eq!(default_prefix(Path::new("/srv/trailing. ")), "trailing_");
    // A base in such a folder loads (it used to be an ONEC_BASE_PATH error).
    let cfg = load_env(&[("ONEC_BASE_PATH", "/srv/Buh:2024")]).unwrap();
    assert_eq!(cfg.bases[0].prefix, "Buh_2024_");
}

#[test]
fn two_bases_on_one_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("Buh");
    fs::create_dir_all(base.join("sub")).unwrap();
    fs::write(
        dir.path().join("config.yaml"),
        format!(
            "bases:\n  - name: a\n    path: {}\n    prefix: a_\n  - name: b\n    path: {}\n    prefix: b_\n",
            base.display(),
            base.join("sub").join("..").display()
        ),
    )
    .unwrap();
    let text = load_in(&dir, &[]).unwrap_err().to_string();
    assert_contains(&text, &["\"a\"", "\"b\"", "same folder"]);
}

#[test]
fn dotenv_errors_name_file_and_line_but_never_echo_a_secret_or_the_line() {
    let dir = with_dotenv(
        "BOT_TOKEN=\"123:AAE-very-secret\nmy token is 123:AAE-other-secret\nAPI TOKEN=tok-in-bad-name\nAPI_TOKEN='unclosed-secret\n",
    );
    let text = load_in(&dir, &[]).unwrap_err().to_string();
    for leaked in [
        "AAE-very-secret",
        "AAE-other-secret",
        "tok-in-bad-name",
        "unclosed-secret",
        "my token",
    ] {
        assert!(!text.contains(leaked), "{leaked} shown: {text}");
    }
    assert_contains(&text, &[".env:1 (BOT_TOKEN)", "closing double quote"]);
    assert_contains(&text, &[".env:2", "NAME=value"]);
    assert_contains(&text, &[".env:3", "variable name"]);
    assert_contains(&text, &[".env:4 (API_TOKEN)"]);
}

#[test]
fn yaml_shape_errors_never_echo_a_secret() {
    let dir = with_yaml(
        "telegram:\n  bot_token: {t: 123:AAE-shape-secret}\nbases:\n  - name: a\n    path: /a\n    password: {p: base-shape-secret}\n",
    );
    let text = load_in(&dir, &[]).unwrap_err().to_string();
    assert_lacks(&text, &["AAE-shape-secret", "base-shape-secret"]);
    assert_contains(&text, &["telegram.bot_token", "bases[0].password"]);
}

#[test]
fn one_typo_does_not_hide_the_other_problems() {
    let dir = with_yaml(
        "backup:\n  backup_dirr: D:\\Backups\n  compress_level: eleven\nbases:\n  - name: a\n    pth: /a\n    timeout: 1\n",
    );
    fs::write(
        dir.path().join(".env"),
        "not a pair\nMETRICS_INTERVAL=soon\n",
    )
    .unwrap();
    let err = load_in(&dir, &[]).unwrap_err();
    let text = err.to_string();
    assert_contains(&text, &["backup.backup_dirr", "did you mean `backup_dir`"]);
    assert_contains(
        &text,
        &["backup.compress_level: got \"eleven\", expected a whole number"],
    );
    assert_contains(&text, &["bases[0].pth", "bases[0].timeout: got \"1\""]);
    assert_contains(
        &text,
        &[".env:1", ".env:2 (METRICS_INTERVAL): got \"soon\""],
    );
}

#[test]
fn url_and_proxy_credentials_are_secrets() {
    let cfg = load_env(&[
        ("TELEGRAM_PROXY", "socks5://bob:pr0xy/pw?#@proxy.lan:1080"),
        ("TELEGRAM_API_URL", "https://api-user:api-pw@bot.example"),
        (
            "GRAFANA_PROMETHEUS_URL",
            "https://123:glc_key@prom.example/push?token=q-secret",
        ),
    ])
    .unwrap();
    let shown: Vec<&str> = cfg.secrets().iter().map(|s| s.expose()).collect();
    for s in ["pr0xy/pw?#", "api-pw", "glc_key"] {
        assert!(shown.contains(&s), "{s} not a secret: {shown:?}");
    }
    assert_eq!(
        cfg.mask("connect pr0xy/pw?# api-pw glc_key"),
        "connect *** *** ***"
    );
    let out = render_check(&cfg);
    for s in ["pr0xy", "api-pw", "glc_key", "q-secret", "bob"] {
        assert!(!out.contains(s), "{s} shown: {out}");
    }
    assert_contains(
        &out,
        &["socks5://proxy.lan:1080", "https://prom.example/push?***"],
    );
}

#[test]
fn redact_url_handles_raw_delimiters_in_passwords_and_query_strings() {
    for (url, shown) in [
        ("http://u:pa/ss@h:1/p", "http://h:1/p"),
        ("http://u:pa?ss@h/p", "http://h/p"),
        ("http://u:pa#ss@h", "http://h"),
        ("http://u:p@ss@h/p", "http://h/p"),
        ("http://u:p#ss@w@h/p", "http://h/p"),
        ("https://h/push?token=abc", "https://h/push?***"),
        ("https://h/p#frag", "https://h/p#***"),
        ("socks5://bob:pw@proxy:1080", "socks5://proxy:1080"),
        ("http://h:8080/p@x", "http://h:8080/p@x"),
        ("http://[::1]:9/p", "http://[::1]:9/p"),
        ("not a url", "not a url"),
    ] {
        assert_eq!(redact_url(url), shown, "{url}");
    }
}

#[test]
fn a_password_of_a_sink_that_is_off_is_still_masked() {
    // No GRAFANA_LOKI_URL: the sink is off, but its password is a secret
    // all the same and must never reach a log line.
    let cfg = load_env(&[
        ("GRAFANA_LOKI_PASSWORD", "l0ki-pw"),
        ("INFLUXDB_PASSWORD", "infl-pw"),
    ])
    .unwrap();
    assert!(cfg.export.loki.is_none() && cfg.export.influxdb.is_none());
    assert_eq!(cfg.mask("sent l0ki-pw and infl-pw"), "sent *** and ***");
}

#[test]
fn archive_passwords_are_secrets_lists_and_need_an_archive() {
    let dir = with_yaml(
        "onec:\n  base_path: /srv/buh\nbackup:\n  archive_old_passwords:\n    - 'old, with a comma'\n    - olderpw9\nbases:\n  - name: zup\n    path: /srv/zup\n    compress: zstd\n    archive_password: zup-own\n",
    );
    let cfg = load_in(&dir, &[("BACKUP_ARCHIVE_PASSWORD", "Current pw")]).unwrap();
    let exposed = |v: &[Secret]| v.iter().map(|s| s.expose().to_string()).collect::<Vec<_>>();
    assert_eq!(
        exposed(&cfg.archive_old_passwords),
        ["old, with a comma", "olderpw9"]
    );
    let pw = |i: usize| cfg.bases[i].archive_password.as_ref().map(|s| s.expose());
    assert_eq!((pw(0), pw(1)), (Some("Current pw"), Some("zup-own")));
    let secrets: Vec<&str> = cfg.secrets().iter().map(|s| s.expose()).collect();
    for s in ["Current pw", "zup-own", "old, with a comma", "olderpw9"] {
        assert!(secrets.contains(&s), "{s} is not masked: {secrets:?}");
    }
    let out = render_check(&cfg);
    assert_lacks(&out, &["Current pw", "old, with a comma", "olderpw9"]);
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_string()
    };
    assert_contains(&line("BACKUP_ARCHIVE_PASSWORD"), &["***"]);
    assert_contains(&line("BACKUP_ARCHIVE_OLD_PASSWORDS"), &["***"]);
    // From the environment, comma-separated.
    let cfg = load_env(&[("BACKUP_ARCHIVE_OLD_PASSWORDS", " a , b,,c ")]).unwrap();
    assert_eq!(exposed(&cfg.archive_old_passwords), ["a", "b", "c"]);
    // A one-item YAML list keeps its comma.
    let dir = with_yaml("backup:\n  archive_old_passwords: ['x,y']\n");
    assert_eq!(
        exposed(&load_in(&dir, &[]).unwrap().archive_old_passwords),
        ["x,y"]
    );

    // No archive, nothing to encrypt: a configuration error that says so.
    let err = load_env(&[
        ("ONEC_BASE_PATH", "/srv/buh"),
        ("BACKUP_COMPRESS", "none"),
        ("BACKUP_ARCHIVE_PASSWORD", "s3cret-x"),
    ])
    .unwrap_err()
    .to_string();
    assert_contains(
        &err,
        &["BACKUP_COMPRESS zip or zstd", "BACKUP_ARCHIVE_PASSWORD"],
    );
    assert_lacks(&err, &["s3cret-x"]);
}

#[test]
fn offsite_target_from_the_environment() {
    let cfg = load_env(&[
        ("ONEC_BASE_PATH", "/srv/buh"),
        ("OFFSITE_URL", "s3://bucket/1c"),
        ("OFFSITE_ENDPOINT", "https://storage.yandexcloud.net"),
        ("OFFSITE_REGION", "ru-central1"),
        ("OFFSITE_PATH_STYLE", "true"),
        ("OFFSITE_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("OFFSITE_SECRET_ACCESS_KEY", "s3cr3t-access-key"),
        ("OFFSITE_WHICH", "week"),
        ("OFFSITE_KEEP_DAILY", "7"),
        ("OFFSITE_KEEP_WITHIN", "30d"),
        ("OFFSITE_BANDWIDTH", "10MiB/s"),
        ("OFFSITE_BASES", "buh"),
    ])
    .unwrap();
    assert_eq!(cfg.offsite.len(), 1);
    let t = &cfg.offsite[0];
    assert_eq!(t.name, "offsite");
    assert_eq!(
        t.location,
        offsite::Location::S3 {
            bucket: "bucket".into(),
            prefix: "1c".into()
        }
    );
    assert!(t.path_style);
    assert_eq!(t.region.as_deref(), Some("ru-central1"));
    assert_eq!(t.which, offsite::Which::Week);
    assert_eq!(t.mode, offsite::Mode::History);
    assert_eq!(t.keep.daily, Some(7));
    assert!(t.keep.within.is_some());
    assert_eq!(t.bandwidth, Some(10 * 1024 * 1024));
    assert_eq!(t.bases.as_deref(), Some(&["buh".to_string()][..]));
    assert!(!t.read_back, "S3 verifies by size/ETag by default");
    assert_eq!(cfg.offsite_max_age_hours, 30);
    assert!(cfg.target("OFFSITE").is_some());
    let out = render_check(&cfg);
    assert_lacks(&out, &["s3cr3t-access-key"]);
    assert_contains(
        &out,
        &[
            "OFFSITE_SECRET_ACCESS_KEY",
            "***",
            "offsite: s3://bucket/1c",
        ],
    );
    assert_eq!(cfg.mask("k=s3cr3t-access-key"), "k=***");
    assert!(!format!("{cfg:?}").contains("s3cr3t-access-key"));
}

#[test]
fn offsite_targets_from_yaml_with_defaults_per_kind() {
    let dir = with_yaml(concat!(
        "bases:\n",
        "  - name: buh\n",
        "    path: /srv/buh\n",
        "  - name: zup\n",
        "    path: /srv/zup\n",
        "offsite:\n",
        "  - name: nas\n",
        "    url: sftp://backup@nas:2222/srv/1c\n",
        "    password: sftp-pass-1\n",
        "    known_host: SHA256:abc\n",
        "    bases: [zup]\n",
        "    which: day\n",
        "    mode: fixed\n",
        "    keep: {last: 3}\n",
        "  - name: usb\n",
        "    url: /mnt/usb/1c\n",
        "    verify: size\n",
        "  - name: dav\n",
        "    url: webdavs://webdav.yandex.ru/b\n",
        "    user: u\n",
        "    password: dav-pass-2\n",
    ));
    let cfg = load_in(&dir, &[("OFFSITE_URL", "file:///srv/copies")]).unwrap();
    let names: Vec<&str> = cfg.offsite.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["offsite", "nas", "usb", "dav"]);
    let nas = cfg.target("nas").unwrap();
    assert!(nas.read_back, "SFTP reads back by default");
    assert_eq!(nas.mode, offsite::Mode::Fixed);
    assert_eq!(nas.which, offsite::Which::Day);
    assert_eq!(nas.keep.last, Some(3));
    assert!(nas.takes("ZUP") && !nas.takes("buh"));
    assert!(cfg.offsite[0].read_back, "a folder reads back by default");
    assert!(!cfg.target("usb").unwrap().read_back, "verify: size");
    assert!(!cfg.target("dav").unwrap().read_back);
    let secrets: Vec<&str> = cfg.secrets().iter().map(|s| s.expose()).collect();
    assert!(secrets.contains(&"sftp-pass-1") && secrets.contains(&"dav-pass-2"));
    let out = render_check(&cfg);
    assert_lacks(&out, &["sftp-pass-1", "dav-pass-2"]);
    assert_contains(
        &out,
        &["nas: sftp://backup@nas:2222/srv/1c", "password=***"],
    );
}

#[test]
fn offsite_problems_name_the_place_and_what_to_do() {
    let dir = with_yaml(concat!(
        "bases:\n",
        "  - name: buh\n",
        "    path: /srv/buh\n",
        "offsite:\n",
        "  - name: a\n",
        "    url: s3://bucket\n",
        "  - name: b\n",
        "    url: sftp://h/x\n",
        "  - name: A\n",
        "    url: /x\n",
        "    bases: [nope]\n",
        "  - url: /y\n",
        "  - name: c\n",
        "    url: ftp://h/x\n",
        "  - name: d\n",
        "    url: /z\n",
        "    which: yearly\n",
        "    mode: rolling\n",
        "    bandwidth: fast\n",
    ));
    let err = load_in(&dir, &[]).unwrap_err().to_string();
    assert_contains(
        &err,
        &[
            "offsite[0]",
            "access_key_id:",
            "secret_access_key:",
            "offsite[1]",
            "password:",
            "known_host:",
            "target name used once",
            "nope",
            "known: buh",
            "yearly",
            "rolling",
            "10MiB/s",
            "offsite[3]",
            "`name:`",
            "sftp://",
        ],
    );
    let err = load_env(&[
        ("OFFSITE_URL", "sftp://u:hunter2@h/x"),
        ("OFFSITE_PASSWORD", "pw-secret-9"),
    ])
    .unwrap_err()
    .to_string();
    assert_contains(&err, &["OFFSITE_URL", "OFFSITE_PASSWORD"]);
    assert_lacks(&err, &["hunter2", "pw-secret-9"]);
    let err = load_env(&[("OFFSITE_URL", "s3://b/p"), ("OFFSITE_WHICH", "x")])
        .unwrap_err()
        .to_string();
    assert_contains(
        &err,
        &[
            "OFFSITE_WHICH",
            "OFFSITE_ACCESS_KEY_ID",
            "OFFSITE_SECRET_ACCESS_KEY",
        ],
    );
    let err = load_env(&[("OFFSITE_URL", "sftp://u@h/x"), ("OFFSITE_KEY_FILE", "/k")])
        .unwrap_err()
        .to_string();
    assert_contains(&err, &["OFFSITE_KNOWN_HOST"]);
    assert_lacks(&err, &["OFFSITE_PASSWORD or"]);
}

#[test]
fn when_users_inside_is_per_base_and_lock_needs_the_lock_code() {
    let dir = with_yaml(
        "onec:\n  base_path: /srv/buh\nbackup:\n  when_users_inside: WAIT\n  users_retry_minutes: 2\n  users_wait_minutes: 30\nbases:\n  - name: zup\n    path: /srv/zup\n    when_users_inside: fail\n",
    );
    let cfg = load_in(&dir, &[]).unwrap();
    assert_eq!(
        cfg.bases[0].when_users_inside,
        crate::config::UsersPolicy::Wait
    );
    assert_eq!(cfg.bases[0].users_retry.as_secs(), 120);
    assert_eq!(cfg.bases[0].users_wait.as_secs(), 1800);
    assert_eq!(
        cfg.bases[1].when_users_inside,
        crate::config::UsersPolicy::Fail
    );
    let plain = load_env(&[("ONEC_BASE_PATH", "/b")]).unwrap();
    assert_eq!(
        plain.bases[0].when_users_inside,
        crate::config::UsersPolicy::Fail
    );
    assert_eq!(plain.bases[0].users_retry.as_secs(), 300);
    assert_eq!(plain.bases[0].users_wait.as_secs(), 3600);
    assert_eq!(plain.bases[0].users_close_grace.as_secs(), 60);
    let err = load_env(&[
        ("ONEC_BASE_PATH", "/b"),
        ("BACKUP_WHEN_USERS_INSIDE", "lock"),
    ])
    .unwrap_err()
    .to_string();
    assert_contains(
        &err,
        &[
            "when_users_inside: lock without ONEC_LOCK_CODE",
            "ONEC_LOCK_CODE",
        ],
    );
    let lock = load_env(&[
        ("ONEC_BASE_PATH", "/b"),
        ("BACKUP_WHEN_USERS_INSIDE", "lock"),
        ("ONEC_LOCK_CODE", "4711"),
    ])
    .unwrap();
    assert_eq!(
        lock.bases[0].when_users_inside,
        crate::config::UsersPolicy::Lock
    );
    let close = load_env(&[
        ("ONEC_BASE_PATH", "/b"),
        ("BACKUP_WHEN_USERS_INSIDE", "close"),
        ("BACKUP_USERS_CLOSE_GRACE_SECONDS", "2"),
    ])
    .unwrap();
    assert_eq!(close.bases[0].users_close_grace.as_secs(), 2);
    let err = load_env(&[
        ("ONEC_BASE_PATH", "/b"),
        ("BACKUP_WHEN_USERS_INSIDE", "kill"),
    ])
    .unwrap_err()
    .to_string();
    assert_contains(&err, &["fail, wait, lock, close"]);
}

#[test]
fn drill_from_is_inherited_and_checked_against_the_targets() {
    let yaml = |trade: &str| {
        format!(
            "bases:\n  - name: buh\n    path: /srv/buh\n  - name: zup\n    path: /srv/zup\n    \
             drill_from: alternate\n  - name: trade\n    path: /srv/trade\n    \
             drill_from: {trade}\noffsite:\n  - name: nas\n    url: /mnt/nas\n    \
             bases: [trade, zup]\n"
        )
    };
    let dir = with_yaml(&yaml("NAS"));
    let cfg = load_in(&dir, &[]).unwrap();
    assert_eq!(cfg.bases[0].drill_from, DrillFrom::Local, "the default");
    assert_eq!(cfg.bases[1].drill_from, DrillFrom::Alternate);
    assert_eq!(cfg.bases[2].drill_from, DrillFrom::Target("NAS".into()));
    assert_contains(
        &render_check(&cfg),
        &["drill_from=local", "drill_from=alternate", "drill_from=NAS"],
    );
    // The environment's setting is every base's default; a base's own wins.
    let cfg = load_in(&dir, &[("BACKUP_DRILL_FROM", "Alternate")]).unwrap();
    assert_eq!(cfg.bases[0].drill_from, DrillFrom::Alternate);
    assert_eq!(cfg.bases[2].drill_from, DrillFrom::Target("NAS".into()));
    // A target that does not copy the base: the key, the value, the choices.
    let err = load_in(&dir, &[("BACKUP_DRILL_FROM", "nas")])
        .unwrap_err()
        .to_string();
    assert_contains(
        &err,
        &[
            "BACKUP_DRILL_FROM",
            "\"nas\"",
            "local, alternate or an offsite target that copies base buh (targets: none)",
            "offsite target nas does not copy base buh",
        ],
    );
    assert!(!err.contains("base zup"), "zup sets its own: {err}");
    // A name no target has.
    let bad = with_yaml(&yaml("usb"));
    let err = load_in(&bad, &[]).unwrap_err().to_string();
    assert_contains(
        &err,
        &[
            "bases[2].drill_from",
            "\"usb\"",
            "copies base trade (targets: nas)",
            "no offsite target is named usb",
        ],
    );
    assert_eq!(err.matches("drill source").count(), 1, "{err}");
}

#[test]
fn users_warn_minutes_defaults_to_ten_is_per_base_and_zero_turns_it_off() {
    let plain = load_env(&[("ONEC_BASE_PATH", "/b")]).unwrap();
    assert_eq!(plain.bases[0].users_warn_minutes, 10);
    let off = load_env(&[("ONEC_BASE_PATH", "/b"), ("BACKUP_USERS_WARN_MINUTES", "0")]).unwrap();
    assert_eq!(off.bases[0].users_warn_minutes, 0);
    let dir = with_yaml(
        "onec:\n  base_path: /srv/buh\nbackup:\n  users_warn_minutes: 5\nbases:\n  - name: zup\n    path: /srv/zup\n    users_warn_minutes: 0\n",
    );
    let cfg = load_in(&dir, &[]).unwrap();
    assert_eq!(cfg.bases[0].users_warn_minutes, 5);
    assert_eq!(cfg.bases[1].users_warn_minutes, 0);
    let err = load_env(&[
        ("ONEC_BASE_PATH", "/b"),
        ("BACKUP_USERS_WARN_MINUTES", "-1"),
    ])
    .unwrap_err()
    .to_string();
    assert_contains(&err, &["BACKUP_USERS_WARN_MINUTES"]);
}
