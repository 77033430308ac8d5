//! Properties of the whole loader (`.env` and `config.yaml` read from real
//! files, then resolved and validated) on generated, often hostile, text:
//! it never panics; every problem names the file, the line (`.env`, and
//! `config.yaml` where the key is written in block style) and the key
//! when the line has one; no problem ever shows a secret's value. 128
//! cases each (README "Reliability").

use super::keys::KEYS;
use super::{LoadOptions, Origin, load};
use proptest::prelude::*;
use std::fs;

/// The marker every generated secret carries; a problem text that holds it
/// leaked a secret.
const MARK: &str = "Qz7LeAkMe";

/// Environment and YAML names of every setting that is or may hold a
/// secret (tokens, passwords, URLs with credentials).
fn secret_keys() -> Vec<(&'static str, &'static str, bool)> {
    KEYS.iter()
        .filter(|k| k.may_hold_secret())
        .map(|k| (k.env.first().copied().unwrap_or(""), k.yaml, !k.is_secret()))
        .collect()
}

/// A secret value for a key: the marker in a token, or in a URL's
/// user-info for URL settings, with generated noise around it.
fn secret_value(url: bool, noise: &str) -> String {
    if url {
        format!("http{noise}://bob:{MARK}{noise}@host.lan:1/p")
    } else {
        format!("{noise}{MARK}{noise}")
    }
}

/// Noise without line breaks and without the marker's letters in order.
fn noise() -> impl Strategy<Value = String> {
    "[ -~а-я]{0,6}"
}

/// One `.env` line: an assignment (good or broken) of a secret, a line
/// that is only a secret, or random text.
fn env_line() -> impl Strategy<Value = String> {
    let keys = secret_keys();
    (0..8u8, prop::sample::select(keys), noise(), "[ -~]{0,30}").prop_map(
        |(form, (env, _, url), n, junk)| {
            let env = if env.is_empty() { "BOT_TOKEN" } else { env };
            let v = secret_value(url, &n);
            match form {
                0 => format!("{env}={v}"),
                1 => format!("{env}=\"{v}"),
                2 => format!("{env}='{v}' {junk}"),
                3 => format!("export {env} = \"{v}\" x{junk}"),
                4 => v,
                5 => format!("-{v}={v}"),
                6 => format!("{env}{junk}={v}"),
                _ => junk,
            }
        },
    )
}

/// One top-level YAML fragment: a secret (as a scalar, a list, a mapping,
/// an unclosed quote), an unknown key, or random text.
fn yaml_fragment() -> impl Strategy<Value = String> {
    let keys = secret_keys();
    (
        0..8u8,
        prop::sample::select(keys),
        noise(),
        "[a-z_]{1,8}",
        "[ -~]{0,30}",
    )
        .prop_map(|(form, (_, yaml, url), n, word, junk)| {
            let v = secret_value(url, &n).replace(['"', '\\', '\''], "");
            let (section, key) = yaml.split_once('.').unwrap_or(("app", yaml));
            match form {
                0 => format!("{section}:\n  {key}: \"{v}\"\n"),
                1 => format!("{section}:\n  {key}: [\"{v}\", {{a: 1}}]\n"),
                2 => format!("{section}:\n  {key}:\n    inner: \"{v}\"\n"),
                3 => format!("{section}:\n  {key}: \"{v}\n"),
                4 => format!("{section}:\n  {word}: 1\n"),
                5 => format!("bases:\n  - name: b\n    password:\n      x: \"{v}\"\n"),
                6 => format!("bases:\n  - name: b\n    {word}: \"{v}\"\n"),
                _ => format!("{junk}\n"),
            }
        })
}

/// Load with both files written, and check every problem.
fn check_load(env_text: &str, yaml_text: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("prop.env");
    let yaml_file = dir.path().join("prop.yaml");
    fs::write(&env_file, env_text).unwrap();
    fs::write(&yaml_file, yaml_text).unwrap();
    let opts = LoadOptions {
        env_file: Some(env_file.clone()),
        config_file: Some(yaml_file.clone()),
        env: [
            ("ONEC_BASE_PATH", "/srv/1c/buh"),
            ("BACKUP_DIR", "/srv/backups"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        skip_files: false,
    };
    let Err(err) = load(&opts) else {
        return Ok(());
    };
    let env_lines: Vec<&str> = env_text.lines().collect();
    for p in &err.problems {
        let shown = p.to_string();
        prop_assert!(!shown.contains(MARK), "a secret in: {shown}");
        match &p.origin {
            Origin::DotEnv { file, line, name } => {
                prop_assert_eq!(file, &env_file);
                let at = format!("{}:{line}", env_file.display());
                prop_assert!(shown.contains(&at), "{}", shown);
                prop_assert!(*line >= 1 && *line <= env_lines.len(), "{shown}");
                // A line that has a variable name before its `=` is
                // reported with that name.
                let text = env_lines[line - 1].trim();
                let text = text.strip_prefix("export ").unwrap_or(text);
                if let Some((n, _)) = text.split_once('=') {
                    let n = n.trim();
                    if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        prop_assert_eq!(name.as_deref(), Some(n), "{}", shown);
                    }
                }
            }
            Origin::Yaml { file, path, line } => {
                prop_assert_eq!(file, &yaml_file);
                prop_assert!(shown.contains(&yaml_file.display().to_string()));
                if path.is_empty() {
                    // The whole file: a syntax error says where (the
                    // parser cannot say where a second document without
                    // `---` starts).
                    let unplaced = p.expected.contains("more than one document")
                        && !yaml_text.lines().skip(1).any(|l| l.starts_with("---"));
                    prop_assert!(
                        !p.expected.starts_with("valid YAML")
                            || unplaced
                            || shown.contains("line "),
                        "{shown}"
                    );
                } else {
                    prop_assert!(shown.contains(path.as_str()), "{shown}");
                    prop_assert!(line.is_some(), "no line: {shown}");
                    let at = format!("line {}", line.unwrap());
                    prop_assert!(shown.contains(&at), "{}", shown);
                }
            }
            Origin::File(file) => prop_assert!(file == &env_file || file == &yaml_file),
            Origin::Env(_) | Origin::Default => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn dotenv_errors_name_file_line_and_key_and_never_a_secret(
        lines in prop::collection::vec(env_line(), 0..8),
    ) {
        check_load(&lines.join("\n"), "")?;
    }

    #[test]
    fn yaml_errors_name_file_key_and_line_and_never_a_secret(
        parts in prop::collection::vec(yaml_fragment(), 0..4),
    ) {
        // Each fragment alone (a document with repeated top-level keys
        // is one syntax error and would hide the rest).
        for part in &parts {
            check_load("", part)?;
        }
        check_load("", &parts.concat())?;
    }

    #[test]
    fn arbitrary_text_never_panics_either_loader(text in "(?s).{0,200}") {
        check_load(&text, "")?;
        check_load("", &text)?;
    }
}

#[test]
fn yaml_lines_point_at_the_key() {
    use super::sources::yaml_line;
    let text = "app:\n  name: x\n# c\ntelegram:\n\n  bot_token: t\nbases:\n- name: a\n  path: /a\n- name: b\n  keep:\n    daily: 3\n  password: p\n";
    for (path, line) in [
        ("app", Some(1)),
        ("app.name", Some(2)),
        ("telegram.bot_token", Some(6)),
        ("bases[0]", Some(8)),
        ("bases[0].path", Some(9)),
        ("bases[1].name", Some(10)),
        ("bases[1].keep.daily", Some(12)),
        ("bases[1].password", Some(13)),
        ("bases[2]", None),
        ("app.missing", None),
    ] {
        assert_eq!(yaml_line(text, path), line, "{path}");
    }
    // Keys that hold dots (found by the property above: `.:` at the top).
    let dotted = "x: 1\n.: 2\nbackup:\n  a.b: 3\n";
    assert_eq!(yaml_line(dotted, "."), Some(2));
    assert_eq!(yaml_line(dotted, "backup.a.b"), Some(4));
    assert_eq!(yaml_line("A[: 1\n", "A["), Some(1));
    assert_eq!(yaml_line("x: 1\nA : A\n", "A"), Some(2));
}
