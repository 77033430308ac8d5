//! The dashboard's overview with a realistic history: five bases with
//! schedules, 1,000 runs in the history and a week of per-minute samples.
//! Times reading the agent into the page model plus rendering it, and the
//! rendering alone (median and worst of 50), and prints the page's size:
//! `cargo run --example web_bench` (`bench/web.sh` runs it). Goals: under
//! 20 ms and under 100 KB.

use std::sync::Arc;
use std::time::{Duration, Instant};

use onec_backup_bot::agent::Agent;
use onec_backup_bot::backup::history::{Finish, History, NewRun, Sample, Status, Trigger};
use onec_backup_bot::config::{LoadOptions, load};
use onec_backup_bot::web::{Page, Viewer, overview};

const BASES: usize = 5;
const RUNS: usize = 1000;

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[v.len() - 1]))
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups)?;
    let mut yaml = format!("backup:\n  backup_dir: '{}'\nbases:\n", backups.display());
    for i in 0..BASES {
        let base = dir.path().join(format!("base{i}"));
        std::fs::create_dir_all(&base)?;
        yaml.push_str(&format!(
            "  - name: base{i}\n    path: '{}'\n    method: copy\n    prefix: b{i}_\n    schedule: \"0 0 {} * * *\"\n",
            base.display(),
            i + 1
        ));
    }
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, yaml)?;
    let env_file = dir.path().join(".env");
    std::fs::write(&env_file, "")?;
    let cfg = load(&LoadOptions {
        config_file: Some(config),
        env_file: Some(env_file),
        skip_files: false,
        ..LoadOptions::only_env([("BACKUP_DIR", backups.display().to_string())])
    })?;
    let now = jiff::Timestamp::now();
    {
        let h = History::open(&cfg.history_db)?;
        for i in 0..RUNS {
            let started = now - jiff::SignedDuration::from_secs((RUNS - i) as i64 * 3600);
            let base = format!("base{}", i % BASES);
            let id = h.start_run(&NewRun {
                base: &base,
                trigger: Trigger::Schedule,
                method: "copy",
                started: &started,
                pid: 1,
            })?;
            let mut fin = Finish::new(
                if i % 17 == 0 {
                    Status::Failed
                } else {
                    Status::Ok
                },
                &started,
            );
            fin.archive_size = Some(1_000_000_000 + i as u64 * 1_000_000);
            h.finish_run(id, &fin)?;
        }
        for m in 0..7 * 24 * 60 {
            h.insert_sample(&Sample {
                ts: now.as_second() - 7 * 86_400 + m * 60,
                cpu: Some((m % 100) as f64),
                mem: Some(40.0),
                disk: Some(50.0 + m as f64 / 1440.0),
                rdp: Some(2),
                onec_users: Some(5),
            })?;
        }
    }
    let rt = tokio::runtime::Runtime::new()?;
    let _guard = rt.enter();
    let agent = Agent::new(Arc::new(cfg));
    let state = agent.backups.reload_now();
    let page = Page::new("ru", Viewer::Full, now, jiff::tz::TimeZone::UTC);
    let (mut whole, mut render) = (Vec::new(), Vec::new());
    let mut size = 0;
    for _ in 0..50 {
        let t0 = Instant::now();
        let model = overview::load(&agent, &state, now, "ru");
        let t1 = Instant::now();
        let html = overview::render(&page, &model).into_string();
        let t2 = Instant::now();
        whole.push(t2 - t0);
        render.push(t2 - t1);
        size = html.len();
        assert_eq!(model.bases.len(), BASES);
        assert!(
            model.bases.iter().all(|b| b.sizes.len() >= 2),
            "sparklines drawn"
        );
    }
    let (wm, ww) = stats(whole);
    let (rm, rw) = stats(render);
    let assets = onec_backup_bot::web::ASSET_BYTES;
    println!(
        "overview, {BASES} bases, {RUNS} runs, {} samples:",
        7 * 24 * 60
    );
    println!("  load + render: median {wm:.2} ms, worst {ww:.2} ms");
    println!("  render only:   median {rm:.2} ms, worst {rw:.2} ms");
    println!(
        "  page {:.1} KB (+ {:.1} KB CSS and script, cached a year)",
        size as f64 / 1024.0,
        assets as f64 / 1024.0
    );
    let ok = wm < 20.0 && size + assets < 100 * 1024;
    println!(
        "  goals (< 20 ms, < 100 KB with assets): {}",
        if ok { "met" } else { "MISSED" }
    );
    agent.shutdown.cancel();
    Ok(())
}
