//! Terminal progress for `backup` and `restore`: the stage, and while
//! packing (or extracting) the percent and speed, redrawn on one line at
//! most 5 times a second. Silent when stderr is not a terminal (service
//! logs, pipes, tests).

use crate::backup::run::{Event, Stage, human_bytes};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct TermProgress {
    enabled: bool,
    base: String,
    stage: &'static str,
    stage_started: Instant,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl TermProgress {
    pub fn new(base: &str) -> Self {
        Self::with_terminal(base, std::io::stderr().is_terminal())
    }

    pub fn with_terminal(base: &str, enabled: bool) -> Self {
        Self {
            enabled,
            base: base.to_string(),
            stage: label(Stage::Packing),
            stage_started: Instant::now(),
            last_draw: None,
            drawn: false,
        }
    }

    pub fn event(&mut self, e: Event) {
        match e {
            Event::Started { .. } => {}
            Event::Stage(stage) => self.begin(label(stage)),
            Event::Progress { done, total } => self.advance(done, total),
        }
    }

    /// A new stage: its name on a new line.
    pub fn begin(&mut self, stage: &'static str) {
        if !self.enabled {
            return;
        }
        self.stage = stage;
        self.stage_started = Instant::now();
        self.last_draw = None;
        let mut err = std::io::stderr().lock();
        let nl = if self.drawn { "\n" } else { "" };
        let _ = write!(err, "{nl}{}: {stage}…", self.base);
        let _ = err.flush();
        self.drawn = true;
    }

    /// How far the current stage has got, in bytes.
    pub fn advance(&mut self, done: u64, total: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self
            .last_draw
            .is_some_and(|t| now - t < Duration::from_millis(200))
            && done < total
        {
            return;
        }
        self.last_draw = Some(now);
        let secs = self.stage_started.elapsed().as_secs_f64().max(0.001);
        let pct = if total > 0 {
            done as f64 * 100.0 / total as f64
        } else {
            100.0
        };
        let speed = human_bytes((done as f64 / secs) as u64);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{}: {} {pct:5.1} %  {} / {}  {speed}/s",
            self.base,
            self.stage,
            human_bytes(done),
            human_bytes(total)
        );
        let _ = err.flush();
        self.drawn = true;
    }

    pub fn finish(&mut self) {
        if self.enabled && self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}

fn label(s: Stage) -> &'static str {
    match s {
        Stage::Preparing => "preparing",
        Stage::Dumping => "1C dump",
        Stage::Packing => "packing",
        Stage::Verifying => "verifying",
        Stage::Publishing => "publishing",
        Stage::Pruning => "applying retention",
    }
}
