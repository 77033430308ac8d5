//! What the HTTP kinds (S3 and WebDAV) share: percent-encoding of names
//! (everything but RFC 3986's unreserved characters, `/` kept on request),
//! decoding it, and the dates of `Last-Modified` / `getlastmodified`.

use std::fmt::Write as _;

use jiff::Timestamp;

/// Percent-encode `s`: all but `A-Za-z0-9-_.~`, upper-case hex (as SigV4
/// and WebDAV paths want it); `/` kept when `keep_slash` (a whole key or
/// path rather than one segment).
pub fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Decode `%XX` escapes (a `%` not followed by two hex digits stays).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
            out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Thu, 03 Dec 2026 03:00:00 GMT` (RFC 1123, as getlastmodified has it).
pub fn parse_http_date(s: &str) -> Option<Timestamp> {
    jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(s.trim())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_percent_encoded_and_decoded() {
        let n = "Бухгалтерия_2026-12-03_0300 (1)+&.zip";
        let e = percent_encode(n, false);
        assert!(e.is_ascii() && !e.contains(' ') && !e.contains('&'), "{e}");
        assert_eq!(percent_decode(&e), n);
        assert_eq!(percent_decode("100%25 %zz %"), "100% %zz %");
        assert_eq!(percent_encode("a/b=c", false), "a%2Fb%3Dc");
        assert_eq!(
            percent_encode("База/a b+c~_.-$.zip", true)
                .matches('/')
                .count(),
            1
        );
    }

    #[test]
    fn dates_of_getlastmodified() {
        let t = parse_http_date("Thu, 03 Dec 2026 03:00:00 GMT").unwrap();
        assert_eq!(t.to_string(), "2026-12-03T03:00:00Z");
        assert!(parse_http_date("yesterday").is_none());
    }
}
