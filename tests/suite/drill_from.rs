//! Where restore drills take their archive (`BACKUP_DRILL_FROM` /
//! `bases[].drill_from`), end to end with the real binary and a folder
//! target: `alternate` drills the local archive, then the target's copy,
//! then the local one again (each row records its source, and the turn is
//! read from the history, so the agent's scheduled drill takes the next
//! one); a target that holds no copy skips the drill when it is the only
//! source and gives its turn to the local archive under `alternate`;
//! `--from local` overrides the setting; `/drill` in Telegram follows it
//! and names the source; a target that does not exist is a configuration
//! error (exit 2) naming the setting and the choices.

use crate::util::World;
use crate::util::proc::wait_for;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

/// A world backing up `buh` by copy, its target (named `offsite`) a
/// folder, drills from `drill_from`.
fn world(drill_from: &str) -> (World, PathBuf) {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    let copies = w.dir.path().join("copies");
    w.set("OFFSITE_URL", &copies.display().to_string());
    w.set("BACKUP_DRILL_FROM", drill_from);
    (w, copies)
}

/// One backup that must succeed; `extra` e.g. `--no-offsite`.
fn backup(w: &World, extra: &[&str]) {
    let (code, v, err) = w.json(&[&["backup", "--force", "--json"], extra].concat(), &[]);
    assert_eq!(code, 0, "{v}\n{err}");
}

/// `drill --json <extra>`: exit code, result, stderr.
fn drill(w: &World, extra: &[&str]) -> (i32, serde_json::Value, String) {
    w.json(&[&["drill", "--json"], extra].concat(), &[])
}

/// The recorded drills, oldest first: (source, status, trigger).
fn rows(w: &World) -> Vec<(String, String, String)> {
    let c = rusqlite::Connection::open(w.backups.join("app.sqlite3")).unwrap();
    let mut s = c
        .prepare("SELECT source, status, \"trigger\" FROM drills ORDER BY id")
        .unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn row(source: &str, status: &str, trigger: &str) -> (String, String, String) {
    (source.into(), status.into(), trigger.into())
}

/// Nothing left in the drill folder (downloads and scratch folders).
fn drill_dir_is_empty(w: &World) {
    let left: Vec<_> = fs::read_dir(w.backups.join("drill"))
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn alternate_drills_local_then_offsite_then_local_and_the_agent_takes_the_next_turn() {
    let (w, copies) = world("alternate");
    backup(&w, &[]);
    assert!(copies.join("buh").is_dir(), "the backup uploaded its copy");

    let (code, first, err) = drill(&w, &[]);
    assert_eq!(code, 0, "{first}\n{err}");
    assert_eq!(first["status"], "ok", "{first}");
    assert_eq!(first["source"], "local", "{first}");
    assert!(
        first["detail"]
            .as_str()
            .unwrap()
            .starts_with("copy restored"),
        "{first}"
    );

    let (code, second, err) = drill(&w, &[]);
    assert_eq!(code, 0, "{second}\n{err}");
    assert_eq!(second["status"], "ok", "{second}");
    assert_eq!(second["source"], "offsite", "{second}");
    assert!(
        second["detail"]
            .as_str()
            .unwrap()
            .starts_with("from the copy on offsite target offsite: copy restored"),
        "{second}"
    );
    assert_eq!(
        second["run_id"], first["run_id"],
        "the same run, fetched back"
    );

    // The human form names the copy too.
    let out = w.cmd().arg("drill").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("restore drill of buh: OK in "), "{text}");
    assert!(
        !text.contains("from the copy"),
        "the third goes local: {text}"
    );

    assert_eq!(
        rows(&w),
        vec![
            row("local", "ok", "cli"),
            row("offsite", "ok", "cli"),
            row("local", "ok", "cli"),
        ]
    );
    drill_dir_is_empty(&w);

    // `--from` still overrides the setting: local again, out of turn.
    let (code, forced, _) = drill(&w, &["--from", "local"]);
    assert_eq!((code, forced["source"].as_str()), (0, Some("local")));
    // The agent's scheduled drill (caught up at start) takes the next turn
    // from the history: the copy. The console drills are made older first,
    // so the one due a minute ago counts as missed.
    w.backdate("UPDATE drills SET started = ?1, finished = ?1", 2);
    let cron = crate::util::daily_cron_at(jiff::SignedDuration::from_mins(-1));
    let agent = w.agent(&[("BACKUP_DRILL_SCHEDULE", &cron)]);
    wait_for("the scheduled drill", Duration::from_secs(60), || {
        rows(&w).len() == 5
    });
    let last = rows(&w).pop().unwrap();
    assert_eq!(last, row("offsite", "ok", "schedule"), "{}", agent.stderr());
    drop(agent);
    drill_dir_is_empty(&w);
}

#[test]
fn a_target_without_a_copy_skips_alone_and_gives_its_alternate_turn_to_local() {
    let (mut w, _copies) = world("offsite");
    backup(&w, &["--no-offsite"]);

    // The target alone: skipped (not failed), and says why.
    let (code, d, err) = drill(&w, &[]);
    assert_eq!(code, 1, "{d}\n{err}");
    assert_eq!(d["status"], "skipped", "{d}");
    assert_eq!(d["source"], "offsite", "{d}");
    let reason = d["reason"].as_str().unwrap();
    assert!(
        reason.contains("no successful backup of buh has a copy on offsite target offsite"),
        "{reason}"
    );

    // Alternate: local first (never drilled), then the target's turn
    // falls back to the local archive, and the row says so.
    w.set("BACKUP_DRILL_FROM", "alternate");
    let (code, d, _) = drill(&w, &[]);
    assert_eq!((code, d["source"].as_str()), (0, Some("local")), "{d}");
    assert!(!d["detail"].as_str().unwrap().contains("holds no copy"));
    for _ in 0..2 {
        let (code, d, err) = drill(&w, &[]);
        assert_eq!(code, 0, "{d}\n{err}");
        assert_eq!(d["status"], "ok", "{d}");
        assert_eq!(d["source"], "local", "{d}");
        let detail = d["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(
                "the local archive was drilled: offsite target offsite holds no copy of buh yet"
            ),
            "{detail}"
        );
        assert!(detail.contains("copy restored"), "{detail}");
    }
    // Once the copy is there, the target's turn drills it.
    let (code, v, err) = w.json(&["offsite", "push", "--json"], &[]);
    assert_eq!(code, 0, "{v}\n{err}");
    let (code, d, err) = drill(&w, &[]);
    assert_eq!(code, 0, "{d}\n{err}");
    assert_eq!(d["source"], "offsite", "{d}");
    assert_eq!(
        rows(&w).iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["offsite", "local", "local", "local", "offsite"]
    );
    drill_dir_is_empty(&w);
}

#[test]
fn an_unknown_drill_source_is_a_configuration_error() {
    let (w, _copies) = world("nas");
    for args in [&["config", "check"][..], &["drill"][..]] {
        let out = w.cmd().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        let text = format!("{stdout}{stderr}");
        assert!(text.contains("BACKUP_DRILL_FROM"), "{text}");
        assert!(
            text.contains(
                "local, alternate or an offsite target that copies base buh (targets: offsite)"
            ),
            "{text}"
        );
    }
    // `--from` names a target too.
    let (w, _copies) = world("local");
    let out = w.cmd().args(["drill", "--from", "nas"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `/drill` in Telegram follows the setting: the answer names the source
/// (in Russian, the default), the notice says the copy was drilled, and
/// the row records it.
#[test]
fn telegram_drill_takes_the_alternate_turn_and_says_so() {
    use crate::util::fake_telegram::{FakeTelegram, check_html};
    const ADMIN: i64 = 111;
    let (w, _copies) = world("alternate");
    backup(&w, &[]);
    let (code, d, _) = drill(&w, &[]);
    assert_eq!((code, d["source"].as_str()), (0, Some("local")), "{d}");
    let tg = FakeTelegram::start();
    let agent = tg.agent(&w, "123:TESTSECRETTOKENxyz", ADMIN, &[]);
    tg.send_text(ADMIN, "/drill buh");
    let started = tg.wait_message(
        ADMIN,
        "копия на внешней цели <b>offsite</b>",
        Duration::from_secs(30),
    );
    check_html(&started.text()).unwrap();
    assert!(started.text().contains("<b>buh</b>"), "{}", started.text());
    let notice = tg.wait_message(
        ADMIN,
        "from the copy on offsite target offsite",
        Duration::from_secs(60),
    );
    check_html(&notice.text()).unwrap();
    assert!(notice.text().starts_with('✅'), "{}", notice.text());
    assert_eq!(
        rows(&w).pop().unwrap(),
        row("offsite", "ok", "telegram"),
        "{}",
        agent.stderr()
    );
    drop(agent);
    drill_dir_is_empty(&w);
}
