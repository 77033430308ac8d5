//! Read-only commands: `/status`, `/health`, `/lastlog`, `/list`, `/disk`,
//! `/top`, `/sessions`, `/bases`, `/schedule`. Each reads the history, the
//! backup folder or the sampler's latest snapshot and answers in HTML with
//! every dynamic value escaped; tables go in `<pre>` blocks.

use super::format::{clip, pad};
use super::{Ctx, api};
use crate::backup::history::{Run, Status};
use crate::backup::naming;
use crate::export::{BackupState, BaseBackup};
use crate::metrics::Filesystem;
use crate::schedule::{QuietHours, Schedule};
use crate::text::{Texts, esc};
use jiff::Timestamp;
use std::path::{Path, PathBuf};
use teloxide::prelude::*;
use teloxide::types::{InputFile, ParseMode};

/// How many lines `/lastlog` sends.
pub const LASTLOG_LINES: usize = 100;
/// How many runs `/status` shows.
pub const STATUS_RUNS: usize = 20;

fn local(ctx: &Ctx, t: &Timestamp, fmt: &str) -> String {
    t.to_zoned_datetime(ctx.agent.cfg.timezone.clone())
        .strftime(fmt)
        .to_string()
}

fn status_mark(s: Status) -> &'static str {
    match s {
        Status::Ok => "✔",
        Status::Failed => "✖",
        Status::Skipped => "–",
        Status::Running => "…",
        Status::Interrupted => "!",
    }
}

/// One compact line of the `/status` table.
pub fn run_row(ctx: &Ctx, r: &Run) -> String {
    format!(
        "{} {} {} {} {:>10} {:>9}",
        local(ctx, &r.started, "%m-%d %H:%M"),
        pad(&r.base, 12),
        status_mark(r.status),
        pad(r.status.as_str(), 11),
        r.archive_size
            .map(|n| ctx.texts.units.bytes(n))
            .unwrap_or_default(),
        r.duration_ms
            .map(|d| ctx.texts.units.duration(d as f64 / 1000.0))
            .unwrap_or_default()
    )
}

/// The offsite lines of base `b` (Telegram HTML, names escaped): per
/// target that takes it, the age of the newest copy or that there is none
/// yet, a mark when the last upload failed or the copy is older than
/// `OFFSITE_MAX_AGE_HOURS`, and the archives waiting in the queue.
pub fn offsite_lines(t: &Texts, b: &BaseBackup, now_unix: f64) -> Vec<String> {
    b.offsite
        .iter()
        .map(|o| {
            let age = o
                .last_success_unix
                .map(|at| t.units.duration((now_unix - at).max(0.0)));
            (t.offsite_line)(
                &o.target,
                age.as_deref(),
                o.last_status == Some("failed"),
                o.stale_for.is_some(),
                o.queued,
            )
        })
        .collect()
}

/// The offsite section of `/status` (HTML): the heading, then one line per
/// base and target; empty without offsite targets.
pub fn offsite_status(t: &Texts, state: &BackupState, now_unix: f64) -> String {
    let mut out = Vec::new();
    for b in &state.bases {
        for line in offsite_lines(t, b, now_unix) {
            out.push(format!("<b>{}</b> {line}", esc(&b.name)));
        }
    }
    if out.is_empty() {
        return String::new();
    }
    format!("{}\n{}\n", t.offsite_title, out.join("\n"))
}

fn now_unix() -> f64 {
    Timestamp::now().as_millisecond() as f64 / 1000.0
}

pub async fn status(ctx: &Ctx, chat: ChatId) -> anyhow::Result<()> {
    let t = ctx.texts;
    let runs = ctx.history(|h| h.list(STATUS_RUNS, None)).await?;
    let running = ctx.agent.jobs.running();
    let mut title = String::from(t.status_title);
    title.push('\n');
    if running.is_empty() {
        title.push_str(t.status_idle);
    }
    for r in &running {
        let mut stage = (t.stage)(r.stage.as_str()).to_string();
        if let Some(p) = r.percent() {
            stage.push_str(&format!(" {p:.0} %"));
        }
        title.push_str(&(t.status_running)(&r.base, &stage));
        title.push('\n');
    }
    title.push_str(&offsite_status(t, &ctx.agent.backups.get(), now_unix()));
    if runs.is_empty() {
        api::send_html(ctx, chat, &format!("{title}\n{}", t.no_runs)).await;
        return Ok(());
    }
    let lines: Vec<String> = runs.iter().map(|r| run_row(ctx, r)).collect();
    api::send_pre(ctx, chat, title.trim_end(), &lines).await;
    Ok(())
}

/// `/health` as text (used by the command and the tests).
pub fn health_text(ctx: &Ctx, last_ok: Option<&Run>) -> String {
    let t = ctx.texts;
    let snap = ctx.agent.sampler.snapshot();
    let na = t.not_available;
    let mut out = vec![t.health_title.to_string()];
    let cpu = snap
        .cpu
        .as_ref()
        .map(|c| format!("{:.1} %", c.percent))
        .unwrap_or_else(|| na.into());
    out.push(format!("🖥 {}: {cpu}", t.cpu));
    let ram = snap
        .memory
        .as_ref()
        .map(|m| {
            format!(
                "{} / {} ({:.0} %)",
                t.units.bytes(m.total.saturating_sub(m.available)),
                t.units.bytes(m.total),
                m.percent
            )
        })
        .unwrap_or_else(|| na.into());
    out.push(format!("🧠 {}: {ram}", t.ram));
    let disk = snap
        .backup_disk
        .as_ref()
        .map(|d| {
            format!(
                "{} / {} ({:.0} %) — {}",
                t.units.bytes(d.used),
                t.units.bytes(d.total),
                d.percent,
                esc(&d.path.display().to_string())
            )
        })
        .unwrap_or_else(|| na.into());
    out.push(format!("💾 {}: {disk}", t.disk));
    let up = snap
        .system
        .as_ref()
        .map(|s| t.units.duration(s.uptime_seconds))
        .unwrap_or_else(|| na.into());
    out.push(format!("⏱ {}: {up}", t.uptime));
    out.push(format!(
        "⏱ {}: {}",
        t.agent_uptime,
        t.units.duration(ctx.agent.started.elapsed().as_secs_f64())
    ));
    let rdp = snap
        .sessions
        .as_ref()
        .map(|s| s.active_rdp.to_string())
        .unwrap_or_else(|| na.into());
    out.push(format!("👥 {}: {rdp}", t.rdp));
    let onec = snap
        .onec
        .as_ref()
        .map(|o| o.total.to_string())
        .unwrap_or_else(|| na.into());
    out.push(format!("📒 {}: {onec}", t.onec_users));
    let last = match last_ok {
        None => t.never.to_string(),
        Some(r) => {
            let at = r.finished.unwrap_or(r.started);
            let age = Timestamp::now().duration_since(at).as_secs_f64();
            let warn = if age > 24.0 * 3600.0 { "⚠️ " } else { "" };
            format!(
                "{warn}<b>{}</b>, {} ({})",
                esc(&r.base),
                local(ctx, &at, "%Y-%m-%d %H:%M"),
                (t.ago)(&t.units.duration(age))
            )
        }
    };
    out.push(format!("📦 {}: {last}", t.last_ok));
    out.join("\n")
}

pub async fn health(ctx: &Ctx, chat: ChatId) -> anyhow::Result<()> {
    let last = ctx.history(|h| h.last_success_any()).await?;
    api::send_html(ctx, chat, &health_text(ctx, last.as_ref())).await;
    Ok(())
}

/// The newest `backup.log*` file in `dir`, if any.
pub fn newest_log(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("backup.log"))
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            m.is_file().then(|| (m.modified().ok(), e.path()))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(_, p)| p)
}

/// The last `n` lines of `path` (reading at most its last 1 MiB).
pub fn tail_lines(path: &Path, n: usize) -> std::io::Result<Vec<String>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let start = len.saturating_sub(1 << 20);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(n);
    Ok(lines.split_off(skip))
}

pub async fn lastlog(ctx: &Ctx, chat: ChatId) -> anyhow::Result<()> {
    let dir = ctx.agent.cfg.logging.dir.clone();
    let Some(path) = newest_log(&dir) else {
        api::send_html(
            ctx,
            chat,
            &(ctx.texts.log_absent)(&dir.display().to_string()),
        )
        .await;
        return Ok(());
    };
    let lines = tokio::task::spawn_blocking(move || tail_lines(&path, LASTLOG_LINES)).await??;
    let body = ctx.agent.cfg.mask(&lines.join("\n"));
    let file = InputFile::memory(body.into_bytes()).file_name("backup-last.log");
    let req = ctx
        .bot
        .send_document(chat, file)
        .caption((ctx.texts.log_caption)(lines.len()))
        .parse_mode(ParseMode::Html);
    api::call(ctx, req).await?;
    Ok(())
}

/// The base named `arg` (empty = the default one), or the reply to send.
pub fn pick_base<'a>(ctx: &'a Ctx, arg: &str) -> Result<&'a crate::config::Base, String> {
    let cfg = &ctx.agent.cfg;
    let t = ctx.texts;
    if cfg.bases.is_empty() {
        return Err(t.no_bases.to_string());
    }
    let name = (!arg.is_empty()).then_some(arg);
    cfg.base(name).ok_or_else(|| {
        let known: Vec<&str> = cfg.bases.iter().map(|b| b.name.as_str()).collect();
        (t.no_such_base)(arg, &known.join(", "))
    })
}

pub async fn list(ctx: &Ctx, chat: ChatId, arg: &str) -> anyhow::Result<()> {
    let base = match pick_base(ctx, arg) {
        Ok(b) => b,
        Err(reply) => {
            api::send_html(ctx, chat, &reply).await;
            return Ok(());
        }
    };
    let (dir, prefix) = (ctx.agent.cfg.backup_dir.clone(), base.prefix.clone());
    let found = tokio::task::spawn_blocking(move || naming::scan(&dir, &prefix)).await??;
    if found.is_empty() {
        api::send_html(ctx, chat, &(ctx.texts.list_empty)(&base.name)).await;
        return Ok(());
    }
    let lines: Vec<String> = found
        .iter()
        .rev()
        .take(15)
        .map(|a| {
            format!(
                "{} {:>10}  {}",
                a.time.strftime("%Y-%m-%d %H:%M"),
                ctx.texts.units.bytes(a.size),
                a.path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        })
        .collect();
    api::send_pre(ctx, chat, &(ctx.texts.list_title)(&base.name), &lines).await;
    Ok(())
}

/// One line of the `/disk` table.
pub fn disk_row(t: &Texts, f: &Filesystem) -> String {
    format!(
        "{} {:>10} / {:>10} {:>4.0} % {}",
        pad(&f.mountpoint, 14),
        t.units.bytes(f.used()),
        t.units.bytes(f.size),
        f.used_percent(),
        clip(&f.fstype, 8)
    )
}

pub async fn disk(ctx: &Ctx, chat: ChatId) -> anyhow::Result<()> {
    let t = ctx.texts;
    let snap = ctx.agent.sampler.snapshot();
    let lines: Vec<String> = match &snap.filesystems {
        None => vec![t.not_available.to_string()],
        Some(fs) => fs.iter().map(|f| disk_row(t, f)).collect(),
    };
    api::send_pre(ctx, chat, t.disk_title, &lines).await;
    Ok(())
}

pub async fn top(ctx: &Ctx, chat: ChatId) -> anyhow::Result<()> {
    let t = ctx.texts;
    let snap = ctx.agent.sampler.snapshot();
    let Some(p) = &snap.processes else {
        api::send_html(ctx, chat, t.not_available).await;
        return Ok(());
    };
    let row = |x: &crate::metrics::TopProcess| {
        format!(
            "{} {} {:>6.1} % {:>10}",
            pad(&x.name, 16),
            pad(x.user.as_deref().unwrap_or("-"), 10),
            x.cpu_percent,
            t.units.bytes(x.rss_bytes)
        )
    };
    let cpu: Vec<String> = p.top_cpu.iter().map(row).collect();
    let mem: Vec<String> = p.top_memory.iter().map(row).collect();
    api::send_pre(ctx, chat, t.top_cpu, &cpu).await;
    api::send_pre(ctx, chat, t.top_mem, &mem).await;
    Ok(())
}

pub async fn sessions(ctx: &Ctx, chat: ChatId) -> anyhow::Result<()> {
    let t = ctx.texts;
    let snap = ctx.agent.sampler.snapshot();
    let sessions: Vec<String> = match &snap.sessions {
        None => vec![t.not_available.to_string()],
        Some(s) if s.sessions.is_empty() => vec![t.no_sessions.to_string()],
        Some(s) => s
            .sessions
            .iter()
            .map(|x| {
                format!(
                    "{} {} {} {}",
                    pad(&x.user, 14),
                    pad(x.kind.as_str(), 7),
                    pad(x.state.as_str(), 12),
                    clip(&x.host, 24)
                )
            })
            .collect(),
    };
    api::send_pre(ctx, chat, t.sessions_title, &sessions).await;
    // 1C clients per user and session; the sampler's count per user when
    // the process table with sessions cannot be read.
    let clients = tokio::task::spawn_blocking(crate::onec::inside::clients).await?;
    let onec: Vec<String> = match (&clients, &snap.onec) {
        (Ok(c), _) if c.is_empty() => vec![t.no_onec.to_string()],
        (Ok(c), _) => super::users::per_session_lines(t, c),
        (Err(_), None) => vec![t.not_available.to_string()],
        (Err(_), Some(o)) if o.per_user.is_empty() => vec![t.no_onec.to_string()],
        (Err(_), Some(o)) => o
            .per_user
            .iter()
            .map(|u| format!("{} {}", pad(&u.user, 20), u.count))
            .collect(),
    };
    api::send_pre(ctx, chat, t.onec_title, &onec).await;
    Ok(())
}

pub async fn bases(ctx: &Ctx, chat: ChatId) -> anyhow::Result<()> {
    let t = ctx.texts;
    let cfg = ctx.agent.cfg.clone();
    if cfg.bases.is_empty() {
        api::send_html(ctx, chat, t.no_bases).await;
        return Ok(());
    }
    let names: Vec<String> = cfg.bases.iter().map(|b| b.name.clone()).collect();
    let last = ctx
        .history(move |h| {
            names
                .iter()
                .map(|n| h.last_run(n))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let mut out = vec![t.bases_title.to_string()];
    let state = ctx.agent.backups.get();
    let now = now_unix();
    for (b, last) in cfg.bases.iter().zip(last) {
        let result = match last {
            None => t.no_runs.to_string(),
            Some(r) => format!(
                "{} {} {}",
                status_mark(r.status),
                esc(r.status.as_str()),
                local(ctx, &r.finished.unwrap_or(r.started), "%Y-%m-%d %H:%M")
            ),
        };
        out.push(format!(
            "• <b>{}</b> ({}) — {}\n  <code>{}</code>",
            esc(&b.name),
            esc(b.method.as_str()),
            result,
            esc(&b.path.display().to_string())
        ));
        if let Some(x) = state.bases.iter().find(|x| x.name == b.name) {
            for line in offsite_lines(t, x, now) {
                out.push(format!("  {line}"));
            }
        }
    }
    api::send_html(ctx, chat, &out.join("\n")).await;
    Ok(())
}

/// What `/schedule` says about one base.
pub struct BaseSchedule<'a> {
    pub name: &'a str,
    pub schedule: Option<&'a Schedule>,
    pub quiet: Option<&'a QuietHours>,
}

/// How many upcoming runs `/schedule` lists per base.
pub const SCHEDULE_NEXT_RUNS: usize = 3;

/// `/schedule` as text: the time zone, then each base's schedule in words
/// with its cron expression, quiet hours and the next `n` runs after `now`
/// (quiet hours skipped), or that it is backed up by hand only — what
/// `onec-backup-bot schedule` prints, in the bot's language.
pub fn schedule_text(
    t: &Texts,
    tz_name: &str,
    bases: &[BaseSchedule],
    now: &jiff::ZonedDateTime,
    n: usize,
) -> String {
    let mut out = vec![t.schedule_title.to_string(), (t.schedule_timezone)(tz_name)];
    for b in bases {
        let Some(s) = b.schedule else {
            out.push((t.schedule_manual)(b.name));
            continue;
        };
        let words = s.describe(
            t.schedule_every_minutes,
            t.schedule_every_hour_at,
            t.schedule_at,
            t.schedule_cron,
        );
        out.push((t.schedule_base)(b.name, s.as_str(), &words));
        if let Some(q) = b.quiet {
            out.push((t.schedule_quiet)(&q.to_string()));
        }
        let next = crate::schedule::upcoming(s, b.quiet, now, n);
        if next.is_empty() {
            out.push(t.schedule_never.to_string());
            continue;
        }
        out.push(t.schedule_next.to_string());
        for at in next {
            let day = t.weekdays_short[at.weekday().to_sunday_zero_offset() as usize];
            out.push(format!("    {} ({day})", at.strftime("%Y-%m-%d %H:%M")));
        }
    }
    out.join("\n")
}

pub async fn schedule(ctx: &Ctx, chat: ChatId) -> anyhow::Result<()> {
    let cfg = &ctx.agent.cfg;
    if cfg.bases.is_empty() {
        api::send_html(ctx, chat, ctx.texts.no_bases).await;
        return Ok(());
    }
    let bases: Vec<BaseSchedule> = cfg
        .bases
        .iter()
        .map(|b| BaseSchedule {
            name: &b.name,
            schedule: b.schedule.as_ref(),
            quiet: b.quiet_hours.as_ref(),
        })
        .collect();
    let now = Timestamp::now().to_zoned_datetime(cfg.timezone.clone());
    let text = schedule_text(
        ctx.texts,
        &cfg.timezone_name,
        &bases,
        &now,
        SCHEDULE_NEXT_RUNS,
    );
    api::send_html(ctx, chat, &text).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{EN, RU};

    #[test]
    fn disk_rows_use_the_one_percent_definition() {
        // 390 used, 560 available to users, 50 reserved for root: 41 %
        // as `df` says (used ÷ (used + available)), not 39 % of the size.
        let f = Filesystem {
            device: "/dev/sda1".into(),
            mountpoint: "/".into(),
            fstype: "ext4".into(),
            size: 1000 << 30,
            free: 610 << 30,
            avail: 560 << 30,
        };
        let row = disk_row(&RU, &f);
        assert!(row.contains(" 41 %"), "{row}");
        assert!(row.contains("390.0 ГиБ"), "{row}");
        assert!(row.contains("1000.0 ГиБ"), "{row}");
    }

    #[test]
    fn schedule_lists_each_base_with_words_next_runs_and_quiet_hours() {
        // A Monday noon in Moscow.
        let now: jiff::ZonedDateTime = "2025-01-06T12:00:00+03:00[Europe/Moscow]".parse().unwrap();
        let nightly = Schedule::parse("0 23 * * *").unwrap();
        let quiet = QuietHours::parse("00:00-07:59").unwrap();
        let bases = [
            BaseSchedule {
                name: "buh",
                schedule: Some(&nightly),
                quiet: Some(&quiet),
            },
            BaseSchedule {
                name: "<zup>",
                schedule: None,
                quiet: None,
            },
        ];
        let s = schedule_text(&RU, "Europe/Moscow", &bases, &now, 3);
        assert!(s.starts_with("<b>Расписание</b>"), "{s}");
        assert!(s.contains("Europe/Moscow"), "{s}");
        assert!(
            s.contains("<b>buh</b>: каждый день в 23:00 (<code>0 23 * * *</code>)"),
            "{s}"
        );
        assert!(s.contains("тихие часы: 00:00-07:59"), "{s}");
        for day in [
            "2025-01-06 23:00 (пн)",
            "2025-01-07 23:00 (вт)",
            "2025-01-08 23:00 (ср)",
        ] {
            assert!(s.contains(day), "{day} missing in {s}");
        }
        assert!(!s.contains("2025-01-09"), "{s}");
        assert!(
            s.contains("<b>&lt;zup&gt;</b>: расписание не задано — только ручные копии"),
            "{s}"
        );
        let en = schedule_text(&EN, "Europe/Moscow", &bases, &now, 1);
        assert!(en.contains("every day at 23:00"), "{en}");
        assert!(en.contains("2025-01-06 23:00 (Mon)"), "{en}");
        assert!(en.contains("manual backups only"), "{en}");
        // A schedule that never fires says so.
        let never = Schedule::parse("0 0 30 2 *").unwrap();
        let bases = [BaseSchedule {
            name: "feb",
            schedule: Some(&never),
            quiet: None,
        }];
        let s = schedule_text(&RU, "UTC", &bases, &now, 3);
        assert!(s.contains("не сработает ни разу"), "{s}");
    }
}

#[cfg(test)]
mod offsite_tests {
    use super::*;
    use crate::export::BaseOffsite;
    use crate::text::{EN, RU};

    fn state() -> BackupState {
        BackupState {
            bases: vec![
                BaseBackup {
                    name: "<buh&>".into(),
                    offsite: vec![
                        BaseOffsite {
                            target: "<nas>".into(),
                            last_success_unix: Some(1000.0 - 2.0 * 3600.0),
                            last_status: Some("ok"),
                            ..BaseOffsite::default()
                        },
                        BaseOffsite {
                            target: "y&disk".into(),
                            last_status: Some("failed"),
                            last_error: Some("<secret-free error>".into()),
                            queued: 3,
                            stale_for: Some(40.0 * 3600.0),
                            ..BaseOffsite::default()
                        },
                    ],
                    ..BaseBackup::default()
                },
                BaseBackup {
                    name: "zup".into(),
                    ..BaseBackup::default()
                },
            ],
            ..BackupState::default()
        }
    }

    #[test]
    fn offsite_lines_escape_hostile_names_and_mark_problems() {
        for t in [&RU, &EN] {
            let s = state();
            let lines = offsite_lines(t, &s.bases[0], 1000.0);
            assert_eq!(lines.len(), 2);
            assert!(lines[0].contains("&lt;nas&gt;"), "{}", lines[0]);
            assert!(lines[0].contains(&t.units.duration(7200.0)), "{}", lines[0]);
            assert!(!lines[0].contains('✖') && !lines[0].contains("⚠️"));
            assert!(lines[1].contains("y&amp;disk"), "{}", lines[1]);
            assert!(
                lines[1].contains('✖') && lines[1].contains("⚠️"),
                "{}",
                lines[1]
            );
            assert!(lines[1].contains('3'), "{}", lines[1]);
            assert!(offsite_lines(t, &s.bases[1], 1000.0).is_empty());
            let status = offsite_status(t, &s, 1000.0);
            assert!(status.starts_with(t.offsite_title), "{status}");
            assert!(status.contains("<b>&lt;buh&amp;&gt;</b>"), "{status}");
            assert!(
                !status.contains("<nas>") && !status.contains("<buh"),
                "{status}"
            );
            assert!(!status.contains("secret-free"), "errors stay out of views");
            assert_eq!(offsite_status(t, &BackupState::default(), 1000.0), "");
        }
        let none = BaseBackup {
            offsite: vec![BaseOffsite {
                target: "nas".into(),
                ..BaseOffsite::default()
            }],
            ..BaseBackup::default()
        };
        assert!(offsite_lines(&RU, &none, 0.0)[0].contains("копии ещё нет"));
        assert!(offsite_lines(&EN, &none, 0.0)[0].contains("no copy yet"));
    }
}
