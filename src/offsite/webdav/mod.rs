//! The WebDAV kind (RFC 4918): Yandex Disk (`webdavs://webdav.yandex.ru/…`),
//! Nextcloud (`webdavs://host/remote.php/dav/files/<user>/…`) and any other
//! server. An upload creates the missing folders with MKCOL, streams the
//! file (PUT with `Content-Length`, chunk by chunk under the throttle) to
//! `<name>.part` beside the final name, checks the stored size with
//! PROPFIND, then MOVEs it over the final name, so a cut upload never
//! replaces the last good copy. Listing walks folders with PROPFIND
//! `Depth: 1` (Yandex refuses `Depth: infinity`) and parses the multistatus
//! answer with the small XML reader of `multistatus`. HTTP by
//! reqwest (rustls with ring) inside a private current-thread runtime.

use std::collections::HashSet;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use reqwest::{Method, RequestBuilder, Response, StatusCode};

use crate::cancel::{Cancel, Cancelled};
use crate::config::Secret;
use crate::config::offsite::{Location, OffsiteTarget};

use super::http::{percent_decode, percent_encode};
use super::remote::{Download, Object, Proof, Remote, Stored, Upload, name_parts};

mod multistatus;

use multistatus::{Entry, parse_multistatus};

/// The piece of the file read, throttled and queued at a time.
const CHUNK: usize = 512 * 1024;
/// Chunks queued between the file and the connection (memory stays at
/// about `CHUNK * (QUEUE + 2)` whatever the file's size).
const QUEUE: usize = 4;
/// Tries of one request on network errors, 5xx and 429.
const ATTEMPTS: u32 = 4;
/// The first pause before a retry (doubled each time).
const BACKOFF: Duration = Duration::from_millis(500);
/// Small requests (PROPFIND, MKCOL, MOVE, DELETE) give up after this.
const SMALL: Duration = Duration::from_secs(300);
/// A transfer that moves no byte for this long is stalled.
const STALL: Duration = Duration::from_secs(300);
/// After the last byte of a PUT, how long the server may take to answer
/// (Yandex Disk hashes a large file before it replies).
const AFTER_PUT: Duration = Duration::from_secs(1800);

const PROPFIND_BODY: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    r#"<D:propfind xmlns:D="DAV:"><D:prop>"#,
    r#"<D:resourcetype/><D:getcontentlength/><D:getlastmodified/>"#,
    r#"</D:prop></D:propfind>"#
);

/// A WebDAV target.
pub struct WebDav {
    /// `https://host:port`, no trailing slash.
    origin: String,
    /// The root's decoded path segments (`["remote.php", "dav", …]`).
    root: Vec<String>,
    /// The target as the user wrote it, without credentials.
    shown: String,
    user: Option<String>,
    password: Option<Secret>,
    /// Never follows redirects: reqwest would turn a redirected PUT,
    /// MOVE or PROPFIND into a GET.
    client: reqwest::Client,
    /// For GET only: follows redirects (some servers send downloads
    /// elsewhere; reqwest drops the login when the host changes).
    fetch: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl WebDav {
    pub fn open(target: &OffsiteTarget) -> Result<Self> {
        let Location::WebDav {
            https,
            host,
            port,
            path,
        } = &target.location
        else {
            bail!("offsite target {} is not WebDAV", target.name);
        };
        let scheme = if *https { "https" } else { "http" };
        let host_part = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let origin = match port {
            Some(p) => format!("{scheme}://{host_part}:{p}"),
            None => format!("{scheme}://{host_part}"),
        };
        let root = percent_decode(path)
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the WebDAV client's runtime")?;
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(30))
                .tcp_keepalive(Duration::from_secs(60))
                .user_agent(concat!("onec-backup-bot/", env!("CARGO_PKG_VERSION")))
        };
        let (client, fetch) = {
            let _in = rt.enter();
            (
                builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .context("cannot build the WebDAV client")?,
                builder()
                    .redirect(reqwest::redirect::Policy::limited(5))
                    .build()
                    .context("cannot build the WebDAV client")?,
            )
        };
        Ok(Self {
            origin,
            root,
            shown: target.location.display(),
            user: target.user.clone().filter(|u| !u.is_empty()),
            password: target.password.clone(),
            client,
            fetch,
            rt,
        })
    }

    /// The URL of a path given as segments below the server's root.
    fn url_of(&self, segments: &[&str], folder: bool) -> String {
        let mut u = self.origin.clone();
        for s in segments {
            u.push('/');
            u.push_str(&percent_encode(s, false));
        }
        if folder || segments.is_empty() {
            u.push('/');
        }
        u
    }

    /// The full segments (root first) of an object or folder name.
    fn segments<'a>(&'a self, parts: &[&'a str]) -> Vec<&'a str> {
        self.root
            .iter()
            .map(String::as_str)
            .chain(parts.iter().copied())
            .collect()
    }

    fn url(&self, name: &str) -> Result<String> {
        Ok(self.url_of(&self.segments(&name_parts(name)?), false))
    }

    /// The decoded path of the root, with a trailing slash.
    fn root_path(&self) -> String {
        let mut p = String::from("/");
        for s in &self.root {
            p.push_str(s);
            p.push('/');
        }
        p
    }

    fn request(&self, client: &reqwest::Client, method: Method, url: &str) -> RequestBuilder {
        let b = client.request(method, url);
        match &self.user {
            Some(u) => b.basic_auth(u, self.password.as_ref().map(Secret::expose)),
            None => b,
        }
    }

    /// A request with one of WebDAV's own methods (PROPFIND, MKCOL, MOVE).
    fn dav(&self, method: &str, url: &str) -> RequestBuilder {
        let method = Method::from_bytes(method.as_bytes()).expect("a WebDAV method");
        self.request(&self.client, method, url)
    }

    fn run<T>(&self, f: impl Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    /// The error for an unexpected answer to `what`.
    fn refused(&self, what: &str, status: StatusCode) -> anyhow::Error {
        let t = self.describe();
        match status.as_u16() {
            401 => anyhow!(
                "{t}: the server refused the login (HTTP 401) on {what}: check OFFSITE_USER / OFFSITE_PASSWORD (or the target's user: / password:)"
            ),
            403 => anyhow!(
                "{t}: access denied (HTTP 403) on {what}: check that the user may write to this folder"
            ),
            507 => anyhow!(
                "{t}: the storage is full (HTTP 507 Insufficient Storage) on {what}: free space there, raise the quota or keep fewer copies"
            ),
            413 => anyhow!(
                "{t}: the server refused {what} as too large (HTTP 413): raise its upload size limit"
            ),
            423 => anyhow!("{t}: {what}: the object is locked on the server (HTTP 423)"),
            _ => anyhow!("{t}: {what} failed: HTTP {status}"),
        }
    }

    /// Send a small request (built anew for each try), retrying network
    /// errors, 5xx and 429 with backoff.
    async fn send(
        &self,
        what: &str,
        mk: impl Fn() -> RequestBuilder,
        cancel: Option<&Cancel>,
    ) -> Result<Response> {
        let mut pause = BACKOFF;
        let mut attempt = 1;
        loop {
            if let Some(c) = cancel {
                c.check()?;
            }
            let r = mk().timeout(SMALL).send().await;
            let again = match &r {
                Ok(resp) => retryable(resp.status()),
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request() || e.is_body(),
            };
            if !again || attempt >= ATTEMPTS {
                return r.with_context(|| {
                    format!("{}: {what}: the server did not answer", self.describe())
                });
            }
            tracing::debug!(target: "offsite", "{}: {what}: try {attempt} failed, again in {pause:?}", self.describe());
            tokio::time::sleep(pause).await;
            pause *= 2;
            attempt += 1;
        }
    }

    /// PROPFIND `url` with `depth`; `None` on 404.
    async fn propfind(&self, url: &str, depth: &str, what: &str) -> Result<Option<Vec<Entry>>> {
        let resp = self
            .send(
                what,
                || {
                    self.dav("PROPFIND", url)
                        .header("Depth", depth)
                        .header(
                            reqwest::header::CONTENT_TYPE,
                            "application/xml; charset=utf-8",
                        )
                        .body(PROPFIND_BODY)
                },
                None,
            )
            .await?;
        match resp.status().as_u16() {
            207 => {}
            404 => return Ok(None),
            _ => return Err(self.refused(what, resp.status())),
        }
        let text = resp
            .text()
            .await
            .with_context(|| format!("{}: {what}: the answer was cut", self.describe()))?;
        let entries = parse_multistatus(&text)
            .map_err(|e| anyhow!("{}: {what}: unreadable answer: {e}", self.describe()))?;
        Ok(Some(entries))
    }

    /// Create the folder `segments` (full, root first) and its missing
    /// parents: MKCOL, walking up on 409 (parent missing); 405 = exists.
    async fn make_folders(&self, segments: &[&str]) -> Result<()> {
        let mut depth = segments.len();
        let mut missing = Vec::new();
        // Walk up until a MKCOL succeeds or finds the folder there.
        loop {
            if depth == 0 {
                bail!(
                    "{}: cannot create the folder /{}: the server says even its top folder is missing (HTTP 409)",
                    self.describe(),
                    segments.join("/")
                );
            }
            let (what, status) = self.mkcol(&segments[..depth]).await?;
            match status.as_u16() {
                200 | 201 | 204 | 405 => break,
                409 => {
                    missing.push(depth);
                    depth -= 1;
                }
                _ => return Err(self.refused(&what, status)),
            }
        }
        // Then create the ones below it, top down.
        while let Some(d) = missing.pop() {
            let (what, status) = self.mkcol(&segments[..d]).await?;
            match status.as_u16() {
                200 | 201 | 204 | 405 => {}
                _ => return Err(self.refused(&what, status)),
            }
        }
        Ok(())
    }

    /// One MKCOL of the folder `segments`: what was asked (for errors) and
    /// the server's answer.
    async fn mkcol(&self, segments: &[&str]) -> Result<(String, StatusCode)> {
        let url = self.url_of(segments, true);
        let what = format!("MKCOL /{}", segments.join("/"));
        let resp = self.send(&what, || self.dav("MKCOL", &url), None).await?;
        Ok((what, resp.status()))
    }

    /// MKCOL the folders above the object `parts`.
    async fn make_parents(&self, parts: &[&str]) -> Result<()> {
        if parts.len() < 2 && self.root.is_empty() {
            return Ok(());
        }
        let full = self.segments(parts);
        self.make_folders(&full[..full.len() - 1]).await
    }

    async fn move_to(&self, from_url: &str, to_url: &str, what: &str) -> Result<()> {
        let resp = self
            .send(
                what,
                || {
                    self.dav("MOVE", from_url)
                        .header("Destination", to_url)
                        .header("Overwrite", "T")
                },
                None,
            )
            .await?;
        match resp.status().as_u16() {
            201 | 204 => Ok(()),
            _ => Err(self.refused(what, resp.status())),
        }
    }

    async fn delete_url(&self, url: &str, what: &str) -> Result<()> {
        let resp = self
            .send(
                what,
                || self.request(&self.client, Method::DELETE, url),
                None,
            )
            .await?;
        match resp.status().as_u16() {
            200 | 202 | 204 | 404 => Ok(()),
            _ => Err(self.refused(what, resp.status())),
        }
    }

    /// Delete the temporary object of a failed upload, and again should
    /// it come back: a server may still be finishing the cut PUT on its
    /// side (rclone writes the partial file when it sees the connection
    /// close, which can be after our DELETE).
    async fn remove_tmp(&self, url: &str, name: &str) -> Result<()> {
        let what = format!("DELETE {name}");
        let probe = format!("PROPFIND {name}");
        let mut last = None;
        for round in 1..=6u32 {
            // A server may refuse to delete a file it is still writing.
            if let Err(e) = self.delete_url(url, &what).await {
                last = Some(e);
            }
            tokio::time::sleep(Duration::from_millis(200) * round).await;
            match self.propfind(url, "0", &probe).await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => {}
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            anyhow!("{}: {name} is still there after 6 deletes", self.describe())
        }))
    }

    /// One PUT of the whole file to `url`: the file read chunk by chunk
    /// under the throttle and queued to the connection.
    async fn put_once(&self, up: &Upload<'_>, url: &str, what: &str) -> Result<StatusCode> {
        let file =
            File::open(up.file).with_context(|| format!("cannot open {}", up.file.display()))?;
        // The file is read on a blocking thread, so reading overlaps sending.
        let mut chunks = read_ahead(file);
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(QUEUE);
        let body = reqwest::Body::wrap(QueueBody { rx, size: up.size });
        let request = self
            .request(&self.client, Method::PUT, url)
            .header(reqwest::header::CONTENT_LENGTH, up.size)
            .body(body)
            .send();
        let produce = async move {
            let mut done = 0u64;
            loop {
                let buf = match chunks.recv().await {
                    Some(Ok(b)) => b,
                    None => Vec::new(),
                    Some(Err(e)) => {
                        let _ = tx
                            .send(Err(io::Error::other("the file could not be read")))
                            .await;
                        return Err(anyhow::Error::from(e)
                            .context(format!("cannot read {}", up.file.display())));
                    }
                };
                let n = buf.len();
                if n == 0 {
                    if done != up.size {
                        let _ = tx
                            .send(Err(io::Error::other("the file changed size")))
                            .await;
                        bail!(
                            "{} has {done} bytes, {} were expected: it changed during the upload",
                            up.file.display(),
                            up.size
                        );
                    }
                    return Ok(());
                }
                if done + n as u64 > up.size {
                    let _ = tx.send(Err(io::Error::other("the file grew"))).await;
                    bail!(
                        "{} grew past {} bytes during the upload",
                        up.file.display(),
                        up.size
                    );
                }
                if let Err(c) = up.throttle.take_async(n as u64, up.cancel).await {
                    let _ = tx.send(Err(io::Error::other("stop requested"))).await;
                    return Err(anyhow::Error::from(c));
                }
                match tokio::time::timeout(STALL, tx.send(Ok(Bytes::from(buf)))).await {
                    Ok(Ok(())) => {}
                    // The request ended (its answer or error tells why).
                    Ok(Err(_)) => return Ok(()),
                    Err(_) => bail!("the upload stalled: no byte went out for {STALL:?}"),
                }
                done += n as u64;
                (up.progress)(done);
            }
        };
        let answer = async {
            tokio::time::timeout(STALL + AFTER_PUT, request)
                .await
                .map_err(|_| anyhow!("no answer to {what}"))
        };
        let (sent, answer) = tokio::join!(produce, answer);
        up.cancel.check()?;
        sent?;
        let resp =
            answer?.with_context(|| format!("{}: {what}: the upload was cut", self.describe()))?;
        Ok(resp.status())
    }

    /// The upload proper, to the temporary `tmp_url` (see [`Remote::put`]).
    async fn put_tmp(
        &self,
        up: &Upload<'_>,
        parts: &[&str],
        tmp_url: &str,
        tmp_name: &str,
    ) -> Result<()> {
        self.make_parents(parts).await?;
        let what = format!("PUT {tmp_name}");
        let mut pause = BACKOFF;
        let mut attempt = 1;
        loop {
            let r = self.put_once(up, tmp_url, &what).await;
            let again = match &r {
                Ok(s) => retryable(*s),
                Err(e) => {
                    e.downcast_ref::<Cancelled>().is_none()
                        && e.chain()
                            .any(|c| c.downcast_ref::<reqwest::Error>().is_some())
                }
            };
            if !again || attempt >= ATTEMPTS {
                let status = r?;
                if !matches!(status.as_u16(), 200 | 201 | 204) {
                    return Err(self.refused(&what, status));
                }
                break;
            }
            tracing::warn!(target: "offsite", "{}: {what}: try {attempt} failed, again in {pause:?}", self.describe());
            tokio::time::sleep(pause).await;
            up.cancel.check()?;
            pause *= 2;
            attempt += 1;
        }
        let check = format!("PROPFIND {tmp_name}");
        let stored = match self.propfind(tmp_url, "0", &check).await? {
            Some(e) => e.into_iter().next().and_then(|e| e.size),
            None => None,
        };
        if stored != Some(up.size) {
            bail!(
                "{}: {tmp_name} holds {} after the upload, the archive has {} bytes",
                self.describe(),
                stored.map_or("an unknown size".to_string(), |s| format!("{s} bytes")),
                up.size
            );
        }
        up.cancel.check()?;
        Ok(())
    }

    fn object_of(&self, e: Entry) -> Option<Object> {
        let root = self.root_path();
        let name = e
            .path
            .strip_prefix(&root)?
            .trim_end_matches('/')
            .to_string();
        if name.is_empty() || e.collection {
            return None;
        }
        Some(Object {
            name,
            size: e.size.unwrap_or(0),
            modified: e.modified,
        })
    }
}

/// Read `file` chunk by chunk on a blocking thread, a few chunks ahead;
/// an empty chunk is the end. Dropping the receiver stops the thread.
fn read_ahead(mut file: File) -> tokio::sync::mpsc::Receiver<io::Result<Vec<u8>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut buf = vec![0u8; CHUNK];
            let r = loop {
                match file.read(&mut buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => break r,
                }
            };
            let item = r.map(|n| {
                buf.truncate(n);
                buf
            });
            let end = !matches!(&item, Ok(b) if !b.is_empty());
            if tx.blocking_send(item).is_err() || end {
                return;
            }
        }
    });
    rx
}

/// Whether an answer is worth another try.
fn retryable(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// The PUT body: chunks from the queue, with the exact length announced.
struct QueueBody {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    size: u64,
}

impl http_body::Body for QueueBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.size)
    }
}

impl Remote for WebDav {
    fn describe(&self) -> String {
        format!("WebDAV {}", self.shown)
    }

    fn put(&self, up: &Upload<'_>) -> Result<Stored> {
        let parts = name_parts(up.name)?;
        let final_url = self.url(up.name)?;
        let tmp_name = format!("{}.part", up.name);
        let tmp_url = self.url(&tmp_name)?;
        self.run(async {
            let result = self.put_tmp(up, &parts, &tmp_url, &tmp_name).await;
            let result = match result {
                Ok(()) => {
                    self.move_to(
                        &tmp_url,
                        &final_url,
                        &format!("MOVE {tmp_name} to {}", up.name),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                if let Err(d) = self.remove_tmp(&tmp_url, &tmp_name).await {
                    tracing::warn!(target: "offsite", "{d:#}");
                }
                return Err(e);
            }
            Ok(Stored {
                bytes: up.size,
                proof: Proof::Size,
            })
        })
    }

    fn stat(&self, name: &str) -> Result<Option<Object>> {
        let url = self.url(name)?;
        let found = self.run(self.propfind(&url, "0", &format!("PROPFIND {name}")))?;
        Ok(found.and_then(|entries| {
            let e = entries.into_iter().next()?;
            (!e.collection).then(|| Object {
                name: name.to_string(),
                size: e.size.unwrap_or(0),
                modified: e.modified,
            })
        }))
    }

    fn list(&self, dir: &str) -> Result<Vec<Object>> {
        let dir = dir.trim_matches('/');
        let start: Vec<String> = if dir.is_empty() {
            Vec::new()
        } else {
            name_parts(dir)?.into_iter().map(str::to_string).collect()
        };
        let root = self.root_path();
        self.run(async {
            let mut out = Vec::new();
            let mut seen = HashSet::new();
            let mut stack = vec![start];
            while let Some(folder) = stack.pop() {
                let refs: Vec<&str> = folder.iter().map(String::as_str).collect();
                let url = self.url_of(&self.segments(&refs), true);
                let shown = if folder.is_empty() {
                    "/".to_string()
                } else {
                    folder.join("/")
                };
                let Some(entries) = self
                    .propfind(&url, "1", &format!("PROPFIND {shown}"))
                    .await?
                else {
                    continue;
                };
                seen.insert(folder.clone());
                for e in entries {
                    let Some(rel) = e.path.strip_prefix(&root) else {
                        tracing::debug!(target: "offsite", "{}: {} is outside the root", self.describe(), e.path);
                        continue;
                    };
                    let rel = rel.trim_end_matches('/');
                    let rel_parts: Vec<String> = rel
                        .split('/')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                    if rel_parts == folder {
                        continue;
                    }
                    if e.collection {
                        if rel_parts.len() > folder.len()
                            && rel_parts.starts_with(&folder)
                            && !seen.contains(&rel_parts)
                        {
                            seen.insert(rel_parts.clone());
                            stack.push(rel_parts);
                        }
                    } else if let Some(o) = self.object_of(e) {
                        out.push(o);
                    }
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            out.dedup_by(|a, b| a.name == b.name);
            Ok(out)
        })
    }

    fn get(&self, down: Download<'_>) -> Result<u64> {
        let (name, to, throttle, cancel) = (down.name, down.to, down.throttle, down.cancel);
        let url = self.url(name)?;
        let what = format!("GET {name}");
        self.run(async {
            let mut pause = BACKOFF;
            let mut attempt = 1;
            let mut resp = loop {
                cancel.check()?;
                let r = tokio::time::timeout(
                    STALL,
                    self.request(&self.fetch, Method::GET, &url).send(),
                )
                .await
                .map_err(|_| anyhow!("{}: {what}: no answer in {STALL:?}", self.describe()))
                .and_then(|r| {
                    r.with_context(|| {
                        format!("{}: {what}: the server did not answer", self.describe())
                    })
                });
                let again = match &r {
                    Ok(resp) => retryable(resp.status()),
                    Err(_) => true,
                };
                if !again || attempt >= ATTEMPTS {
                    break r?;
                }
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            };
            match resp.status().as_u16() {
                200 => {}
                404 => bail!("{}: {name} is not there (HTTP 404)", self.describe()),
                _ => return Err(self.refused(&what, resp.status())),
            }
            let mut done = 0u64;
            loop {
                cancel.check()?;
                let chunk = tokio::time::timeout(STALL, resp.chunk())
                    .await
                    .map_err(|_| anyhow!("{}: {what}: stalled for {STALL:?}", self.describe()))?
                    .with_context(|| {
                        format!("{}: {what}: the download was cut", self.describe())
                    })?;
                let Some(chunk) = chunk else { break };
                throttle.take_async(chunk.len() as u64, cancel).await?;
                to.write_all(&chunk)?;
                done += chunk.len() as u64;
            }
            Ok(done)
        })
    }

    fn delete(&self, name: &str) -> Result<()> {
        let url = self.url(name)?;
        self.run(self.delete_url(&url, &format!("DELETE {name}")))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let from_url = self.url(from)?;
        let to_parts = name_parts(to)?;
        let to_url = self.url(to)?;
        self.run(async {
            self.make_parents(&to_parts).await?;
            let what = format!("MOVE {from} to {to}");
            let Err(e) = self.move_to(&from_url, &to_url, &what).await else {
                return Ok(());
            };
            // Servers answer a missing source with 404, 403 or 409: say
            // which it is.
            let probe = format!("PROPFIND {from}");
            if matches!(self.propfind(&from_url, "0", &probe).await, Ok(None)) {
                bail!("{}: cannot move {from}: it is not there", self.describe());
            }
            Err(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_root() {
        for bad in ["../x", "a/../../x", "/abs", "a//b", r"a\b", ""] {
            assert!(name_parts(bad).is_err(), "{bad}");
        }
        assert_eq!(name_parts("a/b.zip").unwrap(), ["a", "b.zip"]);
    }
}
