//! `GET /`: one card per base (last result, age of the last good backup
//! coloured by `BACKUP_MAX_AGE_HOURS`, size trend, next run, who is in 1C,
//! offsite copies and the last drill, a "Back up now" form), the server
//! (CPU, memory, the backup disk's free space and days until full, RDP
//! sessions), the push sinks, the agent's version and uptime.

use super::layout::{Nav, Page, layout, status_class};
use super::{Visit, html, svg};
use crate::agent::Agent;
use crate::backup::history::{History, Status};
use crate::export::{BackupState, BaseBackup, SinkState, TargetOffsite};
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use std::sync::Arc;

/// How many archive sizes the sparkline shows.
pub const SIZE_TREND: usize = 30;

/// One base's card.
#[derive(Debug, Clone, Default)]
pub struct BaseCard {
    pub state: BaseBackup,
    /// Sizes of the last good archives, oldest first.
    pub sizes: Vec<u64>,
    /// The next scheduled run (unix seconds) and the schedule in words;
    /// `None`: by hand only.
    pub next_run: Option<(f64, String)>,
    /// OS users with the base open in 1C now; `None` when unknown.
    pub inside: Option<Vec<String>>,
}

/// The server's figures.
#[derive(Debug, Clone, Default)]
pub struct Server {
    pub cpu_percent: Option<f64>,
    pub mem_percent: Option<f64>,
    pub disk_free: Option<u64>,
    pub disk_used_percent: Option<f64>,
    pub days_until_full: Option<f64>,
    pub rdp_active: Option<u64>,
    pub rdp_disconnected: Option<u64>,
}

/// Everything the overview shows.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    pub bases: Vec<BaseCard>,
    pub history_error: Option<String>,
    pub server: Server,
    pub sinks: Vec<SinkState>,
    /// Every offsite target, all bases together.
    pub targets: Vec<TargetOffsite>,
    pub version: String,
    pub uptime_secs: f64,
    pub max_age_hours: u32,
}

/// A card's colour: busy while running, red when the last run failed,
/// amber when the last good backup is older than `max_age_hours` (or
/// there is none after runs), green otherwise; grey when never run.
pub fn health_class(b: &BaseBackup, now_unix: f64, max_age_hours: u32) -> &'static str {
    if b.running {
        return "busy";
    }
    match (&b.last_finished, b.last_success_unix) {
        (None, None) => "none",
        (Some(l), _) if !l.ok && l.status != Status::Skipped.as_str() => "bad",
        (_, None) => "warn",
        (_, Some(t)) if now_unix - t > f64::from(max_age_hours) * 3600.0 => "warn",
        _ => "good",
    }
}

/// The overview page.
pub fn render(p: &Page, m: &Overview) -> Markup {
    let t = p.t;
    let body = html! {
        h1 { (t.bases_title) }
        @if let Some(e) = &m.history_error {
            p.badge.bad { (t.history_unreadable) @if p.full() { ": " (e) } }
        }
        @if m.bases.is_empty() {
            p.muted { (t.no_bases) }
        }
        div.cards {
            @for b in &m.bases { (card(p, b, m.max_age_hours)) }
        }
        @if p.full() {
            (server(p, m))
        }
    };
    layout(p, Nav::Overview, t.nav_overview, body)
}

fn card(p: &Page, c: &BaseCard, max_age_hours: u32) -> Markup {
    let t = p.t;
    let b = &c.state;
    let class = health_class(b, p.now_unix(), max_age_hours);
    html! {
        section class={ "card " (class) } data-base=(b.name) {
            h3 { (b.name) }
            dl.facts {
                dt { (t.last_result) }
                dd {
                    @if b.running {
                        span.badge.busy { (t.running_now) } " "
                    }
                    @match &b.last_finished {
                        Some(l) => {
                            span class={ "badge " (status_class(l.status)) } { ((t.status)(l.status)) }
                            " " (p.ago(l.timestamp_unix))
                            @if p.full() {
                                " · " a href={ "/runs/" (l.run_id) } { "#" (l.run_id) }
                            }
                        }
                        None => @if !b.running { span.muted { (t.never_backed_up) } },
                    }
                }
                dt { (t.last_good) }
                dd {
                    @match b.last_success_unix {
                        Some(at) => { (p.ago(at)) @if p.full() { span.muted { " (" (p.local(at)) ")" } } }
                        None => span.muted { (t.no_good_yet) },
                    }
                }
                @if p.full() {
                    @if c.sizes.len() >= 2 {
                        dt { (t.size_trend) }
                        dd {
                            (svg::sparkline(&c.sizes))
                            " " @if let Some(last) = c.sizes.last() { (p.bytes(*last)) }
                        }
                    }
                    dt { (t.next_run) }
                    dd {
                        @match &c.next_run {
                            Some((at, words)) => {
                                ((t.in_time)(&p.units.duration(at - p.now_unix())))
                                span.muted { " (" (p.local(*at)) "; " (words) ")" }
                            }
                            None => span.muted { (t.manual_only) },
                        }
                    }
                    dt { (t.inside_now) }
                    dd {
                        @match &c.inside {
                            Some(users) if users.is_empty() => span.muted { (t.nobody_inside) },
                            Some(users) => (users.join(", ")),
                            None => span.muted { (t.unknown) },
                        }
                    }
                    @for o in &b.offsite {
                        dt { (t.offsite) " · " (o.target) }
                        dd {
                            @match (o.last_status, o.last_success_unix) {
                                (Some(s), _) => {
                                    span class={ "badge " (status_class(s)) } { ((t.status)(s)) }
                                    @if let Some(at) = o.last_success_unix { " " (p.ago(at)) }
                                }
                                (None, _) => span.muted { (t.offsite_never) },
                            }
                            @if o.queued > 0 {
                                " · " ((t.offsite_queued)(o.queued, &p.bytes(o.queued_bytes)))
                            }
                            @if let Some(e) = &o.last_error { div.muted { (e) } }
                        }
                    }
                    @if b.drill.scheduled || b.drill.last_status.is_some() {
                        dt { (t.drill) }
                        dd {
                            @match b.drill.last_status {
                                Some(s) => {
                                    span class={ "badge " (status_class(s)) } { ((t.status)(s)) }
                                    @if let Some(at) = b.drill.last_success_unix { " " (p.ago(at)) }
                                    @if let Some(r) = &b.drill.last_reason { div.muted { (r) } }
                                }
                                None => span.muted { (t.drill_never) },
                            }
                        }
                    }
                }
            }
            @if p.full() {
                p { a href={ "/history?base=" (super::history::encode(&b.name)) } { (t.nav_history) } }
            }
            @if p.full() && !b.running {
                form.act method="post" action="/actions/backup" {
                    input type="hidden" name="base" value=(b.name);
                    input type="hidden" name="csrf" value=(p.csrf);
                    button type="submit" { (t.backup_now) }
                }
            }
        }
    }
}

fn server(p: &Page, m: &Overview) -> Markup {
    let t = p.t;
    let s = &m.server;
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{v:.0} %"))
            .unwrap_or_else(|| t.unknown.into())
    };
    html! {
        h2 { (t.server_title) }
        section.card.none {
            dl.facts {
                dt { (t.cpu) } dd { (pct(s.cpu_percent)) }
                dt { (t.memory) } dd { (pct(s.mem_percent)) }
                dt { (t.disk_free) }
                dd {
                    @match s.disk_free {
                        Some(f) => {
                            (p.bytes(f))
                            @if let Some(u) = s.disk_used_percent { span.muted { " (" (format!("{:.0}", 100.0 - u)) " %)" } }
                            br;
                            span.muted {
                                @match s.days_until_full {
                                    Some(d) => ((t.days_until_full)(d)),
                                    None => (t.disk_not_filling),
                                }
                            }
                        }
                        None => span.muted { (t.unknown) },
                    }
                }
                dt { (t.rdp_sessions) }
                dd {
                    @match (s.rdp_active, s.rdp_disconnected) {
                        (Some(a), Some(d)) => { (a) @if d > 0 { span.muted { " (+" (d) ")" } } }
                        _ => span.muted { (t.unknown) },
                    }
                }
                dt { (t.sinks_title) }
                dd {
                    @if m.sinks.is_empty() { span.muted { (t.no_sinks) } }
                    @for k in &m.sinks {
                        div {
                            (k.sink) " → " (k.target) " "
                            @if k.up { span.badge.good { (t.sink_up) } } @else { span.badge.bad { (t.sink_down) } }
                            @if let Some(e) = &k.last_error { div.muted { (e) } }
                        }
                    }
                }
                @if !m.targets.is_empty() {
                    dt { (t.offsite) }
                    dd {
                        @for x in &m.targets {
                            div {
                                (x.target) " (" (x.kind) "): "
                                span.badge.good { (x.uploads_ok) } " "
                                @if x.uploads_failed > 0 { span.badge.bad { (x.uploads_failed) } " " }
                                @if x.queued > 0 { ((t.offsite_queued)(x.queued, &p.bytes(x.queued_bytes))) }
                            }
                        }
                    }
                }
                dt { (t.version) } dd { (m.version) }
                dt { (t.uptime) } dd { (p.units.duration(m.uptime_secs)) }
            }
        }
    }
}

/// Read the agent into the model (blocking: the history and the process
/// table). `state` is the agent's cached backup state.
pub fn load(agent: &Agent, state: &BackupState, now: jiff::Timestamp, lang: &str) -> Overview {
    let cfg = &agent.cfg;
    let history =
        History::open_read_only(&cfg.history_db, crate::export::backup::HISTORY_BUSY).ok();
    let clients = crate::onec::inside::clients().ok();
    let zoned = now.to_zoned_datetime(cfg.timezone.clone());
    let tt = crate::text::texts(lang);
    let bases = state
        .bases
        .iter()
        .map(|b| {
            let base = cfg.base(Some(&b.name));
            let sizes = history
                .as_ref()
                .and_then(|h| h.list(SIZE_TREND * 2, Some(&b.name)).ok())
                .map(|runs| {
                    let mut v: Vec<u64> = runs
                        .iter()
                        .filter(|r| r.status == Status::Ok)
                        .filter_map(|r| r.archive_size)
                        .take(SIZE_TREND)
                        .collect();
                    v.reverse();
                    v
                })
                .unwrap_or_default();
            let next_run = base.and_then(|c| {
                let s = c.schedule.as_ref()?;
                let at = crate::schedule::upcoming(s, c.quiet_hours.as_ref(), &zoned, 1).pop()?;
                let words = s.describe(
                    tt.schedule_every_minutes,
                    tt.schedule_every_hour_at,
                    tt.schedule_at,
                    tt.schedule_cron,
                );
                Some((at.timestamp().as_millisecond() as f64 / 1000.0, words))
            });
            let inside = match (&clients, base) {
                (Some(cs), Some(c)) => {
                    let mut users: Vec<String> = cs
                        .iter()
                        .filter(|x| crate::onec::inside::is_in(x, &c.path))
                        .map(|x| x.user.clone().unwrap_or_else(|| "?".into()))
                        .collect();
                    users.sort();
                    users.dedup();
                    Some(users)
                }
                _ => None,
            };
            BaseCard {
                state: b.clone(),
                sizes,
                next_run,
                inside,
            }
        })
        .collect();
    let snap = agent.sampler.snapshot();
    let week_ago = now.as_second() - 7 * 86_400;
    let used = history
        .as_ref()
        .and_then(|h| h.disk_hourly_since(week_ago).ok())
        .unwrap_or_default();
    let server = Server {
        cpu_percent: snap.cpu.as_ref().map(|c| c.percent),
        mem_percent: snap.memory.as_ref().map(|m| m.percent),
        disk_free: snap.backup_disk.as_ref().map(|d| d.free),
        disk_used_percent: snap.backup_disk.as_ref().map(|d| d.percent),
        days_until_full: crate::chart::days_until_full(&used),
        rdp_active: snap.sessions.as_ref().map(|s| s.active_rdp),
        rdp_disconnected: snap.sessions.as_ref().map(|s| s.disconnected_rdp),
    };
    Overview {
        bases,
        history_error: state.history_error.clone(),
        server,
        sinks: agent.sinks.states(),
        targets: state.offsite.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_secs: agent.started.elapsed().as_secs_f64(),
        max_age_hours: cfg.max_age_hours,
    }
}

/// A base as an anonymous visitor may see it: what `/api/health` tells
/// an anonymous caller (name, running, last status and its time, the
/// last good backup's time); no error text, sizes, targets or drills.
pub fn anonymous(b: &BaseBackup) -> BaseCard {
    BaseCard {
        state: BaseBackup {
            name: b.name.clone(),
            last_success_unix: b.last_success_unix,
            last_finished: b.last_finished.as_ref().map(|l| crate::export::LastRun {
                error: None,
                size_bytes: 0,
                ..l.clone()
            }),
            running: b.running,
            ..BaseBackup::default()
        },
        ..BaseCard::default()
    }
}

/// `GET /`.
pub async fn handler(State(agent): State<Arc<Agent>>, visit: Visit) -> Response {
    let now = jiff::Timestamp::now();
    let state = agent.backups.get();
    let full = visit.viewer == super::Viewer::Full;
    let lang = visit.lang;
    let a = agent.clone();
    let model = tokio::task::spawn_blocking(move || {
        if full {
            load(&a, &state, now, lang)
        } else {
            Overview {
                bases: state.bases.iter().map(anonymous).collect(),
                max_age_hours: a.cfg.max_age_hours,
                ..Overview::default()
            }
        }
    })
    .await
    .unwrap_or_default();
    let page = visit.page(now, agent.cfg.timezone.clone());
    html(&visit, render(&page, &model))
}
