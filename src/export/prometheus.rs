//! Prometheus text exposition format 0.0.4: `# HELP`, `# TYPE` and one line
//! per sample, label values and help text escaped as the format requires.
//! OpenMetrics is not produced: our prototype counter names have no
//! `_total`, which OpenMetrics forbids, and Prometheus accepts 0.0.4 from
//! any target.

use super::Family;
use std::fmt::Write;

/// The `Content-Type` of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Encode families as text, appending to `out`.
pub fn encode_into(families: &[Family], out: &mut String) {
    for f in families {
        out.push_str("# HELP ");
        out.push_str(f.name);
        out.push(' ');
        escape_help(f.help, out);
        out.push_str("\n# TYPE ");
        out.push_str(f.name);
        out.push(' ');
        out.push_str(f.kind.as_str());
        out.push('\n');
        for s in &f.samples {
            out.push_str(f.name);
            let mut first = true;
            s.labels.for_each(|k, v| {
                out.push(if first { '{' } else { ',' });
                first = false;
                out.push_str(k);
                out.push_str("=\"");
                escape_label(v, out);
                out.push('"');
            });
            if !first {
                out.push('}');
            }
            out.push(' ');
            write_value(s.value, out);
            out.push('\n');
        }
    }
}

/// Encode families as text.
pub fn encode(families: &[Family]) -> String {
    let mut out = String::with_capacity(16 * 1024);
    encode_into(families, &mut out);
    out
}

/// A float as Prometheus reads it: integers without a fraction, `NaN`,
/// `+Inf`, `-Inf`.
pub fn write_value(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Label values: backslash, double quote and line feed are escaped.
pub fn escape_label(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Help text: backslash and line feed are escaped.
pub fn escape_help(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
