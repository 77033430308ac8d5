//! Bearer tokens: `API_TOKEN` for starting backups, optional
//! `API_READ_TOKEN` for the read endpoints. Tokens are compared through
//! their SHA-256 digests with a constant-time comparison, so neither the
//! content nor the length leaks through timing; they are never echoed.

use super::ApiError;
use crate::config::Secret;
use axum::http::{HeaderMap, StatusCode, header};
use sha2::{Digest, Sha256};

/// `a == b` in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let (ha, hb) = (Sha256::digest(a), Sha256::digest(b));
    ha.iter()
        .zip(hb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The bearer token of a request, if it sent one.
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    let scheme = v.get(..7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| v[7..].trim_ascii())
}

/// Read endpoints: open unless `API_READ_TOKEN` is set; then either token
/// is accepted.
pub fn check_read(
    headers: &HeaderMap,
    read: Option<&Secret>,
    write: Option<&Secret>,
) -> Result<(), ApiError> {
    let Some(read) = read.filter(|t| !t.is_empty()) else {
        return Ok(());
    };
    let sent = bearer(headers);
    let ok = sent.is_some_and(|s| {
        ct_eq(s, read.expose().as_bytes())
            | write.is_some_and(|w| !w.is_empty() && ct_eq(s, w.expose().as_bytes()))
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token: send the header Authorization: Bearer <API_READ_TOKEN>",
        ))
    }
}

/// Starting a backup: refused (403) unless `API_TOKEN` is configured, then
/// only with it (401 otherwise).
pub fn check_write(headers: &HeaderMap, write: Option<&Secret>) -> Result<(), ApiError> {
    let Some(write) = write.filter(|t| !t.is_empty()) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "starting backups over HTTP is disabled: set API_TOKEN in the agent's settings, \
             restart it, and send Authorization: Bearer <API_TOKEN>",
        ));
    };
    match bearer(headers) {
        Some(s) if ct_eq(s, write.expose().as_bytes()) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token: send the header Authorization: Bearer <API_TOKEN>",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(v: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        h
    }

    #[test]
    fn compares_tokens() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(!ct_eq(b"", b"a"));
    }

    #[test]
    fn write_needs_a_configured_token_and_the_right_one() {
        let t = Secret::new("tok-123".to_string());
        assert_eq!(
            check_write(&with(b"Bearer tok-123"), None)
                .unwrap_err()
                .status,
            StatusCode::FORBIDDEN
        );
        assert!(check_write(&with(b"Bearer tok-123"), Some(&t)).is_ok());
        assert!(check_write(&with(b"bearer  tok-123 "), Some(&t)).is_ok());
        for bad in [
            &b"Bearer tok-124"[..],
            b"Basic tok-123",
            b"Bearer",
            b"tok-123",
            b"\xff\xfe",
        ] {
            let e = check_write(&with(bad), Some(&t)).unwrap_err();
            assert_eq!(e.status, StatusCode::UNAUTHORIZED);
            assert!(!e.message.contains("tok-123"));
        }
        assert!(check_write(&HeaderMap::new(), Some(&t)).is_err());
    }

    #[test]
    fn read_is_open_without_a_read_token_and_accepts_either_token() {
        let r = Secret::new("read-1".to_string());
        let w = Secret::new("write-1".to_string());
        assert!(check_read(&HeaderMap::new(), None, Some(&w)).is_ok());
        assert!(check_read(&with(b"Bearer read-1"), Some(&r), Some(&w)).is_ok());
        assert!(check_read(&with(b"Bearer write-1"), Some(&r), Some(&w)).is_ok());
        assert!(check_read(&with(b"Bearer x"), Some(&r), Some(&w)).is_err());
        assert!(check_read(&HeaderMap::new(), Some(&r), None).is_err());
    }
}
