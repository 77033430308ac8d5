//! Logging setup: human-readable lines to stderr, and for the agent also to
//! `BACKUP_DIR/backup.log` (the prototype's path; `LOG_DIR` overrides),
//! rotated daily: at the first line of a new local day the current file is
//! renamed `backup.log.YYYY-MM-DD` and a fresh `backup.log` begins; 14
//! rotated files are kept. Writing our own small rotator keeps the current
//! file's name stable (the prototype's docs tell admins to open
//! `backup.log`), which `tracing-appender` does not.
//!
//! A third layer, [`WarningTap`], hands warning and error lines to the
//! Loki push sink when one is configured ([`tap_warnings`]); it never
//! blocks: when the sink falls behind, lines are dropped, not waited for.
//!
//! Every output goes through the installed [`mask::Masker`] (`mask.rs`):
//! stderr and the file through [`Masked`], the tap by masking its line, so
//! no configured secret, `/UC` code or URL password is ever written. Colour
//! codes go to stderr only when it is a terminal (a service's stderr lands
//! in journald or a log file).

pub mod mask;

pub use mask::Masker;

use jiff::civil::Date;
use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The log file's name inside the log folder.
pub const LOG_FILE: &str = "backup.log";
/// Rotated files kept.
pub const KEEP_FILES: usize = 14;

type Today = Box<dyn Fn() -> Date + Send + Sync>;

struct State {
    file: Option<File>,
    day: Date,
}

/// A file writer that rotates daily.
#[derive(Clone)]
pub struct DailyFile {
    dir: PathBuf,
    keep: usize,
    today: Arc<Today>,
    state: Arc<Mutex<State>>,
}

impl DailyFile {
    /// Rotate by the local date in `tz`.
    pub fn new(dir: &Path, tz: jiff::tz::TimeZone) -> io::Result<DailyFile> {
        Self::with_clock(
            dir,
            KEEP_FILES,
            Box::new(move || jiff::Timestamp::now().to_zoned_datetime(tz.clone()).date()),
        )
    }

    /// Rotate by whatever `today` says (tests).
    pub fn with_clock(dir: &Path, keep: usize, today: Today) -> io::Result<DailyFile> {
        fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        // A file left from an earlier day is rotated at the first write.
        let day = fs::metadata(&path)
            .ok()
            .filter(|m| m.len() > 0)
            .and_then(|m| m.modified().ok())
            .and_then(|t| jiff::Timestamp::try_from(t).ok())
            .map(|t| t.to_zoned_datetime(jiff::tz::TimeZone::system()).date())
            .unwrap_or_else(&today);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(DailyFile {
            dir: dir.to_path_buf(),
            keep,
            today: Arc::new(today),
            state: Arc::new(Mutex::new(State {
                file: Some(file),
                day,
            })),
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    fn rotate(&self, st: &mut State, now: Date) -> io::Result<()> {
        st.file = None;
        let current = self.path();
        let rotated = self.dir.join(format!("{LOG_FILE}.{}", st.day));
        if current.exists() && !rotated.exists() {
            fs::rename(&current, &rotated)?;
        }
        st.file = Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&current)?,
        );
        st.day = now;
        self.prune();
        Ok(())
    }

    /// Keep the newest `keep` rotated files.
    fn prune(&self) {
        let prefix = format!("{LOG_FILE}.");
        let mut rotated: Vec<PathBuf> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.strip_prefix(&prefix)
                        .is_some_and(|d| d.parse::<Date>().is_ok())
                })
            })
            .collect();
        rotated.sort();
        let excess = rotated.len().saturating_sub(self.keep);
        for p in rotated.into_iter().take(excess) {
            let _ = fs::remove_file(p);
        }
    }
}

impl Write for &DailyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = (self.today)();
        if now != st.day {
            self.rotate(&mut st, now)?;
        }
        match st.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("log file not open")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match st.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl<'a> MakeWriter<'a> for DailyFile {
    type Writer = &'a DailyFile;
    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// A warning or error line for the Loki sink.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// `warn` or `error`.
    pub level: &'static str,
    /// The message and its fields, as the log file shows them.
    pub text: String,
    /// The event's `base` field, if any.
    pub base: Option<String>,
}

static TAP_ON: AtomicBool = AtomicBool::new(false);
static TAP: Mutex<Option<tokio::sync::mpsc::Sender<LogLine>>> = Mutex::new(None);

/// Start handing warning and error lines to the returned receiver (the
/// Loki sink), at most `capacity` waiting. Lines carrying `sink = "loki"`
/// (the Loki sink's own complaints) are not handed over.
pub fn tap_warnings(capacity: usize) -> tokio::sync::mpsc::Receiver<LogLine> {
    let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
    *TAP.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    TAP_ON.store(true, Ordering::Release);
    rx
}

/// The layer behind [`tap_warnings`]; does nothing until it is called.
pub struct WarningTap;

impl<S: Subscriber> Layer<S> for WarningTap {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if !TAP_ON.load(Ordering::Acquire) || level > Level::WARN {
            return;
        }
        let mut v = LineVisitor::default();
        event.record(&mut v);
        if v.from_loki {
            return;
        }
        let line = LogLine {
            level: if level == Level::ERROR {
                "error"
            } else {
                "warn"
            },
            text: mask::mask(&v.text),
            base: v.base.as_deref().map(mask::mask),
        };
        if let Some(tx) = TAP.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            // Full or closed: the line is only lost for Loki.
            let _ = tx.try_send(line);
        }
    }
}

/// The message first, then ` key=value` for every other field.
#[derive(Default)]
struct LineVisitor {
    text: String,
    fields: String,
    base: Option<String>,
    from_loki: bool,
}

impl LineVisitor {
    fn field(&mut self, f: &Field, value: String) {
        match f.name() {
            "message" => {
                self.text = value;
                self.text.push_str(&std::mem::take(&mut self.fields));
            }
            name => {
                if name == "sink" && value == "loki" {
                    self.from_loki = true;
                }
                if name == "base" {
                    self.base = Some(value.clone());
                }
                let out = if self.text.is_empty() {
                    &mut self.fields
                } else {
                    &mut self.text
                };
                out.push_str(&format!(" {name}={value}"));
            }
        }
    }
}

impl Visit for LineVisitor {
    fn record_str(&mut self, f: &Field, value: &str) {
        self.field(f, value.to_string());
    }
    fn record_debug(&mut self, f: &Field, value: &dyn std::fmt::Debug) {
        self.field(f, format!("{value:?}"));
    }
}

/// A [`MakeWriter`] whose writers mask what they are given: each event's
/// bytes are collected and written, masked by the installed
/// [`mask::Masker`], in one piece when the writer is dropped (the fmt layer
/// makes one writer per event), so a secret is never split across writes.
#[derive(Clone)]
pub struct Masked<M>(pub M);

/// One event's bytes on their way to `inner`.
pub struct MaskedWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> MaskedWriter<W> {
    fn emit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = mask::mask(&String::from_utf8_lossy(&self.buf));
        self.buf.clear();
        self.inner.write_all(text.as_bytes())?;
        self.inner.flush()
    }
}

impl<W: Write> Write for MaskedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for MaskedWriter<W> {
    fn drop(&mut self) {
        let _ = self.emit();
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Masked<M> {
    type Writer = MaskedWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        MaskedWriter {
            inner: self.0.make_writer(),
            buf: Vec::new(),
        }
    }
}

/// Whether stderr gets colour codes: only when it is a terminal.
pub fn stderr_ansi() -> bool {
    io::stderr().is_terminal()
}

/// The agent's subscriber: `stderr` (with colour only when `ansi`), the
/// rotating `file` if any, and the Loki tap, every output masked.
fn agent_subscriber<E>(
    filter: EnvFilter,
    stderr: E,
    ansi: bool,
    file: Option<DailyFile>,
) -> impl Subscriber + Send + Sync
where
    E: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(Masked(stderr))
        .with_ansi(ansi)
        .with_target(false);
    let file_layer = file.map(|f| {
        tracing_subscriber::fmt::layer()
            .with_writer(Masked(f))
            .with_ansi(false)
            .with_target(false)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file_layer)
        .with(WarningTap)
}

/// Stderr plus the rotating file, at `level` (a `tracing` filter), masking
/// what `masker` masks in every output; returns the file's path. If the
/// file cannot be opened the agent still logs to stderr, says why, and
/// returns `None`.
pub fn init_agent(
    dir: &Path,
    tz: jiff::tz::TimeZone,
    level: &str,
    masker: Masker,
) -> Option<PathBuf> {
    mask::register(masker);
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let (file, error) = match DailyFile::new(dir, tz) {
        Ok(f) => (Some(f), None),
        Err(e) => (None, Some(e)),
    };
    let _ = agent_subscriber(filter, io::stderr, stderr_ansi(), file).try_init();
    match error {
        None => Some(dir.join(LOG_FILE)),
        Some(e) => {
            tracing::error!(
                "cannot open the log file in {}: {e}; logging to stderr only (check LOG_DIR)",
                dir.display()
            );
            None
        }
    }
}

/// Stderr only (the one-shot commands), at `filter`, masked like the agent.
pub fn init_stderr(filter: EnvFilter, masker: Masker) {
    mask::register(masker);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Masked(io::stderr))
        .with_ansi(stderr_ansi())
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicI32;

    /// The tap's receiver is process-wide: tests that take it run one at a time.
    static TAP_USERS: Mutex<()> = Mutex::new(());

    /// A writer into a shared buffer, standing in for stderr.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    #[test]
    fn no_secret_reaches_stderr_the_file_or_the_loki_tap() {
        let _one = TAP_USERS.lock().unwrap_or_else(|p| p.into_inner());
        let secrets = [
            "123456:AAE-bot-token-x9",
            "api-write-token-x9",
            "1c-pass/word?#x9",
            "loki-pw-x9",
        ];
        mask::register(Masker::new(secrets));
        let dir = tempfile::tempdir().unwrap();
        let file = DailyFile::new(dir.path(), jiff::tz::TimeZone::UTC).unwrap();
        let stderr = Capture::default();
        let sub = agent_subscriber(EnvFilter::new("debug"), stderr.clone(), false, Some(file));
        let mut rx = tap_warnings(16);
        tracing::subscriber::with_default(sub, || {
            for s in secrets {
                tracing::warn!(base = s, "failed: token {s} in {}", format!("x{s}y"));
                tracing::error!(detail = %s, "error");
                tracing::debug!("command: \"1cv8\" DESIGNER /P{s} /UC4711 /DumpIB d");
            }
            tracing::warn!("GET https://user:url-pw-x9@loki:3100/push failed");
        });
        let file_text = fs::read_to_string(dir.path().join(LOG_FILE)).unwrap();
        let stderr_text = String::from_utf8(stderr.0.lock().unwrap().clone()).unwrap();
        let mut tapped = String::new();
        while let Ok(line) = rx.try_recv() {
            tapped.push_str(&format!("{} {:?}\n", line.text, line.base));
        }
        for (name, text) in [
            ("file", &file_text),
            ("stderr", &stderr_text),
            ("tap", &tapped),
        ] {
            assert!(text.contains("***"), "{name}: {text}");
            for s in secrets.iter().chain(&["4711", "url-pw-x9"]) {
                assert!(!text.contains(s), "{s} in the {name}: {text}");
            }
        }
        assert!(file_text.contains("/UC***") && file_text.contains("https://***@loki:3100"));
        assert!(!stderr_text.contains('\x1b'), "colour codes: {stderr_text}");
    }

    #[test]
    fn the_tap_hands_over_warnings_and_errors_but_not_the_loki_sinks_own() {
        let _one = TAP_USERS.lock().unwrap_or_else(|p| p.into_inner());
        let sub = tracing_subscriber::registry().with(WarningTap);
        let mut rx = tap_warnings(8);
        tracing::subscriber::with_default(sub, || {
            tracing::info!("not this one");
            tracing::warn!(base = "buh", "disk {} is low", "D:");
            tracing::error!(sink = "loki", "Loki is down");
            tracing::error!(sink = "remote_write", "remote write failed");
        });
        let a = rx.try_recv().unwrap();
        assert_eq!(
            a,
            LogLine {
                level: "warn",
                text: "disk D: is low base=buh".into(),
                base: Some("buh".into()),
            }
        );
        let b = rx.try_recv().unwrap();
        assert_eq!(
            (b.level, b.text.as_str()),
            ("error", "remote write failed sink=remote_write")
        );
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn rotates_daily_and_keeps_fourteen() {
        let dir = tempfile::tempdir().unwrap();
        let day = Arc::new(AtomicI32::new(1));
        let d2 = day.clone();
        let log = DailyFile::with_clock(
            dir.path(),
            14,
            Box::new(move || {
                Date::new(2026, 1, 1)
                    .unwrap()
                    .checked_add(jiff::Span::new().days(d2.load(Ordering::SeqCst) as i64))
                    .unwrap()
            }),
        )
        .unwrap();
        for i in 1..=20 {
            day.store(i, Ordering::SeqCst);
            writeln!(&log, "line of day {i}").unwrap();
            writeln!(&log, "second line of day {i}").unwrap();
        }
        let current = fs::read_to_string(log.path()).unwrap();
        assert_eq!(current, "line of day 20\nsecond line of day 20\n");
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 15, "{names:?}");
        assert_eq!(names[0], "backup.log");
        assert_eq!(names[1], "backup.log.2026-01-07", "oldest kept");
        assert_eq!(names[14], "backup.log.2026-01-20");
        let last_rotated = fs::read_to_string(dir.path().join("backup.log.2026-01-20")).unwrap();
        assert_eq!(last_rotated, "line of day 19\nsecond line of day 19\n");
        // Foreign files are left alone.
        fs::write(dir.path().join("backup.log.old-notes"), "x").unwrap();
        day.store(21, Ordering::SeqCst);
        writeln!(&log, "day 21").unwrap();
        assert!(dir.path().join("backup.log.old-notes").exists());
    }
}
