//! What the HTTP kinds (S3's XML answers, WebDAV's multistatus) share of
//! XML: decoding entities in text and attribute values.

/// Replace `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` `&#N;` `&#xH;`; anything
/// else stays as written.
pub fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        // An entity is short: look for its `;` in the next few bytes only
        // (by byte, so a multi-byte letter there cannot split a slice).
        let Some(semi) = rest.bytes().take(12).position(|b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..semi];
        let ch = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| ent.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn entities_are_decoded_and_the_rest_stays() {
        assert_eq!(unescape("&quot;x&#34;&#x41;&#X42;&bogus"), "\"x\"AB&bogus");
        assert_eq!(unescape("a&amp;b &lt;c&gt; &apos;"), "a&b <c> '");
        assert_eq!(unescape("&unknown; &"), "&unknown; &");
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape("&Бухгалтерия; &amp;"), "&Бухгалтерия; &");
    }
}
