//! A string that must never be shown: bot token, 1C password, API tokens.
//! `Debug` and `Display` print `***`; only [`Secret::expose`] gives the value,
//! and the few call sites that need it (child-process arguments, HTTP auth
//! headers) are easy to audit with `grep expose`.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The real value. Pass it only to the place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replace every occurrence of this secret in `text` with `***`
    /// (for error texts that may quote a command line or a 1C log).
    pub fn mask_in(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, "***")
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(s.mask_in("pwd=hunter2;"), "pwd=***;");
        assert_eq!(Secret::default().mask_in("x"), "x");
    }
}
