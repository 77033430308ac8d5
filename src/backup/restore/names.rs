//! The guard on an archive entry's name: only a relative, `/`-separated
//! path of plain names may be written, so whatever an archive says, nothing
//! lands outside the target folder. Our own archives hold `1Cv8.1CD`,
//! `1Cv8Log/...` and `<name>.dt`; anything that could mean another place on
//! Unix or Windows is refused rather than "cleaned up".

/// The components of a safe entry name (a trailing `/` of a folder entry
/// is allowed), or why the name is refused.
pub fn safe_components(name: &str) -> Result<Vec<&str>, &'static str> {
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    if trimmed.is_empty() {
        return Err("an empty name");
    }
    if trimmed.chars().any(char::is_control) {
        return Err("a control character in the name");
    }
    if trimmed.contains('\\') {
        return Err("a backslash (a Windows path separator; our archives use '/')");
    }
    if trimmed.starts_with('/') {
        return Err("an absolute path");
    }
    if trimmed.contains(':') {
        return Err("a ':' (a drive letter such as C: or a Windows data stream)");
    }
    if trimmed.contains(['<', '>', '"', '|', '?', '*']) {
        return Err("a character Windows does not allow in a name");
    }
    let parts: Vec<&str> = trimmed.split('/').collect();
    for part in &parts {
        match *part {
            ".." => return Err("a '..' component, which climbs out of the folder"),
            "" | "." => return Err("an empty or '.' component"),
            p if p.ends_with(['.', ' ']) => {
                return Err("a component ending with a dot or a space (Windows drops them)");
            }
            p if is_device_name(p) => return Err("a Windows device name (CON, NUL, COM1, …)"),
            _ => {}
        }
    }
    Ok(parts)
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`, `LPT1`–`LPT9`, with or
/// without an extension: Windows opens the device, not a file.
fn is_device_name(part: &str) -> bool {
    let stem = part.split('.').next().unwrap_or(part).trim_end();
    let upper = stem.to_ascii_uppercase();
    matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && upper.as_bytes()[3].is_ascii_digit()
            && upper.as_bytes()[3] != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_names_pass() {
        for (name, parts) in [
            ("1Cv8.1CD", vec!["1Cv8.1CD"]),
            ("1Cv8Log/1Cv8.lgf", vec!["1Cv8Log", "1Cv8.lgf"]),
            ("1Cv8Log/", vec!["1Cv8Log"]),
            (
                "buh_2026-12-02_10-00-00.dt",
                vec!["buh_2026-12-02_10-00-00.dt"],
            ),
            (
                "Бухгалтерия/1Cv8.1CD.cfl",
                vec!["Бухгалтерия", "1Cv8.1CD.cfl"],
            ),
            ("a..b/..c", vec!["a..b", "..c"]),
            ("CONSOLE.txt", vec!["CONSOLE.txt"]),
            ("COM0", vec!["COM0"]),
        ] {
            assert_eq!(safe_components(name), Ok(parts), "{name}");
        }
    }

    #[test]
    fn hostile_names_are_refused_with_the_reason() {
        for (name, why) in [
            ("", "empty name"),
            ("/", "empty name"),
            ("../x", "'..'"),
            ("a/../../x", "'..'"),
            ("..", "'..'"),
            ("/etc/passwd", "absolute"),
            ("//server/share/x", "absolute"),
            ("C:\\x", "backslash"),
            ("..\\x", "backslash"),
            ("C:x", "drive letter"),
            ("c:/x", "drive letter"),
            ("1Cv8.1CD:stream", "data stream"),
            ("a//b", "empty or '.'"),
            ("./a", "empty or '.'"),
            ("a/./b", "empty or '.'"),
            ("a\nb", "control character"),
            ("a\u{1b}[31m", "control character"),
            ("a\0b", "control character"),
            ("x?", "does not allow"),
            ("a|b", "does not allow"),
            ("dir./x", "dot or a space"),
            ("x ", "dot or a space"),
            ("NUL", "device"),
            ("con.txt", "device"),
            ("a/Com1.dt", "device"),
            ("lpt9", "device"),
        ] {
            let got = safe_components(name).expect_err(name);
            assert!(got.contains(why), "{name:?}: {got}");
        }
    }
}
