//! The backup pipeline: lock → make (dump / ibcmd / copy) → pack → verify →
//! publish (rename) → record → prune; and `restore`, the way back. The only
//! module that writes under `BACKUP_DIR`, and (in `history`) the only one
//! with SQL.

pub mod archive;
pub mod crypt;
pub mod drill;
pub mod feed;
pub mod fingerprint;
pub mod history;
pub mod jobs;
pub mod lock;
pub mod naming;
pub mod prune;
pub mod restore;
pub mod run;
pub mod verify;
