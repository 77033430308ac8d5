//! How long each stage of a run took: the stage events a run sends anyway,
//! timed, kept in history (`runs.stages`, JSON `[["dumping", 3120], …]`)
//! and shown on the dashboard's run page. A `wait` run that tried several
//! times lists each attempt's dump.

use super::Stage;
use std::cell::RefCell;
use std::time::Instant;

/// The stages a run entered, with when.
#[derive(Debug, Default)]
pub struct StageTimes {
    entered: RefCell<Vec<(Stage, Instant)>>,
}

impl StageTimes {
    pub fn enter(&self, stage: Stage) {
        self.entered.borrow_mut().push((stage, Instant::now()));
    }

    /// Each stage with its milliseconds until the next one or `end`, as the
    /// history keeps them.
    pub fn json(&self, end: Instant) -> String {
        let entered = self.entered.borrow();
        let items: Vec<(&str, u64)> = entered
            .iter()
            .enumerate()
            .map(|(i, (stage, at))| {
                let next = entered.get(i + 1).map_or(end, |n| n.1);
                let ms = next.saturating_duration_since(*at).as_millis();
                (stage.as_str(), u64::try_from(ms).unwrap_or(u64::MAX))
            })
            .collect();
        serde_json::to_string(&items).unwrap_or_default()
    }
}

/// A stored run's stages with their milliseconds; empty when the row has
/// none (older runs) or they cannot be read.
pub fn parse(json: &str) -> Vec<(String, u64)> {
    serde_json::from_str(json).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_stage_lasts_until_the_next_and_the_last_until_the_end() {
        let t = StageTimes::default();
        t.enter(Stage::Dumping);
        std::thread::sleep(Duration::from_millis(30));
        t.enter(Stage::Packing);
        let end = Instant::now() + Duration::from_millis(50);
        let got = parse(&t.json(end));
        let names: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["dumping", "packing"]);
        assert!(got[0].1 >= 30, "{got:?}");
        assert!(got[1].1 >= 50, "{got:?}");
        assert!(parse("not json").is_empty());
        assert!(parse(&StageTimes::default().json(end)).is_empty());
    }
}
