//! Multipart uploads of the S3 kind: start one, list the parts the
//! server already holds (to resume after a cut), send the rest one part in
//! memory at a time with `Content-MD5`, complete it and check the whole by
//! its multipart ETag; abort on failure; and copy an object above one
//! copy's limit in ranged parts (UploadPartCopy). The upload id and the
//! parts sent are saved as [`State`] through the upload's `Resume`.

use super::*;

/// What an interrupted multipart upload saved (JSON in the queue's row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct State {
    pub(super) upload_id: String,
    pub(super) key: String,
    pub(super) part_size: u64,
    pub(super) size: u64,
    pub(super) sha256: String,
    /// (part number, hex MD5 = its ETag) of the parts sent so far.
    pub(super) parts: Vec<(u32, String)>,
}

impl S3 {
    pub(super) async fn create_upload(&self, key: &str, up: &Upload<'_>) -> Result<String> {
        let req = Req::new(
            Method::POST,
            Some(key),
            format!("starting the upload of {}", up.name),
        )
        .query("uploads", "")
        .header("x-amz-meta-sha256", up.sha256);
        let resp = self.send_ok(&req, Some(up.cancel)).await?;
        let body = resp.text().await.unwrap_or_default();
        tag(&body, "UploadId").map(unescape).ok_or_else(|| {
            anyhow!(
                "{}: starting the upload of {}: no UploadId in the answer",
                self.describe(),
                up.name
            )
        })
    }

    /// The parts the server holds of an upload: number → (ETag, size);
    /// `None` when the upload is gone.
    pub(super) async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
        cancel: &Cancel,
    ) -> Result<Option<HashMap<u32, (String, u64)>>> {
        let mut parts = HashMap::new();
        let mut marker: Option<String> = None;
        loop {
            let mut req = Req::new(
                Method::GET,
                Some(key),
                format!("listing the parts of {key}"),
            )
            .query("uploadId", upload_id);
            if let Some(m) = &marker {
                req = req.query("part-number-marker", m.clone());
            }
            if let Some(n) = self.page {
                req = req.query("max-parts", n.to_string());
            }
            let resp = self.send(&req, Some(cancel)).await?;
            if !resp.status().is_success() {
                let (status, code, message) = read_error(resp).await;
                if code == "NoSuchUpload" || (status == 404 && code.is_empty()) {
                    return Ok(None);
                }
                return Err(self.explain(&req.what, status, &code, &message));
            }
            let body = resp.text().await.unwrap_or_default();
            for p in tags(&body, "Part") {
                let n = tag(p, "PartNumber").and_then(|v| v.trim().parse().ok());
                let size = tag(p, "Size").and_then(|v| v.trim().parse().ok());
                let etag = tag(p, "ETag").map(|e| unescape(e).trim_matches('"').to_string());
                if let (Some(n), Some(size), Some(etag)) = (n, size, etag) {
                    parts.insert(n, (etag, size));
                }
            }
            let truncated = tag(&body, "IsTruncated").is_some_and(|v| v.trim() == "true");
            match tag(&body, "NextPartNumberMarker") {
                Some(m) if truncated && !m.trim().is_empty() => marker = Some(m.trim().to_string()),
                _ => return Ok(Some(parts)),
            }
        }
    }

    /// Abandon an upload (its parts stop costing storage). Best effort.
    pub(super) async fn abort(&self, key: &str, upload_id: &str) {
        let req = Req::new(
            Method::DELETE,
            Some(key),
            format!("abandoning an old upload of {key}"),
        )
        .query("uploadId", upload_id);
        match self.send(&req, None).await {
            Ok(r) if r.status().is_success() || r.status() == StatusCode::NOT_FOUND => {}
            Ok(r) => {
                let (status, code, message) = read_error(r).await;
                tracing::warn!("{}", self.explain(&req.what, status, &code, &message));
            }
            Err(e) => tracing::warn!("{e:#}"),
        }
    }

    pub(super) async fn put_multipart(
        &self,
        up: &Upload<'_>,
        key: &str,
        saved: Option<State>,
    ) -> Result<Stored> {
        let part_size = self.part_size_for(up.size);
        let n_parts = up.size.div_ceil(part_size);
        let mut file =
            File::open(up.file).with_context(|| format!("cannot open {}", up.file.display()))?;

        // Go on with the saved upload when it is this file's and the server still has it.
        let mut resumed = None;
        if let Some(s) = saved {
            if s.key == key
                && s.size == up.size
                && s.sha256 == up.sha256
                && s.part_size == part_size
            {
                match self.list_parts(key, &s.upload_id, up.cancel).await? {
                    Some(on_server) => {
                        tracing::info!(
                            "{}: resuming the upload of {} ({} of {n_parts} parts on the server)",
                            self.describe(),
                            up.name,
                            on_server.len()
                        );
                        resumed = Some((s, on_server));
                    }
                    None => tracing::info!(
                        "{}: the interrupted upload of {} is gone from the server; starting over",
                        self.describe(),
                        up.name
                    ),
                }
            } else {
                self.abort(&s.key, &s.upload_id).await;
            }
        }
        let (mut state, on_server) = match resumed {
            Some(x) => x,
            None => {
                let upload_id = self.create_upload(key, up).await?;
                let s = State {
                    upload_id,
                    key: key.to_string(),
                    part_size,
                    size: up.size,
                    sha256: up.sha256.to_string(),
                    parts: Vec::new(),
                };
                up.resume.save(Some(&serde_json::to_string(&s)?))?;
                (s, HashMap::new())
            }
        };
        state.parts.clear();

        let mut buf = Vec::with_capacity(part_size as usize);
        let mut md5s = Vec::with_capacity(16 * n_parts as usize);
        let mut done = 0u64;
        for n in 1..=n_parts as u32 {
            up.cancel.check()?;
            let offset = (n as u64 - 1) * part_size;
            let len = part_size.min(up.size - offset);
            read_part(&mut file, offset, len, &mut buf)
                .with_context(|| format!("cannot read {}", up.file.display()))?;
            let md5 = Md5::digest(&buf);
            let md5_hex = hex(&md5);
            let there = on_server
                .get(&n)
                .is_some_and(|(etag, size)| *etag == md5_hex && *size == len);
            if !there {
                throttle(up.throttle, len, up.cancel).await?;
                let req = Req::new(
                    Method::PUT,
                    Some(key),
                    format!("uploading part {n} of {n_parts} of {}", up.name),
                )
                .query("partNumber", n.to_string())
                .query("uploadId", state.upload_id.clone())
                .header("content-md5", b64(&md5))
                .body(std::mem::take(&mut buf));
                let resp = self.send_ok(&req, Some(up.cancel)).await?;
                buf = req.body;
                let etag = etag_of(&resp);
                if etag != md5_hex {
                    bail!(
                        "{}: {}: the server's ETag {etag:?} is not the part's MD5 {md5_hex}",
                        self.describe(),
                        req.what
                    );
                }
                self.parts_sent.fetch_add(1, Ordering::Relaxed);
            }
            md5s.extend_from_slice(&md5);
            state.parts.push((n, md5_hex));
            up.resume.save(Some(&serde_json::to_string(&state)?))?;
            done += len;
            (up.progress)(done);
        }
        up.cancel.check()?;

        let xml = complete_body(&state.parts);
        let req = Req::new(
            Method::POST,
            Some(key),
            format!("completing the upload of {}", up.name),
        )
        .query("uploadId", state.upload_id.clone())
        .header("content-type", "application/xml")
        .body(xml.into_bytes());
        let resp = self.send_ok(&req, Some(up.cancel)).await?;
        let body = resp.text().await.unwrap_or_default();
        self.error_in_body(&req.what, &body)?;
        let etag = tag(&body, "ETag")
            .map(|e| unescape(e).trim_matches('"').to_string())
            .unwrap_or_default();
        let want = format!("{}-{n_parts}", hex(&Md5::digest(&md5s)));
        if etag != want {
            bail!(
                "{}: completing the upload of {}: the server's ETag {etag:?} is not the parts' {want}",
                self.describe(),
                up.name
            );
        }
        self.check_stored(up, key, &want).await?;
        up.resume.save(None)?;
        Ok(Stored {
            bytes: up.size,
            proof: Proof::Etag,
        })
    }

    /// Copy an object above one copy's limit: a multipart upload whose
    /// parts are ranges of the source (UploadPartCopy), metadata kept.
    pub(super) async fn copy_in_parts(
        &self,
        source: &str,
        tk: &str,
        head: &Head,
        from: &str,
        to: &str,
    ) -> Result<()> {
        let mut req = Req::new(
            Method::POST,
            Some(tk),
            format!("starting to copy {from} to {to}"),
        )
        .query("uploads", "");
        if let Some(sha) = &head.sha256 {
            req = req.header("x-amz-meta-sha256", sha.clone());
        }
        let resp = self.send_ok(&req, None).await?;
        let body = resp.text().await.unwrap_or_default();
        let upload_id = tag(&body, "UploadId").map(unescape).ok_or_else(|| {
            anyhow!(
                "{}: {}: no UploadId in the answer",
                self.describe(),
                req.what
            )
        })?;
        let result = async {
            let part = self.copy_limit;
            let n_parts = head.size.div_ceil(part);
            let mut etags = Vec::new();
            for n in 1..=n_parts {
                let first = (n - 1) * part;
                let last = (first + part).min(head.size) - 1;
                let req = Req::new(
                    Method::PUT,
                    Some(tk),
                    format!("copying part {n} of {n_parts} of {from} to {to}"),
                )
                .query("partNumber", n.to_string())
                .query("uploadId", upload_id.clone())
                .header("x-amz-copy-source", source)
                .header("x-amz-copy-source-range", format!("bytes={first}-{last}"));
                let resp = self.send_ok(&req, None).await?;
                let body = resp.text().await.unwrap_or_default();
                self.error_in_body(&req.what, &body)?;
                let etag = tag(&body, "ETag")
                    .map(|e| unescape(e).trim_matches('"').to_string())
                    .ok_or_else(|| {
                        anyhow!("{}: {}: no ETag in the answer", self.describe(), req.what)
                    })?;
                etags.push((n, etag));
            }
            let xml = complete_body(&etags);
            let req = Req::new(
                Method::POST,
                Some(tk),
                format!("completing the copy of {from} to {to}"),
            )
            .query("uploadId", upload_id.clone())
            .header("content-type", "application/xml")
            .body(xml.into_bytes());
            let resp = self.send_ok(&req, None).await?;
            let body = resp.text().await.unwrap_or_default();
            self.error_in_body(&req.what, &body)
        }
        .await;
        if result.is_err() {
            self.abort(tk, &upload_id).await;
        }
        result
    }
}

/// The body of CompleteMultipartUpload: each part's number and ETag.
fn complete_body<N: std::fmt::Display>(parts: &[(N, String)]) -> String {
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        let _ = write!(
            xml,
            "<Part><PartNumber>{n}</PartNumber><ETag>\"{etag}\"</ETag></Part>"
        );
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

/// Read `len` bytes at `offset` into `buf` (replacing its contents).
pub(super) fn read_part(
    file: &mut File,
    offset: u64,
    len: u64,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    buf.clear();
    file.seek(SeekFrom::Start(offset))?;
    let got = file.take(len).read_to_end(buf)?;
    if got as u64 != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "the file ended at {} bytes: it changed during the upload",
                offset + got as u64
            ),
        ));
    }
    Ok(())
}
