//! Offsite copies: each good archive copied to S3, WebDAV, SFTP or another
//! folder, verified, pruned there, and fetched back for `restore --from`
//! and drills. [`remote`] is the seam every kind implements; [`open`] picks
//! the kind from a target's [`Location`].

pub mod feed;
pub mod fetch;
pub mod folder;
pub mod http;
pub mod pick;
pub mod prune;
pub mod queue;
pub mod remote;
pub mod s3;
pub mod sftp;
pub mod stale;
pub mod throttle;
pub mod webdav;
pub mod xml;

use anyhow::Result;

use crate::config::offsite::{Location, OffsiteTarget};

pub use remote::{NoResume, Object, Proof, Remote, Resume, Stored, Upload};
pub use throttle::Throttle;

/// Connect to a target (nothing is sent until the first call for kinds
/// that connect lazily).
pub fn open(target: &OffsiteTarget) -> Result<Box<dyn Remote>> {
    match &target.location {
        Location::Folder(_) => Ok(Box::new(folder::Folder::open(target)?)),
        Location::S3 { .. } => Ok(Box::new(s3::S3::open(target)?)),
        Location::WebDav { .. } => Ok(Box::new(webdav::WebDav::open(target)?)),
        Location::Sftp { .. } => Ok(Box::new(sftp::Sftp::open(target)?)),
    }
}
