//! Loading a checked `.dt` into the target folder with 1C: the Designer
//! (`CREATEINFOBASE`, then `/RestoreIB`) or `ibcmd infobase restore`, both
//! run by [`crate::onec`] with its timeout, cancel, log decoding and
//! explanations. The free space a loaded base needs is checked first.

use std::fs;
use std::path::Path;

use super::{Loader, RestoreError, RestoreRequest, check_space, extract::Target};
use crate::onec::{self, OnecError, RestoreJob};

/// A base loaded from a dump can be up to this many times the `.dt`.
const BASE_PER_DT: u64 = 10;

/// The 1C log of a load, in the target folder (removed after a success).
pub const LOG_NAME: &str = "restore-1c.log";

/// Load `dt` into `req.to`; returns the program that did (`1cv8` or
/// `ibcmd`). On failure the written files (the checked `.dt`) are kept for
/// loading by hand, and the error names the 1C log.
pub fn load(
    req: &RestoreRequest,
    loader: Loader,
    dt: &Path,
    t: &mut Target,
) -> Result<&'static str, RestoreError> {
    let dt_size = fs::metadata(dt)
        .map_err(|source| RestoreError::Read {
            path: dt.to_owned(),
            source,
        })?
        .len();
    check_space(
        req.to,
        dt_size.saturating_mul(BASE_PER_DT),
        "the infobase loaded from the dump (up to 10 times the .dt)",
    )?;
    let out_log = req.to.join(LOG_NAME);
    let (exe, by, run): (_, _, fn(&RestoreJob) -> _) = match loader {
        Loader::Designer(exe) => (exe, "1cv8", onec::restore_designer),
        Loader::Ibcmd(exe) => (exe, "ibcmd", onec::restore_ibcmd),
    };
    let job = RestoreJob {
        exe,
        base: req.to,
        create: !req.to.join("1Cv8.1CD").exists(),
        dt_path: dt,
        user: req.user,
        password: req.password,
        out_log: &out_log,
        timeout: req.timeout,
        cancel: req.cancel,
    };
    match run(&job) {
        Ok(_) => {
            let _ = fs::remove_file(&out_log);
            Ok(by)
        }
        Err(OnecError::Cancelled { .. }) => Err(RestoreError::Cancelled),
        Err(source) => {
            t.keep();
            Err(RestoreError::Load {
                dt: dt.to_owned(),
                to: req.to.to_owned(),
                log: out_log,
                source: Box::new(source),
            })
        }
    }
}
