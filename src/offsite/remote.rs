//! The one seam every kind of target implements ([`Remote`]): put a file
//! under a name, stat, list, read back, delete and rename. Blocking calls,
//! made from the upload worker's thread, a console command or a drill
//! (never from an async task); a kind that speaks an async protocol keeps
//! its own small runtime inside.
//!
//! Names are relative to the target's root (the URL's path or S3 prefix)
//! and `/`-separated (`Бухгалтерия/Бухгалтерия_2026-12-03_0300.zip`); each
//! kind maps them to its own paths and creates folders as needed.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use jiff::Timestamp;

use crate::cancel::Cancel;

use super::throttle::Throttle;

/// The parts of an object name, refusing a name that is not plain,
/// relative and `/`-separated (empty parts, `.`, `..`, backslashes), so no
/// kind can be led outside its root.
pub fn name_parts(name: &str) -> Result<Vec<&str>> {
    let parts: Vec<&str> = name.split('/').collect();
    for p in &parts {
        if p.is_empty() || *p == "." || *p == ".." || p.contains('\\') {
            anyhow::bail!("object name {name:?} is not a plain relative name");
        }
    }
    Ok(parts)
}

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Relative to the target's root, `/`-separated.
    pub name: String,
    pub size: u64,
    pub modified: Option<Timestamp>,
}

/// Where an interrupted upload keeps what it needs to go on (an S3 upload
/// id and the ETags of the parts already sent). The queue keeps it in the
/// history database, so it survives an agent restart. The state is opaque
/// to the caller; a kind that cannot resume ignores it.
pub trait Resume: Send + Sync {
    /// The state an earlier, interrupted `put` of this same file and name saved.
    fn load(&self) -> Option<String>;
    /// Save progress (called after each part); `None` clears it.
    fn save(&self, state: Option<&str>) -> Result<()>;
}

/// For callers with nothing to resume (tests, one-off copies).
pub struct NoResume;

impl Resume for NoResume {
    fn load(&self) -> Option<String> {
        None
    }
    fn save(&self, _: Option<&str>) -> Result<()> {
        Ok(())
    }
}

/// One upload: a local file to store under `name`.
pub struct Upload<'a> {
    pub file: &'a Path,
    pub name: &'a str,
    /// The file's size, known before the upload (checked after it).
    pub size: u64,
    /// The file's SHA-256, lowercase hex (S3 stores it as object metadata
    /// `x-amz-meta-sha256`; other kinds may ignore it).
    pub sha256: &'a str,
    pub resume: &'a dyn Resume,
    pub throttle: &'a Throttle,
    pub cancel: &'a Cancel,
    /// Bytes sent so far (called as they go; may be called rarely).
    pub progress: &'a (dyn Fn(u64) + Sync),
}

/// One download: the object `name`, streamed to `to`.
pub struct Download<'a> {
    pub name: &'a str,
    pub to: &'a mut dyn Write,
    pub throttle: &'a Throttle,
    pub cancel: &'a Cancel,
}

/// What a `put` itself proved about the stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The server's size matches the file's.
    Size,
    /// S3: every part's MD5 was checked by the server (`Content-MD5`), the
    /// final ETag matches the parts' and the size matches.
    Etag,
}

impl Proof {
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::Size => "size",
            Proof::Etag => "etag",
        }
    }
}

/// A finished `put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub bytes: u64,
    pub proof: Proof,
}

/// A kind of offsite target (S3, WebDAV, SFTP, folder).
///
/// Errors name the target (by [`Remote::describe`], never with
/// credentials) and what to check: "access denied: check
/// OFFSITE_ACCESS_KEY_ID/OFFSITE_SECRET_ACCESS_KEY", "host key does not
/// match OFFSITE_KNOWN_HOST", and so on.
pub trait Remote: Send + Sync {
    /// The target without credentials, for logs and errors.
    fn describe(&self) -> String;

    /// Store `up.file` under `up.name`, replacing what is there. A reader
    /// never sees a partial object under `up.name` where the kind allows
    /// (a folder and SFTP write a temporary name and rename; S3 publishes
    /// on completing the upload); on error or cancel, nothing half-written
    /// stays under the final name, and a kind that can resume leaves its
    /// state in `up.resume`. Retries of single requests are the kind's;
    /// the queue retries whole uploads with backoff.
    fn put(&self, up: &Upload<'_>) -> Result<Stored>;

    /// The object under `name`, or `None` when there is none.
    fn stat(&self, name: &str) -> Result<Option<Object>>;

    /// Every object under the folder `dir` ("" = the root), recursively,
    /// with names relative to the root. A missing folder is an empty list.
    fn list(&self, dir: &str) -> Result<Vec<Object>>;

    /// Stream the object `down.name` to `down.to`; returns the bytes written.
    fn get(&self, down: Download<'_>) -> Result<u64>;

    /// Delete the object; a missing one is not an error.
    fn delete(&self, name: &str) -> Result<()>;

    /// Move `from` to `to`, replacing `to` (S3: copy, then delete).
    fn rename(&self, from: &str, to: &str) -> Result<()>;
}
