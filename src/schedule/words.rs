//! Which simple shape a schedule has ("every 5 minutes", "every hour at
//! :15", "on weekdays at 09:00"), as data: [`Description`]. Saying it in a
//! language is not done here: [`Schedule::describe`] takes the phrases as
//! functions, and the text module supplies them for each language.

use super::Schedule;

/// A schedule reduced to a shape that reads well in words; anything else
/// is [`Description::Cron`], the expression itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Description {
    /// `None`: every minute (`* * * * *`); `Some(n)`: every `n` minutes,
    /// `n` a divisor of 60 (`*/n * * * *`).
    EveryMinutes(Option<u32>),
    /// Every hour at these minutes, ascending.
    EveryHourAt(Vec<u32>),
    /// At these times of day, `[hour, minute, second]` ascending, on the
    /// days `weekdays` holds (bit 0 = Sunday … bit 6 = Saturday), or every
    /// day when `None`.
    At {
        weekdays: Option<u8>,
        times: Vec<[u32; 3]>,
    },
    /// Not a simple shape.
    Cron(String),
}

impl Schedule {
    /// The shape of this schedule; [`Description::Cron`] when it is not
    /// one of the simple ones.
    pub fn description(&self) -> Description {
        self.simple_shape()
            .unwrap_or_else(|| Description::Cron(self.expr.clone()))
    }

    /// The schedule in words, with the phrases of one language (the text
    /// module's `schedule_*` fields): "каждый день в 13:05 и 18:05" /
    /// "every day at 13:05 and 18:05"; the expression itself when it is not
    /// a simple shape.
    pub fn describe(
        &self,
        every_minutes: fn(Option<u32>) -> String,
        every_hour_at: fn(&[u32]) -> String,
        at: fn(Option<u8>, &[[u32; 3]]) -> String,
        cron: fn(&str) -> String,
    ) -> String {
        match self.description() {
            Description::EveryMinutes(n) => every_minutes(n),
            Description::EveryHourAt(minutes) => every_hour_at(&minutes),
            Description::At { weekdays, times } => at(weekdays, &times),
            Description::Cron(expr) => cron(&expr),
        }
    }

    fn simple_shape(&self) -> Option<Description> {
        if !self.dom_star || self.fields[3] != "*" {
            return None;
        }
        let secs = bits(self.seconds, 60);
        let [min_f, hour_f, ..] = &self.fields;
        // "every minute", "every N minutes", "every hour at :MM".
        if secs == [0] && self.dow_star {
            if min_f == "*" && hour_f == "*" {
                return Some(Description::EveryMinutes(None));
            }
            if let Some(n) = min_f.strip_prefix("*/").and_then(|n| n.parse::<u32>().ok())
                && hour_f == "*"
                && n > 0
                && 60 % n == 0
            {
                return Some(Description::EveryMinutes(Some(n)));
            }
            if hour_f == "*" && !min_f.contains(['*', '/']) {
                return Some(Description::EveryHourAt(bits(self.minutes, 60)));
            }
        }
        // Fixed times of day.
        if [min_f, hour_f].iter().any(|f| f.contains(['*', '/'])) {
            return None;
        }
        if self.has_seconds && self.fields.iter().any(|f| f.contains('/')) {
            return None;
        }
        let hours = bits(self.hours as u64, 24);
        let mins = bits(self.minutes, 60);
        if secs.len() > 1 || hours.len() * mins.len() > 8 {
            return None;
        }
        let sec = secs[0];
        let times = hours
            .iter()
            .flat_map(|&h| mins.iter().map(move |&m| [h, m, sec]))
            .collect();
        Some(Description::At {
            weekdays: (!self.dow_star).then_some(self.dows),
            times,
        })
    }
}

fn bits(set: u64, width: u32) -> Vec<u32> {
    (0..width).filter(|i| set & (1 << i) != 0).collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::sched;
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("* * * * *", Description::EveryMinutes(None))]
    #[case("*/1 * * * *", Description::EveryMinutes(Some(1)))]
    #[case("*/5 * * * *", Description::EveryMinutes(Some(5)))]
    #[case("0,30 * * * *", Description::EveryHourAt(vec![0, 30]))]
    #[case(
        "5 13,18 * * *",
        Description::At { weekdays: None, times: vec![[13, 5, 0], [18, 5, 0]] }
    )]
    #[case(
        "15 0 3 * * *",
        Description::At { weekdays: None, times: vec![[3, 0, 15]] }
    )]
    #[case(
        "0 9 * * FRI,MON",
        Description::At { weekdays: Some(0b010_0010), times: vec![[9, 0, 0]] }
    )]
    #[case(
        "0 9 * * 0-6",
        Description::At { weekdays: Some(0b111_1111), times: vec![[9, 0, 0]] }
    )]
    #[case("*/7 * * * *", Description::Cron("*/7 * * * *".into()))]
    #[case("0 0 1 * *", Description::Cron("0 0 1 * *".into()))]
    #[case("0 0-8 * * *", Description::Cron("0 0-8 * * *".into()))]
    fn recognises_simple_shapes(#[case] expr: &str, #[case] want: Description) {
        assert_eq!(sched(expr).description(), want, "{expr}");
    }
}
