//! Who may read and who may act. Bearer tokens: `API_TOKEN` for starting
//! backups, optional `API_READ_TOKEN` for the read endpoints; optional
//! basic auth (`API_BASIC_USER` / `API_BASIC_PASSWORD`) for the read
//! endpoints only, so a browser's remembered password can never start a
//! backup cross-site. Secrets are compared through their SHA-256 digests
//! with a constant-time comparison, so neither the content nor the length
//! leaks through timing; they are never echoed. A read caller is
//! [`Access::Full`] when authenticated or on loopback, else
//! [`Access::Public`] (read routes open, caller on the network): such
//! callers are not shown paths, URLs or user names in `/api/health` or
//! in errors.

use super::server::Peer;
use super::{ApiError, ApiState};
use crate::config::credentials::{basic_ok, bearer, ct_eq, reads_by_headers};
use crate::config::{Api, Secret};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use std::sync::Arc;

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

/// What a caller of a read route may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Authenticated, or asking over loopback: everything.
    Full,
    /// Read routes are open and the caller is on the network: no paths,
    /// URLs or user names in `/api/health` and errors.
    Public,
}

/// Read endpoints with every configured guard: a bearer token (read or
/// write) or the basic credentials when `API_READ_TOKEN` or basic auth is
/// set (401 otherwise); open when neither is, with [`Access::Public`] for
/// callers not on loopback that did not authenticate.
pub fn read_access(headers: &HeaderMap, api: &Api, loopback: bool) -> Result<Access, ApiError> {
    let read = api.read_token.as_ref().filter(|t| !t.is_empty());
    let basic = api.basic.as_ref();
    if reads_by_headers(headers, api) {
        return Ok(Access::Full);
    }
    match (read, basic) {
        (None, None) if loopback => Ok(Access::Full),
        (None, None) => Ok(Access::Public),
        (_, Some(_)) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong credentials: log in with API_BASIC_USER / API_BASIC_PASSWORD \
             or send the header Authorization: Bearer <API_READ_TOKEN>",
        )
        .with_basic_challenge()),
        (Some(_), None) => check_read(headers, read, api.token.as_ref()).map(|()| Access::Full),
    }
}

/// The read routes' guard as an extractor: rejects with 401, else gives
/// the caller's [`Access`]. The [`Peer`] comes from the accept loop; a
/// request without one counts as remote.
pub struct Reader(pub Access);

impl FromRequestParts<Arc<ApiState>> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<ApiState>) -> Result<Self, ApiError> {
        let loopback = parts.extensions.get::<Peer>().is_some_and(|p| p.loopback);
        read_access(&parts.headers, &st.agent.cfg.api, loopback).map(Reader)
    }
}

/// Actions (starting a backup): [`check_write`], and a clear 403 for a
/// caller who logged in with basic auth only, which grants reading.
pub fn check_action(headers: &HeaderMap, api: &Api) -> Result<(), ApiError> {
    match check_write(headers, api.token.as_ref()) {
        Err(e) if e.status == StatusCode::UNAUTHORIZED && basic_ok(headers, api.basic.as_ref()) => {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "basic auth (API_BASIC_USER) allows reading only: starting a backup needs \
                 the header Authorization: Bearer <API_TOKEN>",
            ))
        }
        r => r,
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
    use axum::http::{HeaderValue, header};

    fn with(v: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        h
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
