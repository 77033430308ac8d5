//! Architecture checks that read the source itself: the top-level modules
//! of `src/` depend on each other in the one order written in `lib.rs`'s
//! doc (so there is no import cycle), counting every `crate::x` path
//! outside comments and test code, inline paths included.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The intended order, leaves first: a module may use only modules listed
/// before it. Keep in step with the list in `src/lib.rs`.
const ORDER: &[&str] = &[
    "cancel",
    "platform",
    "logging",
    "text",
    "schedule",
    "retention",
    "config",
    "onec",
    "metrics",
    "backup",
    "offsite",
    "export",
    "agent",
    "chart",
    "push",
    "web",
    "api",
    "telegram",
    "daemon",
    "cli",
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, skipping test-only files: `tests.rs`,
/// `*_tests.rs`, and files a `#[cfg(test)] mod name;` declares.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let test_mods: BTreeSet<String> = entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .flat_map(|p| test_module_names(&fs::read_to_string(p).unwrap_or_default()))
        .collect();
    for p in entries {
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if test_mods.contains(&name) || name == "tests" || name.ends_with("_tests") {
            continue;
        }
        if p.is_dir() {
            if name != "bin" {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Names declared as `#[cfg(test)] mod name;`.
fn test_module_names(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|w| w[0] == "#[cfg(test)]")
        .filter_map(|w| {
            let rest = w[1]
                .strip_prefix("mod ")
                .or(w[1].strip_prefix("pub mod "))?;
            rest.strip_suffix(';').map(str::to_string)
        })
        .collect()
}

/// The text without comments and without `#[cfg(test)]` items (a module
/// body or a function, skipped by counting braces).
fn code_only(text: &str) -> String {
    let mut out = String::new();
    let mut skip_next_item = false;
    let mut depth = 0i32;
    let mut skipping = false;
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        if skipping {
            depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
            if depth <= 0 {
                skipping = false;
            }
            continue;
        }
        if code.trim() == "#[cfg(test)]" {
            skip_next_item = true;
            continue;
        }
        if skip_next_item {
            skip_next_item = false;
            if code.trim_end().ends_with(';') {
                continue;
            }
            depth = code.matches('{').count() as i32 - code.matches('}').count() as i32;
            skipping = depth > 0;
            continue;
        }
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The top-level modules a file's code names through `crate::`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `my_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// The top-level module a file belongs to (`src/backup/run.rs` → `backup`).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (!matches!(name.as_str(), "lib" | "main" | "arch_tests")).then_some(name)
}

/// module → (module it uses → one file that uses it).
fn dependencies() -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut deps: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for f in files {
        let Some(module) = top_module(&src, &f) else {
            continue;
        };
        let code = code_only(&fs::read_to_string(&f).unwrap());
        let entry = deps.entry(module.clone()).or_default();
        for used in crate_paths(&code) {
            if used != module {
                entry.entry(used).or_insert_with(|| f.clone());
            }
        }
    }
    deps
}

#[test]
fn every_top_level_module_is_in_the_written_order() {
    let deps = dependencies();
    for m in deps.keys() {
        assert!(
            ORDER.contains(&m.as_str()),
            "module {m} is missing from ORDER (src/arch_tests.rs) and the list in src/lib.rs"
        );
    }
    for m in ORDER {
        assert!(
            deps.contains_key(*m),
            "ORDER names {m}, which src/ does not have"
        );
    }
}

#[test]
fn modules_depend_only_on_modules_before_them_so_there_is_no_cycle() {
    let deps = dependencies();
    let rank = |m: &str| ORDER.iter().position(|o| *o == m);
    let mut wrong = Vec::new();
    for (m, used) in &deps {
        for (u, file) in used {
            match (rank(m), rank(u)) {
                (Some(a), Some(b)) if b < a => {}
                _ => wrong.push(format!("{m} uses {u} ({})", file.display())),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies against the order in src/lib.rs:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_scanner_sees_inline_and_grouped_paths_and_skips_comments_and_tests() {
    let code = code_only(
        "use crate::{alpha, beta::X};\n// crate::gamma\nfn f() { crate::delta::g(); }\n\
         #[cfg(test)]\nmod tests {\n    use crate::epsilon;\n    fn h() { }\n}\nfn z() { other_crate::q(); }\n",
    );
    let found = crate_paths(&code);
    let want: BTreeSet<String> = ["alpha", "beta", "delta"].map(String::from).into();
    assert_eq!(found, want);
}
