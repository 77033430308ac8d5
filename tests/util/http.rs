//! The one HTTP client of the end-to-end tests: a plain socket, HTTP/1.1
//! with `Connection: close` (no client library, so what is sent is exactly
//! what is written here, non-UTF-8 targets included), and the one decoder
//! of chunked bodies, which the fake Telegram server uses too. Plus the
//! encodings tests need to build requests and expected headers.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An answer: status 0 (and nothing else) when nothing answered.
#[derive(Debug, Default)]
pub struct Reply {
    pub status: u16,
    /// The status line and headers.
    pub head: String,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the status and body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: HTTP {}: {}", self.status, self.text()))
    }
}

impl Reply {
    /// The `error` text of a JSON error answer.
    pub fn error(&self) -> String {
        let v = self.json();
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error text in {v}"))
            .to_string()
    }
}

/// One request to 127.0.0.1:`port` on a fresh connection. The target is
/// raw bytes so that non-UTF-8 can be sent.
pub fn request(
    port: u16,
    method: &str,
    target: impl AsRef<[u8]>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return Reply::default();
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} ").into_bytes();
    req.extend_from_slice(target.as_ref());
    req.extend_from_slice(
        format!(
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        )
        .as_bytes(),
    );
    for (k, v) in headers {
        req.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    req.extend_from_slice(body);
    let mut all = Vec::new();
    if s.write_all(&req).is_err() || s.read_to_end(&mut all).is_err() {
        return Reply::default();
    }
    let Some(split) = find(&all, b"\r\n\r\n") else {
        return Reply::default();
    };
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut body = all[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Reply { status, head, body }
}

/// GET without headers.
pub fn get(port: u16, target: impl AsRef<[u8]>) -> Reply {
    request(port, "GET", target, &[], b"")
}

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A chunked body decoded (chunk extensions ignored); stops at the last
/// chunk or where the input ends.
pub fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(b, b"\r\n") {
        let size = String::from_utf8_lossy(&b[..eol]);
        let size = size.split(';').next().unwrap_or("").trim();
        let n = usize::from_str_radix(size, 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&b[start..(start + n).min(b.len())]);
        b = &b[(start + n + 2).min(b.len())..];
    }
    out
}

/// Percent-encode everything but unreserved characters.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// RFC 4648 base64 (for expected `Authorization: Basic` headers).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[test]
fn dechunk_joins_chunks_and_ignores_extensions() {
    assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"), b"abcde");
    assert_eq!(dechunk(b"5\r\nab"), b"ab", "a cut body keeps what came");
    assert_eq!(base64(b"pusher:pg-Pa55"), "cHVzaGVyOnBnLVBhNTU=");
}
