//! Configuration: the one model every other module reads. Sources, highest
//! priority first: process environment > `.env` > `config.yaml` > defaults.
//! Loading splits "read the file" from "parse these bytes" so parsing is
//! tested from strings; every problem is collected and reported together,
//! naming its source, the value and the expected form.

mod secret;

pub use secret::Secret;

use serde::Serialize;

/// How a base is backed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Designer `/DumpIB` to a `.dt`.
    #[default]
    Dump,
    /// `ibcmd infobase dump` to a `.dt`.
    Ibcmd,
    /// A cold copy of `1Cv8.1CD` (and optionally `1Cv8Log/`).
    Copy,
}

impl Method {
    pub const ALL: [(&'static str, Method); 3] = [
        ("dump", Method::Dump),
        ("ibcmd", Method::Ibcmd),
        ("copy", Method::Copy),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Dump => "dump",
            Method::Ibcmd => "ibcmd",
            Method::Copy => "copy",
        }
    }
}

/// How the backup is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compress {
    /// A `.zip` (deflate, ZIP64 when needed) that Explorer and 7-Zip open.
    #[default]
    Zip,
    /// A `.tar.zst`: much faster, needs zstd-aware tools to open.
    Zstd,
    /// No archive: the bare `.dt` (or a folder for `copy`).
    None,
}

impl Compress {
    pub const ALL: [(&'static str, Compress); 3] = [
        ("zip", Compress::Zip),
        ("zstd", Compress::Zstd),
        ("none", Compress::None),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Compress::Zip => "zip",
            Compress::Zstd => "zstd",
            Compress::None => "none",
        }
    }
}
