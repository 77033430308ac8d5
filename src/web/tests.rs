//! Rendering tests: each page in each state, for both viewers, and the
//! pages served by the API's router over a real loopback socket.

use super::charts::{self, ChartsModel, Range, RunPoint};
use super::history::{self, HistoryModel, Params, RunModel};
use super::layout::{Page, Viewer};
use super::overview::{self, BaseCard, Overview, Server};
use crate::backup::history::{Run, RunPage, Sample, Status, Trigger};
use crate::export::{BaseBackup, BaseDrill, BaseOffsite, LastRun, SinkState};

const NASTY: &str = r#"Склад <b>&"'"#;
const NASTY_ESCAPED: &str = "Склад &lt;b&gt;&amp;&quot;'";

fn now() -> jiff::Timestamp {
    "2026-12-03T12:00:00Z".parse().unwrap()
}

fn now_s() -> f64 {
    now().as_second() as f64
}

fn page(viewer: Viewer) -> Page {
    let mut p = Page::new("ru", viewer, now(), jiff::tz::TimeZone::UTC);
    p.csrf = "tok123".into();
    p
}

fn last(id: i64, status: &'static str, ago_h: f64) -> LastRun {
    LastRun {
        run_id: id,
        ok: status == "ok",
        status,
        timestamp_unix: now_s() - ago_h * 3600.0,
        size_bytes: 1000,
        duration_seconds: 12.0,
        error: (status == "failed").then(|| "1C failed in C:\\Bases\\secret-path".to_string()),
    }
}

fn base(name: &str, last_finished: Option<LastRun>, good_ago_h: Option<f64>) -> BaseCard {
    BaseCard {
        state: BaseBackup {
            name: name.into(),
            last_success_unix: good_ago_h.map(|h| now_s() - h * 3600.0),
            last_finished,
            ..BaseBackup::default()
        },
        ..BaseCard::default()
    }
}

fn overview(bases: Vec<BaseCard>) -> Overview {
    Overview {
        bases,
        max_age_hours: 26,
        version: "9.9.9".into(),
        uptime_secs: 3700.0,
        ..Overview::default()
    }
}

fn render(viewer: Viewer, m: &Overview) -> String {
    overview::render(&page(viewer), m).into_string()
}

/// How many times `needle` occurs in `hay`.
fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn overview_with_no_base_says_how_to_add_one() {
    let html = render(Viewer::Full, &Overview::default());
    assert!(
        html.starts_with("<!DOCTYPE html><html lang=\"ru\">"),
        "{html}"
    );
    assert!(html.contains("Баз пока нет"), "{html}");
    assert_eq!(count(&html, "<h3>"), 0, "no base card");
}

#[test]
fn overview_card_links_the_last_run_and_posts_backup_now_with_csrf() {
    let html = render(
        Viewer::Full,
        &overview(vec![base(
            "Бухгалтерия",
            Some(last(7, "ok", 1.0)),
            Some(1.0),
        )]),
    );
    assert!(html.contains("card good"), "{html}");
    assert!(html.contains(r#"href="/runs/7""#), "{html}");
    assert!(html.contains("1 ч 00 мин назад"), "{html}");
    assert!(html.contains(r#"action="/actions/backup""#), "{html}");
    assert!(
        html.contains(r#"name="base" value="Бухгалтерия""#),
        "{html}"
    );
    assert!(html.contains(r#"name="csrf" value="tok123""#), "{html}");
}

#[test]
fn a_base_never_backed_up_is_grey_and_says_so() {
    let html = render(Viewer::Full, &overview(vec![base("new", None, None)]));
    assert!(html.contains("card none"), "{html}");
    assert!(html.contains("Копий ещё не было"), "{html}");
    assert!(html.contains("успешных копий нет"), "{html}");
}

#[test]
fn a_running_base_is_busy_without_a_backup_button() {
    let mut b = base("buh", Some(last(3, "ok", 30.0)), Some(30.0));
    b.state.running = true;
    let html = render(Viewer::Full, &overview(vec![b]));
    assert!(html.contains("card busy"), "{html}");
    assert!(html.contains("Идёт копирование"), "{html}");
    assert!(!html.contains("/actions/backup"), "{html}");
}

#[test]
fn colours_follow_failure_and_max_age() {
    let failed = base("a", Some(last(1, "failed", 1.0)), Some(2.0));
    let stale = base("b", Some(last(2, "ok", 30.0)), Some(30.0));
    let fresh = base("c", Some(last(3, "ok", 25.0)), Some(25.0));
    let html = render(Viewer::Full, &overview(vec![failed, stale, fresh]));
    let classes: Vec<&str> = html
        .match_indices("class=\"card ")
        .map(|(i, _)| &html[i + 12..i + 16])
        .collect();
    assert_eq!(
        classes,
        ["bad\"", "warn", "good", "none"],
        "three bases, then the server: {html}"
    );
}

#[test]
fn several_bases_each_get_a_card_in_order() {
    let names = ["first", "second", "third"];
    let m = overview(
        names
            .iter()
            .map(|n| base(n, Some(last(1, "ok", 1.0)), Some(1.0)))
            .collect(),
    );
    let html = render(Viewer::Full, &m);
    assert_eq!(
        count(&html, "<section class=\"card "),
        3 + 1,
        "three bases and the server"
    );
    let pos: Vec<usize> = names
        .iter()
        .map(|n| html.find(&format!("<h3>{n}</h3>")).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
}

#[test]
fn the_card_shows_trend_next_run_inside_offsite_and_drill() {
    let mut b = base("buh", Some(last(9, "ok", 2.0)), Some(2.0));
    b.sizes = vec![100, 200, 150, 300];
    b.next_run = Some((now_s() + 7200.0, "каждый день в 03:00".into()));
    b.inside = Some(vec!["ivanov".into(), "petrova".into()]);
    b.state.offsite = vec![BaseOffsite {
        target: "s3-main".into(),
        last_success_unix: Some(now_s() - 600.0),
        last_status: Some("ok"),
        queued: 2,
        queued_bytes: 2048,
        ..BaseOffsite::default()
    }];
    b.state.drill = BaseDrill {
        scheduled: true,
        last_status: Some("failed"),
        last_reason: Some("no space".into()),
        ..BaseDrill::default()
    };
    let html = render(Viewer::Full, &overview(vec![b]));
    assert!(html.contains("<svg class=\"spark\""), "{html}");
    assert!(
        html.contains("300 B") || html.contains("300 байт") || html.contains("300 Б"),
        "{html}"
    );
    assert!(html.contains("через 2 ч 00 мин"), "{html}");
    assert!(html.contains("каждый день в 03:00"), "{html}");
    assert!(html.contains("ivanov, petrova"), "{html}");
    assert!(html.contains("s3-main"), "{html}");
    assert!(html.contains("в очереди: 2 (2.0 "), "{html}");
    assert!(html.contains("no space"), "{html}");
}

#[test]
fn the_server_block_shows_disk_forecast_sinks_version_and_uptime() {
    let mut m = overview(vec![]);
    m.server = Server {
        cpu_percent: Some(12.4),
        mem_percent: Some(55.0),
        disk_free: Some(10 * 1024 * 1024 * 1024),
        disk_used_percent: Some(80.0),
        days_until_full: Some(12.2),
        rdp_active: Some(3),
        rdp_disconnected: Some(1),
    };
    m.sinks = vec![SinkState {
        sink: "loki",
        target: "http://loki:3100".into(),
        up: false,
        last_error: Some("connection refused".into()),
        ..SinkState::default()
    }];
    let html = render(Viewer::Full, &m);
    for want in [
        "12 %",
        "55 %",
        "10.0 ",
        "(20 %)",
        "через 12 дн.",
        "loki → http://loki:3100",
        "connection refused",
        "9.9.9",
        "1 ч 01 мин",
    ] {
        assert!(html.contains(want), "{want:?} missing in {html}");
    }
    m.server.days_until_full = None;
    assert!(render(Viewer::Full, &m).contains("не заполняется"));
}

#[test]
fn long_names_with_markup_characters_are_escaped_everywhere() {
    let mut b = base(&NASTY.repeat(8), Some(last(5, "failed", 1.0)), None);
    b.inside = Some(vec![NASTY.into()]);
    let html = render(Viewer::Full, &overview(vec![b]));
    assert!(!html.contains("<b>&"), "raw markup leaked: {html}");
    assert!(html.contains(&NASTY_ESCAPED.repeat(8)), "{html}");
    let h = history::render(
        &page(Viewer::Full),
        &history_model(vec![run(5, &NASTY.repeat(8), Status::Failed)]),
    )
    .into_string();
    assert!(!h.contains("<b>&") && h.contains(NASTY_ESCAPED), "{h}");
    let r = history::render_run(
        &page(Viewer::Full),
        &run_model(run(5, NASTY, Status::Failed)),
    )
    .into_string();
    assert!(!r.contains("<b>&") && r.contains(NASTY_ESCAPED), "{r}");
}

#[test]
fn anonymous_sees_status_and_ages_but_no_paths_users_or_actions() {
    let mut b = base("buh", Some(last(5, "failed", 1.0)), Some(3.0));
    b.inside = Some(vec!["ivanov".into()]);
    b.sizes = vec![1, 2, 3];
    b.state.offsite = vec![BaseOffsite {
        target: "sftp://backup@nas/secret-path".into(),
        last_error: Some("denied for C:\\Bases\\secret-path".into()),
        ..BaseOffsite::default()
    }];
    let mut m = overview(vec![b.clone()]);
    m.server.disk_free = Some(1);
    m.sinks = vec![SinkState {
        sink: "loki",
        target: "http://secret-path".into(),
        ..SinkState::default()
    }];
    let full = render(Viewer::Full, &m);
    assert!(
        full.contains("ivanov") && full.contains("secret-path"),
        "the full view has them: {full}"
    );
    // The handler also strips the model; the renderer alone must hide them too.
    for model in [
        m.clone(),
        Overview {
            bases: vec![overview::anonymous(&b.state)],
            ..m.clone()
        },
    ] {
        let anon = render(Viewer::Anonymous, &model);
        assert!(anon.contains("buh") && anon.contains("card bad"), "{anon}");
        assert!(
            anon.contains("ошибка") && anon.contains("3 ч 00 мин назад"),
            "{anon}"
        );
        assert!(
            anon.contains("API_READ_TOKEN"),
            "the line on how to see more: {anon}"
        );
        for hidden in [
            "ivanov",
            "secret-path",
            "/actions/backup",
            "/runs/",
            "/history",
            "<svg",
            "9.9.9",
        ] {
            assert!(
                !anon.contains(hidden),
                "{hidden:?} shown to an anonymous visitor: {anon}"
            );
        }
    }
    let stripped = overview::anonymous(&b.state);
    assert_eq!(stripped.state.last_finished.unwrap().error, None);
    assert!(stripped.state.offsite.is_empty());
}

#[test]
fn the_language_switch_links_the_other_language() {
    let html = render(Viewer::Full, &Overview::default());
    assert!(html.contains(r#"href="/?lang=en""#), "{html}");
    let mut p = Page::new("en", Viewer::Full, now(), jiff::tz::TimeZone::UTC);
    p.path = "/history".into();
    let en = overview::render(&p, &Overview::default()).into_string();
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("No bases yet"),
        "{en}"
    );
    assert!(en.contains(r#"href="/history?lang=ru""#), "{en}");
    assert_eq!(super::language(Some("en"), Some("ru"), "ru"), "en");
    assert_eq!(super::language(None, Some("en"), "ru"), "en");
    assert_eq!(super::language(Some("xx"), None, "en"), "en");
    assert_eq!(super::language(None, None, ""), "ru");
}

fn run(id: i64, base: &str, status: Status) -> Run {
    let started: jiff::Timestamp = "2026-12-03T03:00:00Z".parse().unwrap();
    let ok = status == Status::Ok;
    let failed = status == Status::Failed;
    Run {
        trigger: Trigger::Schedule,
        started,
        finished: Some(started + jiff::SignedDuration::from_secs(95)),
        archive_path: ok.then(|| "/srv/backups/buh_2026.zip".into()),
        archive_size: ok.then_some(5 * 1024 * 1024),
        source_size: Some(50 * 1024 * 1024),
        sha256: ok.then(|| "ab".repeat(32)),
        duration_ms: Some(95_000),
        onec_exit_code: failed.then_some(1),
        error: failed.then(|| "1C exited with code 1".into()),
        ..Run::example(id, base, status)
    }
}

fn history_model(runs: Vec<Run>) -> HistoryModel {
    let total = runs.len() as u64;
    HistoryModel {
        params: Params::default(),
        bases: vec!["buh".into()],
        page: RunPage { runs, total },
        error: None,
    }
}

fn run_model(run: Run) -> RunModel {
    RunModel {
        run,
        explained: None,
        log_lines: vec![],
        copies: vec![],
        users: None,
        stages: vec![],
    }
}

#[test]
fn history_lists_runs_with_links_and_pages() {
    let runs: Vec<Run> = (0..50)
        .map(|i| {
            run(
                200 - i,
                "buh",
                if i % 2 == 0 {
                    Status::Ok
                } else {
                    Status::Failed
                },
            )
        })
        .collect();
    let mut m = history_model(runs);
    m.page.total = 120;
    m.params = Params {
        base: Some("buh".into()),
        status: Some("failed".into()),
        page: Some("2".into()),
        ..Params::default()
    };
    let html = history::render(&page(Viewer::Full), &m).into_string();
    assert_eq!(count(&html, "<tr><td><a href=\"/runs/"), 50, "{html}");
    assert!(html.contains("страница 2 из 3 (запусков: 120)"), "{html}");
    assert!(
        html.contains(r#"href="/history?base=buh&amp;status=failed&amp;page=1""#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="/history?base=buh&amp;status=failed&amp;page=3""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="failed" selected>"#),
        "{html}"
    );
    assert!(html.contains("1 мин 35 с"), "{html}");
    assert!(html.contains("5.0 "), "{html}");
}

#[test]
fn empty_history_says_no_runs_and_has_no_pager_links() {
    let html = history::render(&page(Viewer::Full), &history_model(vec![])).into_string();
    assert!(html.contains("Запусков с такими условиями нет"), "{html}");
    assert!(
        !html.contains("rel=\"next\"") && !html.contains("rel=\"prev\""),
        "{html}"
    );
}

#[test]
fn history_params_become_a_filter_in_the_agent_time_zone() {
    let tz = jiff::tz::TimeZone::get("Europe/Moscow").unwrap();
    let q = Params {
        base: Some(" buh ".into()),
        status: Some("ok".into()),
        trigger: Some("bogus".into()),
        from: Some("2026-12-01".into()),
        to: Some("2026-12-01".into()),
        page: Some("0".into()),
    };
    let f = q.filter(&tz);
    assert_eq!(f.base.as_deref(), Some("buh"));
    assert_eq!(f.status, Some(Status::Ok));
    assert_eq!(f.trigger, None, "a bad value matches all");
    assert_eq!(f.from.unwrap().to_string(), "2026-11-30T21:00:00Z");
    assert_eq!(
        f.to.unwrap().to_string(),
        "2026-12-01T21:00:00Z",
        "the whole day"
    );
    assert_eq!(q.page(), 1);
    assert_eq!(history::encode("a b&c/д"), "a%20b%26c%2F%D0%B4");
}

#[test]
fn a_failed_run_page_explains_the_1c_error_and_quotes_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let h = crate::backup::history::History::open(&dir.path().join("h.sqlite3")).unwrap();
    let started = now();
    let id = h
        .start_run(&crate::backup::history::NewRun {
            base: "buh",
            trigger: Trigger::Telegram,
            method: "dump",
            started: &started,
            pid: 1,
        })
        .unwrap();
    let log = dir.path().join("out.log");
    std::fs::write(
        &log,
        "\u{feff}Начало\n\nОшибка установки монопольного режима\nКонец\n",
    )
    .unwrap();
    let mut fin = crate::backup::history::Finish::new(Status::Failed, &started);
    fin.error = Some("1C exited with code 1");
    fin.onec_exit_code = Some(1);
    fin.log_path = Some(&log);
    let outcome =
        r#"{"policy":"close","closed":["ivan (pid 7)"],"inside_at_failure":"inside: ivan"}"#;
    fin.policy_outcome = Some(outcome);
    h.finish_run(id, &fin).unwrap();
    let m = history::load_run(&h, id, "ru").unwrap().unwrap();
    assert_eq!(
        m.users.as_deref(),
        Some("closed 1 1C session(s) of ivan (pid 7)")
    );
    assert!(m.explained.unwrap().contains("подключены пользователи"));
    assert_eq!(
        m.log_lines,
        ["Начало", "Ошибка установки монопольного режима", "Конец"]
    );
    let html = history::render_run(&page(Viewer::Full), &m).into_string();
    assert!(html.contains("Что это значит"), "{html}");
    assert!(html.contains("подключены пользователи"), "{html}");
    assert!(html.contains("<pre class=\"log\">Начало\n"), "{html}");
    assert!(html.contains("Код выхода 1С"), "{html}");
    assert!(
        html.contains("Пользователи в 1С") && html.contains("ivan (pid 7)"),
        "{html}"
    );
    assert!(history::load_run(&h, id + 100, "ru").unwrap().is_none());
}

#[test]
fn a_good_run_page_shows_sizes_sha_and_verification() {
    let mut m = run_model(run(42, "buh", Status::Ok));
    m.copies = vec!["s3-main".into()];
    m.stages = vec![("dumping".into(), 61_000), ("packing".into(), 2_500)];
    let html = history::render_run(&page(Viewer::Full), &m).into_string();
    for want in [
        "Запуск 42",
        "/srv/backups/buh_2026.zip",
        "5.0 ",
        "50.0 ",
        &"ab".repeat(32),
        "архив проверен",
        "s3-main",
        "1 мин 35 с",
        "Этапы",
        "выгрузка 1С 1 мин 01 с · упаковка 3 с",
    ] {
        assert!(html.contains(want), "{want:?} missing in {html}");
    }
}

fn sample(ts: i64, v: f64) -> Sample {
    Sample {
        ts,
        cpu: Some(v),
        mem: Some(v / 2.0),
        disk: Some(70.0),
        rdp: None,
        onec_users: None,
    }
}

#[test]
fn charts_on_a_fresh_agent_say_not_enough_data_since_the_first_sample() {
    let first = now().as_second() - 30;
    let m = ChartsModel {
        range: Range::Day,
        samples: vec![sample(first, 5.0)],
        ..ChartsModel::default()
    };
    let html = charts::render(&page(Viewer::Full), &m).into_string();
    assert_eq!(
        count(&html, "замеры сохраняются раз в минуту с 2026-12-03 11:59"),
        3,
        "{html}"
    );
    assert!(!html.contains("<polyline"), "{html}");
    assert!(html.contains("Успешных копий за этот период нет"), "{html}");
    let none = charts::render(&page(Viewer::Full), &ChartsModel::default()).into_string();
    assert_eq!(count(&none, "Замеров за этот период нет"), 3, "{none}");
}

#[test]
fn charts_draw_downsampled_lines_with_unique_ticks() {
    let to = now().as_second();
    let samples: Vec<Sample> = (0..30 * 24 * 60)
        .map(|i| sample(to - 30 * 86_400 + i * 60, (i % 97) as f64))
        .collect();
    let runs = (0..30)
        .flat_map(|d| {
            ["a", "b"].map(|b| RunPoint {
                base: b.into(),
                at: to - d * 86_400,
                duration: 60.0 + d as f64,
                size: 1 << 20,
            })
        })
        .rev()
        .collect();
    let m = ChartsModel {
        range: Range::Month,
        samples,
        runs,
        error: None,
    };
    let html = charts::render(&page(Viewer::Full), &m).into_string();
    assert_eq!(
        count(&html, "<polyline"),
        3 + 2 + 2,
        "three host lines, two bases × two run charts"
    );
    for poly in html.split("<polyline").skip(1) {
        let pts = poly
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            pts.split(' ').count() <= crate::chart::MAX_POINTS,
            "{}",
            pts.split(' ').count()
        );
    }
    for svg in html.split("<svg").skip(1) {
        let labels: Vec<&str> = svg
            .split("text-anchor=\"middle\">")
            .skip(1)
            .map(|s| s.split('<').next().unwrap())
            .collect();
        let mut unique = labels.clone();
        unique.sort();
        unique.dedup();
        assert!(
            labels.len() >= 3 && unique.len() == labels.len(),
            "{labels:?}"
        );
    }
    assert!(html.contains("data-tip=\""), "hover values");
    assert!(html.contains(r#"aria-current="page">30 дней"#), "{html}");
}

#[test]
fn english_pages_hold_no_russian_text() {
    let mut p = Page::new("en", Viewer::Full, now(), jiff::tz::TimeZone::UTC);
    p.csrf = "t".into();
    let mut b = base("buh", Some(last(9, "failed", 2.0)), Some(30.0));
    b.sizes = vec![1, 2];
    b.next_run = Some((now_s() + 60.0, "daily".into()));
    b.inside = Some(vec![]);
    b.state.offsite = vec![BaseOffsite {
        target: "s3".into(),
        queued: 1,
        ..BaseOffsite::default()
    }];
    b.state.drill = BaseDrill {
        scheduled: true,
        ..BaseDrill::default()
    };
    let mut m = overview(vec![b]);
    m.server.disk_free = Some(5);
    m.sinks = vec![SinkState {
        sink: "loki",
        target: "http://l".into(),
        ..SinkState::default()
    }];
    let first = now().as_second() - 3600;
    let charts_model = ChartsModel {
        range: Range::Week,
        samples: vec![sample(first, 1.0), sample(first + 60, 2.0)],
        runs: vec![RunPoint {
            base: "buh".into(),
            at: first,
            duration: 5.0,
            size: 10,
        }],
        error: None,
    };
    let pages = [
        overview::render(&p, &m).into_string(),
        overview::render(
            &Page {
                viewer: Viewer::Anonymous,
                ..p.clone()
            },
            &m,
        )
        .into_string(),
        history::render(
            &p,
            &history_model(vec![
                run(1, "buh", Status::Ok),
                run(2, "buh", Status::Failed),
            ]),
        )
        .into_string(),
        history::render_run(&p, &run_model(run(3, "buh", Status::Ok))).into_string(),
        charts::render(&p, &charts_model).into_string(),
        charts::render(&p, &ChartsModel::default()).into_string(),
    ];
    for html in pages {
        let body = html
            .split("hreflang=\"ru\">")
            .nth(1)
            .unwrap_or(&html)
            .split_once("</a>")
            .map_or(html.as_str(), |x| x.1);
        assert!(
            !body
                .chars()
                .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap())),
            "{html}"
        );
    }
}

/// The end-to-end tests' one HTTP client (a plain socket); the API's
/// tests load it too, privately.
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "../../tests/util/http.rs"]
mod http;

/// The pages served by the API's router on a loopback port: the agent
/// configured with one base and `extra`; `remote` makes every peer count
/// as on the LAN.
mod served {
    use crate::agent::Agent;
    use crate::api::server::{LIMITS, Options};
    use crate::config::{LoadOptions, load};
    use std::sync::Arc;

    use super::http;

    struct World {
        _dir: tempfile::TempDir,
        port: u16,
        agent: Arc<Agent>,
    }

    async fn world(remote: bool, extra: &[(&str, &str)]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("buh");
        std::fs::create_dir_all(&base).unwrap();
        let backups = dir.path().join("b");
        std::fs::create_dir_all(&backups).unwrap();
        let mut env = vec![
            ("ONEC_BASE_PATH".to_string(), base.display().to_string()),
            ("BACKUP_DIR".to_string(), backups.display().to_string()),
            ("BACKUP_METHOD".to_string(), "copy".to_string()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let cfg = load(&LoadOptions::only_env(env)).unwrap();
        let agent = Agent::new(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let opts = Options {
            limits: LIMITS,
            tls: None,
            all_peers_remote: remote,
        };
        tokio::spawn(crate::api::serve_with(agent.clone(), listener, opts));
        World {
            _dir: dir,
            port,
            agent,
        }
    }

    async fn get(port: u16, target: &str, headers: &[(&str, &str)]) -> http::Reply {
        let target = target.to_string();
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tokio::task::spawn_blocking(move || {
            let h: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            http::request(port, "GET", target.as_bytes(), &h, b"")
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loopback_sees_every_page_in_full() {
        let w = world(false, &[]).await;
        let r = get(w.port, "/", &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.head.contains("text/html; charset=utf-8"), "{}", r.head);
        assert!(
            r.head
                .to_ascii_lowercase()
                .contains("cache-control: no-store"),
            "{}",
            r.head
        );
        let page = r.text();
        assert!(
            page.contains("<h3>buh</h3>") || page.contains("<h3>"),
            "{page}"
        );
        assert!(page.contains("/actions/backup"), "{page}");
        assert!(!page.contains("API_READ_TOKEN"), "{page}");
        for target in [
            "/history",
            "/history?status=ok&page=2",
            "/charts?range=7d",
            "/charts?range=bogus",
        ] {
            let r = get(w.port, target, &[]).await;
            assert_eq!(r.status, 200, "{target}: {}", r.text());
        }
        let none = get(w.port, "/runs/999", &[]).await;
        assert_eq!(none.status, 404);
        assert!(
            none.text().contains("Такого запуска нет"),
            "{}",
            none.text()
        );
        // The API's routes are still there.
        assert_eq!(get(w.port, "/api/health", &[]).await.status, 200);
        w.agent.shutdown.cancel();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_lan_without_a_token_sees_only_health_facts() {
        let w = world(true, &[]).await;
        let page = get(w.port, "/", &[]).await;
        assert_eq!(page.status, 200);
        let text = page.text();
        assert!(text.contains("API_READ_TOKEN"), "{text}");
        assert!(text.contains("<h3>buh</h3>"), "{text}");
        let dir = w._dir.path().display().to_string();
        for hidden in [dir.as_str(), "/actions/backup", "/history", "/charts"] {
            assert!(!text.contains(hidden), "{hidden:?} shown: {text}");
        }
        for target in ["/history", "/runs/1", "/charts"] {
            let r = get(w.port, target, &[]).await;
            assert_eq!(r.status, 403, "{target}");
            assert!(!r.text().contains(&dir));
        }
        w.agent.shutdown.cancel();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_lan_with_the_read_token_sees_everything() {
        let w = world(true, &[("API_READ_TOKEN", "reader-token-1234567890")]).await;
        let r = get(
            w.port,
            "/history",
            &[("Authorization", "Bearer reader-token-1234567890")],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        // Without the token: sent to log in, nothing of the history shown.
        let anon = get(w.port, "/history", &[]).await;
        assert_eq!(anon.status, 303, "{}", anon.text());
        assert!(
            anon.head.to_ascii_lowercase().contains("location: /login"),
            "{}",
            anon.head
        );
        assert!(!anon.text().contains("buh"), "{}", anon.text());
        w.agent.shutdown.cancel();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn assets_are_embedded_and_cached_and_the_language_is_remembered() {
        let w = world(false, &[("UI_LANGUAGE", "en")]).await;
        let page = get(w.port, "/", &[]).await.text();
        assert!(page.contains("<html lang=\"en\">"), "UI_LANGUAGE: {page}");
        let href = page
            .split("rel=\"stylesheet\" href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(href.starts_with("/assets/app.css?v="), "{href}");
        let css = get(w.port, href, &[]).await;
        assert_eq!(css.status, 200);
        assert!(css.head.contains("text/css"), "{}", css.head);
        assert!(css.head.contains("max-age=31536000"), "{}", css.head);
        assert!(css.text().contains("prefers-color-scheme: dark"));
        let js = get(w.port, "/assets/app.js", &[]).await;
        assert!(js.head.contains("text/javascript") && js.text().contains("data-tip"));
        // No request to any other host: every URL in the page is local.
        for attr in ["href=\"", "src=\""] {
            for url in page
                .split(attr)
                .skip(1)
                .map(|s| s.split('"').next().unwrap())
            {
                assert!(url.starts_with('/'), "{url}");
            }
        }
        let switched = get(w.port, "/?lang=ru", &[]).await;
        assert!(switched.text().contains("<html lang=\"ru\">"));
        assert!(
            switched.head.contains("lang=ru; Path=/"),
            "{}",
            switched.head
        );
        let remembered = get(w.port, "/", &[("Cookie", "a=b; lang=ru")]).await;
        assert!(remembered.text().contains("<html lang=\"ru\">"));
        w.agent.shutdown.cancel();
    }
}
