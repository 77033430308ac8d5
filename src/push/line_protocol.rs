//! InfluxDB line protocol from our metric families: one line per
//! measurement and tag set, the families as fields. Families are grouped
//! into measurements by name — `cpu`, `memory`, `disk`, `filesystem`,
//! `network`, `sessions`, `backup`, `drill`, `offsite`, `system`, `agent` — with the family's
//! labels as tags plus `host` (this computer). The field is the family
//! name without `onec_` and without the measurement's own prefix:
//! `onec_cpu_percent` → `cpu` field `percent`, `onec_rdp_active_count` →
//! `sessions` field `rdp_active_count`.
//!
//! A field's type must never change (InfluxDB refuses the write), so it is
//! fixed per family, not guessed from the value: counts, bytes and 0/1
//! flags are integers written with `i` (InfluxDB 1.6 refuses `u`), the rest
//! floats. NaN and infinities have no line-protocol form and are left out.
//! Escaping follows the InfluxDB reference: measurement `,` and space;
//! tag keys, tag values and field keys `,` `=` and space; string fields
//! `"` and `\`. A backslash that would otherwise escape the next character
//! is doubled. InfluxDB 1.x cannot parse a tag value ending in a backslash
//! at all (tried on 1.6: `path=C:\\` is "invalid tag format"), so trailing
//! backslashes of names and tag values are dropped: the Windows mount
//! point `C:\` is tagged `C:`.

use crate::export::Family;
use std::fmt::Write;

/// One field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Float(f64),
    Int(i64),
    Str(String),
}

/// One point: measurement, tags (written sorted by key), fields, time.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub measurement: String,
    pub tags: Vec<(String, String)>,
    pub fields: Vec<(String, Value)>,
    /// Unix seconds (requests say `precision=s`).
    pub time_s: i64,
}

/// Family name prefix → measurement; `true`: the prefix is also cut from
/// the field name. The first match wins; `onec_` catches the rest.
const GROUPS: &[(&str, &str, bool)] = &[
    ("onec_cpu_", "cpu", true),
    ("onec_memory_", "memory", true),
    ("onec_disk_", "disk", true),
    ("onec_filesystem_", "filesystem", true),
    ("onec_network_", "network", true),
    ("onec_backup_", "backup", true),
    ("onec_restore_drill_", "drill", true),
    ("onec_offsite_", "offsite", true),
    ("onec_session_", "sessions", false),
    ("onec_rdp_", "sessions", false),
    ("onec_logged_users_", "sessions", false),
    ("onec_1c_", "sessions", false),
    ("onec_agent_", "agent", true),
    ("onec_scrape_", "agent", false),
    ("onec_sink_", "agent", false),
    ("onec_", "system", false),
];

/// Families written as integers: counts, bytes, 0/1 flags, whole seconds.
/// A test keeps this list a subset of the exported names.
pub const INTEGER_FAMILIES: &[&str] = &[
    "onec_cpu_count_logical",
    "onec_cpu_count_physical",
    "onec_memory_total",
    "onec_memory_available",
    "onec_memory_used",
    "onec_memory_free",
    "onec_memory_swap_total",
    "onec_memory_swap_used",
    "onec_memory_swap_free",
    "onec_disk_backup_disk_total",
    "onec_disk_backup_disk_used",
    "onec_disk_backup_disk_free",
    "onec_disk_io_read_count",
    "onec_disk_io_write_count",
    "onec_disk_io_read_bytes",
    "onec_disk_io_write_bytes",
    "onec_disk_io_read_time",
    "onec_disk_io_write_time",
    "onec_filesystem_size_bytes",
    "onec_filesystem_free_bytes",
    "onec_filesystem_avail_bytes",
    "onec_disk_reads_completed_total",
    "onec_disk_writes_completed_total",
    "onec_disk_read_bytes_total",
    "onec_disk_written_bytes_total",
    "onec_network_bytes_sent",
    "onec_network_bytes_recv",
    "onec_network_packets_sent",
    "onec_network_packets_recv",
    "onec_network_errin",
    "onec_network_errout",
    "onec_network_dropin",
    "onec_network_dropout",
    "onec_network_active_connections",
    "onec_network_receive_bytes_total",
    "onec_network_transmit_bytes_total",
    "onec_network_receive_packets_total",
    "onec_network_transmit_packets_total",
    "onec_network_receive_errors_total",
    "onec_network_transmit_errors_total",
    "onec_network_receive_drop_total",
    "onec_network_transmit_drop_total",
    "onec_processes_total_count",
    "onec_logged_users_count",
    "onec_rdp_active_count",
    "onec_process_top_memory_bytes",
    "onec_session_info",
    "onec_rdp_sessions",
    "onec_1c_client_processes",
    "onec_1c_clients",
    "onec_system_info",
    "onec_boot_time_seconds",
    "onec_backup_status",
    "onec_backup_size_bytes",
    "onec_backup_runs_total",
    "onec_backup_running",
    "onec_backup_archives",
    "onec_backup_archives_bytes",
    "onec_restore_drill_last_ok",
    "onec_restore_drill_stale",
    "onec_offsite_uploads_total",
    "onec_offsite_queue_bytes",
    "onec_offsite_stale",
    "onec_agent_build_info",
    "onec_scrape_collector_success",
    "onec_agent_resident_memory_bytes",
    "onec_sink_up",
    "onec_sink_errors_total",
    "onec_sink_queue_samples",
];

/// Every tag key the points can carry. A field must not share a name with
/// a tag of its measurement (InfluxQL could not tell them apart), so a
/// field whose short name is one of these keeps its long name:
/// `onec_backup_status` → `backup_status`, not `status`.
pub const TAG_KEYS: &[&str] = &[
    "host",
    "client_host",
    "core",
    "mountpoint",
    "fstype",
    "device",
    "rank",
    "name",
    "user",
    "kind",
    "state",
    "hostname",
    "os",
    "os_version",
    "kernel",
    "arch",
    "base",
    "target",
    "status",
    "version",
    "collector",
    "sink",
];

/// Measurement and field name of a family.
pub fn place(family: &str) -> (&'static str, &str) {
    let long = family.strip_prefix("onec_").unwrap_or(family);
    for (prefix, m, cut) in GROUPS {
        if let Some(rest) = family.strip_prefix(prefix) {
            let field = if *cut && !TAG_KEYS.contains(&rest) {
                rest
            } else {
                long
            };
            return (m, field);
        }
    }
    ("system", long)
}

/// The points of one tick: per measurement and tag set, one line whose
/// fields are the families, in the families' order. A family label named
/// `host` (a session's client host) becomes the tag `client_host`, since
/// `host` is this computer.
pub fn lines(families: &[Family], at_ms: i64, host: &str) -> Vec<Line> {
    let time_s = at_ms.div_euclid(1000);
    let mut out: Vec<Line> = Vec::new();
    for f in families {
        let (m, field) = place(f.name);
        let int = INTEGER_FAMILIES.contains(&f.name);
        for s in &f.samples {
            let value = match number(s.value, int) {
                Some(v) => v,
                None => continue,
            };
            let mut tags = vec![("host".to_string(), host.to_string())];
            s.labels.for_each(|k, v| {
                let k = if k == "host" { "client_host" } else { k };
                tags.push((k.to_string(), v.to_string()));
            });
            tags.retain(|(_, v)| !v.is_empty());
            tags.sort();
            match out
                .iter_mut()
                .find(|l| l.measurement == m && l.tags == tags)
            {
                Some(l) => l.fields.push((field.to_string(), value)),
                None => out.push(Line {
                    measurement: m.to_string(),
                    tags,
                    fields: vec![(field.to_string(), value)],
                    time_s,
                }),
            }
        }
    }
    out
}

fn number(v: f64, int: bool) -> Option<Value> {
    if !v.is_finite() {
        return None;
    }
    Some(if int {
        Value::Int(v.round() as i64)
    } else {
        Value::Float(v)
    })
}

/// Lines as the request body, one per `\n`.
pub fn encode(lines: &[Line]) -> String {
    let mut out = String::with_capacity(lines.len() * 96);
    for l in lines {
        write_line(l, &mut out);
    }
    out
}

/// Append one line (with its `\n`); a line without fields is skipped.
pub fn write_line(l: &Line, out: &mut String) {
    if l.fields.is_empty() {
        return;
    }
    escape(&l.measurement, b", ", out);
    let mut tags: Vec<&(String, String)> = l
        .tags
        .iter()
        .filter(|(_, v)| !v.trim_end_matches('\\').is_empty())
        .collect();
    tags.sort();
    for (k, v) in tags {
        out.push(',');
        escape(k, b", =", out);
        out.push('=');
        escape(v, b", =", out);
    }
    let mut sep = ' ';
    for (k, v) in &l.fields {
        out.push(sep);
        sep = ',';
        escape(k, b", =", out);
        out.push('=');
        match v {
            Value::Float(f) => {
                let _ = write!(out, "{f}");
            }
            Value::Int(i) => {
                let _ = write!(out, "{i}i");
            }
            Value::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' | '\\' => {
                            out.push('\\');
                            out.push(c);
                        }
                        // A line ends at a newline, even inside quotes.
                        '\n' | '\r' => out.push(' '),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
        }
    }
    let _ = writeln!(out, " {}", l.time_s);
}

/// Escape `special` characters with a backslash. Newlines (which always
/// end a line) become spaces; trailing backslashes are dropped (see the
/// module doc); a backslash that would escape what follows it is doubled.
fn escape(s: &str, special: &[u8], out: &mut String) {
    let s = s.trim_end_matches('\\');
    let is_special = |c: char| c.is_ascii() && special.contains(&(c as u8));
    let mut chars = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .peekable();
    while let Some(c) = chars.next() {
        if is_special(c) {
            out.push('\\');
            out.push(c);
        } else if c == '\\' {
            out.push('\\');
            if chars.peek().is_some_and(|&n| n == '\\' || is_special(n)) {
                out.push('\\');
            }
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{Kind, Labels, Sample};

    fn line(m: &str, tags: &[(&str, &str)], fields: Vec<(&str, Value)>) -> String {
        encode(&[Line {
            measurement: m.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            time_s: 1_700_000_000,
        }])
    }

    #[test]
    fn escaping_of_measurement_tags_fields_and_strings() {
        assert_eq!(
            line(
                "my meas,urement",
                &[
                    ("tag key", "a=b,c d"),
                    ("path", r"C:\"),
                    ("dir", r"D:\1C\Buh")
                ],
                vec![
                    ("field,key", Value::Float(1.5)),
                    ("n", Value::Int(-3)),
                    ("msg", Value::Str("say \"hi\" \\ bye\nnext".into())),
                ]
            ),
            concat!(
                r"my\ meas\,urement,dir=D:\1C\Buh,path=C:,tag\ key=a\=b\,c\ d ",
                r#"field\,key=1.5,n=-3i,msg="say \"hi\" \\ bye next" 1700000000"#,
                "\n"
            )
        );
    }

    #[test]
    fn a_backslash_before_a_special_character_is_doubled() {
        let mut out = String::new();
        escape(r"a\ b", b", =", &mut out);
        assert_eq!(out, r"a\\\ b");
        let mut out = String::new();
        escape(r"x\\", b", ", &mut out);
        assert_eq!(out, "x", "InfluxDB 1.x cannot parse a trailing backslash");
    }

    #[test]
    fn empty_tags_and_fieldless_lines_are_left_out() {
        assert_eq!(
            line(
                "m",
                &[("a", ""), ("b", "1"), ("c", "\\")],
                vec![("v", Value::Int(1))]
            ),
            "m,b=1 v=1i 1700000000\n"
        );
        assert_eq!(line("m", &[], vec![]), "");
    }

    #[test]
    fn families_group_into_measurements_with_typed_fields() {
        let fams = vec![
            Family {
                name: "onec_cpu_percent",
                help: "",
                kind: Kind::Gauge,
                samples: vec![Sample {
                    labels: Labels::None,
                    value: 12.0,
                }],
            },
            Family {
                name: "onec_cpu_count_logical",
                help: "",
                kind: Kind::Gauge,
                samples: vec![Sample {
                    labels: Labels::None,
                    value: 8.0,
                }],
            },
            Family {
                name: "onec_cpu_core_percent",
                help: "",
                kind: Kind::Gauge,
                samples: vec![
                    Sample {
                        labels: Labels::Core { core: 0 },
                        value: 1.25,
                    },
                    Sample {
                        labels: Labels::Core { core: 1 },
                        value: f64::NAN,
                    },
                ],
            },
            Family {
                name: "onec_session_info",
                help: "",
                kind: Kind::Gauge,
                samples: vec![Sample {
                    labels: Labels::Session {
                        user: "buh".into(),
                        kind: "rdp",
                        state: "active",
                        host: "10.0.0.5".into(),
                    },
                    value: 1.0,
                }],
            },
        ];
        assert_eq!(
            encode(&lines(&fams, 1_700_000_000_999, "srv 1c")),
            concat!(
                "cpu,host=srv\\ 1c percent=12,count_logical=8i 1700000000\n",
                "cpu,core=0,host=srv\\ 1c core_percent=1.25 1700000000\n",
                "sessions,client_host=10.0.0.5,host=srv\\ 1c,kind=rdp,state=active,user=buh session_info=1i 1700000000\n",
            )
        );
    }

    #[test]
    fn every_family_has_a_place_and_integer_families_exist() {
        let names = crate::export::metric_names();
        for n in INTEGER_FAMILIES {
            assert!(names.contains(n), "{n} is not exported");
        }
        assert_eq!(place("onec_backup_runs_total"), ("backup", "runs_total"));
        assert_eq!(
            place("onec_restore_drill_last_success_timestamp_seconds"),
            ("drill", "last_success_timestamp_seconds")
        );
        assert_eq!(
            place("onec_offsite_uploads_total"),
            ("offsite", "uploads_total")
        );
        assert_eq!(
            place("onec_rdp_active_count"),
            ("sessions", "rdp_active_count")
        );
        assert_eq!(place("onec_uptime_seconds"), ("system", "uptime_seconds"));
        assert_eq!(place("onec_agent_build_info"), ("agent", "build_info"));
        assert_eq!(place("onec_sink_up"), ("agent", "sink_up"));
        assert_eq!(place("onec_backup_status"), ("backup", "backup_status"));
        for n in &names {
            assert!(!TAG_KEYS.contains(&place(n).1), "{n}");
        }
        // No two families land on one measurement and field.
        let mut seen = std::collections::HashSet::new();
        for n in &names {
            assert!(seen.insert(place(n)), "{n} collides: {:?}", place(n));
        }
    }

    #[test]
    fn every_label_of_a_real_scrape_is_a_known_tag_key() {
        use crate::export::tests::{backup_state, sinks};
        let snap = crate::metrics::Collectors::new(Default::default()).collect();
        let fams = crate::export::build(&snap, &backup_state(), &sinks());
        for l in lines(&fams, 0, "h") {
            for (k, _) in &l.tags {
                assert!(TAG_KEYS.contains(&k.as_str()), "{k} in {}", l.measurement);
            }
            for (f, _) in &l.fields {
                assert!(
                    !l.tags.iter().any(|(k, _)| k == f),
                    "{f} in {}",
                    l.measurement
                );
            }
        }
    }

    /// The offsite families go to measurement `offsite`: a line per base
    /// and target (last success, stale), per target (queue bytes) and per
    /// target and status (uploads), counts as integers, names escaped.
    #[test]
    fn offsite_families_are_offsite_lines_with_target_tags() {
        use crate::export::tests::backup_state;
        let fams = crate::export::build(&Default::default(), &backup_state(), &[]);
        let text = encode(&lines(&fams, 1_700_000_000_000, "srv"));
        let offsite: Vec<&str> = text.lines().filter(|l| l.starts_with("offsite,")).collect();
        assert!(
            offsite.contains(
                &"offsite,base=buh,host=srv,target=nas last_success_timestamp_seconds=1700000300,stale=0i 1700000000"
            ),
            "{offsite:#?}"
        );
        assert!(
            offsite.contains(&"offsite,host=srv,status=failed,target=yandex\\ \"disk\" uploads_total=3i 1700000000"),
            "{offsite:#?}"
        );
        assert!(
            offsite.contains(
                &"offsite,host=srv,target=yandex\\ \"disk\" queue_bytes=246912i 1700000000"
            ),
            "{offsite:#?}"
        );
        assert!(
            offsite
                .contains(&"offsite,base=zup\\ \"main\",host=srv,target=nas stale=0i 1700000000"),
            "{offsite:#?}"
        );
        assert_eq!(offsite.len(), 9, "{offsite:#?}");
    }
}
