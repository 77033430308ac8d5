//! The API's own accept loop (axum's `serve` has no header timeout): one
//! hyper HTTP/1.1 connection per task, optionally behind TLS, with a
//! header-read timeout (also for the TLS handshake and between keep-alive
//! requests), a per-request timeout and a cap on open connections. When
//! the cap is reached the oldest connection that has not sent a complete
//! request yet is dropped to make room; when every open connection has,
//! the new one is refused. So idle or slow-loris connections can neither
//! exhaust file handles nor keep Prometheus, the API or backups out.
//! Every request carries a [`Peer`] extension saying who is asking.

use super::ApiError;
use axum::Router;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

/// The server's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From connecting (or the end of the previous answer) to the end of
    /// the request's headers, TLS handshake included.
    pub header_read: Duration,
    /// From the end of the headers to the answer.
    pub request: Duration,
    /// Open connections at most.
    pub max_connections: usize,
}

/// What the agent uses.
pub const LIMITS: Limits = Limits {
    header_read: Duration::from_secs(10),
    request: Duration::from_secs(30),
    max_connections: 256,
};

/// Who sent a request: its address and whether it came over loopback.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub addr: SocketAddr,
    pub loopback: bool,
}

/// How to serve: bounds, TLS, and a test seam.
#[derive(Clone)]
pub struct Options {
    pub limits: Limits,
    pub tls: Option<TlsAcceptor>,
    /// Treat every peer as remote (tests of what the LAN sees, run over
    /// loopback).
    pub all_peers_remote: bool,
}

/// One open connection: whether it has sent a complete request, and how
/// to drop it.
struct Slot {
    requested: Arc<AtomicBool>,
    drop_it: CancellationToken,
}

/// The open connections, oldest first (ids only grow).
#[derive(Default)]
struct Registry {
    next: u64,
    open: BTreeMap<u64, Slot>,
}

impl Registry {
    /// Room for one more connection, dropping the oldest one without a
    /// complete request when full; `None` (refuse) when there is none.
    fn admit(&mut self, max: usize) -> Option<(u64, Arc<AtomicBool>, CancellationToken)> {
        if self.open.len() >= max {
            let victim = self
                .open
                .iter()
                .find(|(_, s)| !s.requested.load(Ordering::Relaxed))
                .map(|(id, _)| *id)?;
            if let Some(s) = self.open.remove(&victim) {
                s.drop_it.cancel();
            }
        }
        let id = self.next;
        self.next += 1;
        let slot = Slot {
            requested: Arc::new(AtomicBool::new(false)),
            drop_it: CancellationToken::new(),
        };
        let handles = (id, slot.requested.clone(), slot.drop_it.clone());
        self.open.insert(id, slot);
        Some(handles)
    }
}

/// Accept on `listener` until `shutdown` is cancelled; then stop
/// accepting, let each connection finish the request it is in (up to the
/// request timeout) and return.
pub async fn serve(app: Router, listener: TcpListener, opts: Options, shutdown: CancellationToken) {
    let registry = Arc::new(Mutex::new(Registry::default()));
    let mut tasks = tokio::task::JoinSet::new();
    let mut last_accept_error: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            _ = shutdown.cancelled() => break,
        };
        let (stream, addr) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file handles and the like: say so once a minute,
                // back off a little and go on.
                if last_accept_error.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    tracing::error!("HTTP API cannot accept connections: {e}");
                    last_accept_error = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let admitted = registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(opts.limits.max_connections);
        let Some((id, requested, drop_it)) = admitted else {
            tracing::debug!(%addr, "HTTP API connection refused: all connections busy");
            continue;
        };
        let peer = Peer {
            addr,
            loopback: !opts.all_peers_remote && addr.ip().to_canonical().is_loopback(),
        };
        let conn = Conn {
            app: app.clone(),
            peer,
            limits: opts.limits,
            requested,
            drop_it,
            shutdown: shutdown.clone(),
        };
        let registry = registry.clone();
        let tls = opts.tls.clone();
        tasks.spawn(async move {
            conn.run(stream, tls).await;
            registry
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .open
                .remove(&id);
        });
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
}

/// One connection's task.
struct Conn {
    app: Router,
    peer: Peer,
    limits: Limits,
    requested: Arc<AtomicBool>,
    drop_it: CancellationToken,
    shutdown: CancellationToken,
}

impl Conn {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        // Answers are small and written whole: never wait for Nagle.
        let _ = stream.set_nodelay(true);
        let Some(tls) = tls else {
            return self.http(TokioIo::new(stream)).await;
        };
        let handshake = tokio::time::timeout(self.limits.header_read, tls.accept(stream));
        let done = tokio::select! {
            r = handshake => r,
            _ = self.drop_it.cancelled() => return,
            _ = self.shutdown.cancelled() => return,
        };
        match done {
            Ok(Ok(s)) => self.http(TokioIo::new(s)).await,
            Ok(Err(e)) => tracing::debug!(peer = %self.peer.addr, "TLS handshake failed: {e}"),
            Err(_) => tracing::debug!(peer = %self.peer.addr, "TLS handshake timed out"),
        }
    }

    async fn http<I>(self, io: I)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (app, peer, requested, limit) =
            (self.app, self.peer, self.requested, self.limits.request);
        let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            // The headers are complete: this connection is no longer a
            // candidate for being dropped to make room.
            requested.store(true, Ordering::Relaxed);
            req.extensions_mut().insert(peer);
            req.extensions_mut().insert(crate::web::Client {
                loopback: peer.loopback,
            });
            let mut app = app.clone();
            async move {
                let answer = match tokio::time::timeout(limit, app.call(req)).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(never)) => match never {},
                    Err(_) => ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "the request took longer than {} s and was abandoned; try again",
                            limit.as_secs_f64()
                        ),
                    )
                    .into_response(),
                };
                Ok::<_, Infallible>(answer)
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read);
        let conn = builder.serve_connection(io, svc);
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(peer = %peer.addr, "HTTP connection ended: {e}");
                }
            }
            _ = self.drop_it.cancelled() => {
                tracing::debug!(peer = %peer.addr, "HTTP connection dropped to make room");
            }
            _ = self.shutdown.cancelled() => {
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(limit, conn).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_registry_drops_the_oldest_connection_without_a_request() {
        let mut r = Registry::default();
        let a = r.admit(2).unwrap();
        let b = r.admit(2).unwrap();
        a.1.store(true, Ordering::Relaxed);
        let c = r.admit(2).unwrap();
        assert!(b.2.is_cancelled(), "b had no request: dropped");
        assert!(!a.2.is_cancelled());
        assert_eq!(r.open.len(), 2);
        c.1.store(true, Ordering::Relaxed);
        assert!(r.admit(2).is_none(), "every open connection has a request");
        assert_eq!(r.open.len(), 2);
    }
}
