//! `onec-backup-bot schedule`: each base's schedule in words and its next
//! run times (in `app.timezone`, quiet hours skipped).

use super::Failure;
use crate::config::Config;
use crate::schedule;
use crate::text;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many upcoming runs to list per base.
    #[arg(long, short = 'n', default_value_t = 5)]
    count: usize,
}

pub fn run(cfg: &Config, args: &Args) -> Result<(), Failure> {
    if cfg.bases.is_empty() {
        return Err(Failure::usage(
            "no infobase configured: set ONEC_BASE_PATH or add `bases:`",
        ));
    }
    // The bot's language; unlike `text::texts`, only exactly "en" is English
    // here (kept as it was).
    let t = if cfg.telegram.language == "en" {
        &text::EN
    } else {
        &text::RU
    };
    let now = jiff::Timestamp::now().to_zoned_datetime(cfg.timezone.clone());
    println!("time zone: {}", cfg.timezone_name);
    for base in &cfg.bases {
        match &base.schedule {
            None => println!("{}: manual backups only (no schedule)", base.name),
            Some(s) => {
                let words = s.describe(
                    t.schedule_every_minutes,
                    t.schedule_every_hour_at,
                    t.schedule_at,
                    t.schedule_cron,
                );
                println!("{}: {} — {words}", base.name, s.as_str());
                if let Some(q) = &base.quiet_hours {
                    println!("  quiet hours: {q}");
                }
                let next = schedule::upcoming(s, base.quiet_hours.as_ref(), &now, args.count);
                if next.is_empty() {
                    println!("  never fires");
                }
                for t in next {
                    println!("  {}", t.strftime("%Y-%m-%d %H:%M:%S %Z (%a)"));
                }
            }
        }
    }
    Ok(())
}
