//! `config check`: the effective configuration, one setting a line, with the
//! source of each value; secrets are already `***` in the entries. On
//! Windows it also warns when every user of the computer may read the
//! backup folder.

use super::Config;
use std::fmt::Write;
use std::path::Path;

pub fn render_check(cfg: &Config) -> String {
    let mut out = String::new();
    let file = |p: &Option<std::path::PathBuf>, default: &str| match p {
        Some(p) => p.display().to_string(),
        None => format!("{default} (not found, skipped)"),
    };
    let _ = writeln!(
        out,
        "Sources (highest priority first): environment > {} > {} > defaults",
        file(&cfg.env_file, ".env"),
        file(&cfg.config_file, "config.yaml")
    );
    let _ = writeln!(out);
    let width = cfg
        .entries
        .iter()
        .map(|e| e.key.display_name().len())
        .max()
        .unwrap_or(10);
    let vwidth = cfg
        .entries
        .iter()
        .map(|e| e.shown.chars().count())
        .max()
        .unwrap_or(10)
        .min(48);
    let _ = writeln!(out, "{:width$}  {:vwidth$}  SOURCE", "SETTING", "VALUE");
    for e in &cfg.entries {
        let source = match &e.origin {
            Some(o) => format!("{:<11} {o}", o.kind()),
            None => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "{:width$}  {:vwidth$}  {source}",
            e.key.display_name(),
            e.shown
        );
    }
    let _ = writeln!(out);
    section(
        &mut out,
        "Bases",
        &cfg.bases,
        "the first is the default",
        |b| {
            format!(
                "{}: {} method={} compress={}{} prefix={} user={} password={} timeout={}s keep={} schedule={}{} drill={} drill_from={} [{}]",
                b.name,
                b.path.display(),
                b.method.as_str(),
                b.compress.as_str(),
                b.compress_level
                    .map(|l| format!(" level={l}"))
                    .unwrap_or_default(),
                b.prefix,
                b.user.as_deref().unwrap_or("-"),
                if b.password.is_some() { "***" } else { "-" },
                b.timeout.as_secs(),
                describe_keep(&b.keep),
                b.schedule
                    .as_ref()
                    .map(|s| format!("{:?}", s.as_str()))
                    .unwrap_or_else(|| "manual".into()),
                b.quiet_hours
                    .map(|q| format!(" quiet={q}"))
                    .unwrap_or_default(),
                b.drill
                    .as_ref()
                    .map(|s| format!("{:?}", s.as_str()))
                    .unwrap_or_else(|| "manual".into()),
                b.drill_from.as_str(),
                b.origin,
            )
        },
    );
    let stale = format!(
        "a copy older than {} hours is stale",
        cfg.offsite_max_age_hours
    );
    section(&mut out, "Offsite targets", &cfg.offsite, &stale, |t| {
        let credential = |set: bool| if set { "***" } else { "-" };
        format!(
            "{}: {} kind={} bases={} which={} mode={} verify={} keep={} bandwidth={} user={} password={} secret_access_key={} key_passphrase={}",
            t.name,
            t.location.display(),
            t.location.kind(),
            t.bases
                .as_ref()
                .map(|b| b.join(","))
                .unwrap_or_else(|| "all".into()),
            format!("{:?}", t.which).to_lowercase(),
            format!("{:?}", t.mode).to_lowercase(),
            if t.read_back { "read" } else { "size" },
            describe_keep(&t.keep),
            t.bandwidth
                .map(|b| format!("{b}B/s"))
                .unwrap_or_else(|| "unlimited".into()),
            t.user.as_deref().unwrap_or("-"),
            credential(t.password.is_some()),
            credential(t.secret_access_key.is_some()),
            credential(t.key_passphrase.is_some()),
        )
    });
    let _ = writeln!(out, "History database: {}", cfg.history_db.display());
    let _ = writeln!(
        out,
        "Restore drill folder: {} (a good drill older than {} days is stale)",
        cfg.drill_dir.display(),
        cfg.drill_max_age_days
    );
    let exposed = backup_dir_warning(
        &cfg.backup_dir,
        crate::platform::readable_by_everyone_users(&cfg.backup_dir),
    );
    if !cfg.warnings.is_empty() || exposed.is_some() {
        let _ = writeln!(out);
        for w in cfg.warnings.iter().chain(&exposed) {
            let _ = writeln!(out, "warning: {w}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "configuration OK");
    out
}

/// A titled list: "<title>: none", or "<title> (<count>; <note>):" and an
/// indented line per item.
fn section<T>(out: &mut String, title: &str, items: &[T], note: &str, line: impl Fn(&T) -> String) {
    if items.is_empty() {
        let _ = writeln!(out, "{title}: none");
        return;
    }
    let _ = writeln!(out, "{title} ({}; {note}):", items.len());
    for item in items {
        let _ = writeln!(out, "  {}", line(item));
    }
}

/// The warning for a backup folder that every user may read (`readable`
/// is what [`crate::platform::readable_by_everyone_users`] found; `None`
/// on Unix, where the agent creates its files private).
fn backup_dir_warning(dir: &Path, readable: Option<bool>) -> Option<String> {
    (readable == Some(true)).then(|| {
        let d = dir.display();
        format!(
            "BACKUP_DIR {d} can be read by every user of this computer (its permissions let \
             BUILTIN\\Users, Everyone or Authenticated Users read it), and each backup holds the \
             whole infobase: remove their access, e.g. icacls \"{d}\" /inheritance:d, then \
             icacls \"{d}\" /remove:g *S-1-5-32-545 *S-1-1-0 *S-1-5-11"
        )
    })
}

fn describe_keep(k: &crate::retention::KeepPolicy) -> String {
    let mut parts = Vec::new();
    for (name, v) in [
        ("last", k.last),
        ("hourly", k.hourly),
        ("daily", k.daily),
        ("weekly", k.weekly),
        ("monthly", k.monthly),
        ("half_yearly", k.half_yearly),
        ("yearly", k.yearly),
    ] {
        if let Some(v) = v {
            parts.push(format!("{name}:{v}"));
        }
    }
    if let Some(w) = k.within {
        parts.push(format!("within:{}h", w.as_secs() / 3600));
    }
    if parts.is_empty() {
        "all".into()
    } else {
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_folder_every_user_may_read_is_warned_about() {
        let dir = Path::new(r"D:\Backups\1C");
        let w = backup_dir_warning(dir, Some(true)).unwrap();
        assert!(
            w.starts_with(r"BACKUP_DIR D:\Backups\1C can be read by every user"),
            "{w}"
        );
        assert!(w.contains(r"BUILTIN\Users"), "{w}");
        assert!(
            w.ends_with(r#"icacls "D:\Backups\1C" /remove:g *S-1-5-32-545 *S-1-1-0 *S-1-5-11"#),
            "{w}"
        );
        assert_eq!(backup_dir_warning(dir, Some(false)), None);
        assert_eq!(backup_dir_warning(dir, None), None);
    }
}
