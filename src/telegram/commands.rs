//! The bot's commands. The enum's doc comments are its English `/help`
//! lines for teloxide; the menu registered with `setMyCommands` comes from
//! [`crate::text`] so both languages stay in one place.

use crate::text::Texts;
use teloxide::types::BotCommand;
use teloxide::utils::command::BotCommands;

/// Commands of allowed users.
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// What the bot can do.
    Start,
    /// Command help.
    Help,
    /// Back up now (asks first): /backup [base].
    Backup(String),
    /// The last 20 runs and the overall state.
    Status,
    /// CPU, memory, disk, sessions, last good backup.
    Health,
    /// The last 100 log lines as a file.
    Lastlog,
    /// Newest archives with sizes: /list [base].
    List(String),
    /// Every filesystem.
    Disk,
    /// Top processes by CPU and by memory.
    Top,
    /// Who is logged in over RDP and who is inside 1C.
    Sessions,
    /// Configured bases with their last result.
    Bases,
    /// The schedule.
    Schedule,
    /// CPU, memory and disk chart: /chart [hours].
    Chart(String),
    /// Restore drill of the newest archive: /drill [base].
    Drill(String),
    /// Who is inside each 1C base now (user, session, since).
    Users,
}

/// The command menu in one language.
pub fn bot_commands(t: &Texts) -> Vec<BotCommand> {
    t.commands
        .iter()
        .map(|(c, d)| BotCommand::new(*c, *d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_names_match_the_enum() {
        let names: Vec<String> = Command::bot_commands()
            .into_iter()
            .map(|c| c.command.trim_start_matches('/').to_string())
            .collect();
        for t in [&crate::text::RU, &crate::text::EN] {
            let menu: Vec<String> = bot_commands(t).into_iter().map(|c| c.command).collect();
            assert_eq!(menu, names);
        }
    }

    #[test]
    fn arguments_are_optional() {
        assert_eq!(
            Command::parse("/backup", "bot").unwrap(),
            Command::Backup(String::new())
        );
        assert_eq!(
            Command::parse("/backup@bot buh", "bot").unwrap(),
            Command::Backup("buh".into())
        );
        assert_eq!(
            Command::parse("/chart 48", "bot").unwrap(),
            Command::Chart("48".into())
        );
        assert_eq!(
            Command::parse("/drill zup", "bot").unwrap(),
            Command::Drill("zup".into())
        );
    }
}
