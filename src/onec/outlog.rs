//! The Designer's `/Out` log and `ibcmd`'s console output: decoding the bytes
//! (1C writes UTF-8 with a BOM, plain UTF-8, or Windows-1251 depending on the
//! platform version and OS), picking the lines worth quoting, and explaining
//! the messages admins meet most often: [`explain`] turns a log into an
//! [`Explanation`] code, and the words for each code, in each language, are
//! in [`crate::text`].

use std::fmt;

use crate::text::{self, Texts};

/// What a failed or hung 1C run most likely means, as a code; readers say
/// it in their language with [`Explanation::words`]. `Display` gives the
/// English words (error messages, the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Explanation {
    /// Users are still connected, so 1C could not lock the base exclusively.
    UsersConnected,
    /// The infobase user or password is wrong.
    WrongCredentials,
    /// There is no infobase at the configured path.
    NoInfobase,
    /// The disk ran out of space during the dump.
    DiskFull,
    /// 1C did not finish in time (most likely a modal dialog).
    Hang,
}

impl Explanation {
    /// The explanation in the language of `t`.
    pub fn words(self, t: &Texts) -> &'static str {
        match self {
            Explanation::UsersConnected => t.explain_users_connected,
            Explanation::WrongCredentials => t.explain_wrong_credentials,
            Explanation::NoInfobase => t.explain_no_infobase,
            Explanation::DiskFull => t.explain_disk_full,
            Explanation::Hang => t.explain_hang,
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words(&text::EN))
    }
}

/// Known 1C messages (matched case-insensitively as substrings) and what they
/// mean for the admin. The first match wins, so the more specific come first.
const KNOWN: &[(&str, Explanation)] = &[
    (
        "не удалось монопольно заблокировать",
        Explanation::UsersConnected,
    ),
    (
        "ошибка установки монопольного режима",
        Explanation::UsersConnected,
    ),
    (
        "пользователь иб не идентифицирован",
        Explanation::WrongCredentials,
    ),
    (
        "неправильное имя пользователя или пароль",
        Explanation::WrongCredentials,
    ),
    ("информационная база не обнаружена", Explanation::NoInfobase),
    ("недостаточно свободного места", Explanation::DiskFull),
];

/// How many lines an error quotes at most.
pub const MAX_KEY_LINES: usize = 10;

/// Decode a 1C log: a UTF-8 BOM means UTF-8; otherwise strict UTF-8 if the
/// bytes are valid, else Windows-1251 (which never fails).
pub fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1251.decode(bytes);
            text.into_owned()
        }
    }
}

/// The explanation of the first known 1C message in `log`.
pub fn explain(log: &str) -> Option<Explanation> {
    let lower = log.to_lowercase();
    KNOWN
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, code)| *code)
}

/// The meaningful lines of a log: trimmed, non-empty, at most
/// [`MAX_KEY_LINES`]. When a log is longer the last lines are kept, since 1C
/// writes the reason for a failure at the end.
pub fn key_lines(text: &str) -> Vec<String> {
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let skip = lines.len().saturating_sub(MAX_KEY_LINES);
    lines.into_iter().skip(skip).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK_LINE: &str = "Ошибка установки монопольного режима";

    #[test]
    fn decodes_utf8_with_bom() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(LOCK_LINE.as_bytes());
        assert_eq!(decode(&bytes), LOCK_LINE);
    }

    #[test]
    fn decodes_plain_utf8() {
        assert_eq!(decode(LOCK_LINE.as_bytes()), LOCK_LINE);
    }

    #[test]
    fn decodes_windows_1251() {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(LOCK_LINE);
        assert!(!unmappable);
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "test input must not be UTF-8"
        );
        assert_eq!(decode(&bytes), LOCK_LINE);
    }

    #[test]
    fn explains_known_messages() {
        let code =
            explain("15.01 Не удалось монопольно заблокировать информационную базу").unwrap();
        assert_eq!(code, Explanation::UsersConnected);
        let lock = code.to_string();
        assert!(lock.contains("users are still connected"));
        assert!(lock.contains("ONEC_LOCK_CODE"));
        assert_eq!(explain(LOCK_LINE), Some(code));
        let creds = explain("Пользователь ИБ не идентифицирован")
            .unwrap()
            .to_string();
        assert!(creds.contains("ONEC_UC") && creds.contains("ONEC_UP"));
        assert_eq!(
            explain("Выгрузка информационной базы успешно завершена"),
            None
        );
        assert_eq!(explain(""), None);
    }

    #[test]
    fn explanations_are_said_in_the_reader_language() {
        let x = explain("Пользователь ИБ не идентифицирован").unwrap();
        assert_eq!(x.words(&text::EN), x.to_string());
        assert!(
            x.words(&text::RU)
                .contains("неверный пользователь или пароль")
        );
        assert!(Explanation::Hang.to_string().contains("modal dialog"));
    }

    #[test]
    fn key_lines_trim_skip_blank_and_keep_the_tail() {
        assert_eq!(key_lines("  a \r\n\r\n\tb\n   \n"), vec!["a", "b"]);
        let long: String = (1..=15).map(|i| format!("line {i}\n")).collect();
        let kept = key_lines(&long);
        assert_eq!(kept.len(), MAX_KEY_LINES);
        assert_eq!(kept.first().unwrap(), "line 6");
        assert_eq!(kept.last().unwrap(), "line 15");
        assert!(key_lines(" \n\n").is_empty());
    }
}
