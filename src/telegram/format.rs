//! Pure text helpers for the bot: splitting long HTML replies below
//! Telegram's 4096-character limit with every tag closed in each part,
//! table cells, and masking the bot token out of any error text. HTML escaping is [`crate::text::esc`];
//! durations and sizes in words are [`crate::text::Units`].

/// Telegram refuses messages above 4096 characters; stay below with room
/// for the `<pre>` wrapper.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// One indivisible piece of Telegram HTML.
#[derive(Clone, Copy)]
enum Token<'a> {
    /// `<b>`, `<a href="…">`: opens the element named `name`.
    Open {
        raw: &'a str,
        name: &'a str,
    },
    /// `</b>`.
    Close {
        name: &'a str,
    },
    /// A character, or an entity such as `&amp;`.
    Text(&'a str),
    Newline,
}

impl Token<'_> {
    fn len(&self) -> usize {
        match self {
            Token::Open { raw, .. } => raw.chars().count(),
            Token::Close { name } => name.chars().count() + 3,
            Token::Text(t) => t.chars().count(),
            Token::Newline => 1,
        }
    }
}

/// The tokens of `text`: tags, entities, characters and line breaks. A `<`
/// without `>` and a `&` that starts no entity are plain characters.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let rest = &text[i..];
        let tag = (c == '<').then(|| rest.find('>')).flatten();
        let entity = (c == '&')
            .then(|| {
                rest.char_indices()
                    .skip(1)
                    .take(10)
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '#'))
            })
            .flatten()
            .filter(|&(e, c)| c == ';' && e > 1)
            .map(|(e, _)| e);
        let (token, len) = if let Some(end) = tag {
            let raw = &rest[..=end];
            let inner = &raw[1..raw.len() - 1];
            let token = match inner.strip_prefix('/') {
                Some(name) => Token::Close { name: name.trim() },
                None => Token::Open {
                    raw,
                    name: inner.split_whitespace().next().unwrap_or(""),
                },
            };
            (token, raw.len())
        } else if let Some(end) = entity {
            (Token::Text(&rest[..=end]), end + 1)
        } else if c == '\n' {
            (Token::Newline, 1)
        } else {
            (Token::Text(&rest[..c.len_utf8()]), c.len_utf8())
        };
        out.push(token);
        i += len;
    }
    out
}

/// One message being filled by [`split`].
struct Part<'a> {
    text: String,
    len: usize,
    /// Characters added after the reopened tags.
    body: usize,
    /// Open elements, outermost first.
    open: Vec<Token<'a>>,
}

impl<'a> Part<'a> {
    /// A part that reopens `open`.
    fn new(open: Vec<Token<'a>>) -> Part<'a> {
        let mut text = String::new();
        for t in &open {
            if let Token::Open { raw, .. } = t {
                text.push_str(raw);
            }
        }
        let len = text.chars().count();
        Part {
            text,
            len,
            body: 0,
            open,
        }
    }

    /// The characters the closing tags of the open elements take.
    fn closing_len(open: &[Token<'_>]) -> usize {
        open.iter()
            .map(|t| match t {
                Token::Open { name, .. } => name.chars().count() + 3,
                _ => 0,
            })
            .sum()
    }

    /// The open elements after `tokens` were added.
    fn after(&self, tokens: &[Token<'a>]) -> Vec<Token<'a>> {
        let mut open = self.open.clone();
        for t in tokens {
            match t {
                Token::Open { .. } => open.push(*t),
                Token::Close { name } => {
                    if let Some(i) = open
                        .iter()
                        .rposition(|o| matches!(o, Token::Open { name: n, .. } if n.eq_ignore_ascii_case(name)))
                    {
                        open.truncate(i);
                    }
                }
                _ => {}
            }
        }
        open
    }

    /// Whether `tokens` fit with every open element still closable.
    fn fits(&self, tokens: &[Token<'a>], limit: usize) -> bool {
        let add: usize = tokens.iter().map(Token::len).sum();
        self.len + add + Self::closing_len(&self.after(tokens)) <= limit
    }

    fn push(&mut self, tokens: &[Token<'a>]) {
        self.open = self.after(tokens);
        for t in tokens {
            match t {
                Token::Open { raw, .. } => self.text.push_str(raw),
                Token::Close { name } => {
                    self.text.push_str("</");
                    self.text.push_str(name);
                    self.text.push('>');
                }
                Token::Text(s) => self.text.push_str(s),
                Token::Newline => self.text.push('\n'),
            }
            let n = t.len();
            self.len += n;
            self.body += n;
        }
    }

    /// The finished text (every open element closed) and the next part,
    /// which reopens them.
    fn finish(mut self) -> (String, Part<'a>) {
        for t in self.open.iter().rev() {
            if let Token::Open { name, .. } = t {
                self.text.push_str("</");
                self.text.push_str(name);
                self.text.push('>');
            }
        }
        (self.text, Part::new(self.open))
    }
}

/// Split Telegram HTML `text` into messages of at most `limit` characters,
/// at line breaks when possible (a longer line is cut between characters).
/// A tag or an entity (`&amp;`) is never cut, and every element open at the
/// end of a part is closed there and reopened at the start of the next, so
/// each part is valid on its own.
pub fn split(text: &str, limit: usize) -> Vec<String> {
    let all = tokens(text);
    let mut chunks = Vec::new();
    let mut cur = Part::new(Vec::new());
    for line in all.split(|t| matches!(t, Token::Newline)) {
        let with_break: Vec<Token> = if cur.body > 0 {
            std::iter::once(Token::Newline)
                .chain(line.iter().copied())
                .collect()
        } else {
            line.to_vec()
        };
        if cur.fits(&with_break, limit) {
            cur.push(&with_break);
            continue;
        }
        if cur.body > 0 {
            let (done, next) = cur.finish();
            chunks.push(done);
            cur = next;
        }
        if cur.fits(line, limit) {
            cur.push(line);
            continue;
        }
        // A line longer than a message: token by token.
        for t in line {
            let one = std::slice::from_ref(t);
            if cur.body > 0 && !cur.fits(one, limit) {
                let (done, next) = cur.finish();
                chunks.push(done);
                cur = next;
            }
            cur.push(one);
        }
    }
    if cur.body > 0 || chunks.is_empty() {
        chunks.push(cur.finish().0);
    }
    chunks
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

    /// Check that `part` is HTML Telegram accepts: every tag closed in
    /// order, no tag or entity cut.
    fn balanced(part: &str) -> Result<(), String> {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = part;
        while let Some(i) = rest.find(['<', '&']) {
            rest = &rest[i..];
            if rest.starts_with('<') {
                let end = rest
                    .find('>')
                    .ok_or_else(|| format!("cut tag in {part:?}"))?;
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    if stack.pop().as_deref() != Some(name) {
                        return Err(format!("</{name}> closes nothing in {part:?}"));
                    }
                } else {
                    stack.push(tag.split_whitespace().next().unwrap_or("").to_string());
                }
                rest = &rest[end + 1..];
            } else {
                let end = rest.find(';').filter(|e| *e <= 8);
                let ent = end.map(|e| &rest[..=e]).unwrap_or("&");
                if !["&amp;", "&lt;", "&gt;", "&quot;"].contains(&ent) {
                    return Err(format!("cut entity {ent:?} in {part:?}"));
                }
                rest = &rest[ent.len()..];
            }
        }
        if stack.is_empty() {
            Ok(())
        } else {
            Err(format!("unclosed {stack:?} in {part:?}"))
        }
    }

    #[test]
    fn split_closes_and_reopens_every_tag() {
        let name = "Склад &amp; &lt;Опт&gt; ".repeat(40);
        let log: Vec<String> = (0..40)
            .map(|i| format!("строка {i:02} &lt;ошибка&gt; &amp; <code>код {i}</code>"))
            .collect();
        let text = format!(
            "❌ Копия базы <b>{name}<i>курсив {name}</i></b> не удалась\n\n<pre>{}</pre>\nконец",
            log.join("\n")
        );
        for limit in [200, 333, 1000, 4000] {
            let parts = split(&text, limit);
            assert!(parts.len() > 1, "{limit}");
            for p in &parts {
                assert!(
                    p.chars().count() <= limit,
                    "{limit}: {} > limit",
                    p.chars().count()
                );
                balanced(p).unwrap();
            }
            // Nothing is lost: without the added tags the text is whole
            // (line breaks at the cuts aside).
            let strip = |s: &str| {
                let mut out = String::new();
                let mut in_tag = false;
                for c in s.chars() {
                    match c {
                        '<' => in_tag = true,
                        '>' => in_tag = false,
                        '\n' => {}
                        c if !in_tag => out.push(c),
                        _ => {}
                    }
                }
                out
            };
            assert_eq!(strip(&parts.concat()), strip(&text), "{limit}");
        }
        // A cut inside <pre> reopens it, and <pre> inside <b> nests back.
        let parts = split(&text, 1000);
        assert!(
            parts.iter().skip(1).any(|p| p.starts_with("<pre>")),
            "{parts:?}"
        );
        assert!(parts[1].starts_with("<b>"), "{parts:?}");
    }

    #[test]
    fn split_never_cuts_an_entity() {
        let text = "&amp;".repeat(300);
        for limit in [7, 10, 99, 1000] {
            for p in split(&text, limit) {
                balanced(&p).unwrap();
                assert!(p.chars().count() <= limit);
            }
        }
        let attr = format!(
            "<a href=\"https://x/?a=1&amp;b=2\">{}</a>",
            "ссылка ".repeat(50)
        );
        for p in split(&attr, 60) {
            balanced(&p).unwrap();
            assert!(p.starts_with("<a href=\"https://x/?a=1&amp;b=2\">"), "{p}");
        }
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
