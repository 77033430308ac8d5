//! `config check`: the effective configuration, one setting a line, with the
//! source of each value; secrets are already `***` in the entries.

use super::Config;
use std::fmt::Write;

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
    if cfg.bases.is_empty() {
        let _ = writeln!(out, "Bases: none");
    } else {
        let _ = writeln!(
            out,
            "Bases ({}; the first is the default):",
            cfg.bases.len()
        );
        for b in &cfg.bases {
            let _ = writeln!(
                out,
                "  {}: {} method={} compress={}{} prefix={} user={} password={} timeout={}s keep={} schedule={}{} [{}]",
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
                b.origin,
            );
        }
    }
    let _ = writeln!(out, "History database: {}", cfg.history_db.display());
    if !cfg.warnings.is_empty() {
        let _ = writeln!(out);
        for w in &cfg.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "configuration OK");
    out
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
