//! Properties of what the bot parses from a chat message (256 cases each,
//! README "Reliability"): the command parser never panics on any text;
//! every menu command parses with and without `@botname`, its argument
//! kept as written; `/chart`'s hours are 1–720 or refused; a long reply is
//! split into chunks under the limit that join back to the text.

use onec_backup_bot::telegram::chart::parse_hours;
use onec_backup_bot::telegram::commands::Command;
use onec_backup_bot::telegram::format::split;
use proptest::prelude::*;
use teloxide::utils::command::BotCommands;

/// The commands that take an argument, and the ones that take none.
const WITH_ARG: &[&str] = &["backup", "list", "chart"];
const WITHOUT_ARG: &[&str] = &[
    "start", "help", "status", "health", "lastlog", "disk", "top", "sessions", "bases", "schedule",
    "users",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_message_parses_or_is_refused(text in "/?[a-z@ ]{0,12}(?s).{0,40}") {
        let _ = Command::parse(&text, "onec_bot");
    }

    #[test]
    fn a_command_with_an_argument_keeps_it(
        name in prop::sample::select(WITH_ARG),
        mention in any::<bool>(),
        arg in "[a-zA-Zа-яА-Я0-9_.-]{1,20}",
    ) {
        let at = if mention { "@onec_bot" } else { "" };
        let got = Command::parse(&format!("/{name}{at} {arg}"), "onec_bot").unwrap();
        let expected = match name {
            "backup" => Command::Backup(arg.clone()),
            "list" => Command::List(arg.clone()),
            _ => Command::Chart(arg.clone()),
        };
        prop_assert_eq!(got, expected);
        // Addressed to another bot: not ours.
        let other = Command::parse(&format!("/{name}@other_bot {arg}"), "onec_bot");
        prop_assert!(other.is_err());
    }

    #[test]
    fn a_command_without_an_argument_parses_alone(
        name in prop::sample::select(WITHOUT_ARG),
        mention in any::<bool>(),
    ) {
        let at = if mention { "@onec_bot" } else { "" };
        let text = format!("/{name}{at}");
        prop_assert!(Command::parse(&text, "onec_bot").is_ok());
    }

    #[test]
    fn chart_hours_are_in_range_or_refused(arg in "[0-9]{0,12}|(?s).{0,12}") {
        match parse_hours(&arg) {
            Some(h) => prop_assert!((1..=720).contains(&h)),
            None => prop_assert!(!arg.is_empty()),
        }
    }

    #[test]
    fn a_long_reply_splits_under_the_limit_and_joins_back(
        text in "(?s)[a-zа-я \n]{0,600}",
        limit in 1usize..80,
    ) {
        let chunks = split(&text, limit);
        prop_assert!(!chunks.is_empty());
        for c in &chunks {
            prop_assert!(c.chars().count() <= limit, "{:?}", c);
        }
        // Nothing is lost but the line breaks the cuts fell on.
        let strip = |s: &str| s.replace('\n', "");
        prop_assert_eq!(strip(&chunks.concat()), strip(&text));
    }
}
