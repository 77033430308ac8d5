//! The Telegram bot end to end: the real `onec-backup-bot run` against the
//! fake Bot API server (`fake_telegram`) and the fake `1cv8`, checked as a
//! user would see it — replies, the confirmation flow, progress edits,
//! explained failures, access control, HTML escaping, recovery after 429
//! and 5xx, notifications for CLI backups, charts, and no token in logs.

use crate::util::fake_telegram::{Call, Failure, FakeTelegram, check_html};
use crate::util::proc::free_port;
use crate::util::{Agent, World, daily_cron_at, ok_stdout};
use std::time::{Duration, Instant};

const TOKEN: &str = "123:TESTSECRETTOKENxyz";
const ADMIN: i64 = 111;
const STRANGER: i64 = 222;
/// A group listed in `TELEGRAM_ALLOWED_CHAT_IDS` by the tests that need one.
const GROUP: i64 = -100_500;
/// A group nobody listed.
const OTHER_GROUP: i64 = -100_600;
const T: Duration = Duration::from_secs(30);

/// The agent with the bot on, talking to `tg`, only [`ADMIN`] allowed
/// (`extra` may change any of that). When it is dropped after a test that
/// passed, its stderr must not show the token.
struct Bot(Agent);

impl Bot {
    fn start(w: &World, tg: &FakeTelegram, extra: &[(&str, &str)]) -> Bot {
        let logs = w.dir.path().join("logs").display().to_string();
        let mut vars = vec![("LOG_DIR", logs.as_str())];
        vars.extend_from_slice(extra);
        Bot(tg.agent(w, TOKEN, ADMIN, &vars))
    }

    fn stderr(&self) -> String {
        self.0.stderr()
    }

    /// A fake Bot API server and the agent talking to it, ready for
    /// updates.
    fn ready(w: &World, extra: &[(&str, &str)]) -> (FakeTelegram, Bot) {
        let tg = FakeTelegram::start();
        let bot = Bot::start(w, &tg, extra);
        bot.wait_ready(&tg);
        (tg, bot)
    }

    /// [`Bot::ready`] with [`GROUP`] in `TELEGRAM_ALLOWED_CHAT_IDS`.
    fn ready_with_group(w: &World) -> (FakeTelegram, Bot) {
        let group = GROUP.to_string();
        Bot::ready(w, &[("TELEGRAM_ALLOWED_CHAT_IDS", group.as_str())])
    }

    /// Wait until the bot polls (it is ready for updates).
    fn wait_ready(&self, tg: &FakeTelegram) {
        let deadline = Instant::now() + T;
        while !tg.calls().iter().any(|c| c.method == "getUpdates") {
            assert!(
                Instant::now() < deadline,
                "the bot never polled; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.0.kill();
        let log = self.stderr();
        if !std::thread::panicking() {
            assert!(!log.contains(TOKEN), "the token leaked into stderr:\n{log}");
            assert!(!log.contains("TESTSECRETTOKEN"), "{log}");
        }
    }
}

fn world() -> World {
    let mut w = World::new(64);
    w.set("BACKUP_METHOD", "copy");
    w
}

/// A `config.yaml` with the one base of `w` named `name`, backed up by
/// `method`.
fn one_base(w: &World, name: &str, method: &str) {
    std::fs::write(
        w.dir.path().join("config.yaml"),
        format!(
            "bases:\n  - name: {name:?}\n    path: {:?}\n    method: {method}\n",
            w.base.display().to_string()
        ),
    )
    .unwrap();
}

fn edits(tg: &FakeTelegram, message_id: i64) -> Vec<String> {
    tg.calls_of("editMessageText")
        .iter()
        .filter(|c| c.params["message_id"].as_i64() == Some(message_id))
        .map(Call::text)
        .collect()
}

/// Send `/backup`, check the confirmation keyboard; return its message id
/// and the data of its "Да" and "Нет" buttons.
fn confirm_message(tg: &FakeTelegram, chat: i64) -> (i64, String, String) {
    confirm_message_in(tg, ADMIN, chat, "private")
}

/// [`confirm_message`] for `/backup` sent by `user` in `chat` of `kind`.
fn confirm_message_in(
    tg: &FakeTelegram,
    user: i64,
    chat: i64,
    kind: &str,
) -> (i64, String, String) {
    let before = tg.calls_of("sendMessage").len();
    tg.send_text_in(user, chat, kind, "/backup");
    let deadline = Instant::now() + T;
    loop {
        let sent = tg.calls_of("sendMessage");
        if let Some(c) = sent[before.min(sent.len())..]
            .iter()
            .find(|c| c.chat() == chat && c.params.get("reply_markup").is_some())
        {
            let row = &c.params["reply_markup"]["inline_keyboard"][0];
            assert_eq!(row[0]["text"], "Да", "{row}");
            assert_eq!(row[1]["text"], "Нет", "{row}");
            let data = |i: usize| row[i]["callback_data"].as_str().unwrap().to_string();
            assert!(data(0).starts_with("bk:y:0:"), "{row}");
            return (c.message_id(), data(0), data(1));
        }
        assert!(Instant::now() < deadline, "no confirmation: {sent:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn commands_answer_an_allowed_user() {
    let w = world();
    let (tg, _bot) = Bot::ready(&w, &[]);

    // The menu is registered in both languages.
    let menus = tg.wait_for(T, "setMyCommands en", |c| {
        c.method == "setMyCommands" && c.params["language_code"] == "en"
    });
    assert!(menus.params["commands"].to_string().contains("chart"));
    tg.wait_for(T, "setMyCommands ru", |c| {
        c.method == "setMyCommands"
            && c.params["language_code"] == "ru"
            && c.params["commands"].to_string().contains("резервную")
    });

    tg.send_text(ADMIN, "/start");
    tg.wait_message(ADMIN, "/backup [база]", T);
    tg.send_text(ADMIN, "/status");
    tg.wait_message(ADMIN, "Запусков ещё не было", T);
    tg.send_text(ADMIN, "/health");
    let h = tg.wait_message(ADMIN, "Состояние сервера", T);
    for part in [
        "CPU",
        "Память",
        "Диск копий",
        "RDP",
        "Клиенты 1С",
        "ещё не было",
    ] {
        assert!(h.text().contains(part), "{part} missing in {}", h.text());
    }
    // /lastlog sends the agent's own log (LOG_DIR/backup.log) as a file.
    tg.send_text(ADMIN, "/lastlog");
    let doc = tg.wait_for(T, "the log document", |c| c.method == "sendDocument");
    let body = String::from_utf8_lossy(&doc.files[0].2).to_string();
    assert!(body.contains("Telegram bot @"), "{body}");
    assert!(!body.contains("TESTSECRETTOKEN"), "{body}");
    // Only the last 100 lines go out, even when the agent logs meanwhile.
    let log = w.dir.path().join("logs").join("backup.log");
    let text: String = (1..=150).map(|i| format!("log line {i:03}\n")).collect();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .unwrap();
    tg.send_text(ADMIN, "/lastlog");
    let doc = tg.wait_for(T, "the second log document", |c| {
        c.method == "sendDocument"
            && String::from_utf8_lossy(&c.files[0].2).contains("log line 150")
    });
    let body = String::from_utf8_lossy(&doc.files[0].2).to_string();
    assert_eq!(body.lines().count(), 100, "{body}");
    assert!(!body.contains("log line 050"), "{body}");

    // Each command and the replies it must get.
    for (command, replies) in [
        ("/list", &["Архивов базы <b>buh</b> пока нет"][..]),
        ("/disk", &["<b>Диски</b>"]),
        ("/top", &["Топ по CPU", "Топ по памяти"]),
        ("/sessions", &["<b>Сеансы</b>", "Клиенты 1С"]),
        ("/bases", &["• <b>buh</b> (copy)"]),
        (
            "/schedule",
            &["<b>buh</b>: расписание не задано — только ручные копии"],
        ),
        ("/nosuch", &["Неизвестная команда"]),
        ("/list nosuch", &["Настроены: buh"]),
    ] {
        tg.send_text(ADMIN, command);
        for reply in replies {
            tg.wait_message(ADMIN, reply, T);
        }
    }
    // Every reply is HTML.
    for c in tg.calls_of("sendMessage") {
        assert_eq!(c.params["parse_mode"], "HTML", "{c:?}");
    }
}

#[test]
fn english_when_bot_language_is_en() {
    let w = world();
    let (tg, _bot) = Bot::ready(&w, &[("BOT_LANGUAGE", "en")]);
    tg.send_text(ADMIN, "/status");
    tg.wait_message(ADMIN, "No runs yet", T);
    let default_menu = tg.wait_for(T, "default menu", |c| {
        c.method == "setMyCommands" && c.params.get("language_code").is_none()
    });
    assert!(
        default_menu.params["commands"]
            .to_string()
            .contains("Back up now")
    );
}

#[test]
fn backup_asks_then_edits_one_message_until_done() {
    let mut w = world();
    w.set("BACKUP_METHOD", "dump");
    let (tg, _bot) = Bot::ready(
        &w,
        &[("FAKE_1C_MODE", "slow"), ("FAKE_1C_SLEEP_MS", "3500")],
    );

    // "No" cancels and nothing runs.
    let (id, _, no) = confirm_message(&tg, ADMIN);
    tg.press(ADMIN, ADMIN, id, &no);
    tg.wait_for(T, "the cancel edit", |c| {
        c.method == "editMessageText" && c.text().contains("отменена")
    });
    tg.wait_for(T, "the answered button", |c| {
        c.method == "answerCallbackQuery"
    });
    assert!(w.runs().is_empty());

    // An old "Yes" (asked 11 minutes ago) does nothing but say so.
    let (id, _, _) = confirm_message(&tg, ADMIN);
    let old = format!("bk:y:0:{}", jiff::Timestamp::now().as_second() - 660);
    tg.press(ADMIN, ADMIN, id, &old);
    tg.wait_for(T, "the expired edit", |c| {
        c.method == "editMessageText" && c.text().contains("устарело")
    });
    assert!(w.runs().is_empty());

    // "Yes" starts it; the same message follows the stages.
    let (id, yes, _) = confirm_message(&tg, ADMIN);
    tg.press(ADMIN, ADMIN, id, &yes);
    tg.wait_for(T, "a progress edit", |c| {
        c.method == "editMessageText" && c.text().contains("выгрузка 1С")
    });
    // While it runs, a second /backup says so with the stage.
    tg.send_text(ADMIN, "/backup");
    tg.wait_message(ADMIN, "уже выполняется", T);
    let done = tg.wait_for(Duration::from_secs(60), "the final edit", |c| {
        c.method == "editMessageText" && c.text().contains("готова")
    });
    assert_eq!(done.params["message_id"].as_i64(), Some(id));
    let text = done.text();
    assert!(
        text.contains("Размер:") && text.contains("Длительность:"),
        "{text}"
    );
    assert!(text.contains(&w.backups.display().to_string()), "{text}");
    let all = edits(&tg, id);
    assert!(all.len() >= 2, "{all:?}");
    // Edits are throttled: at most one per ~2 s, the final one included.
    let at: Vec<Instant> = tg
        .calls_of("editMessageText")
        .iter()
        .filter(|c| c.params["message_id"].as_i64() == Some(id))
        .map(|c| c.at)
        .collect();
    for pair in at.windows(2) {
        assert!(
            pair[1].duration_since(pair[0]) >= Duration::from_millis(1900),
            "{all:?}"
        );
    }
    let h = w.runs();
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0]["trigger"], "telegram");
    assert_eq!(h[0]["status"], "ok");
    // The one who pressed "Yes" got no duplicate notice.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !tg.calls_of("sendMessage")
            .iter()
            .any(|c| c.text().contains("готова")),
        "duplicate notice"
    );
}

#[test]
fn a_failure_is_explained_with_the_1c_log() {
    let mut w = world();
    w.set("BACKUP_METHOD", "dump");
    let (tg, _bot) = Bot::ready(&w, &[("FAKE_1C_MODE", "lock")]);
    let (id, yes, _) = confirm_message(&tg, ADMIN);
    tg.press(ADMIN, ADMIN, id, &yes);
    let failed = tg.wait_for(Duration::from_secs(60), "the failure edit", |c| {
        c.method == "editMessageText" && c.text().contains("не удалась")
    });
    let text = failed.text();
    assert!(text.contains("монопольно"), "{text}");
    assert!(text.contains("<pre>"), "{text}");
    assert!(!text.contains(crate::util::PASSWORD), "{text}");
    assert_eq!(w.runs()[0]["status"], "failed");
}

#[test]
fn a_stranger_is_denied_once_and_nothing_runs() {
    let w = world();
    let (tg, agent) = Bot::ready(&w, &[]);
    tg.send_text(STRANGER, "/backup");
    let reply = tg.wait_message(STRANGER, "Доступ запрещён", T);
    assert!(reply.text().contains(&STRANGER.to_string()));
    tg.send_text(STRANGER, "/status");
    tg.send_text(STRANGER, "my secret words");
    // A group command from the stranger is not answered either.
    tg.send_text_in(STRANGER, -100, "group", "/backup");
    // The admin still gets answers, proving the later updates were handled.
    tg.send_text(ADMIN, "/schedule");
    tg.wait_message(ADMIN, "Расписание", T);
    std::thread::sleep(Duration::from_secs(1));
    let to_stranger = tg.messages_to(&[STRANGER, -100]);
    assert_eq!(to_stranger.len(), 1, "{to_stranger:?}");
    assert!(w.runs().is_empty());
    let log = agent.stderr();
    assert!(
        log.contains("access denied") && log.contains("222"),
        "{log}"
    );
    assert!(log.contains("/backup"), "{log}");
    assert!(!log.contains("secret words"), "{log}");
}

#[test]
fn an_empty_allow_list_denies_everyone() {
    let w = world();
    let (tg, agent) = Bot::ready(&w, &[("ALLOWED_USER_IDS", "")]);
    tg.send_text(ADMIN, "/backup");
    let r = tg.wait_message(ADMIN, "Доступ запрещён", T);
    assert!(r.text().contains("111"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(tg.calls_of("sendMessage").len() == 1);
    assert!(w.runs().is_empty());
    assert!(agent.stderr().contains("DENIES EVERYONE"));
}

#[test]
fn base_names_are_escaped() {
    let w = world();
    one_base(&w, "<Тест & Co>", "copy");
    let (tg, _bot) = Bot::ready(&w, &[]);
    tg.send_text(ADMIN, "/bases");
    let r = tg.wait_message(ADMIN, "&lt;Тест &amp; Co&gt;", T);
    assert!(!r.text().contains("<Тест"), "{}", r.text());
    tg.send_text(ADMIN, "/backup <Тест & Co>");
    let c = tg.wait_message(
        ADMIN,
        "Сделать резервную копию базы <b>&lt;Тест &amp; Co&gt;</b>",
        T,
    );
    let kb = c.params["reply_markup"].to_string();
    assert!(kb.contains("bk:y:"), "{kb}");
    tg.send_text(ADMIN, "/list <Тест & Co>");
    tg.wait_message(
        ADMIN,
        "Архивов базы <b>&lt;Тест &amp; Co&gt;</b> пока нет",
        T,
    );
}

#[test]
fn recovers_after_429_and_5xx() {
    let w = world();
    let (tg, agent) = Bot::ready(&w, &[]);
    tg.fail_next(2, Failure::RetryAfter(1));
    tg.send_text(ADMIN, "/schedule");
    tg.wait_message(ADMIN, "Расписание", T);
    tg.fail_next(1, Failure::ServerError);
    tg.send_text(ADMIN, "/bases");
    // (The /schedule reply names the base too: wait for the /bases line.)
    tg.wait_message(ADMIN, "• <b>buh</b> (copy)", Duration::from_secs(60));
    let failed = tg.calls().iter().filter(|c| c.failed).count();
    assert_eq!(failed, 3);
    assert!(agent.stderr().contains("retrying"), "{}", agent.stderr());
}

#[test]
fn cli_backups_are_notified() {
    let w = world();
    let (tg, agent) = Bot::ready(&w, &[]);
    ok_stdout(w.cmd().arg("backup").output().unwrap());
    let n = tg.wait_message(ADMIN, "готова", T);
    assert!(
        n.text().contains("<b>buh</b>") && n.text().contains("cli"),
        "{}",
        n.text()
    );
    // Only once, however often the history is polled (every 5 s).
    std::thread::sleep(Duration::from_secs(12));
    let count = tg
        .calls_of("sendMessage")
        .iter()
        .filter(|c| c.text().contains("готова"))
        .count();
    assert_eq!(count, 1);
    drop(agent);
}

#[test]
fn scheduled_backups_are_notified() {
    let w = world();
    let (tg, _bot) = Bot::ready(&w, &[("BACKUP_SCHEDULE", "*/3 * * * * *")]);
    let n = tg.wait_message(ADMIN, "готова", T);
    assert!(n.text().contains("<b>buh</b>"), "{}", n.text());
    assert!(n.text().contains("schedule"), "{}", n.text());
}

#[test]
fn low_disk_and_overdue_backups_alert_once() {
    let w = world();
    // One good backup, 30 hours ago.
    w.cmd().arg("backup").assert().success();
    w.backdate_runs(30);
    // A daily schedule far from now (no catch-up run), and a free-space
    // threshold no disk can meet.
    let cron = daily_cron_at(jiff::SignedDuration::from_hours(12));
    let (tg, _bot) = Bot::ready(
        &w,
        &[
            ("BACKUP_SCHEDULE", &cron),
            ("BACKUP_MIN_FREE_PERCENT", "100"),
            ("BACKUP_MAX_AGE_HOURS", "26"),
        ],
    );
    let disk = tg.wait_message(ADMIN, "Мало места", T);
    assert!(disk.text().contains("порог 100 %"), "{}", disk.text());
    let stale = tg.wait_message(ADMIN, "нет удачной копии уже", T);
    assert!(stale.text().contains("<b>buh</b>"), "{}", stale.text());
    assert!(stale.text().contains("порог 26 ч"), "{}", stale.text());
    // Checked every 30 s, told at most once an hour.
    std::thread::sleep(Duration::from_secs(35));
    for needle in ["Мало места", "нет удачной копии"] {
        let n = tg
            .calls_of("sendMessage")
            .iter()
            .filter(|c| c.text().contains(needle))
            .count();
        assert_eq!(n, 1, "{needle}");
    }
    assert_eq!(w.runs().len(), 1, "no backup was started: {:?}", w.runs());
}

#[test]
fn chart_is_a_png() {
    let w = world();
    let (tg, _bot) = Bot::ready(&w, &[]);
    tg.send_text(ADMIN, "/chart abc");
    tg.wait_message(ADMIN, "не число часов", T);
    // A fresh agent has one sample at most: a sentence, not empty axes
    // with one time label repeated (issue 15).
    tg.send_text(ADMIN, "/chart 2");
    tg.wait_message(ADMIN, "Данных для графика", T);
    assert!(tg.calls_of("sendPhoto").is_empty());
    // A sample from ten minutes ago, as if the agent had run then; with
    // the agent's own (stored as soon as the sampler has one) there are two.
    onec_backup_bot::backup::history::History::open(&w.backups.join("app.sqlite3"))
        .unwrap()
        .insert_sample(&onec_backup_bot::backup::history::Sample {
            ts: jiff::Timestamp::now().as_second() - 600,
            cpu: Some(10.0),
            mem: Some(20.0),
            disk: Some(30.0),
            rdp: None,
            onec_users: None,
        })
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        tg.send_text(ADMIN, "/chart 2");
        std::thread::sleep(Duration::from_secs(3));
        if !tg.calls_of("sendPhoto").is_empty() || Instant::now() > deadline {
            break;
        }
    }
    let photo = tg.wait_for(Duration::from_secs(60), "the chart", |c| {
        c.method == "sendPhoto"
    });
    let (field, name, bytes) = &photo.files[0];
    assert_eq!(photo.params["photo"], format!("attach://{field}"));
    assert_eq!(name, "chart.png");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 5000, "{}", bytes.len());
    assert!(photo.text().contains("2 ч"), "{}", photo.text());
}

#[test]
fn an_unreachable_api_is_retried_without_leaking_the_token() {
    let w = world();
    let tg = FakeTelegram::start();
    // Nothing listens on this port.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let agent = Bot::start(&w, &tg, &[("TELEGRAM_API_URL", url.as_str())]);
    let deadline = Instant::now() + T;
    while !agent.stderr().contains("not reachable yet") {
        assert!(Instant::now() < deadline, "{}", agent.stderr());
        std::thread::sleep(Duration::from_millis(200));
    }
    // Backups still work while Telegram is down.
    ok_stdout(w.cmd().arg("backup").output().unwrap());
    let log = agent.stderr();
    assert!(!log.contains(TOKEN), "{log}");
    assert!(!log.contains("TESTSECRETTOKEN"), "{log}");
}

#[test]
fn schedule_says_each_base_in_words_with_its_next_runs() {
    let w = world();
    let (tg, _bot) = Bot::ready(
        &w,
        &[
            ("BACKUP_SCHEDULE", "0 23 * * *"),
            ("BACKUP_QUIET_HOURS", "00:00-07:59"),
        ],
    );
    tg.send_text(ADMIN, "/schedule");
    let r = tg.wait_message(ADMIN, "каждый день в 23:00", T);
    let text = r.text();
    assert!(!text.contains("не задано"), "{text}");
    for part in [
        "<b>Расписание</b>",
        "Часовой пояс: ",
        "<b>buh</b>: каждый день в 23:00 (<code>0 23 * * *</code>)",
        "тихие часы: 00:00-07:59",
        "ближайшие запуски:",
    ] {
        assert!(text.contains(part), "{part} missing in {text}");
    }
    let runs: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("    ") && l.contains(" 23:00 ("))
        .collect();
    assert_eq!(runs.len(), 3, "{text}");
}

#[test]
fn plain_text_from_an_allowed_user_gets_the_help() {
    let w = world();
    let (tg, bot) = Bot::ready(&w, &[]);
    tg.send_text(ADMIN, "привет, что ты умеешь?");
    tg.wait_message(ADMIN, "/backup [база]", T);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !tg.calls_of("sendMessage")
            .iter()
            .any(|c| c.text().contains("Доступ запрещён")),
        "{:?}",
        tg.calls_of("sendMessage")
    );
    let log = bot.stderr();
    assert!(!log.contains("access denied"), "{log}");
}

#[test]
fn groups_are_answered_only_when_listed_and_only_to_allowed_users() {
    let w = world();
    let (tg, bot) = Bot::ready_with_group(&w);
    // A group nobody listed: not even the admin is answered.
    tg.send_text_in(ADMIN, OTHER_GROUP, "group", "/lastlog");
    tg.send_text_in(STRANGER, OTHER_GROUP, "group", "/status");
    // The listed group: a stranger is not answered, the admin is.
    tg.send_text_in(STRANGER, GROUP, "group", "/sessions");
    tg.send_text_in(ADMIN, GROUP, "group", "/bases");
    tg.wait_message(GROUP, "• <b>buh</b> (copy)", T);
    // A private chat still works as before.
    tg.send_text(ADMIN, "/status");
    tg.wait_message(ADMIN, "Запусков ещё не было", T);
    std::thread::sleep(Duration::from_secs(1));
    let sent: Vec<Call> = tg
        .calls()
        .into_iter()
        .filter(|c| ["sendMessage", "sendDocument", "sendPhoto"].contains(&c.method.as_str()))
        .collect();
    let to_groups: Vec<&Call> = sent.iter().filter(|c| c.chat() < 0).collect();
    assert_eq!(to_groups.len(), 1, "{to_groups:?}");
    assert_eq!(to_groups[0].chat(), GROUP);
    assert!(!sent.iter().any(|c| c.chat() == STRANGER), "{sent:?}");
    let log = bot.stderr();
    assert!(
        log.contains("TELEGRAM_ALLOWED_CHAT_IDS") && log.contains(&OTHER_GROUP.to_string()),
        "{log}"
    );
    assert!(
        log.contains("/sessions") && log.contains("access denied"),
        "{log}"
    );
}

#[test]
fn a_stranger_pressing_a_button_is_refused_and_nothing_runs() {
    let w = world();
    let (tg, bot) = Bot::ready_with_group(&w);
    // In the admin's private chat (a forwarded button) and in a listed group.
    let (id, yes, _) = confirm_message(&tg, ADMIN);
    tg.press(STRANGER, ADMIN, id, &yes);
    let (gid, gyes, _) = confirm_message_in(&tg, ADMIN, GROUP, "group");
    tg.press_in(STRANGER, GROUP, "group", gid, &gyes);
    let deadline = Instant::now() + T;
    while tg.calls_of("answerCallbackQuery").len() < 2 {
        assert!(Instant::now() < deadline, "{:?}", tg.calls());
        std::thread::sleep(Duration::from_millis(100));
    }
    for a in tg.calls_of("answerCallbackQuery") {
        let text = a.params["text"].as_str().unwrap_or("").to_string();
        assert!(text.contains("Нет доступа"), "{text}");
        assert!(!text.contains("<"), "{text}");
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        tg.calls_of("editMessageText").is_empty(),
        "{:?}",
        tg.calls()
    );
    assert!(w.runs().is_empty(), "{:?}", w.runs());
    let log = bot.stderr();
    assert!(
        log.contains("access denied") && log.contains("(button)"),
        "{log}"
    );
}

#[test]
fn a_long_failure_notice_is_split_into_valid_html() {
    let w = world();
    // A base whose name alone, escaped, is longer than one message.
    let name = "Склад & <Опт> ".repeat(300);
    one_base(&w, name.trim_end(), "dump");
    let (tg, _bot) = Bot::ready(
        &w,
        &[
            ("FAKE_1C_MODE", "lock"),
            ("BACKUP_SCHEDULE", "*/3 * * * * *"),
        ],
    );
    // The notice of the first failed run: its head, then the explanation
    // and the 1C log in <pre> in a later part.
    let head = tg.wait_message(
        ADMIN,
        "❌ Копия базы <b>Склад &amp; &lt;Опт&gt;",
        Duration::from_secs(60),
    );
    let tail = tg.wait_for(Duration::from_secs(60), "the notice's log part", |c| {
        c.method == "sendMessage" && c.chat() == ADMIN && c.text().contains("</pre>")
    });
    assert!(tail.message_id() > head.message_id());
    let parts: Vec<Call> = tg
        .calls_of("sendMessage")
        .into_iter()
        .filter(|c| c.message_id() >= head.message_id() && c.message_id() <= tail.message_id())
        .collect();
    assert!(parts.len() >= 2, "{parts:?}");
    for p in &parts {
        check_html(&p.text()).unwrap_or_else(|e| panic!("{e}: {}", p.text()));
    }
    // A cut inside the bold name reopens it in the next part.
    assert!(parts[1].text().starts_with("<b>"), "{}", parts[1].text());
    assert!(
        parts.iter().any(|p| p.text().contains("монопольно")),
        "{parts:?}"
    );
    assert!(tg.rejected().is_empty(), "{:?}", tg.rejected());
}

/// Telegram away for a simulated 10 minutes (every call answered with 502,
/// 429 `retry_after` 30 s or a dropped connection; the bot's retry waits
/// divided by 30 through its test-only time scale, so 20 s here): backups
/// and the API are not delayed, and once Telegram is back the notice of
/// the backup made during the outage arrives, once.
#[test]
fn a_ten_minute_telegram_outage_delays_nothing_and_loses_no_notice() {
    let w = world();
    let (tg, bot) = Bot::ready(&w, &[("ONEC_TEST_TELEGRAM_TIME_SCALE", "30")]);
    let outage = Duration::from_secs(20);
    let began = Instant::now();
    tg.outage(outage);
    let t = Instant::now();
    ok_stdout(w.cmd().arg("backup").output().unwrap());
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    let t = Instant::now();
    let health = crate::util::http::get(bot.0.port, "/api/health");
    assert_eq!(health.status, 200, "{}", health.text());
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let n = tg.wait_message(ADMIN, "готова", Duration::from_secs(90));
    assert!(n.at >= began + outage, "delivered during the outage?");
    let failed = tg.calls().iter().filter(|c| c.failed).count();
    let seen: Vec<String> = tg
        .calls()
        .iter()
        .map(|c| format!("{} {}", c.method, c.failed))
        .collect();
    assert!(
        failed >= 5,
        "the outage was never seen: {failed} failed call(s): {seen:?}\n{}",
        bot.stderr()
    );
    std::thread::sleep(Duration::from_secs(3));
    let count = tg
        .calls_of("sendMessage")
        .iter()
        .filter(|c| c.text().contains("готова"))
        .count();
    assert_eq!(count, 1, "delivered more than once");
    assert!(
        bot.stderr().contains("not delivered yet"),
        "{}",
        bot.stderr()
    );
}
