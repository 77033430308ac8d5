//! Who is inside 1C: client processes (`1cv8`, `1cv8c`, `1cv8s`, `1cv8t`,
//! with or without `.exe`, any case) counted per OS user, from the process
//! table the process collector already read (the names are
//! [`crate::onec::inside`]'s), and per configured base: the clients
//! whose command line names the base, from one read of the process table
//! with command lines per round ([`per_base`]).

use super::ProcInfo;
use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::onec::inside::{CLIENT_NAMES, is_client};

/// 1C client processes of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnecUser {
    /// Account name; `unknown` when the owner could not be read.
    pub user: String,
    pub count: u64,
}

/// 1C client processes on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OnecUsers {
    pub total: u64,
    /// Sorted by user name.
    pub per_user: Vec<OnecUser>,
    /// Clients inside each configured base, in the configuration's order
    /// (empty when no base is configured or the table could not be read).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_base: Vec<OnecBase>,
}

/// 1C clients inside one configured base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnecBase {
    pub base: String,
    pub clients: u64,
}

/// The clients inside each of `bases` (name, folder) now: one read of the
/// process table (details for 1C clients only). `None` when the table
/// cannot be read (logged at debug level: the per-user counts still show).
pub fn per_base(bases: &[(String, std::path::PathBuf)]) -> Option<Vec<OnecBase>> {
    if bases.is_empty() {
        return Some(Vec::new());
    }
    let clients = match crate::onec::inside::clients() {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("cannot tell the 1C clients of each base: {e}");
            return None;
        }
    };
    let named = bases.iter().map(|(n, p)| (n.as_str(), p.as_path()));
    Some(
        crate::onec::inside::count_per_base(&clients, named)
            .into_iter()
            .map(|(base, clients)| OnecBase { base, clients })
            .collect(),
    )
}

/// Count 1C clients per user.
pub fn count(procs: &[ProcInfo]) -> OnecUsers {
    let mut per: BTreeMap<String, u64> = BTreeMap::new();
    for p in procs.iter().filter(|p| is_client(&p.name)) {
        *per.entry(p.user.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
    }
    OnecUsers {
        total: per.values().sum(),
        per_user: per
            .into_iter()
            .map(|(user, count)| OnecUser { user, count })
            .collect(),
        per_base: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names() {
        for n in ["1cv8", "1CV8C.EXE", "1cv8s.exe", "1cv8t"] {
            assert!(is_client(n), "{n}");
        }
        for n in ["1cv8x", "ragent.exe", "1cv8.exe.bak", "rphost"] {
            assert!(!is_client(n), "{n}");
        }
    }

    #[test]
    fn per_base_counts_every_configured_base_from_the_real_table() {
        assert_eq!(per_base(&[]), Some(Vec::new()), "no base: no table read");
        let got = per_base(&[("buh".into(), "/definitely/no/such/base".into())]).unwrap();
        assert_eq!(
            got,
            [OnecBase {
                base: "buh".into(),
                clients: 0
            }]
        );
    }

    #[test]
    fn counts_per_user() {
        let pr = |name: &str, user: Option<&str>| ProcInfo {
            pid: 1,
            name: name.into(),
            user: user.map(Into::into),
            cpu_percent: 0.0,
            rss_bytes: 0,
        };
        let c = count(&[
            pr("1cv8c.exe", Some("buh")),
            pr("1cv8.exe", Some("buh")),
            pr("1cv8c", Some("admin")),
            pr("explorer.exe", Some("admin")),
            pr("1cv8c", None),
        ]);
        assert_eq!(c.total, 4);
        assert_eq!(
            c.per_user,
            [
                OnecUser {
                    user: "admin".into(),
                    count: 1
                },
                OnecUser {
                    user: "buh".into(),
                    count: 2
                },
                OnecUser {
                    user: "unknown".into(),
                    count: 1
                },
            ]
        );
    }
}
