//! The Designer's `/Out` log and `ibcmd`'s console output: decoding the bytes
//! (1C writes UTF-8 with a BOM, plain UTF-8, or Windows-1251 depending on the
//! platform version and OS), picking the lines worth quoting, and explaining
//! the messages admins meet most often in plain words. Every user-facing
//! explanation about 1C's behaviour lives in this file.

/// Known 1C messages (matched case-insensitively as substrings) and what they
/// mean for the admin. The first match wins, so the more specific come first.
const EXPLANATIONS: &[(&str, &str)] = &[
    ("не удалось монопольно заблокировать", LOCKED),
    ("ошибка установки монопольного режима", LOCKED),
    (
        "пользователь иб не идентифицирован",
        "the infobase user or password is wrong: check ONEC_UC (user) and ONEC_UP (password)",
    ),
    (
        "неправильное имя пользователя или пароль",
        "the infobase user or password is wrong: check ONEC_UC (user) and ONEC_UP (password)",
    ),
    (
        "информационная база не обнаружена",
        "there is no infobase at the configured path: check ONEC_BASE (the folder holding 1Cv8.1CD)",
    ),
    (
        "недостаточно свободного места",
        "the disk ran out of space during the dump: free some space or point the temporary folder elsewhere",
    ),
];

const LOCKED: &str = "users are still connected to the infobase, so 1C could not lock it \
     exclusively: ask them to log out, or set a lock code (ONEC_LOCK_CODE) that \
     blocks new sessions and pass it with /UC";

/// Why a timed-out run most likely hung.
pub const HANG: &str = "1C did not finish in time and was stopped together with its child \
     processes; a hang usually means 1C opened a modal dialog that nobody can \
     answer, e.g. for wrong credentials (check ONEC_UC/ONEC_UP) or because users \
     are still connected (ask them to log out or use ONEC_LOCK_CODE)";

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

/// The plain-words explanation of the first known 1C message in `text`.
pub fn explain(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    EXPLANATIONS
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map(|(_, meaning)| *meaning)
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
        let lock =
            explain("15.01 Не удалось монопольно заблокировать информационную базу").unwrap();
        assert!(lock.contains("users are still connected"));
        assert!(lock.contains("ONEC_LOCK_CODE"));
        assert_eq!(explain(LOCK_LINE), Some(lock));
        let creds = explain("Пользователь ИБ не идентифицирован").unwrap();
        assert!(creds.contains("ONEC_UC") && creds.contains("ONEC_UP"));
        assert_eq!(
            explain("Выгрузка информационной базы успешно завершена"),
            None
        );
        assert_eq!(explain(""), None);
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
