//! The systemd flavour of `service install`: [`unit_text`] renders the unit
//! (pure, golden-tested); [`install`] and [`uninstall`] are the small
//! side-effecting steps (write `/etc/systemd/system/<name>.service`, run
//! `systemctl`). The unit is hardened (`ProtectSystem=strict`, `UMask=0077`)
//! but keeps write access to the bases and the backup and log folders, and
//! gives a stopping agent longer than its `SHUTDOWN_GRACE_SECS`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Account, Flavor, InstallOptions, ServiceError, description, validate_for};

/// Where units are installed.
pub const UNIT_DIR: &str = "/etc/systemd/system";

/// How much longer than the agent's shutdown grace systemd waits before
/// it kills the agent: time to record the run and close the database.
const STOP_MARGIN: Duration = Duration::from_secs(30);

/// Render the unit. `shutdown_grace` is `SHUTDOWN_GRACE_SECS` (systemd
/// waits [`STOP_MARGIN`] longer); `rw_paths` (backup and log folders, the
/// base folders) stay writable under `ProtectSystem=strict`; `ro_paths`
/// are listed as `ReadOnlyPaths=`.
pub fn unit_text(
    opts: &InstallOptions,
    shutdown_grace: Duration,
    rw_paths: &[PathBuf],
    ro_paths: &[PathBuf],
) -> String {
    let mut exec = vec![quote_arg(&opts.exe.to_string_lossy()), "run".to_string()];
    if let Some(config) = &opts.config {
        exec.push("--config".into());
        exec.push(quote_arg(&config.to_string_lossy()));
    }
    if let Some(env) = &opts.env_file {
        exec.push("--env-file".into());
        exec.push(quote_arg(&env.to_string_lossy()));
    }
    let mut out = String::new();
    let mut line = |s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    line("[Unit]");
    line(&format!("Description={}", description()));
    line("After=network-online.target");
    line("Wants=network-online.target");
    line("");
    line("[Service]");
    line("Type=simple");
    line(&format!("ExecStart={}", exec.join(" ")));
    line(&format!(
        "WorkingDirectory={}",
        escape_specifiers(&opts.working_dir.to_string_lossy())
    ));
    if let Account::User { name, .. } = &opts.account
        && name != "root"
    {
        line(&format!("User={name}"));
    }
    line("Restart=on-failure");
    line("RestartSec=30");
    line(&format!(
        "TimeoutStopSec={}",
        (shutdown_grace + STOP_MARGIN).as_secs()
    ));
    line("KillSignal=SIGTERM");
    // Archives, dumps, the history and logs readable by the agent's user only.
    line("UMask=0077");
    line("NoNewPrivileges=yes");
    line("ProtectSystem=strict");
    line("ProtectHome=read-only");
    line("PrivateTmp=yes");
    line("ProtectKernelTunables=yes");
    line("ProtectControlGroups=yes");
    line("RestrictSUIDSGID=yes");
    line("LockPersonality=yes");
    for p in rw_paths {
        line(&format!("ReadWritePaths={}", quote_path(p)));
    }
    for p in ro_paths {
        line(&format!("ReadOnlyPaths={}", quote_path(p)));
    }
    line("");
    line("[Install]");
    line("WantedBy=multi-user.target");
    out
}

/// `%` starts a specifier in unit files; `%%` is a literal percent.
fn escape_specifiers(s: &str) -> String {
    s.replace('%', "%%")
}

/// One `ExecStart=` word: specifiers and `$` escaped, double-quoted (with
/// C-style `\\` and `\"`) when it contains whitespace, quotes or is empty.
fn quote_arg(s: &str) -> String {
    let s = escape_specifiers(s).replace('$', "$$");
    quote_word(&s)
}

fn quote_path(p: &Path) -> String {
    quote_word(&escape_specifiers(&p.to_string_lossy()))
}

fn quote_word(s: &str) -> String {
    let needs = s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'));
    if !needs {
        return s.to_string();
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// The unit file path for a service name.
pub fn unit_path(name: &str) -> PathBuf {
    Path::new(UNIT_DIR).join(format!("{name}.service"))
}

/// Validate, render and (unless `print_only`) install and start the unit:
/// create missing `rw_paths` (a missing one would make systemd refuse to
/// start the unit), write the unit file, `systemctl daemon-reload`,
/// `systemctl enable --now <name>`. Returns the unit text.
pub fn install(
    opts: &InstallOptions,
    shutdown_grace: Duration,
    rw_paths: &[PathBuf],
    ro_paths: &[PathBuf],
    print_only: bool,
) -> Result<String, ServiceError> {
    validate_for(opts, Flavor::Systemd)?;
    let text = unit_text(opts, shutdown_grace, rw_paths, ro_paths);
    if print_only {
        return Ok(text);
    }
    systemctl(&["--version"])?;
    for dir in rw_paths {
        fs::create_dir_all(dir).map_err(|e| io_error("create folder", dir, e))?;
    }
    write_unit(&unit_path(&opts.name), &text)?;
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", "--now", &opts.name])?;
    Ok(text)
}

/// Write the unit file through a temporary, 0644 whatever our umask:
/// systemd warns about a unit other users cannot read, and it holds no
/// secret (those stay in the env file).
fn write_unit(path: &Path, text: &str) -> Result<(), ServiceError> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("service.tmp");
    fs::write(&tmp, text).map_err(|e| io_error("write", &tmp, e))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644))
        .map_err(|e| io_error("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io_error("write", path, e))
}

/// Stop and disable the unit, remove its file, reload systemd.
pub fn uninstall(name: &str) -> Result<(), ServiceError> {
    systemctl(&["--version"])?;
    let path = unit_path(name);
    if !path.exists() {
        return Err(io_error(
            "remove",
            &path,
            io::Error::new(io::ErrorKind::NotFound, "no such unit installed"),
        ));
    }
    systemctl(&["disable", "--now", name])?;
    fs::remove_file(&path).map_err(|e| io_error("remove", &path, e))?;
    systemctl(&["daemon-reload"])?;
    Ok(())
}

/// `systemctl status` text for the unit (also when it is not running).
pub fn status(name: &str) -> Result<String, ServiceError> {
    let out = run_systemctl(&["status", "--no-pager", name])?;
    // 0 running, 3 not running: both are answers, not failures.
    match out.status.code() {
        Some(0 | 3) => Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string()),
        _ => Err(command_error(&["status", "--no-pager", name], &out)),
    }
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> ServiceError {
    let hint = if source.kind() == io::ErrorKind::PermissionDenied {
        " (run the command as root, e.g. with sudo)"
    } else {
        ""
    };
    ServiceError::Io {
        action,
        path: path.to_path_buf(),
        hint,
        source,
    }
}

fn run_systemctl(args: &[&str]) -> Result<std::process::Output, ServiceError> {
    Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ServiceError::SystemctlMissing,
            _ => io_error("run", Path::new("systemctl"), e),
        })
}

fn command_error(args: &[&str], out: &std::process::Output) -> ServiceError {
    ServiceError::Command {
        command: format!("systemctl {}", args.join(" ")),
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    }
}

pub fn systemctl(args: &[&str]) -> Result<(), ServiceError> {
    let out = run_systemctl(args)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(command_error(args, &out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    /// The default `SHUTDOWN_GRACE_SECS`.
    const GRACE: Duration = Duration::from_secs(30);

    fn opts() -> InstallOptions {
        InstallOptions {
            name: "OneCBackupBot".into(),
            account: Account::User {
                name: "onec".into(),
                password: None,
            },
            config: Some("/etc/onec-backup-bot/config.yaml".into()),
            env_file: Some("/etc/onec-backup-bot/.env".into()),
            exe: "/usr/local/bin/onec-backup-bot".into(),
            working_dir: "/etc/onec-backup-bot".into(),
        }
    }

    #[test]
    fn golden_unit() {
        let text = unit_text(
            &opts(),
            GRACE,
            &[
                "/var/backups/onec".into(),
                "/var/log/onec-backup-bot".into(),
                "/srv/1c/buh".into(),
            ],
            &["/opt/1cv8".into()],
        );
        let want = "\
[Unit]
Description=Резервное копирование и мониторинг информационных баз 1С:Предприятие (OneCBackupBot)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=/usr/local/bin/onec-backup-bot run --config /etc/onec-backup-bot/config.yaml --env-file /etc/onec-backup-bot/.env
WorkingDirectory=/etc/onec-backup-bot
User=onec
Restart=on-failure
RestartSec=30
TimeoutStopSec=60
KillSignal=SIGTERM
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
ReadWritePaths=/var/backups/onec
ReadWritePaths=/var/log/onec-backup-bot
ReadWritePaths=/srv/1c/buh
ReadOnlyPaths=/opt/1cv8

[Install]
WantedBy=multi-user.target
";
        assert_eq!(text, want);
    }

    #[test]
    fn user_line_omitted_for_root_and_local_system() {
        let mut o = opts();
        o.account = Account::LocalSystem;
        assert!(!unit_text(&o, GRACE, &[], &[]).contains("User="));
        o.account = Account::User {
            name: "root".into(),
            password: None,
        };
        assert!(!unit_text(&o, GRACE, &[], &[]).contains("User="));
    }

    #[test]
    fn optional_arguments_omitted() {
        let mut o = opts();
        o.config = None;
        o.env_file = None;
        let text = unit_text(&o, GRACE, &[], &[]);
        assert!(
            text.contains("\nExecStart=/usr/local/bin/onec-backup-bot run\n"),
            "{text}"
        );
        assert!(!text.contains("ReadWritePaths="));
    }

    #[test]
    fn quotes_paths_with_spaces_and_escapes_specials() {
        let mut o = opts();
        o.exe = "/opt/OneC Bot/onec-backup-bot".into();
        o.config = Some("/etc/my \"bot\"/100%.yaml".into());
        o.env_file = Some("/etc/$HOME/.env".into());
        o.working_dir = "/srv/with space/50%".into();
        let text = unit_text(&o, GRACE, &["/srv/1c/Бухгалтерия 2024".into()], &[]);
        assert!(
            text.contains(
                "ExecStart=\"/opt/OneC Bot/onec-backup-bot\" run --config \
                 \"/etc/my \\\"bot\\\"/100%%.yaml\" --env-file /etc/$$HOME/.env\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("WorkingDirectory=/srv/with space/50%%\n"),
            "{text}"
        );
        assert!(
            text.contains("ReadWritePaths=\"/srv/1c/Бухгалтерия 2024\"\n"),
            "{text}"
        );
    }

    #[test]
    fn quote_word_rules() {
        assert_eq!(quote_word("plain"), "plain");
        assert_eq!(quote_word(""), "\"\"");
        assert_eq!(quote_word("a b"), "\"a b\"");
        assert_eq!(quote_word(r"a\b"), r#""a\\b""#);
        assert_eq!(quote_word("it's"), "\"it's\"");
    }

    #[test]
    fn print_only_validates_and_returns_text() {
        let text = install(&opts(), GRACE, &[], &[], true).unwrap();
        assert!(text.starts_with("[Unit]\n"));
        let mut bad = opts();
        bad.account = Account::User {
            name: "onec".into(),
            password: Some(Secret::new("pw")),
        };
        let err = install(&bad, GRACE, &[], &[], true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("remove --password"), "{err}");
    }

    #[test]
    fn systemd_waits_longer_than_the_shutdown_grace() {
        for (grace, want) in [(0, 30), (30, 60), (45, 75), (600, 630)] {
            let text = unit_text(&opts(), Duration::from_secs(grace), &[], &[]);
            assert!(
                text.contains(&format!("\nTimeoutStopSec={want}\n")),
                "{grace}: {text}"
            );
        }
    }

    #[test]
    fn unit_file_is_world_readable_whatever_the_umask() {
        // systemd warns about a unit that other users cannot read.
        use std::os::unix::fs::PermissionsExt;
        if crate::platform::rerun_restricted(
            "daemon::service::systemd::tests::unit_file_is_world_readable_whatever_the_umask",
        ) {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("x.service");
        write_unit(&path, "[Unit]\n").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(fs::read_to_string(&path).unwrap(), "[Unit]\n");
    }

    #[test]
    fn unit_path_uses_name() {
        assert_eq!(
            unit_path("OneCBackupBot"),
            Path::new("/etc/systemd/system/OneCBackupBot.service")
        );
    }
}
