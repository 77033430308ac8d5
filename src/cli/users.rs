//! `onec-backup-bot users [--base NAME] [--json]`: who is inside each
//! configured base now (the 1C client processes on this computer, with
//! user, pid, session and since when), then the clients whose base cannot
//! be told and those on infobases that are not configured.

use super::{Failure, print_json};
use crate::config::Config;
use crate::onec::inside::{self, Client};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this base (its `name:`); default: every configured base.
    #[arg(long, short)]
    base: Option<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(cfg: &Config, args: &Args) -> Result<(), Failure> {
    let bases: Vec<&crate::config::Base> = match &args.base {
        Some(name) => super::select_bases(
            cfg,
            &super::Bases {
                base: Some(name.clone()),
                all: false,
            },
        )?,
        None => cfg.bases.iter().collect(),
    };
    let clients = inside::clients()
        .map_err(|e| Failure::failed(format!("cannot list the processes of this computer: {e}")))?;
    let per_base: Vec<(&crate::config::Base, Vec<&Client>)> = bases
        .iter()
        .map(|b| {
            (
                *b,
                clients
                    .iter()
                    .filter(|c| inside::is_in(c, &b.path))
                    .collect(),
            )
        })
        .collect();
    let unknown: Vec<&Client> = clients.iter().filter(|c| c.base.is_none()).collect();
    let other: Vec<&Client> = clients
        .iter()
        .filter(|c| c.base.is_some() && !cfg.bases.iter().any(|b| inside::is_in(c, &b.path)))
        .collect();
    if args.json {
        print_json(&json!({
            "bases": per_base.iter().map(|(b, c)| json!({
                "base": b.name, "path": b.path, "clients": c,
                "over_share": inside::over_share(&b.path).unwrap_or_default(),
            })).collect::<Vec<_>>(),
            "unknown": unknown,
            "other": if args.base.is_some() { Vec::new() } else { other.clone() },
        }));
        return Ok(());
    }
    let tz = &cfg.timezone;
    for (b, c) in &per_base {
        if c.is_empty() {
            println!("{} ({}): nobody inside", b.name, b.path.display());
        } else {
            println!("{} ({}): {} inside", b.name, b.path.display(), c.len());
            print_clients(c, tz);
        }
        match inside::over_share(&b.path) {
            Ok(shared) => {
                for s in shared {
                    println!(
                        "  {:16}  over the network share (open {})",
                        s.user, s.open_id
                    );
                }
            }
            Err(e) => println!("  (opens over the network share cannot be listed: {e})"),
        }
    }
    if !unknown.is_empty() {
        println!(
            "1C open on an unknown base ({}; its command line does not tell or cannot be read):",
            unknown.len()
        );
        print_clients(&unknown, tz);
    }
    if args.base.is_none() && !other.is_empty() {
        println!("1C open on other infobases ({}):", other.len());
        print_clients(&other, tz);
    }
    Ok(())
}

fn print_clients(clients: &[&Client], tz: &jiff::tz::TimeZone) {
    for c in clients {
        let since = c
            .since
            .map(|t| {
                t.to_zoned_datetime(tz.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "-".into());
        let session = match (c.session, c.session_state) {
            (Some(s), Some(state)) => format!("{s} ({})", state.as_str()),
            (Some(s), None) => s.to_string(),
            (None, _) => "-".into(),
        };
        let base = match (&c.base, &c.listed_as) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(name)) => format!("/IBName {name:?} (not in the user's list)"),
            (None, None) => "-".into(),
        };
        println!(
            "  {:16}  pid {:<7}  session {:<4}  since {:16}  {}  {}",
            c.user.as_deref().unwrap_or("unknown user"),
            c.pid,
            session,
            since,
            c.program,
            base
        );
    }
}
