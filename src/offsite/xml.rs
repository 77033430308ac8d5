//! What the HTTP kinds (S3's XML answers, WebDAV's multistatus) share of
//! XML: decoding entities in text and attribute values, escaping text, and
//! a tag finder for answers as flat as S3's.

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

/// The text inside the first `<name>…</name>`.
pub fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

/// The texts inside every `<name>…</name>`.
pub fn tags<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let from = i + open.len();
        let Some(j) = rest[from..].find(&close) else {
            break;
        };
        out.push(&rest[from..from + j]);
        rest = &rest[from + j + close.len()..];
    }
    out
}

/// `&`, `<` and `>` as entities, for text inside an element.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::{tag, tags, unescape};

    #[test]
    fn entities_are_decoded_and_the_rest_stays() {
        assert_eq!(unescape("&quot;x&#34;&#x41;&#X42;&bogus"), "\"x\"AB&bogus");
        assert_eq!(unescape("a&amp;b &lt;c&gt; &apos;"), "a&b <c> '");
        assert_eq!(unescape("&unknown; &"), "&unknown; &");
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape("&Бухгалтерия; &amp;"), "&Бухгалтерия; &");
    }

    #[test]
    fn xml_tags_and_entities() {
        let xml = "<R xmlns=\"x\"><IsTruncated>false</IsTruncated>\
                   <Contents><Key>a&amp;b/c.zip</Key><Size>5</Size></Contents>\
                   <Contents><Key>d</Key><Size>7</Size></Contents>\
                   <KeyCount>2</KeyCount></R>";
        let c = tags(xml, "Contents");
        assert_eq!(c.len(), 2);
        assert_eq!(unescape(tag(c[0], "Key").unwrap()), "a&b/c.zip");
        assert_eq!(tag(c[1], "Size"), Some("7"));
        assert_eq!(tag(xml, "KeyCount"), Some("2"));
        assert_eq!(unescape("&quot;x&#34;&#x41;&bogus"), "\"x\"A&bogus");
    }
}
