//! Rendering tests: each page in each state, for both viewers.

use super::layout::{Page, Viewer};
use super::overview::{self, BaseCard, Overview};
use crate::export::{BaseBackup, LastRun};

fn now() -> jiff::Timestamp {
    "2026-12-03T12:00:00Z".parse().unwrap()
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
        timestamp_unix: now().as_second() as f64 - ago_h * 3600.0,
        size_bytes: 1000,
        duration_seconds: 12.0,
        error: None,
    }
}

#[test]
fn overview_with_no_base_says_how_to_add_one() {
    let html = overview::render(&page(Viewer::Full), &Overview::default()).into_string();
    assert!(html.contains("Баз пока нет"), "{html}");
    assert!(html.starts_with("<!DOCTYPE html>"));
}

#[test]
fn overview_card_links_the_last_run_and_posts_backup_now_with_csrf() {
    let m = Overview {
        bases: vec![BaseCard {
            state: BaseBackup {
                name: "Бухгалтерия".into(),
                last_success_unix: Some(now().as_second() as f64 - 3600.0),
                last_finished: Some(last(7, "ok", 1.0)),
                ..BaseBackup::default()
            },
            ..BaseCard::default()
        }],
        max_age_hours: 26,
        ..Overview::default()
    };
    let html = overview::render(&page(Viewer::Full), &m).into_string();
    assert!(html.contains("card good"), "{html}");
    assert!(html.contains(r#"href="/runs/7""#), "{html}");
    assert!(html.contains(r#"action="/actions/backup""#), "{html}");
    assert!(html.contains(r#"name="csrf" value="tok123""#), "{html}");
}
