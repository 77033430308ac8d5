//! The texts' own checks, and the words for schedules pinned end to end
//! (parsed by the schedule module, said here).

use super::*;
use crate::schedule::Schedule;
use rstest::rstest;

#[test]
fn both_languages_list_every_command_and_escape_values() {
    for t in [&RU, &EN] {
        assert_eq!(t.commands.len(), 15);
        let s = (t.confirm)("<Тест & Co>");
        assert!(s.contains("&lt;Тест &amp; Co&gt;"), "{s}");
        assert!((t.denied)(42).contains("42"));
    }
    assert_eq!(texts("en").code, "en");
    assert_eq!(texts("ru").code, "ru");
    assert_eq!(texts("de").code, "ru");
}

#[test]
fn escapes_html() {
    assert_eq!(esc("<Тест & Co>"), "&lt;Тест &amp; Co&gt;");
}

#[test]
fn every_stage_key_has_words_and_unknown_keys_pass_through() {
    let keys = [
        "preparing",
        "dumping",
        "packing",
        "verifying",
        "publishing",
        "pruning",
    ];
    for k in keys {
        // Russian words differ from every key; English ones may equal it.
        assert_ne!((RU.stage)(k), k);
    }
    for t in [&RU, &EN] {
        assert_eq!((t.stage)("future"), "future");
    }
    assert_eq!((RU.stage)("dumping"), "выгрузка 1С");
    assert_eq!((EN.stage)("dumping"), "1C dump");
    assert_eq!((EN.stage)("publishing"), "saving");
}

fn describe(s: &Schedule, t: &Texts) -> String {
    s.describe(
        t.schedule_every_minutes,
        t.schedule_every_hour_at,
        t.schedule_at,
        t.schedule_cron,
    )
}

#[rstest]
#[case(
    "5 13,18 * * *",
    "каждый день в 13:05 и 18:05",
    "every day at 13:05 and 18:05"
)]
#[case("0 30 23 * * *", "каждый день в 23:30", "every day at 23:30")]
#[case("15 0 3 * * *", "каждый день в 03:00:15", "every day at 03:00:15")]
#[case(
    "0 8,12,18 * * *",
    "каждый день в 08:00, 12:00 и 18:00",
    "every day at 08:00, 12:00 and 18:00"
)]
#[case("* * * * *", "каждую минуту", "every minute")]
#[case("*/5 * * * *", "каждые 5 минут", "every 5 minutes")]
#[case("*/2 * * * *", "каждые 2 минуты", "every 2 minutes")]
#[case("15 * * * *", "каждый час в :15", "every hour at :15")]
#[case("0,30 * * * *", "каждый час в :00 и :30", "every hour at :00 and :30")]
#[case("0 9 * * 1-5", "по будням в 09:00", "on weekdays at 09:00")]
#[case("0 10 * * sat,sun", "по выходным в 10:00", "on weekends at 10:00")]
#[case(
    "0 9 * * FRI,MON",
    "по понедельникам и пятницам в 09:00",
    "every Monday and Friday at 09:00"
)]
#[case(
    "0 0 1 * *",
    "по расписанию cron: 0 0 1 * *",
    "cron schedule: 0 0 1 * *"
)]
#[case(
    "*/7 * * * *",
    "по расписанию cron: */7 * * * *",
    "cron schedule: */7 * * * *"
)]
#[case(
    "0 0 * JAN *",
    "по расписанию cron: 0 0 * JAN *",
    "cron schedule: 0 0 * JAN *"
)]
#[case(
    "0 */2 * * *",
    "по расписанию cron: 0 */2 * * *",
    "cron schedule: 0 */2 * * *"
)]
fn describes_in_both_languages(#[case] expr: &str, #[case] ru: &str, #[case] en: &str) {
    let s = Schedule::parse(expr).unwrap();
    assert_eq!(describe(&s, &RU), ru, "{expr}");
    assert_eq!(describe(&s, &EN), en, "{expr}");
}

#[test]
fn every_one_minute_is_said_as_before() {
    let s = Schedule::parse("*/1 * * * *").unwrap();
    assert_eq!(describe(&s, &RU), "каждую 1 минуту");
    assert_eq!(describe(&s, &EN), "every 1 minutes");
    let s = Schedule::parse("0 9 * * 0-6").unwrap();
    assert_eq!(
        describe(&s, &EN),
        "every Monday, Tuesday, Wednesday, Thursday, Friday, Saturday and Sunday at 09:00"
    );
}

#[test]
fn russian_plural_of_minutes() {
    let words = |n| (RU.schedule_every_minutes)(Some(n));
    assert_eq!(words(1), "каждую 1 минуту");
    assert_eq!(words(3), "каждые 3 минуты");
    assert_eq!(words(12), "каждые 12 минут");
    assert_eq!(words(20), "каждые 20 минут");
}

/// The CLI and the error messages print these; tests and admins' scripts
/// match on them.
#[test]
fn english_1c_explanations_are_unchanged() {
    assert_eq!(
        EN.explain_users_connected,
        "users are still connected to the infobase, so 1C could not lock it exclusively: ask \
         them to log out, or set a lock code (ONEC_LOCK_CODE) that blocks new sessions and pass \
         it with /UC"
    );
    assert_eq!(
        EN.explain_wrong_credentials,
        "the infobase user or password is wrong: check ONEC_UC (user) and ONEC_UP (password)"
    );
    assert_eq!(
        EN.explain_no_infobase,
        "there is no infobase at the configured path: check ONEC_BASE (the folder holding \
         1Cv8.1CD)"
    );
    assert_eq!(
        EN.explain_disk_full,
        "the disk ran out of space during the dump: free some space or point the temporary \
         folder elsewhere"
    );
    assert_eq!(
        EN.explain_hang,
        "1C did not finish in time and was stopped together with its child processes; a hang \
         usually means 1C opened a modal dialog that nobody can answer, e.g. for wrong \
         credentials (check ONEC_UC/ONEC_UP) or because users are still connected (ask them to \
         log out or use ONEC_LOCK_CODE)"
    );
    for t in [&RU, &EN] {
        for x in [
            t.explain_users_connected,
            t.explain_wrong_credentials,
            t.explain_no_infobase,
            t.explain_disk_full,
            t.explain_hang,
        ] {
            assert!(!x.is_empty() && !x.contains("  "), "{x}");
        }
    }
    assert!(RU.explain_users_connected.contains("монопольно"));
}

#[test]
fn service_warnings_in_both_languages() {
    let w = both(|t| (t.warn_path_missing)("C:\\1c"));
    assert_eq!(
        w,
        "путь C:\\1c не существует: проверьте настройки / path C:\\1c does not exist: check the settings"
    );
    assert!(RU.service_description.contains("1С:Предприятие"));
}

#[rstest]
#[case(12.4, "12 с", "12 s")]
#[case(187.0, "3 мин 07 с", "3 min 07 s")]
#[case(4680.0, "1 ч 18 мин", "1 h 18 min")]
#[case(3900.0, "1 ч 05 мин", "1 h 05 min")]
#[case(187_200.0, "2 дн 4 ч", "2 d 4 h")]
#[case(-5.0, "0 с", "0 s")]
fn durations_in_the_language(#[case] secs: f64, #[case] ru: &str, #[case] en: &str) {
    assert_eq!(RU.units.duration(secs), ru);
    assert_eq!(EN.units.duration(secs), en);
}

#[rstest]
#[case(0, "0 Б", "0 B")]
#[case(1023, "1023 Б", "1023 B")]
#[case(1536, "1.5 КиБ", "1.5 KiB")]
#[case(5 << 20, "5.0 МиБ", "5.0 MiB")]
#[case(3 << 30, "3.0 ГиБ", "3.0 GiB")]
#[case(7 << 40, "7.0 ТиБ", "7.0 TiB")]
fn sizes_in_the_language(#[case] n: u64, #[case] ru: &str, #[case] en: &str) {
    assert_eq!(RU.units.bytes(n), ru);
    assert_eq!(EN.units.bytes(n), en);
}

/// No Latin unit is left in a Russian duration or size.
#[test]
fn russian_units_are_russian() {
    for secs in [1.0, 100.0, 5000.0, 200_000.0] {
        let s = RU.units.duration(secs);
        assert!(!s.chars().any(|c| c.is_ascii_alphabetic()), "{s}");
    }
    for n in [1, 2000, 3 << 20, 5 << 30] {
        let s = RU.units.bytes(n);
        assert!(!s.chars().any(|c| c.is_ascii_alphabetic()), "{s}");
    }
}

#[test]
fn schedule_lines_escape_and_speak_the_language() {
    let s = (RU.schedule_base)("<b&>", "0 23 * * *", "каждый день в 23:00");
    assert!(s.contains("&lt;b&amp;&gt;"), "{s}");
    assert!(s.contains("каждый день в 23:00"), "{s}");
    assert!((RU.schedule_manual)("buh").contains("только ручные копии"));
    assert!((EN.schedule_manual)("buh").contains("manual backups only"));
    assert!((RU.schedule_quiet)("00:00-07:59").contains("тихие часы"));
    assert_eq!(RU.weekdays_short[1], "пн");
    assert_eq!(EN.weekdays_short[0], "Sun");
}

#[test]
fn drill_notices_escape_and_say_the_archive_is_damaged() {
    for t in [&RU, &EN] {
        let failed = (t.drill_failed)(
            "<buh>",
            "local",
            "the archive /b/buh_1.zip is damaged: entry 1Cv8.1CD: CRC mismatch",
        );
        assert!(failed.contains("&lt;buh&gt;"), "{failed}");
        assert!(failed.contains("/b/buh_1.zip is damaged"), "{failed}");
        assert!(failed.contains(&(t.drill_source)("local")), "{failed}");
        let ok = (t.drill_ok)("buh", "n<a>s", "/b/a&b.zip", "2 s", "copy restored");
        assert!(
            ok.contains("/b/a&amp;b.zip") && ok.contains("copy restored"),
            "{ok}"
        );
        assert!(ok.contains(&(t.drill_source)("n<a>s")), "{ok}");
        let stale = (t.alert_drill_stale)("buh", "9 d", 8);
        assert!(stale.contains("buh") && stale.contains('8'), "{stale}");
        let skipped = (t.drill_skipped)("buh", "nas", "no space");
        assert!(skipped.contains("no space"), "{skipped}");
        assert!(skipped.contains(&(t.drill_source)("nas")), "{skipped}");
        let local = (t.drill_source)("local");
        let nas = (t.drill_source)("n<a>s");
        assert!(nas.contains("n&lt;a&gt;s"), "{nas}");
        assert_ne!(local, nas);
        assert!((RU.drill_source)("nas").contains("внешней цели"));
        let started = (t.drill_started)("buh", "nas");
        assert!(started.contains(&(t.drill_source)("nas")), "{started}");
    }
}

#[test]
fn offsite_notices_and_lines_escape_names_and_errors() {
    for t in [&RU, &EN] {
        let failed = (t.offsite_failed)("<buh&>", "<nas>", "offsite target <nas>: HTTP 507 & more");
        assert!(failed.contains("&lt;buh&amp;&gt;"), "{failed}");
        assert!(failed.contains("&lt;nas&gt;"), "{failed}");
        assert!(failed.contains("HTTP 507 &amp; more"), "{failed}");
        assert!(
            !failed.contains("<nas>") && !failed.contains("<buh"),
            "{failed}"
        );
        let ok = (t.offsite_recovered)("buh", "nas", "buh/a<1>.zip");
        assert!(ok.contains("buh/a&lt;1&gt;.zip"), "{ok}");
        let fresh = (t.offsite_line)("<nas>", Some("3 h"), false, false, 0);
        assert!(
            fresh.contains("&lt;nas&gt;") && fresh.contains("3 h"),
            "{fresh}"
        );
        let bad = (t.offsite_line)("nas", None, true, true, 2);
        assert!(
            bad.contains('✖') && bad.contains("⚠️") && bad.contains('2'),
            "{bad}"
        );
        assert!(!fresh.contains('✖') && !fresh.contains("⚠️"), "{fresh}");
        assert_ne!(
            (t.offsite_line)("nas", None, false, false, 0),
            (t.offsite_line)("nas", Some("1 h"), false, false, 0)
        );
    }
    assert!((RU.offsite_line)("nas", None, false, false, 0).contains("копии ещё нет"));
    assert!((EN.offsite_line)("nas", None, false, false, 0).contains("no copy yet"));
}

#[test]
fn the_warning_before_a_backup_in_both_languages() {
    assert_eq!(
        (RU.users_warn_session)("Бухгалтерия", 10),
        "Через 10 минут начнётся резервное копирование базы «Бухгалтерия». \
         Сохраните документы и закройте 1С."
    );
    assert!((RU.users_warn_session)("b", 1).starts_with("Через 1 минуту "));
    assert!((RU.users_warn_session)("b", 3).starts_with("Через 3 минуты "));
    assert!((RU.users_warn_session)("b", 21).starts_with("Через 21 минуту "));
    assert_eq!(
        (EN.users_warn_session)("Buh", 1),
        "The backup of the infobase \"Buh\" starts in 1 minute. \
         Please save your documents and close 1C."
    );
    assert!((EN.users_warn_session)("b", 10).contains("in 10 minutes."));
    for t in [&RU, &EN] {
        assert!(!t.users_warn_title.is_empty());
        let n = (t.users_warn_notice)("<b&>", 5, "23:00", "• x");
        assert!(
            n.contains("&lt;b&amp;&gt;") && n.contains("23:00") && n.contains("• x"),
            "{n}"
        );
        let c = (t.users_client)("<ivan>", Some(3), None, "2026-01-05 09:14", 812);
        assert!(
            c.contains("&lt;ivan&gt;") && c.contains("812") && c.contains('3'),
            "{c}"
        );
        assert!(!(t.users_client)("x", None, None, "", 1).contains("()"));
        // A session's state is named in each language.
        let left = (t.users_client)("x", Some(4), Some("disconnected"), "", 1);
        let word = if t.code == "ru" {
            "отключён"
        } else {
            "disconnected"
        };
        assert!(left.contains(&format!(", {word}")), "{left}");
        assert!((t.users_cannot)("<e>").contains("&lt;e&gt;"));
    }
}
