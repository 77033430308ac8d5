//! End to end with the real binary: secrets stay out of configuration
//! errors, of stderr logs and of the 1C child's environment; one round of
//! `config check` reports every problem; no colour codes on a piped stderr.

use crate::util::{PASSWORD, World};
use std::fs;

const TOKEN: &str = "123456:AAE-e2e-bot-token";

/// Stdout and stderr of a finished run, as text, and its exit code.
fn run(w: &World, args: &[&str]) -> (i32, String, String) {
    let out = w.cmd().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_1c_child_does_not_inherit_our_secrets() {
    let mut w = World::new(16);
    let env_file = w.dir.path().join("child.env");
    w.set("BACKUP_METHOD", "dump")
        .set("BOT_TOKEN", TOKEN)
        .set("API_TOKEN", "e2e-api-write-token")
        .set("TELEGRAM_PROXY", "socks5://bob:e2e-proxy-pw@proxy.lan:1080")
        .set("ONEC_LOCK_CODE", "e2e-lock")
        .set("FAKE_1C_ENV_FILE", &env_file.display().to_string())
        .set("SOME_VARIABLE_1C_NEEDS", "kept");
    let (code, out, err) = run(&w, &["backup"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let env = fs::read_to_string(&env_file).unwrap();
    for secret in [
        TOKEN,
        "e2e-api-write-token",
        "e2e-proxy-pw",
        "e2e-lock",
        PASSWORD,
    ] {
        assert!(!env.contains(secret), "{secret} in the child's environment");
    }
    for name in ["BOT_TOKEN=", "API_TOKEN=", "ONEC_UP=", "TELEGRAM_PROXY="] {
        assert!(
            !env.lines().any(|l| l.starts_with(name)),
            "{name} inherited"
        );
    }
    for kept in ["PATH=", "SOME_VARIABLE_1C_NEEDS=kept", "ONEC_BASE_PATH="] {
        assert!(
            env.lines().any(|l| l.starts_with(kept)),
            "{kept} missing:\n{env}"
        );
    }
}

#[test]
fn debug_logs_mask_secrets_and_carry_no_colour_on_a_piped_stderr() {
    let mut w = World::new(16);
    w.set("BACKUP_METHOD", "dump")
        .set("BOT_TOKEN", TOKEN)
        .set("ONEC_LOCK_CODE", "e2e-lock")
        .set("LOG_LEVEL", "debug");
    let (code, out, err) = run(&w, &["backup"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("/UC***"), "the command line is logged: {err}");
    for secret in [TOKEN, "e2e-lock", PASSWORD] {
        assert!(!err.contains(secret), "{secret} logged: {err}");
    }
    assert!(!err.contains('\x1b'), "colour codes on a pipe: {err:?}");
}

#[test]
fn config_errors_never_print_a_token_or_a_broken_line() {
    let w = World::new(1);
    fs::write(
        w.dir.path().join(".env"),
        format!("BOT_TOKEN=\"{TOKEN}\nthis line holds 123:AAE-line-secret\n"),
    )
    .unwrap();
    let (code, out, err) = run(&w, &["config", "check"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let all = format!("{out}{err}");
    assert!(
        !all.contains(TOKEN) && !all.contains("AAE-line-secret") && !all.contains("this line"),
        "{all}"
    );
    assert!(
        all.contains(".env:1 (BOT_TOKEN)") && all.contains(".env:2"),
        "{all}"
    );
}

#[test]
fn one_round_reports_the_typo_and_the_bad_value() {
    let w = World::new(1);
    fs::write(
        w.dir.path().join("config.yaml"),
        "backup:\n  backup_dirr: x\n  compress_level: eleven\n",
    )
    .unwrap();
    let (code, out, err) = run(&w, &["config", "check"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("backup.backup_dirr") && err.contains("did you mean `backup_dir`"),
        "{err}"
    );
    assert!(
        err.contains("backup.compress_level: got \"eleven\""),
        "{err}"
    );
}
