//! Installing the agent as an OS service: the shared, OS-independent part
//! (options, argument validation, path warnings, names and descriptions;
//! their words are in [`crate::text`]).
//! [`systemd`] writes and enables a systemd unit on Linux; [`windows`] talks
//! to the Windows service manager and hosts the service entry point. Each
//! flavour only exists on its own OS: nothing here pretends to install a
//! service it cannot.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::Secret;
use crate::text;

pub mod settings;
#[cfg(unix)]
pub mod systemd;
#[cfg(windows)]
pub mod windows;

/// The default service / unit name.
pub const DEFAULT_NAME: &str = "OneCBackupBot";

/// The service description shown by `services.msc` and `systemctl status`
/// (Russian, like the display name).
pub fn description() -> &'static str {
    text::RU.service_description
}

/// The Windows display name of service `name`. Another `--name` is added
/// in brackets: Windows refuses a second service with the same display
/// name (ERROR_DUPLICATE_SERVICE_NAME), so a second agent could not be
/// installed.
pub fn display_name(name: &str) -> String {
    let display = text::RU.service_display_name;
    if name == DEFAULT_NAME {
        display.to_string()
    } else {
        format!("{display} ({name})")
    }
}

/// The longest service name Windows accepts.
const MAX_NAME_LEN: usize = 256;

/// Who the service runs as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Account {
    /// `LocalSystem` on Windows, `root` on Linux (no `User=` line).
    #[default]
    LocalSystem,
    /// A named account: `DOMAIN\user`, `.\user` or `user@domain` on Windows,
    /// a plain user name on Linux. The password is only used on Windows.
    User {
        name: String,
        password: Option<Secret>,
    },
}

/// Everything `service install` needs, already resolved to absolute paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallOptions {
    pub name: String,
    pub account: Account,
    pub config: Option<PathBuf>,
    pub env_file: Option<PathBuf>,
    pub exe: PathBuf,
    pub working_dir: PathBuf,
}

impl InstallOptions {
    /// Options with the default name, running as LocalSystem/root.
    pub fn new(exe: PathBuf, working_dir: PathBuf) -> Self {
        InstallOptions {
            name: DEFAULT_NAME.to_string(),
            account: Account::LocalSystem,
            config: None,
            env_file: None,
            exe,
            working_dir,
        }
    }
}

/// Which service manager the options are validated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Windows,
    Systemd,
}

impl Flavor {
    /// The flavour of the running OS.
    pub fn native() -> Flavor {
        if cfg!(windows) {
            Flavor::Windows
        } else {
            Flavor::Systemd
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid service name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("invalid user {user:?}: expected {expected}")]
    InvalidUser {
        user: String,
        expected: &'static str,
    },
    #[error(
        "user {user:?} needs a password to run a Windows service: add --password \
         (or use the default LocalSystem account)"
    )]
    PasswordRequired { user: String },
    #[error(
        "a password is not used for a systemd unit (user {user:?}): remove --password; \
         the unit runs as that user without logging in"
    )]
    PasswordUnused { user: String },
    #[error("could not {action} {path}: {source}{hint}")]
    Io {
        action: &'static str,
        path: PathBuf,
        hint: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "systemctl not found: this system does not run systemd; start \
         `onec-backup-bot run` from your init system instead (or use --print to get the unit text)"
    )]
    SystemctlMissing,
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[cfg(windows)]
    #[error("could not {action} service {name:?}: {}{hint}", windows_detail(.source))]
    Windows {
        action: &'static str,
        name: String,
        hint: String,
        #[source]
        source: windows_service::Error,
    },
    /// `service install` created the service, then a required setting
    /// failed; `cleanup` is why deleting it again failed, if it did.
    #[error("{error}; {}", rollback_note(.name, .cleanup.as_deref()))]
    InstallRolledBack {
        name: String,
        error: Box<ServiceError>,
        cleanup: Option<String>,
    },
}

/// The OS error inside a `windows-service` error ("Access is denied.
/// (os error 5)"), which its own message ("IO error in winapi call") hides.
#[cfg(windows)]
pub(crate) fn windows_detail(e: &windows_service::Error) -> String {
    match e {
        windows_service::Error::Winapi(io) => io.to_string(),
        other => other.to_string(),
    }
}

fn rollback_note(name: &str, cleanup: Option<&str>) -> String {
    match cleanup {
        None => "the half-installed service was removed again, nothing is installed".to_string(),
        Some(e) => format!(
            "removing the half-installed service also failed ({e}): remove it with \
             `onec-backup-bot service uninstall --name \"{name}\"` or `sc delete \"{name}\"`"
        ),
    }
}

/// Check the arguments of `service install` for the running OS.
pub fn validate(opts: &InstallOptions) -> Result<(), ServiceError> {
    validate_for(opts, Flavor::native())
}

/// Check the arguments of `service install` for a given service manager.
pub fn validate_for(opts: &InstallOptions, flavor: Flavor) -> Result<(), ServiceError> {
    validate_name(&opts.name, flavor)?;
    if let Account::User { name, password } = &opts.account {
        match flavor {
            Flavor::Windows => {
                validate_windows_user(name)?;
                let needs_password = !is_builtin_windows_account(name) && !name.ends_with('$');
                if needs_password && password.as_ref().is_none_or(|p| p.is_empty()) {
                    return Err(ServiceError::PasswordRequired { user: name.clone() });
                }
            }
            Flavor::Systemd => {
                validate_unix_user(name)?;
                if password.is_some() {
                    return Err(ServiceError::PasswordUnused { user: name.clone() });
                }
            }
        }
    }
    Ok(())
}

fn validate_name(name: &str, flavor: Flavor) -> Result<(), ServiceError> {
    let bad = |reason| {
        Err(ServiceError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.trim().is_empty() {
        return bad("must not be empty");
    }
    if name.chars().count() > MAX_NAME_LEN {
        return bad("must be at most 256 characters");
    }
    if name.contains(['/', '\\']) {
        return bad("must not contain / or \\");
    }
    if flavor == Flavor::Systemd
        && !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return bad("a systemd unit name may only use letters, digits and - _ . :");
    }
    Ok(())
}

/// `NT AUTHORITY\LocalService` and friends log on without a password.
fn is_builtin_windows_account(name: &str) -> bool {
    name.split_once('\\')
        .is_some_and(|(domain, _)| domain.eq_ignore_ascii_case("NT AUTHORITY"))
}

fn validate_windows_user(user: &str) -> Result<(), ServiceError> {
    const EXPECTED: &str = r"DOMAIN\user, .\user (local account) or user@domain";
    let ok_part = |s: &str| {
        !s.is_empty()
            && !s.trim().is_empty()
            && !s.contains([
                '\\', '/', '@', '"', ':', ';', '|', '=', ',', '+', '*', '?', '<', '>',
            ])
    };
    let ok = if let Some((domain, name)) = user.split_once('\\') {
        (domain == "." || ok_part(domain) || is_builtin_windows_account(user)) && ok_part(name)
    } else if let Some((name, domain)) = user.split_once('@') {
        ok_part(name) && ok_part(domain)
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err(ServiceError::InvalidUser {
            user: user.to_string(),
            expected: EXPECTED,
        })
    }
}

fn validate_unix_user(user: &str) -> Result<(), ServiceError> {
    let mut chars = user.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = user
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if first_ok && rest_ok && user.len() <= 32 {
        Ok(())
    } else {
        Err(ServiceError::InvalidUser {
            user: user.to_string(),
            expected: "a plain user name such as onec (letters, digits, _ - ., at most 32)",
        })
    }
}

/// `\\server\share\…` or `//server/share/…`.
pub fn is_unc(path: &Path) -> bool {
    let s = path.to_string_lossy();
    s.starts_with(r"\\") || s.starts_with("//")
}

fn unc_warning(path: &Path) -> String {
    let p = path.display().to_string();
    text::both(|t| (t.warn_unc_local_system)(&p))
}

/// Warnings (each in Russian and English, from [`crate::text`]) about paths the service will use:
/// network shares that LocalSystem cannot reach, paths that do not exist or
/// cannot be read by the installing user. Not errors: the service account
/// may see things differently than the person installing it.
pub fn path_warnings(paths: &[&Path], account: &Account) -> Vec<String> {
    let mut out = Vec::new();
    for path in paths {
        let unc = is_unc(path);
        if unc && *account == Account::LocalSystem {
            out.push(unc_warning(path));
        }
        if unc && !cfg!(windows) {
            continue; // Cannot be checked from here.
        }
        if let Some(w) = readable_warning(path) {
            out.push(w);
        }
    }
    out
}

fn readable_warning(path: &Path) -> Option<String> {
    let p = path.display().to_string();
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(text::both(|t| (t.warn_path_missing)(&p)));
        }
        Err(e) => {
            let e = e.to_string();
            return Some(text::both(|t| (t.warn_path_inaccessible)(&p, &e)));
        }
    };
    let read = if meta.is_dir() {
        fs::read_dir(path).map(drop)
    } else {
        fs::File::open(path).map(drop)
    };
    read.err().map(|e| {
        let e = e.to_string();
        text::both(|t| (t.warn_path_unreadable)(&p, &e))
    })
}

/// Warnings about the backup folder: a network share with LocalSystem, and
/// whether a file can be created and removed there (a probe file).
pub fn backup_dir_warnings(dir: &Path, account: &Account) -> Vec<String> {
    let mut out = Vec::new();
    if is_unc(dir) && *account == Account::LocalSystem {
        out.push(unc_warning(dir));
    }
    if is_unc(dir) && !cfg!(windows) {
        return out;
    }
    let p = dir.display().to_string();
    if !dir.is_dir() {
        out.push(text::both(|t| (t.warn_backup_dir_missing)(&p)));
        return out;
    }
    let probe = dir.join(format!(".onec-backup-bot-probe-{}", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|_| fs::remove_file(&probe));
    if let Err(e) = written {
        let e = e.to_string();
        out.push(text::both(|t| (t.warn_backup_dir_not_writable)(&p, &e)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn opts(account: Account) -> InstallOptions {
        let mut o = InstallOptions::new("/usr/bin/onec-backup-bot".into(), "/etc/onec".into());
        o.account = account;
        o
    }

    fn user(name: &str, password: Option<&str>) -> Account {
        Account::User {
            name: name.into(),
            password: password.map(Secret::new),
        }
    }

    #[rstest]
    #[case(Flavor::Windows, user(r"CORP\backup", Some("pw")), None)]
    #[case(Flavor::Windows, user(r".\backup", Some("pw")), None)]
    #[case(Flavor::Windows, user("backup@corp.local", Some("pw")), None)]
    #[case(Flavor::Windows, user(r"NT AUTHORITY\NetworkService", None), None)]
    #[case(Flavor::Windows, user(r"CORP\gmsa$", None), None)]
    #[case(Flavor::Windows, Account::LocalSystem, None)]
    #[case(Flavor::Windows, user(r"CORP\backup", None), Some("needs a password"))]
    #[case(
        Flavor::Windows,
        user(r"CORP\backup", Some("")),
        Some("needs a password")
    )]
    #[case(
        Flavor::Windows,
        user("backup", Some("pw")),
        Some(r"expected DOMAIN\user")
    )]
    #[case(Flavor::Windows, user(r"\backup", Some("pw")), Some("invalid user"))]
    #[case(Flavor::Windows, user(r"CORP\", Some("pw")), Some("invalid user"))]
    #[case(Flavor::Windows, user(r"A\B\C", Some("pw")), Some("invalid user"))]
    #[case(Flavor::Windows, user("@corp", Some("pw")), Some("invalid user"))]
    #[case(Flavor::Systemd, user("onec", None), None)]
    #[case(Flavor::Systemd, user("_svc-backup.1", None), None)]
    #[case(Flavor::Systemd, Account::LocalSystem, None)]
    #[case(Flavor::Systemd, user(r"CORP\backup", None), Some("plain user name"))]
    #[case(Flavor::Systemd, user("1abc", None), Some("plain user name"))]
    #[case(Flavor::Systemd, user("", None), Some("plain user name"))]
    #[case(Flavor::Systemd, user("onec", Some("pw")), Some("remove --password"))]
    fn validates_accounts(
        #[case] flavor: Flavor,
        #[case] account: Account,
        #[case] want_err: Option<&str>,
    ) {
        let got = validate_for(&opts(account.clone()), flavor);
        match (got, want_err) {
            (Ok(()), None) => {}
            (Err(e), Some(want)) => {
                let text = e.to_string();
                assert!(text.contains(want), "{account:?}: {text}");
                assert!(!text.contains("pw\""), "password leaked: {text}");
            }
            (got, want) => panic!("{flavor:?} {account:?}: got {got:?}, want {want:?}"),
        }
    }

    #[rstest]
    #[case(Flavor::Windows, "OneCBackupBot", None)]
    #[case(Flavor::Windows, "OneC Backup Bot", None)]
    #[case(Flavor::Systemd, "onec-backup_bot.2", None)]
    #[case(Flavor::Windows, "", Some("must not be empty"))]
    #[case(Flavor::Windows, "   ", Some("must not be empty"))]
    #[case(Flavor::Windows, "a/b", Some(r"must not contain / or \"))]
    #[case(Flavor::Windows, r"a\b", Some(r"must not contain / or \"))]
    #[case(Flavor::Systemd, "OneC Backup", Some("systemd unit name"))]
    #[case(Flavor::Systemd, "onec@x", Some("systemd unit name"))]
    fn validates_names(#[case] flavor: Flavor, #[case] name: &str, #[case] want: Option<&str>) {
        let mut o = opts(Account::LocalSystem);
        o.name = name.into();
        match (validate_for(&o, flavor), want) {
            (Ok(()), None) => {}
            (Err(e), Some(w)) => assert!(e.to_string().contains(w), "{name:?}: {e}"),
            (got, want) => panic!("{name:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn name_length_limit() {
        let mut o = opts(Account::LocalSystem);
        o.name = "a".repeat(256);
        assert!(validate_for(&o, Flavor::Windows).is_ok());
        o.name = "a".repeat(257);
        let e = validate_for(&o, Flavor::Windows).unwrap_err().to_string();
        assert!(e.contains("at most 256"), "{e}");
    }

    #[test]
    fn password_never_in_debug() {
        let o = opts(user(r"CORP\backup", Some("s3cr3t")));
        assert!(!format!("{o:?}").contains("s3cr3t"));
    }

    #[test]
    fn unc_with_local_system_warns_in_both_languages() {
        let share = Path::new(r"\\fileserver\1c\base");
        let w = path_warnings(&[share], &Account::LocalSystem);
        let unc: Vec<_> = w.iter().filter(|w| w.contains("UNC")).collect();
        assert_eq!(unc.len(), 1, "{w:?}");
        assert!(
            unc[0].contains("не имеет доступа к сетевым папкам"),
            "{}",
            unc[0]
        );
        assert!(unc[0].contains("cannot reach network shares"), "{}", unc[0]);
        assert!(
            unc[0].contains(r"--user DOMAIN\user --password"),
            "{}",
            unc[0]
        );
        assert!(unc[0].contains(r"\\fileserver\1c\base"), "{}", unc[0]);
        let forward = path_warnings(&[Path::new("//fileserver/1c")], &Account::LocalSystem);
        assert!(forward.iter().any(|w| w.contains("UNC")), "{forward:?}");
    }

    #[test]
    fn unc_with_domain_user_does_not_warn_about_system() {
        let w = path_warnings(
            &[Path::new(r"\\fileserver\1c")],
            &user(r"CORP\backup", Some("pw")),
        );
        assert!(w.iter().all(|w| !w.contains("UNC")), "{w:?}");
    }

    #[test]
    fn missing_and_present_paths() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("1Cv8.1CD");
        fs::write(&file, b"x").unwrap();
        let missing = dir.path().join("nope");
        let w = path_warnings(&[dir.path(), &file, &missing], &Account::LocalSystem);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("does not exist") && w[0].contains("не существует"));
        assert!(w[0].contains("nope"));
    }

    #[test]
    fn backup_dir_probe() {
        let dir = tempfile::tempdir().unwrap();
        assert!(backup_dir_warnings(dir.path(), &Account::LocalSystem).is_empty());
        // The probe file is removed again.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let missing = dir.path().join("missing");
        let w = backup_dir_warnings(&missing, &Account::LocalSystem);
        assert!(w.len() == 1 && w[0].contains("does not exist"), "{w:?}");
        let unc = backup_dir_warnings(Path::new(r"\\nas\backup"), &Account::LocalSystem);
        assert!(unc.iter().any(|w| w.contains("UNC")), "{unc:?}");
    }

    #[test]
    fn rolled_back_install_says_what_is_left() {
        let cause = || {
            Box::new(ServiceError::Io {
                action: "set failure actions for",
                path: PathBuf::from("Svc"),
                hint: "",
                source: std::io::Error::other("boom"),
            })
        };
        let removed = ServiceError::InstallRolledBack {
            name: "Svc".into(),
            error: cause(),
            cleanup: None,
        };
        assert_eq!(
            removed.to_string(),
            "could not set failure actions for Svc: boom; the half-installed service was \
             removed again, nothing is installed"
        );
        let left = ServiceError::InstallRolledBack {
            name: "Svc".into(),
            error: cause(),
            cleanup: Some("Access is denied.".into()),
        }
        .to_string();
        assert!(left.contains("also failed (Access is denied.)"), "{left}");
        assert!(left.contains(r#"sc delete "Svc""#), "{left}");
    }

    #[test]
    fn descriptions() {
        assert!(description().contains("1С:Предприятие"));
        assert!(text::RU.service_display_name.starts_with(DEFAULT_NAME));
        assert_eq!(
            display_name(DEFAULT_NAME),
            "OneCBackupBot — резервное копирование 1С"
        );
        assert_eq!(
            display_name("OneCBackupBot-Trade"),
            "OneCBackupBot — резервное копирование 1С (OneCBackupBot-Trade)"
        );
    }
}
