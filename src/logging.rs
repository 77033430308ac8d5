//! Logging setup: human-readable lines to stderr, and for the agent also to
//! `BACKUP_DIR/backup.log` (the prototype's path; `LOG_DIR` overrides),
//! rotated daily: at the first line of a new local day the current file is
//! renamed `backup.log.YYYY-MM-DD` and a fresh `backup.log` begins; 14
//! rotated files are kept. Writing our own small rotator keeps the current
//! file's name stable (the prototype's docs tell admins to open
//! `backup.log`), which `tracing-appender` does not.

use jiff::civil::Date;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
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

/// Stderr plus the rotating file, at `level` (a `tracing` filter). If the
/// file cannot be opened the agent still logs to stderr and says why.
pub fn init_agent(dir: &Path, tz: jiff::tz::TimeZone, level: &str) {
    let filter = || EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_target(false);
    match DailyFile::new(dir, tz) {
        Ok(file) => {
            let file_layer = tracing_subscriber::fmt::layer()
                .with_writer(file)
                .with_ansi(false)
                .with_target(false);
            let _ = tracing_subscriber::registry()
                .with(filter())
                .with(stderr)
                .with(file_layer)
                .try_init();
        }
        Err(e) => {
            let _ = tracing_subscriber::registry()
                .with(filter())
                .with(stderr)
                .try_init();
            tracing::error!(
                "cannot open the log file in {}: {e}; logging to stderr only (check LOG_DIR)",
                dir.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI32, Ordering};

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
