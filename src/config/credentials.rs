//! Matching what a caller sent against the configured API secrets
//! (`API_TOKEN`, `API_READ_TOKEN`, `API_BASIC_USER` / `API_BASIC_PASSWORD`):
//! reading `Authorization: Bearer` and `Authorization: Basic` headers and
//! comparing in constant time. The API's guards (`api::auth`) and the
//! dashboard's login and sessions (`web::session`) share these, so a token
//! is checked the same way everywhere; nothing here echoes a secret.

use super::{Api, Secret};
use axum::http::{HeaderMap, header};
use base64::Engine;
use sha2::{Digest, Sha256};

/// `a == b` in time independent of where they differ (and of their
/// lengths: the SHA-256 digests are compared).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let (ha, hb) = (Sha256::digest(a), Sha256::digest(b));
    ha.iter()
        .zip(hb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Whether `sent` is `secret` (a configured, non-empty one).
pub fn is_secret(sent: &[u8], secret: Option<&Secret>) -> bool {
    secret
        .filter(|t| !t.is_empty())
        .is_some_and(|t| ct_eq(sent, t.expose().as_bytes()))
}

/// The bearer token of a request, if it sent one.
pub fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    let scheme = v.get(..7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| v[7..].trim_ascii())
}

/// Whether the request's bearer token is `token` (a configured, non-empty one).
pub fn bearer_is(headers: &HeaderMap, token: Option<&Secret>) -> bool {
    bearer(headers).is_some_and(|s| is_secret(s, token))
}

/// The credentials of `Authorization: Basic`, if the request sent them.
fn basic_sent(headers: &HeaderMap) -> Option<(Vec<u8>, Vec<u8>)> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    if !v.get(..6)?.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v[6..].trim_ascii())
        .ok()?;
    let colon = raw.iter().position(|&b| b == b':')?;
    Some((raw[..colon].to_vec(), raw[colon + 1..].to_vec()))
}

/// Whether the request carries the configured basic credentials.
pub fn basic_ok(headers: &HeaderMap, basic: Option<&(String, Secret)>) -> bool {
    let (Some((user, pass)), Some((u, p))) = (basic, basic_sent(headers)) else {
        return false;
    };
    // `&`, not `&&`: both comparisons always run.
    ct_eq(&u, user.as_bytes()) & ct_eq(&p, pass.expose().as_bytes())
}

/// Whether the request authenticates for reading by its headers: the
/// basic credentials, `API_READ_TOKEN` or `API_TOKEN` as a bearer token.
pub fn reads_by_headers(headers: &HeaderMap, api: &Api) -> bool {
    basic_ok(headers, api.basic.as_ref())
        || bearer_is(headers, api.read_token.as_ref())
        || bearer_is(headers, api.token.as_ref())
}

/// Whether reading is guarded (`API_READ_TOKEN` or basic auth is set).
pub fn read_guarded(api: &Api) -> bool {
    api.read_token.as_ref().is_some_and(|t| !t.is_empty()) || api.basic.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_tokens() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(!ct_eq(b"", b"a"));
        let t = Secret::new("tok");
        assert!(is_secret(b"tok", Some(&t)));
        assert!(!is_secret(b"to", Some(&t)));
        assert!(
            !is_secret(b"", Some(&Secret::new(""))),
            "an empty secret never matches"
        );
        assert!(!is_secret(b"tok", None));
    }
}
