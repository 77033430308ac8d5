//! The dashboard end to end in a real headless Chromium (Debian's
//! `chromium` driven by npm `playwright-core`, see `util::browser`): the
//! real agent with the fake 1C slowed so a run lasts a few seconds; the
//! script `tests/browser/dashboard.mjs` opens the overview and sees the
//! base and its last result, logs in, presses "Back up now", confirms,
//! watches the progress reach done without a reload, finds the run in
//! the history, records every request (none may leave the agent) and
//! saves a screenshot of each page under `<target>/screenshots`
//! (scripts/screenshots.sh copies them into docs/). Fails, never skips,
//! when chromium or node are missing.
#![cfg(unix)]

use crate::util::browser;
use crate::util::{World, heavy};
use serde_json::Value;

const TOKEN: &str = "act-Br0wser-T0ken-secret";

#[test]
fn the_dashboard_in_a_real_browser_logs_in_backs_up_and_shows_live_progress() {
    browser::require();
    let _heavy = heavy();
    let mut w = World::new(64);
    // One good run first, so the overview has a last result.
    w.cmd().arg("backup").assert().success();
    // The base changes, so the next run is not skipped as unchanged.
    std::fs::File::options()
        .write(true)
        .open(w.base.join("1Cv8.1CD"))
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    w.set("FAKE_1C_MODE", "slow")
        .set("FAKE_1C_SLEEP_MS", "3000")
        .set("FAKE_1C_DT_BYTES", &(48 << 20).to_string());
    let agent = w.agent(&[("API_TOKEN", TOKEN)]);
    let shots = browser::target_dir().join("screenshots");
    let url = format!("http://127.0.0.1:{}", agent.port);
    let r = browser::run(
        "dashboard.mjs",
        &[
            ("BASE_URL", &url),
            ("TOKEN", TOKEN),
            ("BASE", "buh"),
            ("SHOTS", &shots.display().to_string()),
        ],
    );
    let all = || format!("{r:#}\nagent stderr:\n{}", agent.stderr());
    assert_eq!(r["ok"], true, "{}", all());
    assert_eq!(r["overview_status"], 200, "{}", all());
    assert_eq!(r["base_seen"], true, "{}", all());
    assert!(
        r["last_result"].as_str().unwrap().contains("good"),
        "{}",
        all()
    );
    assert_eq!(r["cookie_http_only"], true, "{}", all());
    assert_eq!(r["token_in_storage"], false, "{}", all());
    // Progress came live, on the same page, and reached done.
    let stages: Vec<&str> = r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        stages.iter().any(|s| s.starts_with("running:")),
        "{}",
        all()
    );
    assert!(stages.last().unwrap().starts_with("done"), "{}", all());
    assert_eq!(r["same_page"], true, "no reload: {}", all());
    assert_eq!(r["done_status"], "ok", "{}", all());
    assert!(r["run_id"].as_i64().unwrap() > 1, "{}", all());
    assert!(
        r["card_after"].as_str().unwrap().contains("good"),
        "{}",
        all()
    );
    assert_eq!(r["history_status"], 200, "{}", all());
    assert_eq!(r["in_history"], true, "{}", all());
    assert_eq!(r["run_status"], 200, "{}", all());
    // Nothing but the agent was asked for anything.
    assert!(r["requests"].as_u64().unwrap() >= 8, "{}", all());
    assert_eq!(r["foreign"], serde_json::json!([]), "{}", all());
    for name in [
        "overview", "login", "confirm", "progress", "done", "history", "run", "charts",
    ] {
        let f = shots.join(format!("{name}.png"));
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "{} missing or empty", f.display());
    }
}
