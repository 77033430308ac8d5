//! The S3-compatible kind (AWS, Yandex Object Storage, Selectel, MinIO):
//! requests signed with AWS Signature Version 4 (written here on `ring`'s
//! HMAC and `sha2`), sent by reqwest from a private current-thread runtime.
//! A file smaller than the part size is one `PUT` with `Content-MD5`; a
//! larger one is a multipart upload holding one part in memory at a time,
//! every part checked by the server (`Content-MD5`) and by its ETag, the
//! whole by the multipart ETag and a `HEAD`. The upload id and the parts
//! sent are saved through [`Resume`](super::Resume) after each part, so an
//! interrupted upload goes on where the server says it stopped. The
//! object appears under its name only when the upload completes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use jiff::Timestamp;
use md5::{Digest as _, Md5};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::cancel::{Cancel, Cancelled};
use crate::config::Secret;
use crate::config::offsite::{Location, OffsiteTarget};

use crate::offsite::http::{parse_http_date, percent_encode};
use crate::offsite::remote::{Download, Object, Proof, Remote, Stored, Upload, name_parts};
use crate::offsite::throttle::Throttle;
use crate::offsite::xml::{escape, tag, tags, unescape};

mod multipart;
mod sigv4;

use multipart::State;
use sigv4::{Credentials, authorization, b64, hex, sha256_hex};

/// Part size of multipart uploads (one part is held in memory).
pub const DEFAULT_PART_SIZE: u64 = 16 << 20;
/// S3's smallest part (except the last).
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// A test-only setting: the part size (bytes) a debug build uses for the
/// targets it opens from the configuration, so the end-to-end suite can
/// make a multipart upload of a small archive (against moto told to allow
/// such parts). Release builds ignore it.
pub const TEST_PART_SIZE_ENV: &str = "ONEC_TEST_S3_PART_SIZE";
/// S3's largest number of parts in one upload.
const MAX_PARTS: u64 = 10_000;
/// The largest object one CopyObject can copy (and the largest copied part).
const MAX_COPY: u64 = 5 << 30;
/// Throttle and read granularity.
const CHUNK: u64 = 1 << 20;
/// Tries of one request (network errors, 5xx, 429).
const TRIES: u32 = 4;

/// What a `HEAD` said about an object.
#[derive(Debug, Clone)]
pub struct Head {
    pub size: u64,
    /// Without quotes.
    pub etag: String,
    pub modified: Option<Timestamp>,
    /// The `x-amz-meta-sha256` metadata a `put` stores.
    pub sha256: Option<String>,
}

/// An S3 bucket (and a prefix in it) as an offsite target.
pub struct S3 {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    scheme: String,
    /// `host[:port]` of the endpoint (the bucket is prepended in
    /// virtual-host style).
    host: String,
    endpoint: String,
    bucket: String,
    /// "" or ending in `/`.
    prefix: String,
    region: String,
    path_style: bool,
    key_id: String,
    secret: Secret,
    part_size: u64,
    /// Objects above this are copied in parts (UploadPartCopy) by `rename`.
    copy_limit: u64,
    /// Entries per page of listings (`None` = the server's 1000).
    page: Option<u32>,
    parts_sent: AtomicU64,
}

/// One request before signing.
struct Req<'a> {
    method: Method,
    /// The object key in the bucket; `None` = the bucket itself.
    key: Option<&'a str>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// For errors: "uploading part 3 of a.zip".
    what: String,
}

impl<'a> Req<'a> {
    fn new(method: Method, key: Option<&'a str>, what: impl Into<String>) -> Self {
        Self {
            method,
            key,
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
            what: what.into(),
        }
    }
    fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_string(), v.into()));
        self
    }
    fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_ascii_lowercase(), v.into()));
        self
    }
    fn body(mut self, b: Vec<u8>) -> Self {
        self.body = b;
        self
    }
}

impl S3 {
    pub fn open(target: &OffsiteTarget) -> Result<Self> {
        let Location::S3 { bucket, prefix } = &target.location else {
            bail!("offsite target {} is not S3", target.name);
        };
        let (Some(key_id), Some(secret)) = (&target.access_key_id, &target.secret_access_key)
        else {
            bail!(
                "offsite target {} (s3://{bucket}): set OFFSITE_ACCESS_KEY_ID and \
                 OFFSITE_SECRET_ACCESS_KEY (the target's access_key_id / secret_access_key)",
                target.name
            );
        };
        let s3 = Self::new(
            bucket,
            prefix,
            target.endpoint.as_deref(),
            target.region.as_deref(),
            target.path_style,
            key_id,
            secret.clone(),
        )
        .with_context(|| format!("offsite target {}", target.name))?;
        #[cfg(debug_assertions)]
        if let Some(n) = std::env::var(TEST_PART_SIZE_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            return Ok(s3.with_part_size(n));
        }
        Ok(s3)
    }

    pub fn new(
        bucket: &str,
        prefix: &str,
        endpoint: Option<&str>,
        region: Option<&str>,
        path_style: bool,
        key_id: &str,
        secret: Secret,
    ) -> Result<Self> {
        let region = region
            .filter(|r| !r.is_empty())
            .unwrap_or("us-east-1")
            .to_string();
        let endpoint = match endpoint.filter(|e| !e.is_empty()) {
            Some(e) => e.trim_end_matches('/').to_string(),
            None => format!("https://s3.{region}.amazonaws.com"),
        };
        let url = Url::parse(&endpoint).map_err(|e| {
            anyhow!("the S3 endpoint {endpoint:?} is not a URL ({e}): check OFFSITE_ENDPOINT")
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            bail!(
                "the S3 endpoint {endpoint:?} must be http(s)://host[:port]: check OFFSITE_ENDPOINT"
            );
        }
        let mut host = url.host_str().unwrap_or_default().to_string();
        if let Some(p) = url.port() {
            let _ = write!(host, ":{p}");
        }
        if bucket.is_empty() {
            bail!("the S3 URL names no bucket (s3://bucket/prefix)");
        }
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the S3 client's runtime")?;
        let http = {
            let _guard = rt.enter();
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(30))
                // A redirect means another region or endpoint: say so
                // rather than follow it without the signature.
                .redirect(reqwest::redirect::Policy::none())
                .read_timeout(Duration::from_secs(300))
                .build()
                .context("cannot build the S3 HTTP client")?
        };
        Ok(Self {
            rt,
            http,
            scheme: url.scheme().to_string(),
            host,
            endpoint,
            bucket: bucket.to_string(),
            prefix,
            region,
            path_style,
            key_id: key_id.to_string(),
            secret,
            part_size: DEFAULT_PART_SIZE,
            copy_limit: MAX_COPY,
            page: None,
            parts_sent: AtomicU64::new(0),
        })
    }

    /// Use parts of `bytes` (tests; S3 itself refuses parts under 5 MiB
    /// except the last).
    pub fn with_part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes.max(1);
        self
    }

    /// Copy objects above `bytes` in parts of that size when renaming
    /// (tests; S3's own limit of one copy, 5 GiB, is the default).
    pub fn with_copy_limit(mut self, bytes: u64) -> Self {
        self.copy_limit = bytes.clamp(1, MAX_COPY);
        self
    }

    /// Ask for `n` entries per page of object and part listings (tests of
    /// the paging).
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page = Some(n.max(1));
        self
    }

    /// Parts this instance has sent by UploadPart (parts found on the
    /// server when resuming are not counted).
    pub fn parts_sent(&self) -> u64 {
        self.parts_sent.load(Ordering::Relaxed)
    }

    /// Create the bucket (tests, first setup); one that is already ours is fine.
    pub fn create_bucket(&self) -> Result<()> {
        let mut req = Req::new(Method::PUT, None, "creating the bucket");
        if self.region != "us-east-1" {
            req = req.body(
                format!(
                    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                     <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                    escape(&self.region)
                )
                .into_bytes(),
            );
        }
        self.rt.block_on(async {
            let resp = self.send(&req, None).await?;
            if resp.status().is_success() {
                return Ok(());
            }
            let (status, code, message) = read_error(resp).await;
            if code == "BucketAlreadyOwnedByYou" {
                return Ok(());
            }
            Err(self.explain(&req.what, status, &code, &message))
        })
    }

    /// The object's size, ETag and stored SHA-256, or `None`.
    pub fn head(&self, name: &str) -> Result<Option<Head>> {
        let key = self.key(name)?;
        self.rt.block_on(self.head_key(&key))
    }

    /// The full key of `name`, refusing names that are not plain relative ones.
    fn key(&self, name: &str) -> Result<String> {
        name_parts(name)?;
        Ok(format!("{}{name}", self.prefix))
    }

    fn part_size_for(&self, size: u64) -> u64 {
        let mut ps = self.part_size;
        while size.div_ceil(ps) > MAX_PARTS {
            ps *= 2;
        }
        ps
    }

    /// (Host header, canonical URI) of a request for `key`.
    fn target(&self, key: Option<&str>) -> (String, String) {
        let key = key.map(|k| percent_encode(k, true));
        if self.path_style {
            let path = match key {
                Some(k) => format!("/{}/{k}", percent_encode(&self.bucket, false)),
                None => format!("/{}", percent_encode(&self.bucket, false)),
            };
            (self.host.clone(), path)
        } else {
            (
                format!("{}.{}", self.bucket, self.host),
                format!("/{}", key.unwrap_or_default()),
            )
        }
    }

    /// Sign and send one request, retrying network errors, 5xx and 429
    /// with backoff; stops waiting when `cancel` is set.
    async fn send(&self, req: &Req<'_>, cancel: Option<&Cancel>) -> Result<reqwest::Response> {
        let payload_hash = sha256_hex(&req.body);
        let (host, path) = self.target(req.key);
        let query: Vec<String> = {
            let mut q: Vec<(String, String)> = req
                .query
                .iter()
                .map(|(k, v)| (percent_encode(k, false), percent_encode(v, false)))
                .collect();
            q.sort();
            q.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
        };
        let url = if query.is_empty() {
            format!("{}://{host}{path}", self.scheme)
        } else {
            format!("{}://{host}{path}?{}", self.scheme, query.join("&"))
        };
        let creds = Credentials {
            key_id: &self.key_id,
            secret: self.secret.expose(),
            region: &self.region,
            service: "s3",
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let amz_date = Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
            let mut headers = req.headers.clone();
            headers.push(("host".into(), host.clone()));
            headers.push(("x-amz-date".into(), amz_date.clone()));
            headers.push(("x-amz-content-sha256".into(), payload_hash.clone()));
            let auth = authorization(
                &creds,
                req.method.as_str(),
                &path,
                &req.query,
                &headers,
                &payload_hash,
                &amz_date,
            );
            let mut rb = self.http.request(req.method.clone(), &url);
            for (k, v) in &headers {
                if k != "host" {
                    rb = rb.header(k.as_str(), v.as_str());
                }
            }
            rb = rb
                .header(reqwest::header::AUTHORIZATION, auth)
                .body(req.body.clone());
            let result = until_cancelled(cancel, rb.send()).await?;
            let retry_why = match &result {
                Ok(r)
                    if r.status().is_server_error()
                        || r.status() == StatusCode::TOO_MANY_REQUESTS =>
                {
                    Some(format!("HTTP {}", r.status().as_u16()))
                }
                Ok(_) => None,
                Err(e) => Some(error_chain(e)),
            };
            let Some(retry_why) = retry_why else {
                return Ok(result?);
            };
            if attempt >= TRIES {
                return match result {
                    Ok(r) => Ok(r),
                    Err(e) => Err(anyhow!(
                        "{}: {}: cannot reach {} after {TRIES} tries: {}",
                        self.describe(),
                        req.what,
                        self.endpoint,
                        error_chain(&e)
                    )),
                };
            }
            let wait = Duration::from_millis(500 << (attempt - 1));
            tracing::warn!(
                "{}: {}: {retry_why}; retrying in {} ms",
                self.describe(),
                req.what,
                wait.as_millis()
            );
            until_cancelled(cancel, tokio::time::sleep(wait)).await?;
        }
    }

    /// Send and require a 2xx; other answers become a clear error.
    async fn send_ok(&self, req: &Req<'_>, cancel: Option<&Cancel>) -> Result<reqwest::Response> {
        let resp = self.send(req, cancel).await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let (status, code, message) = read_error(resp).await;
        Err(self.explain(&req.what, status, &code, &message))
    }

    /// An S3 error as a message naming the target and what to do. Never
    /// holds the secret (it is masked even should a server echo it).
    fn explain(&self, what: &str, status: u16, code: &str, message: &str) -> anyhow::Error {
        let hint = match code {
            "NoSuchBucket" => format!(
                "the bucket {} does not exist: create it (or fix the bucket in OFFSITE_URL or the target's url:)",
                self.bucket
            ),
            "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied" | "InvalidToken"
            | "ExpiredToken" | "AllAccessDisabled" => {
                "access denied: check OFFSITE_ACCESS_KEY_ID and OFFSITE_SECRET_ACCESS_KEY \
                 (or the target's access_key_id: and secret_access_key:; and that the key \
                 may use this bucket)"
                    .to_string()
            }
            "AuthorizationHeaderMalformed" | "PermanentRedirect" | "IllegalLocationConstraintException" => {
                "the bucket is in another region or at another endpoint: check OFFSITE_REGION and OFFSITE_ENDPOINT (or the target's region: and endpoint:)".to_string()
            }
            _ if status == 403 => "access denied: check OFFSITE_ACCESS_KEY_ID and \
                 OFFSITE_SECRET_ACCESS_KEY (or the target's access_key_id: and \
                 secret_access_key:; and that the key may use this bucket)"
                .to_string(),
            _ if status == 301 || status == 307 => {
                "the bucket is in another region or at another endpoint: check OFFSITE_REGION and OFFSITE_ENDPOINT (or the target's region: and endpoint:)".to_string()
            }
            _ => String::new(),
        };
        let mut text = format!("{}: {what}: HTTP {status}", self.describe());
        if !code.is_empty() {
            let _ = write!(text, " {code}");
        }
        if !message.is_empty() {
            let _ = write!(text, " ({message})");
        }
        if !hint.is_empty() {
            let _ = write!(text, ": {hint}");
        }
        anyhow!(self.secret.mask_in(&text))
    }

    async fn head_key(&self, key: &str) -> Result<Option<Head>> {
        let req = Req::new(Method::HEAD, Some(key), format!("reading {key}"));
        let resp = self.send(&req, None).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            let (status, code, message) = read_error(resp).await;
            return Err(self.explain(&req.what, status, &code, &message));
        }
        let h = resp.headers();
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let size = get("content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("{}: HEAD {key} gave no size", self.describe()))?;
        Ok(Some(Head {
            size,
            etag: get("etag")
                .unwrap_or_default()
                .trim_matches('"')
                .to_string(),
            modified: get("last-modified").and_then(|v| parse_http_date(&v)),
            sha256: get("x-amz-meta-sha256"),
        }))
    }

    async fn put_single(&self, up: &Upload<'_>, key: &str) -> Result<Stored> {
        let mut body = Vec::with_capacity(up.size as usize);
        File::open(up.file)
            .with_context(|| format!("cannot open {}", up.file.display()))?
            .take(up.size + 1)
            .read_to_end(&mut body)
            .with_context(|| format!("cannot read {}", up.file.display()))?;
        if body.len() as u64 != up.size {
            bail!(
                "{} has {} bytes, {} were expected: it changed during the upload",
                up.file.display(),
                body.len(),
                up.size
            );
        }
        throttle(up.throttle, up.size, up.cancel).await?;
        let md5 = Md5::digest(&body);
        let req = Req::new(Method::PUT, Some(key), format!("uploading {}", up.name))
            .header("content-md5", b64(&md5))
            .header("x-amz-meta-sha256", up.sha256)
            .body(body);
        let resp = self.send_ok(&req, Some(up.cancel)).await?;
        let etag = etag_of(&resp);
        if etag != hex(&md5) {
            bail!(
                "{}: uploading {}: the server's ETag {etag:?} is not the file's MD5 {}",
                self.describe(),
                up.name,
                hex(&md5)
            );
        }
        (up.progress)(up.size);
        self.check_stored(up, key, &etag).await?;
        Ok(Stored {
            bytes: up.size,
            proof: Proof::Etag,
        })
    }

    /// After an upload: the object is there with the file's size and the ETag.
    async fn check_stored(&self, up: &Upload<'_>, key: &str, etag: &str) -> Result<()> {
        let head = self.head_key(key).await?.ok_or_else(|| {
            anyhow!(
                "{}: {} is missing right after its upload",
                self.describe(),
                up.name
            )
        })?;
        if head.size != up.size || head.etag != etag {
            bail!(
                "{}: {} holds {} bytes (ETag {}) after the upload; the file has {} bytes (ETag {etag})",
                self.describe(),
                up.name,
                head.size,
                head.etag,
                up.size
            );
        }
        Ok(())
    }

    async fn list_async(&self, dir: &str) -> Result<Vec<Object>> {
        let dir = dir.trim_end_matches('/');
        let prefix = if dir.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}/", self.key(dir)?)
        };
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = Req::new(Method::GET, None, format!("listing {prefix}"))
                .query("list-type", "2")
                .query("prefix", prefix.clone());
            if let Some(t) = &token {
                req = req.query("continuation-token", t.clone());
            }
            if let Some(n) = self.page {
                req = req.query("max-keys", n.to_string());
            }
            let resp = self.send_ok(&req, None).await?;
            let body = resp.text().await.unwrap_or_default();
            for c in tags(&body, "Contents") {
                let Some(key) = tag(c, "Key").map(unescape) else {
                    continue;
                };
                let Some(name) = key.strip_prefix(&self.prefix) else {
                    continue;
                };
                if name.is_empty() || name.ends_with('/') {
                    continue;
                }
                out.push(Object {
                    name: name.to_string(),
                    size: tag(c, "Size")
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(0),
                    modified: tag(c, "LastModified").and_then(|s| s.trim().parse().ok()),
                });
            }
            let truncated = tag(&body, "IsTruncated").is_some_and(|v| v.trim() == "true");
            match tag(&body, "NextContinuationToken") {
                Some(t) if truncated && !t.is_empty() => token = Some(unescape(t)),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn get_async(&self, down: Download<'_>) -> Result<u64> {
        let (name, to, throttle_, cancel) = (down.name, down.to, down.throttle, down.cancel);
        let key = self.key(name)?;
        let req = Req::new(Method::GET, Some(&key), format!("downloading {name}"));
        let mut resp = self.send(&req, Some(cancel)).await?;
        if !resp.status().is_success() {
            let (status, code, message) = read_error(resp).await;
            if code == "NoSuchKey" || (status == 404 && code.is_empty()) {
                bail!("{}: there is no object {name}", self.describe());
            }
            return Err(self.explain(&req.what, status, &code, &message));
        }
        let expected = resp.content_length();
        let mut n = 0u64;
        while let Some(chunk) = until_cancelled(Some(cancel), resp.chunk())
            .await?
            .map_err(|e| {
                anyhow!(
                    "{}: downloading {name}: {}",
                    self.describe(),
                    error_chain(&e)
                )
            })?
        {
            throttle(throttle_, chunk.len() as u64, cancel).await?;
            to.write_all(&chunk)?;
            n += chunk.len() as u64;
        }
        if let Some(len) = expected
            && len != n
        {
            bail!(
                "{}: downloading {name}: got {n} of {len} bytes",
                self.describe()
            );
        }
        Ok(n)
    }

    async fn delete_key(&self, key: &str, what: String) -> Result<()> {
        let req = Req::new(Method::DELETE, Some(key), what);
        let resp = self.send(&req, None).await?;
        if resp.status().is_success() || resp.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        let (status, code, message) = read_error(resp).await;
        if code == "NoSuchKey" {
            return Ok(());
        }
        Err(self.explain(&req.what, status, &code, &message))
    }

    /// S3 may answer 200 and still put an `<Error>` in the body (copies,
    /// completing an upload).
    fn error_in_body(&self, what: &str, body: &str) -> Result<()> {
        match tag(body, "Error") {
            Some(err) => {
                let code = tag(err, "Code").map(unescape).unwrap_or_default();
                let message = tag(err, "Message").map(unescape).unwrap_or_default();
                Err(self.explain(what, 200, &code, &message))
            }
            None => Ok(()),
        }
    }

    async fn rename_async(&self, from: &str, to: &str) -> Result<()> {
        let (fk, tk) = (self.key(from)?, self.key(to)?);
        let head = self.head_key(&fk).await?.ok_or_else(|| {
            anyhow!(
                "{}: cannot move {from}: there is no such object",
                self.describe()
            )
        })?;
        let source = format!("/{}/{}", self.bucket, percent_encode(&fk, true));
        if head.size > self.copy_limit {
            self.copy_in_parts(&source, &tk, &head, from, to).await?;
        } else {
            let req = Req::new(Method::PUT, Some(&tk), format!("copying {from} to {to}"))
                .header("x-amz-copy-source", source);
            let resp = self.send_ok(&req, None).await?;
            let body = resp.text().await.unwrap_or_default();
            self.error_in_body(&req.what, &body)?;
        }
        let copied = self.head_key(&tk).await?;
        if copied.as_ref().map(|h| h.size) != Some(head.size) {
            bail!(
                "{}: copying {from} to {to}: the copy is missing or of another size; {from} is kept",
                self.describe()
            );
        }
        self.delete_key(&fk, format!("deleting {from} after copying it to {to}"))
            .await
    }
}

impl Remote for S3 {
    fn describe(&self) -> String {
        format!(
            "s3://{}/{} at {}",
            self.bucket,
            self.prefix.trim_end_matches('/'),
            self.endpoint
        )
    }

    fn put(&self, up: &Upload<'_>) -> Result<Stored> {
        let key = self.key(up.name)?;
        let saved = up
            .resume
            .load()
            .and_then(|t| serde_json::from_str::<State>(&t).ok());
        self.rt.block_on(async {
            if up.size < self.part_size {
                if let Some(s) = saved {
                    self.abort(&s.key, &s.upload_id).await;
                    up.resume.save(None)?;
                }
                self.put_single(up, &key).await
            } else {
                self.put_multipart(up, &key, saved).await
            }
        })
    }

    fn stat(&self, name: &str) -> Result<Option<Object>> {
        Ok(self.head(name)?.map(|h| Object {
            name: name.to_string(),
            size: h.size,
            modified: h.modified,
        }))
    }

    fn list(&self, dir: &str) -> Result<Vec<Object>> {
        self.rt.block_on(self.list_async(dir))
    }

    fn get(&self, down: Download<'_>) -> Result<u64> {
        self.rt.block_on(self.get_async(down))
    }

    fn delete(&self, name: &str) -> Result<()> {
        let key = self.key(name)?;
        self.rt
            .block_on(self.delete_key(&key, format!("deleting {name}")))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.rt.block_on(self.rename_async(from, to))
    }
}

/// Wait for the throttle in 1 MiB steps.
async fn throttle(t: &Throttle, bytes: u64, cancel: &Cancel) -> Result<(), Cancelled> {
    let mut left = bytes;
    while left > 0 {
        let step = left.min(CHUNK);
        t.take_async(step, cancel).await?;
        left -= step;
    }
    cancel.check()
}

/// Run `f`, giving up (with `Cancelled`) once `cancel` is set.
async fn until_cancelled<T>(
    cancel: Option<&Cancel>,
    f: impl Future<Output = T>,
) -> Result<T, Cancelled> {
    let Some(c) = cancel else {
        return Ok(f.await);
    };
    c.check()?;
    tokio::select! {
        r = f => Ok(r),
        _ = async {
            while !c.is_cancelled() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        } => Err(Cancelled),
    }
}

/// Status, S3 error code and message of a failed answer.
async fn read_error(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    let code = tag(&body, "Code").map(unescape).unwrap_or_default();
    let message = tag(&body, "Message").map(unescape).unwrap_or_default();
    (status, code, message)
}

fn etag_of(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_matches('"')
        .to_string()
}

/// A reqwest error with its causes ("error sending request: connection refused").
fn error_chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        let _ = write!(s, ": {c}");
        src = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn the_part_size_grows_to_stay_under_ten_thousand_parts() {
        let s = S3::new(
            "b",
            "p",
            Some("http://127.0.0.1:9"),
            None,
            true,
            "k",
            Secret::new("s"),
        )
        .unwrap();
        assert_eq!(s.part_size_for(1 << 30), DEFAULT_PART_SIZE);
        let big = 200u64 << 30;
        let ps = s.part_size_for(big);
        assert!(big.div_ceil(ps) <= MAX_PARTS && ps == 2 * DEFAULT_PART_SIZE);
    }

    #[test]
    fn describe_and_targets() {
        let s = S3::new(
            "bkt",
            "/pre/fix/",
            None,
            Some("eu-west-1"),
            false,
            "k",
            Secret::new("s"),
        )
        .unwrap();
        assert_eq!(
            s.describe(),
            "s3://bkt/pre/fix at https://s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            s.target(Some("pre/fix/a b.zip")),
            (
                "bkt.s3.eu-west-1.amazonaws.com".to_string(),
                "/pre/fix/a%20b.zip".to_string()
            )
        );
        let p = S3::new(
            "bkt",
            "",
            Some("http://127.0.0.1:9000/"),
            None,
            true,
            "k",
            Secret::new("s"),
        )
        .unwrap();
        assert_eq!(
            p.target(Some("x")),
            ("127.0.0.1:9000".to_string(), "/bkt/x".to_string())
        );
        assert_eq!(p.target(None).1, "/bkt");
        assert!(p.key("../x").is_err() && p.key("a//b").is_err() && p.key("").is_err());
    }

    #[test]
    fn errors_name_the_target_and_hide_the_secret() {
        let s = S3::new(
            "bkt",
            "",
            Some("http://127.0.0.1:9"),
            None,
            true,
            "AKID",
            Secret::new("SeCrEt/Key+123"),
        )
        .unwrap();
        let e = s
            .explain(
                "uploading a.zip",
                403,
                "SignatureDoesNotMatch",
                "echo SeCrEt/Key+123",
            )
            .to_string();
        assert!(e.contains("s3://bkt/ at http://127.0.0.1:9"), "{e}");
        assert!(e.contains("OFFSITE_SECRET_ACCESS_KEY"), "{e}");
        assert!(!e.contains("SeCrEt/Key+123"), "{e}");
        let e = s.explain("listing", 404, "NoSuchBucket", "").to_string();
        assert!(e.contains("bucket bkt does not exist: create it"), "{e}");
    }
}
