//! What must never leave the process in log text: every configured secret
//! value, the lock code of a `/UC<code>` argument and the user-info of a URL
//! (`https://user:pass@host` → `https://***@host`). A [`Masker`] does the
//! replacing; the one built up with [`register`] sits under every log output
//! (stderr, the log file, the Loki tap) and under 1C's log text, so a secret that reaches a log line
//! by any path (an error chain, a 1C log, a debug command line) is masked
//! before the bytes are written. [`userinfo_end`] is also how the
//! configuration finds the credentials of a URL setting.

use std::sync::{Arc, RwLock};

/// What a masked value is replaced with.
pub const MASK: &str = "***";

/// Replaces secret values, `/UC` codes and URL user-info with `***`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Masker {
    /// Longest first, so a secret containing another is masked whole.
    secrets: Vec<String>,
}

impl Masker {
    /// A masker for these values (empty ones are ignored).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .map(|s| s.as_ref().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Self { secrets }
    }

    /// `text` with every secret value, `/UC` code and URL user-info masked.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        mask_url_userinfo(&mask_lock_codes(&out))
    }
}

static INSTALLED: RwLock<Option<Arc<Masker>>> = RwLock::new(None);

/// Add what `masker` masks to the masker every log output goes through
/// (and [`mask`] uses). Values are only ever added, never forgotten.
pub fn register(masker: Masker) {
    let mut installed = INSTALLED.write().unwrap_or_else(|p| p.into_inner());
    let merged = match installed.as_deref() {
        Some(old) => Masker::new(old.secrets.iter().chain(&masker.secrets)),
        None => masker,
    };
    *installed = Some(Arc::new(merged));
}

/// `text` masked by the registered secrets, `/UC` codes and URL user-info.
pub fn mask(text: &str) -> String {
    let installed = INSTALLED.read().unwrap_or_else(|p| p.into_inner()).clone();
    match installed {
        Some(m) => m.mask(text),
        None => Masker::default().mask(text),
    }
}

/// In `rest`, a URL after its `scheme://`, the byte index of the `@` that
/// ends the user-info, if there is one. As in a browser, the user-info ends
/// at the last `@` before the first `/`, `?` or `#`; a password typed with a
/// raw `/`, `?` or `#` (`user:pa/ss@host`) is recognised too: the text
/// before that first delimiter is then `user:pa`, which is user-info rather
/// than `host:port` when what follows the colon is not a port number.
pub fn userinfo_end(rest: &str) -> Option<usize> {
    let delim = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if let Some(at) = rest[..delim].rfind('@') {
        return Some(at);
    }
    if rest.starts_with('[') {
        return None; // an IPv6 host
    }
    let (_, after_colon) = rest[..delim].split_once(':')?;
    if !after_colon.is_empty() && after_colon.bytes().all(|b| b.is_ascii_digit()) {
        return None; // host:port, and the `@` is in the path
    }
    let first_at = rest.find('@')?;
    let end = rest[first_at..]
        .find(['/', '?', '#'])
        .map_or(rest.len(), |i| first_at + i);
    rest[..end].rfind('@')
}

/// Mask the code of every `/UC<code>` argument (Designer's "unlock code"):
/// `/UC` at the start of the text or after a space or a quote, up to the
/// next space (or the closing quote).
fn mask_lock_codes(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i + 3 <= bytes.len() {
        let before = if i == 0 { b' ' } else { bytes[i - 1] };
        let starts_arg = before.is_ascii_whitespace() || before == b'"' || before == b'\'';
        if starts_arg && bytes[i] == b'/' && bytes[i + 1..i + 3].eq_ignore_ascii_case(b"UC") {
            let from = i + 3;
            let quoted = before == b'"' || before == b'\'';
            let stop = |b: u8| {
                if quoted {
                    b == before
                } else {
                    b.is_ascii_whitespace() || b == b'"' || b == b'\''
                }
            };
            let to = bytes[from..]
                .iter()
                .position(|&b| stop(b))
                .map_or(bytes.len(), |p| from + p);
            if to > from {
                out.push_str(&text[copied..from]);
                out.push_str(MASK);
                copied = to;
            }
            i = to.max(from);
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Mask the user-info of every `scheme://user:pass@host` in free text (a
/// URL runs to the next space, quote or angle bracket).
fn mask_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(p) = rest.find("://") {
        let after = p + 3;
        out.push_str(&rest[..after]);
        let tail = &rest[after..];
        let len = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .unwrap_or(tail.len());
        let url = &tail[..len];
        match userinfo_end(url) {
            Some(at) if url[..at] != *MASK => {
                out.push_str(MASK);
                out.push_str(&url[at..]);
            }
            _ => out.push_str(url),
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn every_value_longest_first() {
        let m = Masker::new(["tok", "tok-123", "", "pw"]);
        assert_eq!(m.mask("a tok-123 b tok c pw"), "a *** b *** c ***");
        assert_eq!(m.mask("nothing here"), "nothing here");
    }

    /// Lock codes after `/UC` and URL user-info need no listed value.
    #[rstest]
    #[case::lock_code(
        "\"1cv8\" DESIGNER /F x /UC123 /DumpIB d",
        "\"1cv8\" DESIGNER /F x /UC*** /DumpIB d"
    )]
    #[case::lock_codes_quoted_and_lowercase("\"/UCcode with space\" /uc77", "\"/UC***\" /uc***")]
    #[case::lock_code_empty("/UC", "/UC")]
    // Not an argument: part of a path.
    #[case::uc_in_a_path("D:/srv/UCdata", "D:/srv/UCdata")]
    #[case::url_userinfo(
        "error sending request for url (http://u:p@ss@loki:3100/push): refused",
        "error sending request for url (http://***@loki:3100/push): refused"
    )]
    #[case::url_userinfo_with_delimiters(
        "proxy socks5://bob:pa/ss?#@proxy:1080 and https://h/p@x",
        "proxy socks5://***@proxy:1080 and https://h/p@x"
    )]
    #[case::quoted_url(
        "see \"https://tok@api.example/x\"",
        "see \"https://***@api.example/x\""
    )]
    #[case::at_in_a_path("http://h:1/p@x", "http://h:1/p@x")]
    fn masked_without_listed_values(#[case] text: &str, #[case] want: &str) {
        assert_eq!(Masker::default().mask(text), want);
    }

    #[test]
    fn userinfo_ends_where_a_browser_says_or_after_a_raw_delimiter() {
        assert_eq!(userinfo_end("u:pw@h/p"), Some(4));
        assert_eq!(userinfo_end("u:p@w@h/p"), Some(5));
        assert_eq!(userinfo_end("u:pa/ss@h/p"), Some(7));
        assert_eq!(userinfo_end("u:pa?ss@h"), Some(7));
        assert_eq!(userinfo_end("u:pa#s@s@h/x@y"), Some(8));
        assert_eq!(userinfo_end("h/p@x"), None);
        assert_eq!(userinfo_end("h:1/p?q=x@y"), None);
        assert_eq!(userinfo_end("[::1]:80/p@x"), None);
        assert_eq!(userinfo_end("h"), None);
    }
}
