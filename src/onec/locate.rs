//! Finding the 1C platform: `1cv8` (the Designer) and `ibcmd` beside it.
//! An explicit path (ONEC_EXE / IBCMD_EXE) wins; otherwise the standard
//! install folders are searched and the newest version is taken, comparing
//! versions numerically (8.3.10.2580 is newer than 8.3.9.2233).
//!
//! Layouts understood under each search root:
//! `<root>/<version>/bin/1cv8.exe` (Windows, `%ProgramFiles%\1cv8`),
//! `<root>/<version>/1cv8` (Linux, `/opt/1cv8/x86_64`), and
//! `<root>/1cv8` (old Linux installs, `/opt/1C/v8.3/x86_64`, no version).

use super::OnecError;
use std::cmp::Reverse;
use std::path::{Path, PathBuf};

/// How a candidate ranks: its version (none for old unversioned installs,
/// which sort lowest), then the earlier search root.
type Rank = (Option<Vec<u32>>, Reverse<usize>);

/// The Designer's file name on this OS.
pub fn designer_file_name() -> &'static str {
    if cfg!(windows) { "1cv8.exe" } else { "1cv8" }
}

fn ibcmd_file_name() -> &'static str {
    if cfg!(windows) { "ibcmd.exe" } else { "ibcmd" }
}

/// Launchers that look like the platform but must not be used for dumps.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "1cestart",
        "1cestart is only a launcher: it starts 1cv8 and returns before the dump ends, \
         so the result cannot be checked",
    ),
    (
        "1cv8s",
        "1cv8s is the thin client and does nothing in batch Designer mode",
    ),
];

/// Refuse launchers that cannot run a batch dump.
pub(super) fn check_allowed(exe: &Path) -> Result<(), OnecError> {
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match FORBIDDEN.iter().find(|(name, _)| *name == stem) {
        Some((_, reason)) => Err(OnecError::Forbidden {
            exe: exe.to_path_buf(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The Designer to use: `explicit` (ONEC_EXE) if given, else the newest
/// install in [`default_roots`].
pub fn locate_designer(explicit: Option<&Path>) -> Result<PathBuf, OnecError> {
    match explicit {
        Some(exe) => {
            check_allowed(exe)?;
            if exe.is_file() {
                Ok(exe.to_path_buf())
            } else {
                Err(OnecError::NotFound {
                    program: "1cv8",
                    searched: format!("no file at {}", exe.display()),
                    env: "ONEC_EXE",
                })
            }
        }
        None => locate_designer_in(&default_roots()),
    }
}

/// The newest Designer under `roots` (see the module docs for layouts).
/// Versioned installs beat unversioned ones; on a tie the earlier root wins.
pub fn locate_designer_in(roots: &[PathBuf]) -> Result<PathBuf, OnecError> {
    let name = designer_file_name();
    let mut best: Option<(Rank, PathBuf)> = None;
    let mut consider = |key: Rank, path: PathBuf| {
        if path.is_file() && best.as_ref().is_none_or(|(k, _)| key > *k) {
            best = Some((key, path));
        }
    };
    for (i, root) in roots.iter().enumerate() {
        consider((None, Reverse(i)), root.join(name));
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        for entry in entries.flatten() {
            let Some(version) = entry.file_name().to_str().and_then(parse_version) else {
                continue;
            };
            let dir = entry.path();
            consider(
                (Some(version.clone()), Reverse(i)),
                dir.join("bin").join(name),
            );
            consider((Some(version), Reverse(i)), dir.join(name));
        }
    }
    match best {
        Some((_, path)) => {
            tracing::debug!("found 1C Designer at {}", path.display());
            Ok(path)
        }
        None => Err(OnecError::NotFound {
            program: "1cv8",
            searched: format!(
                "looked for {name} under {}",
                roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            env: "ONEC_EXE",
        }),
    }
}

/// `ibcmd`: `explicit` (IBCMD_EXE) if given, else beside the Designer
/// (`designer`, or the one [`locate_designer`] finds).
pub fn locate_ibcmd(
    explicit: Option<&Path>,
    designer: Option<&Path>,
) -> Result<PathBuf, OnecError> {
    let candidate = match (explicit, designer) {
        (Some(exe), _) => exe.to_path_buf(),
        (None, Some(d)) => d.with_file_name(ibcmd_file_name()),
        (None, None) => locate_designer(None)?.with_file_name(ibcmd_file_name()),
    };
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(OnecError::NotFound {
            program: "ibcmd",
            searched: format!("no file at {}", candidate.display()),
            env: "IBCMD_EXE",
        })
    }
}

/// The standard install roots on this OS, in order of preference.
pub fn default_roots() -> Vec<PathBuf> {
    if cfg!(windows) {
        ["ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"]
            .iter()
            .filter_map(std::env::var_os)
            .map(|p| PathBuf::from(p).join("1cv8"))
            .fold(Vec::new(), |mut v, p| {
                if !v.contains(&p) {
                    v.push(p);
                }
                v
            })
    } else {
        [
            "/opt/1cv8/x86_64",
            "/opt/1cv8/i386",
            "/opt/1C/v8.3/x86_64",
            "/opt/1C/v8.3/i386",
        ]
        .iter()
        .map(PathBuf::from)
        .collect()
    }
}

/// A platform version folder name such as `8.3.24.1691`: two or more
/// dot-separated numbers.
pub fn parse_version(name: &str) -> Option<Vec<u32>> {
    let parts: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| p.len() >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"").unwrap();
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("8.3.10.2580") > parse_version("8.3.9.2233"));
        assert!(parse_version("8.3.24.1691") > parse_version("8.3.24.1548"));
        assert_eq!(parse_version("8.3"), Some(vec![8, 3]));
        assert_eq!(parse_version("common"), None);
        assert_eq!(parse_version("8"), None);
        assert_eq!(parse_version("8.3.x"), None);
    }

    #[test]
    fn picks_the_newest_version_across_roots_and_layouts() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        let name = designer_file_name();
        touch(&a.join("8.3.9.2233").join("bin").join(name));
        touch(&b.join("8.3.10.2580").join(name));
        touch(&a.join("8.3.11.1").join("bin").join("other"));
        fs::create_dir_all(a.join("common")).unwrap();
        let found = locate_designer_in(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(found, b.join("8.3.10.2580").join(name));
    }

    #[test]
    fn versioned_beats_unversioned_and_earlier_root_breaks_ties() {
        let tmp = tempfile::tempdir().unwrap();
        let (x64, x86, old) = (
            tmp.path().join("x64"),
            tmp.path().join("x86"),
            tmp.path().join("old"),
        );
        let name = designer_file_name();
        touch(&old.join(name));
        assert_eq!(
            locate_designer_in(std::slice::from_ref(&old)).unwrap(),
            old.join(name)
        );
        touch(&x64.join("8.3.20.1").join(name));
        touch(&x86.join("8.3.20.1").join(name));
        let roots = [x64.clone(), x86, old];
        assert_eq!(
            locate_designer_in(&roots).unwrap(),
            x64.join("8.3.20.1").join(name)
        );
    }

    #[test]
    fn not_found_tells_to_set_onec_exe() {
        let tmp = tempfile::tempdir().unwrap();
        let err = locate_designer_in(&[tmp.path().join("none")]).unwrap_err();
        assert!(matches!(err, OnecError::NotFound { .. }));
        let text = err.to_string();
        assert!(text.contains("set ONEC_EXE"), "{text}");
        assert!(text.contains("none"), "{text}");
    }

    #[test]
    fn refuses_launchers() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["1cestart.exe", "1CEStart.exe", "1cv8s.exe", "1cv8s"] {
            let exe = tmp.path().join(name);
            touch(&exe);
            let err = locate_designer(Some(&exe)).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, OnecError::Forbidden { .. }), "{name}");
            assert!(text.contains("1cv8.exe in the bin folder"), "{text}");
        }
        let text = locate_designer(Some(&tmp.path().join("1cestart.exe")))
            .unwrap_err()
            .to_string();
        assert!(text.contains("returns before the dump ends"), "{text}");
        let text = locate_designer(Some(&tmp.path().join("1cv8s.exe")))
            .unwrap_err()
            .to_string();
        assert!(text.contains("does nothing in batch"), "{text}");
    }

    #[test]
    fn explicit_designer_must_exist() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join(designer_file_name());
        assert!(matches!(
            locate_designer(Some(&exe)),
            Err(OnecError::NotFound { .. })
        ));
        touch(&exe);
        assert_eq!(locate_designer(Some(&exe)).unwrap(), exe);
    }

    #[test]
    fn ibcmd_sits_beside_the_designer_unless_overridden() {
        let tmp = tempfile::tempdir().unwrap();
        let designer = tmp.path().join("8.3.22.1").join(designer_file_name());
        touch(&designer);
        let err = locate_ibcmd(None, Some(&designer)).unwrap_err();
        assert!(err.to_string().contains("set IBCMD_EXE"), "{err}");
        let beside = designer.with_file_name(ibcmd_file_name());
        touch(&beside);
        assert_eq!(locate_ibcmd(None, Some(&designer)).unwrap(), beside);
        let other = tmp.path().join("elsewhere").join("ibcmd");
        touch(&other);
        assert_eq!(locate_ibcmd(Some(&other), Some(&designer)).unwrap(), other);
    }
}
