//! Reading the three sources into raw strings with their origin: the process
//! environment, a `.env` file and `config.yaml`. Parsing works on in-memory
//! text, so tests need no files; unknown YAML keys are reported here, with a
//! "did you mean" hint.

use super::keys::{self, BASE_KEYS, KEEP_KEYS, KEYS, OFFSITE_KEYS};
use super::{Origin, Problem};
use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A value as found in one source.
#[derive(Debug, Clone, PartialEq)]
pub struct Raw {
    pub value: String,
    pub origin: Origin,
}

/// One `.env` assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct DotEnvEntry {
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// Parse `.env` text: `KEY=value` lines, optional `export `, `#` comments,
/// single quotes (literal), double quotes (with `\n`, `\"`, `\\` escapes),
/// and ` #` comments after unquoted values. Later lines win.
pub fn parse_dotenv(text: &str, file: &Path) -> Result<Vec<DotEnvEntry>, Vec<Problem>> {
    into_result(parse_dotenv_partial(text, file))
}

/// [`parse_dotenv`] that keeps going: every line that parses, and a problem
/// for each one that does not. A problem names the file, the line and the
/// variable, never the line's text or the value: a line that does not
/// parse may hold a token.
pub fn parse_dotenv_partial(text: &str, file: &Path) -> (Vec<DotEnvEntry>, Vec<Problem>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, raw_line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let origin = |name: Option<&str>| Origin::DotEnv {
            file: file.to_path_buf(),
            line: line_no,
            name: name.map(str::to_string),
        };
        let Some((name, rest)) = line.split_once('=') else {
            problems.push(Problem::unknown(
                origin(None),
                "expected a line of the form NAME=value (or a # comment); the line is not shown as it may hold a secret",
            ));
            continue;
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            problems.push(Problem::unknown(
                origin(None),
                "expected a variable name of letters, digits and _ before the `=`",
            ));
            continue;
        }
        match parse_dotenv_value(rest.trim()) {
            Ok(value) => out.push(DotEnvEntry {
                name: name.to_string(),
                value,
                line: line_no,
            }),
            Err(why) => problems.push(Problem::unknown(
                origin(Some(name)),
                format!("expected {why}; the value is not shown as it may be a secret"),
            )),
        }
    }
    (out, problems)
}

/// `Ok` when nothing went wrong.
fn into_result<T>((value, problems): (T, Vec<Problem>)) -> Result<T, Vec<Problem>> {
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

fn parse_dotenv_value(v: &str) -> Result<String, &'static str> {
    if let Some(body) = v.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    let tail = chars.as_str().trim();
                    return if tail.is_empty() || tail.starts_with('#') {
                        Ok(out)
                    } else {
                        Err("nothing but a # comment after the closing quote")
                    };
                }
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("a closing double quote")
    } else if let Some(body) = v.strip_prefix('\'') {
        match body.find('\'') {
            Some(end) => {
                let tail = body[end + 1..].trim();
                if tail.is_empty() || tail.starts_with('#') {
                    Ok(body[..end].to_string())
                } else {
                    Err("nothing but a # comment after the closing quote")
                }
            }
            None => Err("a closing single quote"),
        }
    } else {
        let v = match v.find(" #") {
            Some(i) => &v[..i],
            None => v,
        };
        Ok(v.trim().to_string())
    }
}

/// One item of `bases:` before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawBase {
    pub index: usize,
    /// The line of the item's `-` in `config.yaml`, when found.
    pub line: Option<usize>,
    pub fields: BTreeMap<String, Raw>,
}

/// What `config.yaml` holds, flattened to dotted paths.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YamlDoc {
    pub globals: BTreeMap<&'static str, Raw>,
    pub bases: Vec<RawBase>,
    /// The items of `offsite:` (targets), in the same raw form as bases.
    pub offsite: Vec<RawBase>,
}

/// Parse `config.yaml` text. Every unknown key and wrongly-shaped value is
/// reported, all together.
pub fn parse_yaml(text: &str, file: &Path) -> Result<YamlDoc, Vec<Problem>> {
    into_result(parse_yaml_partial(text, file))
}

/// [`parse_yaml`] that keeps going: every key that is known and well-shaped
/// is in the document (so its value is still checked), and a problem for
/// each one that is not. A secret's wrongly-shaped value is not shown.
pub fn parse_yaml_partial(text: &str, file: &Path) -> (YamlDoc, Vec<Problem>) {
    let origin = |path: &str| Origin::Yaml {
        file: file.to_path_buf(),
        path: path.to_string(),
        line: yaml_line(text, path),
    };
    let mut doc = YamlDoc::default();
    let root: Value = match serde_norway::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let p = Problem::new(origin(""), "(file)", yaml_syntax_expected(&e, text));
            return (doc, vec![p]);
        }
    };
    let mut problems = Vec::new();
    match root {
        Value::Null => return (doc, problems),
        Value::Mapping(_) => {}
        _ => {
            let p = Problem::new(
                origin(""),
                "(file)",
                "a mapping of sections (app:, onec:, backup:, …)",
            );
            return (doc, vec![p]);
        }
    }
    walk_globals(&root, "", &mut doc, &mut problems, &origin);
    for (list, into) in [(&BASES, &mut doc.bases), (&OFFSITE, &mut doc.offsite)] {
        if let Some(node) = root.get(list.name) {
            *into = parse_list(node, list, text, &mut problems, &origin);
        }
    }
    (doc, problems)
}

fn walk_globals(
    node: &Value,
    prefix: &str,
    doc: &mut YamlDoc,
    problems: &mut Vec<Problem>,
    origin: &dyn Fn(&str) -> Origin,
) {
    let Value::Mapping(map) = node else { return };
    for (k, v) in map {
        let Some(name) = k.as_str() else {
            problems.push(Problem::new(origin(prefix), short(k), "text keys"));
            continue;
        };
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        if path == "bases" || path == "offsite" {
            continue;
        }
        if let Some(key) = keys::by_yaml(&path) {
            match scalar(v, key.yaml) {
                Ok(Some(value)) => {
                    doc.globals.insert(
                        key.yaml,
                        Raw {
                            value,
                            origin: origin(&path),
                        },
                    );
                }
                Ok(None) => {}
                Err(expected) => {
                    let shown = if key.may_hold_secret() {
                        "***".into()
                    } else {
                        short(v)
                    };
                    problems.push(Problem::new(origin(&path), shown, expected))
                }
            }
        } else if KEYS.iter().any(|k| k.yaml.starts_with(&format!("{path}."))) {
            if v.is_mapping() {
                walk_globals(v, &path, doc, problems, origin);
            } else if !v.is_null() {
                problems.push(Problem::new(
                    origin(&path),
                    short(v),
                    "a section (a mapping of keys)",
                ));
            }
        } else {
            let siblings = sibling_names(prefix);
            let hint = keys::did_you_mean(name, siblings.iter().map(String::as_str));
            let expected = match hint {
                Some(h) => format!("a known key (did you mean `{h}`?)"),
                None => format!("one of: {}", siblings.join(", ")),
            };
            problems.push(Problem::unknown(origin(&path), expected));
        }
    }
}

/// Known key names one level below `prefix` ("" = top level).
fn sibling_names(prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = KEYS
        .iter()
        .filter_map(|k| {
            let rest = if prefix.is_empty() {
                Some(k.yaml)
            } else {
                k.yaml.strip_prefix(&format!("{prefix}."))
            };
            rest.map(|r| r.split('.').next().unwrap_or(r).to_string())
        })
        .collect();
    if prefix.is_empty() {
        names.push("bases".into());
        names.push("offsite".into());
    }
    names.sort();
    names.dedup();
    names
}

/// What a list of the YAML file (`bases:`, `offsite:`) holds.
struct ListKind {
    name: &'static str,
    /// The item keys it knows.
    keys: &'static [&'static str],
    /// What a wrong list is told to be.
    expected_list: &'static str,
    /// What a wrong item is told to be.
    expected_item: &'static str,
    /// Whether a wrong list or item may be shown (a target's may hold its
    /// credentials).
    show_wrong: bool,
    /// The field a key is kept under (`file_prefix` is `prefix`, …).
    canonical: fn(&str) -> &str,
    /// Keys whose wrongly-shaped value is not shown.
    secret: fn(&str) -> bool,
}

static BASES: ListKind = ListKind {
    name: "bases",
    keys: BASE_KEYS,
    expected_list: "a list of bases (- name: …, path: …)",
    expected_item: "a mapping with at least name: and path:",
    show_wrong: true,
    canonical: |k| match k {
        "file_prefix" => "prefix",
        "user" => "uc",
        "password" => "up",
        other => other,
    },
    secret: |k| matches!(k, "up" | "lock_code"),
};

/// `offsite:` items: their fields by their `OFFSITE_KEYS` names (`bases:`
/// as a comma-joined list).
static OFFSITE: ListKind = ListKind {
    name: "offsite",
    keys: OFFSITE_KEYS,
    expected_list: "a list of offsite targets (- name: …, url: …)",
    expected_item: "a mapping with at least name: and url:",
    show_wrong: false,
    canonical: |k| k,
    secret: |k| {
        matches!(
            k,
            "password" | "secret_access_key" | "key_passphrase" | "url"
        )
    },
};

/// A `bases:` or `offsite:` list, each item with the line it starts on.
fn parse_list(
    node: &Value,
    list: &ListKind,
    text: &str,
    problems: &mut Vec<Problem>,
    origin: &dyn Fn(&str) -> Origin,
) -> Vec<RawBase> {
    match node {
        Value::Null => Vec::new(),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mut parsed = parse_item(item, i, list, problems, origin);
                parsed.line = yaml_line(text, &format!("{}[{i}]", list.name));
                parsed
            })
            .collect(),
        _ => {
            let shown = if list.show_wrong {
                short(node)
            } else if node.is_mapping() {
                "(a mapping)".into()
            } else {
                "(a single value)".into()
            };
            problems.push(Problem::new(origin(list.name), shown, list.expected_list));
            Vec::new()
        }
    }
}

/// One item of a list: its fields by their canonical names, `keep:` as
/// `keep.<option>`. A secret's wrongly-shaped value is not shown.
fn parse_item(
    item: &Value,
    i: usize,
    list: &ListKind,
    problems: &mut Vec<Problem>,
    origin: &dyn Fn(&str) -> Origin,
) -> RawBase {
    let mut raw = RawBase {
        index: i,
        line: None,
        fields: BTreeMap::new(),
    };
    let here = format!("{}[{i}]", list.name);
    let Value::Mapping(map) = item else {
        let shown = if list.show_wrong {
            short(item)
        } else {
            "(not a mapping)".into()
        };
        problems.push(Problem::new(origin(&here), shown, list.expected_item));
        return raw;
    };
    for (k, v) in map {
        let Some(name) = k.as_str() else {
            problems.push(Problem::new(origin(&here), short(k), "text keys"));
            continue;
        };
        let path = format!("{here}.{name}");
        if name == "keep" || name == "retention" {
            parse_keep(v, &path, &mut raw.fields, problems, origin);
            continue;
        }
        if !list.keys.contains(&name) {
            problems.push(Problem::unknown(
                origin(&path),
                unknown_expected(name, list.keys),
            ));
            continue;
        }
        let canonical = (list.canonical)(name);
        let as_key = if canonical == "compress" {
            "backup.compress"
        } else {
            ""
        };
        match scalar(v, as_key) {
            Ok(Some(value)) => {
                raw.fields.insert(
                    canonical.to_string(),
                    Raw {
                        value,
                        origin: origin(&path),
                    },
                );
            }
            Ok(None) => {}
            Err(expected) => {
                let shown = if (list.secret)(canonical) {
                    "***".into()
                } else {
                    short(v)
                };
                problems.push(Problem::new(origin(&path), shown, expected))
            }
        }
    }
    raw
}

/// A `keep:` mapping of a base or target into `keep.<option>` fields.
fn parse_keep(
    v: &Value,
    path: &str,
    fields: &mut BTreeMap<String, Raw>,
    problems: &mut Vec<Problem>,
    origin: &dyn Fn(&str) -> Origin,
) {
    match v {
        Value::Null => {}
        Value::Mapping(keep) => {
            for (kk, kv) in keep {
                let kname = kk.as_str().unwrap_or("?");
                let kpath = format!("{path}.{kname}");
                if !KEEP_KEYS.contains(&kname) {
                    problems.push(Problem::unknown(
                        origin(&kpath),
                        unknown_expected(kname, KEEP_KEYS),
                    ));
                    continue;
                }
                match scalar(kv, "") {
                    Ok(Some(value)) => {
                        fields.insert(
                            format!("keep.{kname}"),
                            Raw {
                                value,
                                origin: origin(&kpath),
                            },
                        );
                    }
                    Ok(None) => {}
                    Err(expected) => {
                        problems.push(Problem::new(origin(&kpath), short(kv), expected))
                    }
                }
            }
        }
        _ => problems.push(Problem::new(
            origin(path),
            short(v),
            "a mapping such as {daily: 7, monthly: 12}",
        )),
    }
}

fn unknown_expected(name: &str, known: &[&str]) -> String {
    match keys::did_you_mean(name, known.iter().copied()) {
        Some(h) => format!("a known key (did you mean `{h}`?)"),
        None => format!("one of: {}", known.join(", ")),
    }
}

/// A leaf value as a string. Lists of scalars become comma-separated (for
/// id lists); `null` means "not set". The prototype's `backup.compress: true`
/// means zip and `false` means none.
fn scalar(v: &Value, yaml_key: &str) -> Result<Option<String>, &'static str> {
    if yaml_key == "backup.compress"
        && let Value::Bool(b) = v
    {
        return Ok(Some(if *b { "zip" } else { "none" }.to_string()));
    }
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Sequence(items) => {
            let mut parts = Vec::new();
            for item in items {
                match item {
                    Value::Number(n) => parts.push(n.to_string()),
                    Value::String(s) => parts.push(s.clone()),
                    _ => return Err("a single value or a list of numbers/strings"),
                }
            }
            // A list of secrets keeps each item whole, commas and all: each
            // ends with a NUL (see `value::split_list`).
            if keys::by_yaml(yaml_key).is_some_and(|k| k.kind == keys::Kind::SecretList) {
                return Ok(Some(parts.iter().map(|p| format!("{p}\0")).collect()));
            }
            Ok(Some(parts.join(",")))
        }
        _ => Err("a single value, not a mapping"),
    }
}

/// What a syntax error expected, with the line: the parser's own message
/// has it for most errors; a duplicate key is found at its second
/// occurrence, anything else at the parser's location.
fn yaml_syntax_expected(e: &serde_norway::Error, text: &str) -> String {
    let msg = e.to_string();
    if msg.contains(" line ") {
        return format!("valid YAML ({msg})");
    }
    let duplicate = msg
        .split_once("duplicate entry with key \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .and_then(|(key, _)| {
            let key = format!("{key}:");
            text.lines()
                .enumerate()
                .filter(|(_, l)| l.trim_start().trim_start_matches("- ").starts_with(&key))
                .nth(1)
                .map(|(i, _)| i + 1)
        });
    // A second document starts at a `---` after the first line.
    let second_document = || {
        msg.contains("more than one document")
            .then(|| {
                text.lines()
                    .enumerate()
                    .skip(1)
                    .find(|(_, l)| l.starts_with("---"))
                    .map(|(i, _)| i + 1)
            })
            .flatten()
    };
    match duplicate
        .or_else(second_document)
        .or_else(|| e.location().map(|l| l.line()))
    {
        Some(line) => format!("valid YAML ({msg} at line {line})"),
        None => format!("valid YAML ({msg})"),
    }
}

/// The 1-based line of `config.yaml` text where the dotted `path`
/// (`telegram.bot_token`, `bases[1].keep.daily`) is written in block style;
/// `None` when it is not written that way (flow style `{a: 1}`, a quoted
/// key spread over lines): then the problem names file and key only.
pub(crate) fn yaml_line(text: &str, path: &str) -> Option<usize> {
    if path.is_empty() {
        return None;
    }
    // A key may itself hold dots (`a.b: 1`, even `.: 1`): try every way of
    // grouping the dot-separated pieces into keys, fewest keys last.
    let pieces: Vec<&str> = path.split('.').collect();
    let n = pieces.len().min(9);
    let pieces_slice = &pieces[..n];
    let rest = pieces[n..].join(".");
    for mask in 0..(1u32 << (n - 1)) {
        let mut segs: Vec<String> = vec![pieces_slice[0].to_string()];
        for (i, p) in pieces_slice.iter().enumerate().skip(1) {
            if mask & (1 << (i - 1)) == 0 {
                segs.push((*p).to_string());
            } else {
                let last = segs.last_mut().expect("one segment");
                last.push('.');
                last.push_str(p);
            }
        }
        if !rest.is_empty() {
            let last = segs.last_mut().expect("one segment");
            last.push('.');
            last.push_str(&rest);
        }
        if let Some(line) = yaml_line_of(text, &segs) {
            return Some(line);
        }
    }
    None
}

/// [`yaml_line`] for a path already cut into keys (`name` or `name[i]`).
fn yaml_line_of(text: &str, segs: &[String]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    // The lines to search: [from, to), and the column of the keys there
    // (`None`: the column of the first key found, at the top level).
    let (mut from, mut to, mut col) = (0, lines.len(), None::<usize>);
    let mut found = None;
    for seg in segs {
        // `name[i]` is a list item; a key that merely holds `[` is a name.
        let item = seg
            .split_once('[')
            .and_then(|(n, rest)| Some((n, rest.strip_suffix(']')?.parse::<usize>().ok()?)));
        let (name, index) = match item {
            Some((n, i)) => (n, Some(i)),
            None => (seg.as_str(), None),
        };
        let (at, key_col) = (from..to).find_map(|j| {
            let (c, rest) = key_at(lines[j], j == from)?;
            let named = rest
                .strip_prefix(name)
                .or_else(|| rest.strip_prefix(&format!("\"{name}\"")))
                .or_else(|| rest.strip_prefix(&format!("'{name}'")))
                .is_some_and(|r| r.trim_start_matches([' ', '\t']).starts_with(':'));
            (named && col.is_none_or(|k| k == c)).then_some((j, c))
        })?;
        found = Some(at);
        // The key's block: the lines after it that are indented deeper,
        // and a list at the key's own indent.
        let end = (at + 1..to)
            .find(|&j| {
                let l = lines[j];
                let c = l.len() - l.trim_start().len();
                let t = l.trim_start();
                !(t.is_empty() || t.starts_with('#'))
                    && (c < key_col || (c == key_col && !t.starts_with('-')))
            })
            .unwrap_or(to);
        (from, to, col) = (at + 1, end, None);
        if let Some(i) = index {
            let item_col = (from..to).find_map(|j| item_at(lines[j]).map(|(c, _)| c))?;
            let items: Vec<usize> = (from..to)
                .filter(|&j| item_at(lines[j]).is_some_and(|(c, _)| c == item_col))
                .collect();
            let at = *items.get(i)?;
            let end = items.get(i + 1).copied().unwrap_or(to);
            found = Some(at);
            (from, to, col) = (at, end, Some(item_at(lines[at])?.1));
        } else if let Some(first) = (from..to).find_map(|j| key_at(lines[j], false)) {
            col = Some(first.0);
        }
    }
    found.map(|i| i + 1)
}

/// The column and text of the key a line starts with (after a list item's
/// `- ` when `item_line`); `None` for blank lines and comments.
fn key_at(line: &str, item_line: bool) -> Option<(usize, &str)> {
    if item_line && let Some((c, _)) = item_at(line) {
        let rest = line[c..].trim_start_matches('-').trim_start();
        return Some((line.len() - rest.len(), rest));
    }
    let rest = line.trim_start();
    (!rest.is_empty() && !rest.starts_with('#')).then(|| (line.len() - rest.len(), rest))
}

/// A list item line (`- …`): the column of its `-` and of its content.
fn item_at(line: &str) -> Option<(usize, usize)> {
    let rest = line.trim_start();
    let dash = line.len() - rest.len();
    let after = rest.strip_prefix('-')?;
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    Some((dash, line.len() - after.trim_start().len()))
}

fn short(v: &Value) -> String {
    let s = serde_norway::to_string(v).unwrap_or_default();
    let s = s.trim().replace('\n', " ");
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::assert_contains;

    fn p() -> &'static Path {
        Path::new("config.yaml")
    }

    #[test]
    fn dotenv_forms() {
        let text = "# comment\n\nA=1\nexport B = two words \nC=\"x # y\\n\" # c\nD='lit\\n'\nE=v # trailing\nF=\n";
        let got = parse_dotenv(text, Path::new(".env")).unwrap();
        let pairs: Vec<(&str, &str)> = got
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("A", "1"),
                ("B", "two words"),
                ("C", "x # y\n"),
                ("D", "lit\\n"),
                ("E", "v"),
                ("F", "")
            ]
        );
        assert_eq!(got[1].line, 4);
    }

    #[test]
    fn dotenv_errors_name_the_line() {
        let errs = parse_dotenv("A=1\nnot a pair\nB=\"open\n", Path::new(".env")).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(errs[0].to_string().contains(".env:2"), "{}", errs[0]);
        assert!(errs[1].to_string().contains(".env:3"), "{}", errs[1]);
        assert!(errs[1].to_string().contains("closing double quote"));
    }

    #[test]
    fn yaml_prototype_sections() {
        let text = r#"
app:
  name: Бухгалтерия
  timezone: Asia/Yekaterinburg
security:
  allowed_user_ids: [111, 222]
onec:
  exe: C:\Program Files\1cv8\8.3.24.1467\bin\1cv8.exe
  base_path: D:\Base\buh
  uc: Админ
  up: secret
backup:
  backup_dir: D:\Backups
  file_prefix: buh_
  compress: true
  compress_level: 9
  delete_dt_after_compress: false
telegram:
  broadcast_chat_id: -1001234
"#;
        let doc = parse_yaml(text, p()).unwrap();
        assert_eq!(doc.globals["security.allowed_user_ids"].value, "111,222");
        assert_eq!(doc.globals["backup.compress"].value, "zip");
        assert_eq!(doc.globals["onec.uc"].value, "Админ");
        assert_eq!(doc.globals["telegram.broadcast_chat_id"].value, "-1001234");
        assert_eq!(
            doc.globals["onec.base_path"].origin.to_string(),
            "config.yaml: onec.base_path"
        );
    }

    #[test]
    fn yaml_unknown_keys_all_reported_with_hints() {
        let text = "backup:\n  backup_dri: x\n  keep:\n    daly: 3\nonek:\n  exe: y\nbases:\n  - name: a\n    pth: /x\n    keep: {montly: 2}\n";
        let errs = parse_yaml(text, p()).unwrap_err();
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let joined = all.join("\n");
        assert_eq!(errs.len(), 5, "{joined}");
        assert_contains(&joined, &["backup.backup_dri", "did you mean `backup_dir`"]);
        assert_contains(&joined, &["backup.keep.daly", "`daily`"]);
        assert_contains(&joined, &["onek", "`onec`"]);
        assert_contains(&joined, &["bases[0].pth", "`path`"]);
        assert_contains(&joined, &["bases[0].keep.montly", "`monthly`"]);
    }

    #[test]
    fn yaml_bases_with_aliases() {
        let text = "bases:\n  - name: buh\n    path: /srv/buh\n    user: u\n    password: p\n    file_prefix: b_\n    compress: false\n    retention:\n      daily: 7\n      within: 30d\n";
        let doc = parse_yaml(text, p()).unwrap();
        let b = &doc.bases[0];
        assert_eq!(b.fields["uc"].value, "u");
        assert_eq!(b.fields["up"].value, "p");
        assert_eq!(b.fields["prefix"].value, "b_");
        assert_eq!(b.fields["compress"].value, "none");
        assert_eq!(b.fields["keep.daily"].value, "7");
        assert_eq!(b.fields["keep.within"].value, "30d");
    }

    #[test]
    fn malformed_yaml_is_an_error() {
        let errs = parse_yaml("app: [unclosed", p()).unwrap_err();
        assert!(errs[0].to_string().contains("valid YAML"));
        assert!(parse_yaml("", p()).unwrap().globals.is_empty());
        assert!(parse_yaml("- a\n- b\n", p()).is_err());
        assert!(parse_yaml("backup: 5\n", p()).is_err());
    }
}
