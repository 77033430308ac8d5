//! A stand-in for 1C's `1cv8` (Designer batch mode) and `ibcmd`, for the
//! test-suite, the demo and the benchmarks. It acts as `ibcmd` when its file
//! stem is `ibcmd` or its first argument is `infobase`, else as `1cv8`.
//!
//! It parses the real argument syntax. `1cv8`: `DESIGNER`, then `/Option`s
//! with case-insensitive names whose values are glued (`/F"C:\base"`, quotes
//! stripped, or `/Fdir`) or the next argument (`/F dir`): `/DumpIB <dt>`
//! dumps, `/RestoreIB <dt>` loads; `CREATEINFOBASE File="<dir>";` (a
//! connection string, then `/Out` and the like) creates an empty infobase.
//! `ibcmd`: `infobase dump|restore --db-path=<p>` (or `--db-path <p>`),
//! `--user=`, `--password=`, `--create-database` (restore only), and the
//! `.dt` as the positional argument. Unknown or missing options exit with
//! code 1 and a message, like 1C.
//!
//! A load accepts only a `.dt` this fake wrote (complete, with its own
//! content), answering anything else with a 1C-like error; it writes a
//! small valid `1Cv8.1CD` whose page count follows the dump's size. A base
//! just created has no users, so `FAKE_1C_EXPECT_*` do not apply to it
//! (as with 1C, which then ignores credentials).
//!
//! Behaviour comes from `FAKE_1C_MODE`: `ok` (default), `lock`, `badcreds`,
//! `dumpresult1`, `hang`, `empty`, `slow` (sleeps `FAKE_1C_SLEEP_MS` first).
//! `FAKE_1C_EXPECT_USER` / `FAKE_1C_EXPECT_PASSWORD` turn a mismatch into
//! `badcreds`; `FAKE_1C_ARGS_FILE` receives the argv, one per line;
//! `FAKE_1C_CHILD_PID_FILE` receives the pid of the child `hang` starts;
//! `FAKE_1C_ENV_FILE` receives the environment it was started with, one
//! `NAME=value` a line;
//! `FAKE_1C_DT_BYTES` is the uncompressed `.dt` payload size (default 64 KiB);
//! `FAKE_1C_CALL_LOG` receives one line per call (the arguments, `/P`
//! masked).
//!
//! `ENTERPRISE /F<base> [/N /P] [/C"<parameter>"] [/UC<code>]
//! [/DisableStartupDialogs] [/DisableStartupMessages]` is a user's session:
//! without `/C` it stays open (sleeps until killed); with
//! `/C"ЗавершитьРаботуПользователей"` or `/C"РазрешитьРаботуПользователей"`
//! it acts as the standard subsystem library does on the "busy" state.
//! That state lives in the file `FAKE_1C_BUSY_FILE`, one fact a line:
//! `busy` (users inside), `pid <n>` (inside while process n is alive; an
//! `ENTERPRISE` session adds its own), `locked <code>` (new sessions
//! refused without `/UC<code>`). While users are inside, a dump fails with
//! 1C's exclusive-lock message. `ЗавершитьРаботуПользователей` with the
//! right `/UC` code (`FAKE_1C_LOCK_CODE`; any code when unset) ends the
//! users' sessions (the processes of the `pid` lines are killed) and locks; `РазрешитьРаботуПользователей` lifts the lock.
//! While locked, a dump needs `/UC<code>`. `FAKE_1C_UNLOCK_FAILS` (any
//! value) makes `РазрешитьРаботуПользователей` fail.
//! Each variable may also be given as a `KEY=VALUE` line in a file
//! `fake-1c.env` beside the executable (the environment wins), so parallel
//! tests can configure their own copies without touching the process
//! environment.
//!
//! The `.dt` is `1CIBDmpF`, the byte `0x33`, then one raw DEFLATE stream.

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use onec_backup_bot::onec::files::{DtCheck, check_dt};
use onec_backup_bot::onec::generate::{CdFormat, generate_1cd};
use std::collections::HashMap;
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

const SUCCESS: &str = "Выгрузка информационной базы успешно завершена";
const LOCK: [&str; 2] = [
    "Ошибка установки монопольного режима",
    "Не удалось монопольно заблокировать информационную базу",
];
const BADCREDS: &str = "Пользователь ИБ не идентифицирован";
const NO_BASE: &str = "Информационная база не обнаружена!";
const RESTORE_OK: &str = "Загрузка информационной базы успешно завершена";
const RESTORE_FAILED: &str = "Ошибка загрузки информационной базы";
/// How every `.dt` this fake writes begins.
const OWN_DT_START: &str = "{\"#\",0,\"Справочник.Номенклатура\"";

fn main() {
    if std::env::var_os("FAKE_1C_ROLE").is_some_and(|r| r == "hang-child") {
        sleep_forever();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = Settings::load();
    if let Some(file) = settings.get("FAKE_1C_ARGS_FILE") {
        record_args(Path::new(&file), &args);
    }
    if let Some(file) = settings.get("FAKE_1C_ENV_FILE") {
        let env: Vec<String> = std::env::vars_os()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .collect();
        record_args(Path::new(&file), &env);
    }
    if let Some(file) = settings.get("FAKE_1C_CALL_LOG") {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("/P")) {
                    "/P***".to_string()
                } else {
                    a.clone()
                }
            })
            .collect();
        record_args(Path::new(&file), &[shown.join(" ")]);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let first = args.first().map(String::as_str).unwrap_or_default();
    let code = if stem == "ibcmd" || first == "infobase" {
        ibcmd(&args, &settings)
    } else if first.eq_ignore_ascii_case("CREATEINFOBASE") {
        let Some(conn) = args.get(1) else {
            eprintln!("1cv8: CREATEINFOBASE needs a connection string");
            std::process::exit(1);
        };
        with_options(parse_options(args[2..].iter()), |o| {
            create_infobase(conn, o, &settings)
        })
    } else if first.eq_ignore_ascii_case("ENTERPRISE") {
        with_options(parse_options(args[1..].iter()), |o| {
            enterprise(o, &settings)
        })
    } else {
        with_options(parse_designer(&args), |o| designer(o, &settings))
    };
    std::process::exit(code);
}

/// Runs a mode with its parsed `/Option`s, or exits 1 (the complaint on
/// stderr) for options it cannot parse.
fn with_options(parsed: Result<Opts, String>, mode: impl FnOnce(Opts) -> i32) -> i32 {
    match parsed {
        Ok(opts) => mode(opts),
        Err(msg) => {
            eprintln!("1cv8: {msg}");
            1
        }
    }
}

impl Settings {
    /// Whether `user` and `password` are the ones the test expects
    /// (`FAKE_1C_EXPECT_USER` / `FAKE_1C_EXPECT_PASSWORD`; unset: any).
    fn creds_ok(&self, user: Option<&str>, password: Option<&str>) -> bool {
        let expected = |key: &str, given: Option<&str>| {
            self.get(key).is_none_or(|v| Some(v.as_str()) == given)
        };
        expected("FAKE_1C_EXPECT_USER", user) && expected("FAKE_1C_EXPECT_PASSWORD", password)
    }
}

/// Environment variables, falling back to `fake-1c.env` beside the exe.
struct Settings(HashMap<String, String>);

impl Settings {
    fn load() -> Self {
        let mut map = HashMap::new();
        let file = std::env::current_exe()
            .ok()
            .and_then(|e| Some(e.parent()?.join("fake-1c.env")));
        if let Some(text) = file.and_then(|f| fs::read_to_string(f).ok()) {
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    map.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
        }
        for (k, v) in std::env::vars() {
            if k.starts_with("FAKE_1C_") {
                map.insert(k, v);
            }
        }
        Self(map)
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).filter(|v| !v.is_empty()).cloned()
    }

    fn mode(&self) -> String {
        self.get("FAKE_1C_MODE")
            .unwrap_or_else(|| "ok".into())
            .to_lowercase()
    }
}

fn record_args(file: &Path, args: &[String]) {
    let mut text = String::new();
    for a in args {
        text.push_str(a);
        text.push('\n');
    }
    let written = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        eprintln!("fake-1cv8: cannot write {}: {e}", file.display());
    }
}

/// What a run should do once the arguments are understood.
enum Outcome {
    Ok,
    Lock,
    BadCreds,
    DumpResult1,
    Hang,
    Empty,
}

/// Pick the behaviour: wrong credentials first, then the mode.
fn outcome(s: &Settings, user: Option<&str>, password: Option<&str>) -> Result<Outcome, String> {
    outcome_for(s, Some((user, password)))
}

/// [`outcome`]; `creds` is `None` for a base without users (nothing to check).
fn outcome_for(
    s: &Settings,
    creds: Option<(Option<&str>, Option<&str>)>,
) -> Result<Outcome, String> {
    let Some((user, password)) = creds else {
        return mode_outcome(s);
    };
    if !s.creds_ok(user, password) {
        return Ok(Outcome::BadCreds);
    }
    mode_outcome(s)
}

/// The behaviour `FAKE_1C_MODE` asks for.
fn mode_outcome(s: &Settings) -> Result<Outcome, String> {
    Ok(match s.mode().as_str() {
        "ok" => Outcome::Ok,
        "slow" => {
            let ms = s
                .get("FAKE_1C_SLEEP_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000);
            thread::sleep(Duration::from_millis(ms));
            Outcome::Ok
        }
        "lock" => Outcome::Lock,
        "badcreds" => Outcome::BadCreds,
        "dumpresult1" => Outcome::DumpResult1,
        "hang" => Outcome::Hang,
        "empty" => Outcome::Empty,
        other => return Err(format!("unknown FAKE_1C_MODE {other:?}")),
    })
}

// ---------------------------------------------------------------- 1cv8

/// Designer options: name, takes a value. Longest first so that prefixes
/// (`/DumpIB` vs `/DumpResult`) resolve correctly.
const DESIGNER_OPTIONS: &[(&str, bool)] = &[
    ("DisableStartupDialogs", false),
    ("DisableStartupMessages", false),
    ("DumpResult", true),
    ("DumpIB", true),
    ("RestoreIB", true),
    ("Out", true),
    ("UC", true),
    ("F", true),
    ("N", true),
    ("P", true),
    ("C", true),
];

/// The `/Option`s of a command line by their names in `DESIGNER_OPTIONS`.
type Opts = HashMap<&'static str, String>;

fn parse_designer(args: &[String]) -> Result<Opts, String> {
    let mut it = args.iter();
    match it.next() {
        Some(mode) if mode.eq_ignore_ascii_case("DESIGNER") => {}
        Some(other) => {
            return Err(format!(
                "unsupported launch mode {other:?} (expected DESIGNER or CREATEINFOBASE)"
            ));
        }
        None => return Err("no launch mode given (expected DESIGNER)".into()),
    }
    parse_options(it)
}

/// `/Option`s to the end of the arguments.
fn parse_options<'a>(mut it: impl Iterator<Item = &'a String>) -> Result<Opts, String> {
    let mut opts = HashMap::new();
    while let Some(arg) = it.next() {
        let Some(body) = arg.strip_prefix('/') else {
            return Err(format!("unexpected argument {arg:?}"));
        };
        let found = DESIGNER_OPTIONS.iter().find(|(name, _)| {
            body.get(..name.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(name))
        });
        let Some(&(name, takes_value)) = found else {
            return Err(format!("unknown option {arg:?}"));
        };
        let rest = &body[name.len()..];
        let value = if !takes_value {
            if !rest.is_empty() {
                return Err(format!("unknown option {arg:?}"));
            }
            String::new()
        } else if rest.is_empty() {
            match it.next() {
                Some(v) => strip_quotes(v),
                None => return Err(format!("option /{name} needs a value")),
            }
        } else {
            strip_quotes(rest)
        };
        opts.insert(name, value);
    }
    Ok(opts)
}

fn strip_quotes(s: &str) -> String {
    let s = s.strip_prefix('"').unwrap_or(s);
    s.strip_suffix('"').unwrap_or(s).to_string()
}

/// Writes `lines` to the `/Out` log when one was given; returns `code`.
fn logged(opts: &Opts, lines: &[&str], code: i32) -> i32 {
    if let Some(out) = opts.get("Out") {
        write_cp1251(Path::new(out), lines);
    }
    code
}

fn designer(opts: Opts, s: &Settings) -> i32 {
    let result = opts.get("DumpResult").map(PathBuf::from);
    let finish = |lines: &[&str], dump_result: i32, code: i32| {
        logged(&opts, lines, 0);
        if let Some(result) = &result
            && let Err(e) = fs::write(result, dump_result.to_string())
        {
            eprintln!("1cv8: cannot write {}: {e}", result.display());
        }
        code
    };
    let Some(base) = opts.get("F") else {
        eprintln!("1cv8: /F is required");
        return finish(&["Не задан параметр /F"], 1, 1);
    };
    if !Path::new(base).join("1Cv8.1CD").is_file() {
        return finish(&[NO_BASE, base.as_str()], 1, 1);
    }
    if let Some(dt) = opts.get("RestoreIB") {
        let creds = (
            opts.get("N").map(String::as_str),
            opts.get("P").map(String::as_str),
        );
        let (lines, dump_result, code) = restore(Path::new(base), Path::new(dt), creds, s);
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        return finish(&lines, dump_result, code);
    }
    let Some(dt) = opts.get("DumpIB") else {
        eprintln!("1cv8: /DumpIB or /RestoreIB is required");
        return finish(&["Не задан параметр /DumpIB или /RestoreIB"], 1, 1);
    };
    let outcome = match outcome(
        s,
        opts.get("N").map(String::as_str),
        opts.get("P").map(String::as_str),
    ) {
        Ok(o) => o,
        Err(msg) => return finish(&[&msg], 1, 1),
    };
    // The busy state stands in the way of a dump that would succeed.
    let busy = matches!(outcome, Outcome::Ok)
        .then(|| busy_outcome(s, opts.get("UC").map(String::as_str)))
        .flatten();
    let outcome = match busy {
        Some(Err(line)) => return finish(&[line], 1, 1),
        Some(Ok(o)) => o,
        None => outcome,
    };
    let dt = Path::new(dt);
    match outcome {
        Outcome::Ok => match write_dt(dt, dt_bytes(s)) {
            Ok(()) => finish(&["Начало выгрузки информационной базы", SUCCESS], 0, 0),
            Err(e) => finish(&[&format!("Ошибка записи файла: {e}")], 1, 1),
        },
        Outcome::DumpResult1 => {
            let _ = write_dt(dt, dt_bytes(s));
            finish(&["Выгрузка информационной базы не выполнена"], 1, 0)
        }
        Outcome::Empty => {
            let _ = fs::write(dt, b"");
            finish(&[SUCCESS], 0, 0)
        }
        Outcome::Lock => finish(&LOCK, 1, 1),
        Outcome::BadCreds => finish(&[BADCREDS], 1, 1),
        Outcome::Hang => hang(s),
    }
}

/// The page count of the infobase `CREATEINFOBASE` writes: a base of
/// exactly this size is "just created", with no users.
const FRESH_PAGES: u32 = 3;

/// `CREATEINFOBASE File="<dir>";[...] [/Out <log>] [...]`.
fn create_infobase(conn: &str, opts: Opts, s: &Settings) -> i32 {
    let finish = |lines: &[&str], code: i32| logged(&opts, lines, code);
    let dir = conn.split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("File")
            .then(|| strip_quotes(v.trim()))
    });
    let Some(dir) = dir.filter(|d| !d.is_empty()) else {
        return finish(&[&format!("Неверная строка соединения: {conn}")], 1);
    };
    if s.mode() == "hang" {
        hang(s);
    }
    let cd = Path::new(&dir).join("1Cv8.1CD");
    if cd.exists() {
        return finish(&["Информационная база уже существует", dir.as_str()], 1);
    }
    let made =
        fs::create_dir_all(&dir).and_then(|()| generate_1cd(&cd, CdFormat::V8_3_8, FRESH_PAGES, 1));
    match made {
        Ok(()) => finish(
            &[&format!(
                "Создание информационной базы (File=\"{dir}\";) успешно завершено"
            )],
            0,
        ),
        Err(e) => finish(&[&format!("Ошибка создания информационной базы: {e}")], 1),
    }
}

/// Whether the infobase in `base` is one `CREATEINFOBASE` just made.
fn is_fresh(base: &Path) -> bool {
    fs::metadata(base.join("1Cv8.1CD"))
        .is_ok_and(|m| m.len() == u64::from(FRESH_PAGES) * CdFormat::V8_3_8.page_size() as u64)
}

/// Load `dt` into the infobase in `base`: the log lines, DumpResult and
/// exit code.
fn restore(
    base: &Path,
    dt: &Path,
    (user, password): (Option<&str>, Option<&str>),
    s: &Settings,
) -> (Vec<String>, i32, i32) {
    let fail = |lines: &[&str]| (lines.iter().map(|l| l.to_string()).collect(), 1, 1);
    let outcome = if is_fresh(base) {
        outcome(
            &Settings(HashMap::from([("FAKE_1C_MODE".into(), s.mode())])),
            None,
            None,
        )
    } else {
        outcome(s, user, password)
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(msg) => return fail(&[&msg]),
    };
    let inflated = match own_dump_size(dt) {
        Ok(n) => n,
        Err(why) => return fail(&[RESTORE_FAILED, &why]),
    };
    let cd = base.join("1Cv8.1CD");
    match outcome {
        Outcome::Ok => {
            let pages = 4 + (inflated / 16_384) as u32;
            match generate_1cd(&cd, CdFormat::V8_3_8, pages, inflated) {
                Ok(()) => (vec![RESTORE_OK.to_string()], 0, 0),
                Err(e) => fail(&[&format!("Ошибка записи файла: {e}")]),
            }
        }
        Outcome::DumpResult1 => (vec![RESTORE_FAILED.to_string()], 1, 0),
        Outcome::Empty => {
            let _ = fs::write(&cd, b"");
            (vec![RESTORE_OK.to_string()], 0, 0)
        }
        Outcome::Lock => fail(&LOCK),
        Outcome::BadCreds => fail(&[BADCREDS]),
        Outcome::Hang => hang(s),
    }
}

/// The content size of a `.dt` this fake wrote, or why it is not one.
fn own_dump_size(dt: &Path) -> Result<u64, String> {
    let f =
        fs::File::open(dt).map_err(|e| format!("Ошибка открытия файла {}: {e}", dt.display()))?;
    match check_dt(f) {
        Ok(DtCheck::Complete { inflated }) => {
            let mut head = vec![0u8; OWN_DT_START.len()];
            let mut r = fs::File::open(dt).map_err(|e| e.to_string())?;
            let mut sig = [0u8; 9];
            r.read_exact(&mut sig).map_err(|e| e.to_string())?;
            let read = DeflateDecoder::new(r).read_exact(&mut head);
            if read.is_err() || head != OWN_DT_START.as_bytes() {
                return Err("Файл не является выгрузкой этой конфигурации".into());
            }
            Ok(inflated)
        }
        Ok(DtCheck::UnknownFormat { .. }) => Err("Неверный формат файла выгрузки".into()),
        Ok(DtCheck::Damaged(_)) | Err(_) => Err("Ошибка формата потока".into()),
    }
}

fn write_cp1251(path: &Path, lines: &[&str]) {
    let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
    if let Err(e) = fs::write(path, bytes) {
        eprintln!("1cv8: cannot write {}: {e}", path.display());
    }
}

// ---------------------------------------------------------------- busy

/// 1C's answer to a session started while sessions are locked.
const SESSIONS_LOCKED: &str =
    "Начало сеанса с информационной базой запрещено. Установлена блокировка начала сеансов";
const END_SESSIONS: &str = "ЗавершитьРаботуПользователей";
const ALLOW_SESSIONS: &str = "РазрешитьРаботуПользователей";

/// The facts of `FAKE_1C_BUSY_FILE` (empty when unset or missing).
fn busy_facts(s: &Settings) -> Vec<String> {
    s.get("FAKE_1C_BUSY_FILE")
        .and_then(|f| fs::read_to_string(f).ok())
        .map(|t| {
            t.lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn write_busy_facts(s: &Settings, facts: &[String]) -> Result<(), String> {
    let Some(file) = s.get("FAKE_1C_BUSY_FILE") else {
        return Ok(());
    };
    let text: String = facts.iter().map(|f| format!("{f}\n")).collect();
    fs::write(&file, text).map_err(|e| format!("cannot write {file}: {e}"))
}

/// Whether users are inside: a `busy` line, or a `pid` line of a live process.
fn users_inside(facts: &[String]) -> bool {
    facts.iter().any(|f| {
        f == "busy"
            || f.strip_prefix("pid ")
                .and_then(|p| p.trim().parse::<u32>().ok())
                .is_some_and(onec_backup_bot::platform::pid_alive)
    })
}

/// The code sessions are locked with, if they are.
fn locked_with(facts: &[String]) -> Option<String> {
    facts
        .iter()
        .find_map(|f| f.strip_prefix("locked ").map(|c| c.trim().to_string()))
}

/// What a dump meets in the busy state: `None` when nothing stands in the
/// way, `Ok(Lock)` while users are inside, `Err(line)` while sessions are
/// locked and `uc` is not the code.
fn busy_outcome(s: &Settings, uc: Option<&str>) -> Option<Result<Outcome, &'static str>> {
    let facts = busy_facts(s);
    if users_inside(&facts) {
        return Some(Ok(Outcome::Lock));
    }
    match locked_with(&facts) {
        Some(code) if uc != Some(code.as_str()) => Some(Err(SESSIONS_LOCKED)),
        _ => None,
    }
}

/// `ENTERPRISE` (arguments after the mode).
fn enterprise(opts: Opts, s: &Settings) -> i32 {
    let finish = |lines: &[&str], code: i32| {
        logged(&opts, lines, code);
        for l in lines {
            if code == 0 {
                println!("{l}");
            } else {
                eprintln!("{l}");
            }
        }
        code
    };
    let Some(base) = opts.get("F") else {
        return finish(&["Не задан параметр /F"], 1);
    };
    if !Path::new(base).join("1Cv8.1CD").is_file() {
        return finish(&[NO_BASE, base.as_str()], 1);
    }
    let user = opts.get("N").map(String::as_str);
    let password = opts.get("P").map(String::as_str);
    if !s.creds_ok(user, password) {
        return finish(&[BADCREDS], 1);
    }
    let uc = opts.get("UC").map(String::as_str);
    let mut facts = busy_facts(s);
    let code_ok = |uc: Option<&str>| match (s.get("FAKE_1C_LOCK_CODE"), uc) {
        (_, None) => false,
        (Some(want), Some(got)) => want == got,
        (None, Some(got)) => !got.is_empty(),
    };
    let done = match opts.get("C").map(String::as_str) {
        None => {
            if let Some(code) = locked_with(&facts)
                && uc != Some(code.as_str())
            {
                return finish(&[SESSIONS_LOCKED], 1);
            }
            facts.push(format!("pid {}", std::process::id()));
            if let Err(e) = write_busy_facts(s, &facts) {
                return finish(&[&e], 1);
            }
            sleep_forever()
        }
        Some(END_SESSIONS) => {
            if !code_ok(uc) {
                return finish(&["Неверный код разрешения (/UC)"], 1);
            }
            // BSP ends the users' sessions: their processes go.
            for pid in facts
                .iter()
                .filter_map(|f| f.strip_prefix("pid ")?.trim().parse::<u32>().ok())
            {
                let _ = onec_backup_bot::platform::terminate(pid);
            }
            facts.retain(|f| f != "busy" && !f.starts_with("pid ") && !f.starts_with("locked "));
            facts.push(format!("locked {}", uc.unwrap_or_default()));
            "Работа пользователей завершена, начало сеансов заблокировано"
        }
        Some(ALLOW_SESSIONS) => {
            if s.get("FAKE_1C_UNLOCK_FAILS").is_some() {
                return finish(&["Не удалось снять блокировку начала сеансов"], 1);
            }
            if let Some(code) = locked_with(&facts)
                && uc != Some(code.as_str())
            {
                return finish(&[SESSIONS_LOCKED], 1);
            }
            facts.retain(|f| !f.starts_with("locked "));
            "Блокировка начала сеансов снята"
        }
        Some(_) => "Параметр запуска передан конфигурации",
    };
    match write_busy_facts(s, &facts) {
        Ok(()) => finish(&[done], 0),
        Err(e) => finish(&[&e], 1),
    }
}

// ---------------------------------------------------------------- ibcmd

struct IbcmdArgs {
    /// `dump` or `restore`.
    command: String,
    create_database: bool,
    db_path: String,
    user: Option<String>,
    password: Option<String>,
    output: String,
}

fn parse_ibcmd(args: &[String]) -> Result<IbcmdArgs, String> {
    if args.len() < 2 || args[0] != "infobase" || !matches!(args[1].as_str(), "dump" | "restore") {
        return Err("expected `infobase dump|restore [options] <file>`".into());
    }
    let (mut db_path, mut user, mut password, mut output) = (None, None, None, None);
    let mut create_database = false;
    let mut it = args[2..].iter();
    while let Some(arg) = it.next() {
        if arg == "--create-database" && args[1] == "restore" {
            create_database = true;
        } else if let Some(opt) = arg.strip_prefix("--") {
            let (name, inline) = match opt.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (opt, None),
            };
            let slot = match name {
                "db-path" => &mut db_path,
                "user" => &mut user,
                "password" => &mut password,
                _ => return Err(format!("unknown option {arg:?}")),
            };
            let value = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("option --{name} needs a value"))?,
            };
            *slot = Some(value);
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg:?}"));
        } else if output.replace(arg.clone()).is_some() {
            return Err(format!("unexpected argument {arg:?}"));
        }
    }
    Ok(IbcmdArgs {
        command: args[1].clone(),
        create_database,
        db_path: db_path.ok_or("option --db-path is required")?,
        user,
        password,
        output: output.ok_or("the output file is required")?,
    })
}

fn ibcmd(args: &[String], s: &Settings) -> i32 {
    let a = match parse_ibcmd(args) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("ibcmd: {msg}");
            return 1;
        }
    };
    let base = Path::new(&a.db_path);
    if a.command == "restore" && a.create_database {
        if base.join("1Cv8.1CD").exists() {
            eprintln!("База данных уже существует\n{}", a.db_path);
            return 1;
        }
        let made = fs::create_dir_all(base)
            .and_then(|()| generate_1cd(&base.join("1Cv8.1CD"), CdFormat::V8_3_8, FRESH_PAGES, 1));
        if let Err(e) = made {
            eprintln!("Ошибка создания базы данных: {e}");
            return 1;
        }
    }
    if !base.join("1Cv8.1CD").is_file() {
        eprintln!("{NO_BASE}\n{}", a.db_path);
        return 1;
    }
    if a.command == "restore" {
        let creds = (a.user.as_deref(), a.password.as_deref());
        let (lines, _, code) = restore(base, Path::new(&a.output), creds, s);
        let text = lines.join("\n");
        if code == 0 {
            println!("{text}");
        } else {
            eprintln!("{text}");
        }
        return code;
    }
    let outcome = match outcome(s, a.user.as_deref(), a.password.as_deref()) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("ibcmd: {msg}");
            return 1;
        }
    };
    let busy = matches!(outcome, Outcome::Ok)
        .then(|| busy_outcome(s, None))
        .flatten();
    let outcome = match busy {
        Some(Err(line)) => {
            eprintln!("{line}");
            return 1;
        }
        Some(Ok(o)) => o,
        None => outcome,
    };
    let dt = Path::new(&a.output);
    match outcome {
        // ibcmd has no DumpResult: `dumpresult1` behaves like `ok`.
        Outcome::Ok | Outcome::DumpResult1 => match write_dt(dt, dt_bytes(s)) {
            Ok(()) => {
                println!("{SUCCESS}");
                0
            }
            Err(e) => {
                eprintln!("Ошибка записи файла: {e}");
                1
            }
        },
        Outcome::Empty => {
            let _ = fs::write(dt, b"");
            println!("{SUCCESS}");
            0
        }
        Outcome::Lock => {
            eprintln!("{}\n{}", LOCK[0], LOCK[1]);
            1
        }
        Outcome::BadCreds => {
            eprintln!("{BADCREDS}");
            1
        }
        Outcome::Hang => hang(s),
    }
}

// ---------------------------------------------------------------- shared

fn dt_bytes(s: &Settings) -> usize {
    s.get("FAKE_1C_DT_BYTES")
        .and_then(|v| v.parse().ok())
        .unwrap_or(64 * 1024)
}

/// A `.dt` that looks real: signature, `0x33`, one raw DEFLATE stream of
/// `size` bytes of configuration-like text.
fn write_dt(path: &Path, size: usize) -> io::Result<()> {
    let mut out = BufWriter::new(fs::File::create(path)?);
    out.write_all(b"1CIBDmpF")?;
    out.write_all(&[0x33])?;
    let mut z = DeflateEncoder::new(out, Compression::default());
    let mut written = 0usize;
    let mut i = 0u64;
    while written < size {
        let line = format!(
            "{{\"#\",{i},\"Справочник.Номенклатура\",{{\"Элемент {i}\",{}}}}}\n",
            i.wrapping_mul(2_654_435_761) % 100_000
        );
        let take = line.len().min(size - written);
        z.write_all(&line.as_bytes()[..take])?;
        written += take;
        i += 1;
    }
    z.finish()?.flush()
}

/// Start a child copy of ourselves that also sleeps (so a kill must take the
/// whole tree), record its pid, and never return.
fn hang(s: &Settings) -> ! {
    let child = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .env("FAKE_1C_ROLE", "hang-child")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    });
    match child {
        Ok(child) => {
            if let Some(file) = s.get("FAKE_1C_CHILD_PID_FILE") {
                let _ = fs::write(file, child.id().to_string());
            }
        }
        Err(e) => eprintln!("fake-1cv8: cannot start the hanging child: {e}"),
    }
    sleep_forever()
}

fn sleep_forever() -> ! {
    loop {
        thread::sleep(Duration::from_secs(3600));
    }
}
