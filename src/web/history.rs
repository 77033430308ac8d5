//! `GET /history`: every run, newest first, filtered by base, result,
//! trigger and dates (GET parameters, so a filtered page is a link), 50 a
//! page; and `GET /runs/{id}`: one run — times, sizes, SHA-256, the
//! verification, the error with what it means, and the key lines of its
//! 1C log. Both are for a [`Viewer::Full`](super::Viewer) only.

use super::layout::{Nav, Page, layout, status_class};
use super::{Visit, html};
use crate::agent::Agent;
use crate::backup::history::{History, Run, RunFilter, RunPage, Status, Trigger};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::sync::Arc;

/// Runs per history page.
pub const PER_PAGE: u64 = 50;

/// The history page's GET parameters, as typed (bad values match all).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Params {
    pub base: Option<String>,
    pub status: Option<String>,
    pub trigger: Option<String>,
    /// `YYYY-MM-DD` in the agent's time zone.
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
}

impl Params {
    fn get(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// The filter these parameters mean in time zone `tz` (`to` is
    /// inclusive: the whole day).
    pub fn filter(&self, tz: &jiff::tz::TimeZone) -> RunFilter {
        let day = |v: &Option<String>, plus: i64| {
            let d: jiff::civil::Date = Self::get(v)?.parse().ok()?;
            let d = d.checked_add(jiff::Span::new().days(plus)).ok()?;
            d.to_zoned_datetime(tz.clone()).ok().map(|z| z.timestamp())
        };
        RunFilter {
            base: Self::get(&self.base).map(str::to_string),
            status: Self::get(&self.status).and_then(|s| s.parse().ok()),
            trigger: Self::get(&self.trigger).and_then(|s| s.parse().ok()),
            from: day(&self.from, 0),
            to: day(&self.to, 1),
        }
    }

    /// The 1-based page number.
    pub fn page(&self) -> u64 {
        Self::get(&self.page)
            .and_then(|p| p.parse().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    }

    /// This query with another page number, for the pager's links.
    fn with_page(&self, page: u64) -> String {
        let mut out = String::from("/history?");
        for (k, v) in [
            ("base", &self.base),
            ("status", &self.status),
            ("trigger", &self.trigger),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = Self::get(v) {
                out.push_str(k);
                out.push('=');
                out.push_str(&encode(v));
                out.push('&');
            }
        }
        out.push_str(&format!("page={page}"));
        out
    }
}

/// Percent-encode a query value.
pub fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What the history page shows.
#[derive(Debug, Clone)]
pub struct HistoryModel {
    pub params: Params,
    /// The configured bases (for the filter).
    pub bases: Vec<String>,
    pub page: RunPage,
    pub error: Option<String>,
}

fn select(
    name: &str,
    label: &str,
    any: &str,
    chosen: Option<&str>,
    options: &[(&str, &str)],
) -> Markup {
    html! {
        label {
            (label)
            select name=(name) {
                option value="" { (any) }
                @for (value, text) in options {
                    option value=(value) selected[chosen == Some(*value)] { (text) }
                }
            }
        }
    }
}

/// The history page.
pub fn render(p: &Page, m: &HistoryModel) -> Markup {
    let t = p.t;
    let q = &m.params;
    let page_no = q.page();
    let pages = m.page.total.div_ceil(PER_PAGE).max(1);
    let statuses: Vec<(&str, &str)> = Status::ALL
        .iter()
        .map(|s| (s.as_str(), (t.status)(s.as_str())))
        .collect();
    let triggers: Vec<(&str, &str)> = Trigger::ALL
        .iter()
        .map(|s| (s.as_str(), (t.trigger)(s.as_str())))
        .collect();
    let bases: Vec<(&str, &str)> = m.bases.iter().map(|b| (b.as_str(), b.as_str())).collect();
    let body = html! {
        h1 { (t.history_title) }
        form.filters method="get" action="/history" {
            (select("base", t.filter_base, t.filter_any, Params::get(&q.base), &bases))
            (select("status", t.filter_status, t.filter_any, Params::get(&q.status), &statuses))
            (select("trigger", t.filter_trigger, t.filter_any, Params::get(&q.trigger), &triggers))
            label { (t.filter_from) input type="date" name="from" value=[Params::get(&q.from)]; }
            label { (t.filter_to) input type="date" name="to" value=[Params::get(&q.to)]; }
            button type="submit" { (t.filter_apply) }
        }
        @if let Some(e) = &m.error {
            p.badge.bad { (t.history_unreadable) ": " (e) }
        }
        @if m.page.runs.is_empty() {
            p.muted { (t.no_runs) }
        } @else {
            table {
                thead { tr {
                    th { "#" } th { (t.col_started) } th { (t.col_base) } th { (t.col_trigger) }
                    th { (t.col_status) } th.num { (t.col_duration) } th.num { (t.col_size) }
                } }
                tbody {
                    @for r in &m.page.runs { (row(p, r)) }
                }
            }
        }
        nav.pager {
            @if page_no > 1 { a href=(q.with_page(page_no - 1)) rel="prev" { (t.prev_page) } }
            span.muted { ((t.page_of)(page_no.min(pages), pages, m.page.total)) }
            @if page_no < pages { a href=(q.with_page(page_no + 1)) rel="next" { (t.next_page) } }
        }
    };
    layout(p, Nav::History, t.history_title, body)
}

fn row(p: &Page, r: &Run) -> Markup {
    let t = p.t;
    let s = r.status.as_str();
    html! {
        tr {
            td { a href={ "/runs/" (r.id) } { (r.id) } }
            td { (p.local(r.started.as_millisecond() as f64 / 1000.0)) }
            td { (r.base) }
            td { ((t.trigger)(r.trigger.as_str())) }
            td { span class={ "badge " (status_class(s)) } { ((t.status)(s)) } }
            td.num { @if let Some(ms) = r.duration_ms { (p.units.duration(ms as f64 / 1000.0)) } }
            td.num { @if let Some(b) = r.archive_size { (p.bytes(b)) } }
        }
    }
}

/// What one run's page shows.
#[derive(Debug, Clone)]
pub struct RunModel {
    pub run: Run,
    /// The words for what the 1C error means, if it is a known one.
    pub explained: Option<&'static str>,
    /// The key lines of the run's 1C log, if it was kept.
    pub log_lines: Vec<String>,
    /// Offsite targets holding a live copy.
    pub copies: Vec<String>,
    /// What the users-inside policy did (waited, locked, closed whom).
    pub users: Option<String>,
    /// Each stage with its milliseconds, in order.
    pub stages: Vec<(String, u64)>,
}

/// One run's page.
pub fn render_run(p: &Page, m: &RunModel) -> Markup {
    let t = p.t;
    let r = &m.run;
    let s = r.status.as_str();
    let secs = |ts: &jiff::Timestamp| ts.as_millisecond() as f64 / 1000.0;
    let title = (t.run_title)(r.id);
    let body = html! {
        h1 { (title) " · " (r.base) " " span class={ "badge " (status_class(s)) } { ((t.status)(s)) } }
        (super::actions::retry_form(p, r.id, r.status))
        section.card.none {
            dl.facts {
                dt { (t.col_trigger) } dd { ((t.trigger)(r.trigger.as_str())) }
                dt { (t.run_method) } dd { (r.method) }
                dt { (t.run_started) } dd { (p.local(secs(&r.started))) }
                @if let Some(f) = &r.finished { dt { (t.run_finished) } dd { (p.local(secs(f))) } }
                @if let Some(ms) = r.duration_ms { dt { (t.col_duration) } dd { (p.units.duration(ms as f64 / 1000.0)) } }
                @if !m.stages.is_empty() {
                    dt { (t.run_stages) }
                    dd {
                        @for (i, (stage, ms)) in m.stages.iter().enumerate() {
                            @if i > 0 { " · " }
                            ((crate::text::texts(t.code).stage)(stage)) " "
                            (p.units.duration(*ms as f64 / 1000.0))
                        }
                    }
                }
                @if let Some(b) = r.source_size { dt { (t.run_source_size) } dd { (p.bytes(b)) } }
                @if let Some(a) = &r.archive_path {
                    dt { (t.run_archive) }
                    dd { code { (a.display()) } @if let Some(b) = r.archive_size { " · " (p.bytes(b)) } }
                }
                @if let Some(h) = &r.sha256 { dt { (t.run_sha256) } dd { code.sha { (h) } } }
                @if r.status == Status::Ok && r.sha256.is_some() {
                    dt { (t.run_verification) } dd { (t.run_verified) }
                }
                @if let Some(k) = &r.key_id { dt { (t.run_encrypted) } dd { code { (k) } } }
                @if !m.copies.is_empty() { dt { (t.run_offsite) } dd { (m.copies.join(", ")) } }
                @if let Some(c) = r.onec_exit_code { dt { (t.run_exit_code) } dd { (c) } }
                @if let Some(e) = &r.error { dt { (t.run_error) } dd { (e) } }
                @if let Some(x) = m.explained { dt { (t.run_explained) } dd { strong { (x) } } }
                @if let Some(u) = &m.users { dt { (t.run_users) } dd { (u) } }
            }
        }
        @if !m.log_lines.is_empty() {
            h2 { (t.run_log_lines) }
            pre.log { @for l in &m.log_lines { (l) "\n" } }
        }
    };
    layout(p, Nav::History, &title, body)
}

/// The most of a 1C log the run page reads.
const LOG_CAP: u64 = 1 << 20;

/// Read run `id` into the page's model (blocking); `None` when there is
/// no such run.
pub fn load_run(h: &History, id: i64, lang: &str) -> Result<Option<RunModel>, String> {
    let Some(run) = h.run(id).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let log = run.log_path.as_ref().and_then(|p| {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(p)
            .ok()?
            .take(LOG_CAP)
            .read_to_end(&mut bytes)
            .ok()?;
        Some(crate::onec::outlog::decode(&bytes))
    });
    let texts = crate::text::texts(lang);
    let explained = [run.error.as_deref(), log.as_deref()]
        .into_iter()
        .flatten()
        .find_map(crate::onec::outlog::explain)
        .map(|x| x.words(texts));
    Ok(Some(RunModel {
        log_lines: log
            .as_deref()
            .map(crate::onec::outlog::key_lines)
            .unwrap_or_default(),
        copies: h.copies_of_run(id).unwrap_or_default(),
        stages: run
            .stages
            .as_deref()
            .map(crate::backup::run::stages::parse)
            .unwrap_or_default(),
        users: run
            .policy_outcome
            .as_deref()
            .and_then(crate::backup::run::UsersOutcome::from_json)
            .map(|o| o.words())
            .filter(|w| !w.is_empty()),
        explained,
        run,
    }))
}

/// A page saying the visitor may not see this (anonymous) or it is not
/// there.
fn refusal(p: &Page, code: StatusCode, what: &str) -> (StatusCode, Markup) {
    let body = html! { p.muted { (what) } };
    (code, layout(p, Nav::History, what, body))
}

/// The history, read-only; `None` before the first run made the file.
pub fn open(agent: &Agent) -> Result<Option<History>, String> {
    if !agent.cfg.history_db.exists() {
        return Ok(None);
    }
    History::open_read_only(&agent.cfg.history_db, crate::export::backup::HISTORY_BUSY)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// `GET /history`.
pub async fn handler(
    State(agent): State<Arc<Agent>>,
    visit: Visit,
    Query(q): Query<Params>,
) -> Response {
    let p = match visit.full_page(agent.cfg.timezone.clone(), Nav::History, |p| {
        p.t.anonymous_note
    }) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let a = agent.clone();
    let model = tokio::task::spawn_blocking(move || {
        let filter = q.filter(&a.cfg.timezone);
        let offset = (q.page() - 1) * PER_PAGE;
        let read = open(&a).and_then(|h| match h {
            Some(h) => h
                .runs_page(&filter, offset, PER_PAGE)
                .map_err(|e| e.to_string()),
            None => Ok(RunPage {
                runs: Vec::new(),
                total: 0,
            }),
        });

        let (page, error) = match read {
            Ok(page) => (page, None),
            Err(e) => (
                RunPage {
                    runs: Vec::new(),
                    total: 0,
                },
                Some(e),
            ),
        };
        HistoryModel {
            params: q,
            bases: a.cfg.bases.iter().map(|b| b.name.clone()).collect(),
            page,
            error,
        }
    })
    .await;
    match model {
        Ok(m) => html(&visit, render(&p, &m)),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `GET /runs/{id}`.
pub async fn run_handler(
    State(agent): State<Arc<Agent>>,
    visit: Visit,
    Path(id): Path<String>,
) -> Response {
    let p = match visit.full_page(agent.cfg.timezone.clone(), Nav::History, |p| {
        p.t.anonymous_note
    }) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let Ok(id) = id.parse::<i64>() else {
        let (code, m) = refusal(&p, StatusCode::NOT_FOUND, p.t.no_such_run);
        return (code, html(&visit, m)).into_response();
    };
    let a = agent.clone();
    let lang = visit.lang;
    let got = tokio::task::spawn_blocking(move || match open(&a)? {
        Some(h) => load_run(&h, id, lang),
        None => Ok(None),
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match got {
        Ok(Some(m)) => html(&visit, render_run(&p, &m)),
        Ok(None) => {
            let (code, m) = refusal(&p, StatusCode::NOT_FOUND, p.t.no_such_run);
            (code, html(&visit, m)).into_response()
        }
        Err(e) => {
            let body = html! { p.badge.bad { (p.t.history_unreadable) ": " (e) } };
            let m = layout(&p, Nav::History, p.t.history_unreadable, body);
            (StatusCode::INTERNAL_SERVER_ERROR, html(&visit, m)).into_response()
        }
    }
}
