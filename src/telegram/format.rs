//! Pure text helpers for the bot: splitting long replies below Telegram's
//! 4096-character limit, durations and ages in words, and masking the bot
//! token out of any error text. HTML escaping is [`crate::text::esc`].

/// Telegram refuses messages above 4096 characters; stay below with room
/// for the `<pre>` wrapper.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// Split `text` into chunks of at most `limit` characters, at line breaks
/// when possible (a single longer line is cut at character boundaries).
pub fn split(text: &str, limit: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    for line in text.split('\n') {
        let len = line.chars().count();
        if cur_len > 0 && cur_len + 1 + len > limit {
            chunks.push(std::mem::take(&mut cur));
            cur_len = 0;
        }
        if len > limit {
            let chars: Vec<char> = line.chars().collect();
            for piece in chars.chunks(limit) {
                if cur_len > 0 {
                    chunks.push(std::mem::take(&mut cur));
                }
                cur = piece.iter().collect();
                cur_len = piece.len();
            }
            continue;
        }
        if cur_len > 0 {
            cur.push('\n');
            cur_len += 1;
        }
        cur.push_str(line);
        cur_len += len;
    }
    if !cur.is_empty() || chunks.is_empty() {
        chunks.push(cur);
    }
    chunks
}

/// `1 h 05 min`, `3 min 07 s`, `12 s`, `2 d 4 h`.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    let (d, h, m, sec) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {sec:02} s")
    } else {
        format!("{sec} s")
    }
}

/// Replace the bot token (as written and percent-encoded in URLs) with `***`.
pub fn mask_token(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_string();
    }
    text.replace(token, "***")
        .replace(&token.replace(':', "%3A"), "***")
        .replace(&token.replace(':', "%3a"), "***")
}

/// Cut `s` to at most `n` characters (with `…` when cut).
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Left-aligned cell padded to `w` characters.
pub fn pad(s: &str, w: usize) -> String {
    let c = clip(s, w);
    let n = c.chars().count();
    format!("{c}{}", " ".repeat(w.saturating_sub(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_lines_and_limit() {
        let text = (0..500)
            .map(|i| format!("line {i:04} ........"))
            .collect::<Vec<_>>()
            .join("\n");
        let parts = split(&text, 1000);
        assert!(parts.len() > 5);
        assert!(parts.iter().all(|p| p.chars().count() <= 1000));
        assert_eq!(parts.join("\n"), text);
        let long = "я".repeat(2500);
        let parts = split(&long, 1000);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat(), long);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(12.4), "12 s");
        assert_eq!(duration(187.0), "3 min 07 s");
        assert_eq!(duration(3900.0), "1 h 05 min");
        assert_eq!(duration(187_200.0), "2 d 4 h");
    }

    #[test]
    fn token_is_masked_in_urls() {
        let t = "123:ABC";
        assert_eq!(
            mask_token("error for url (http://x/bot123:ABC/getMe) 123%3AABC", t),
            "error for url (http://x/bot***/getMe) ***"
        );
    }
}
