//! The settings `service install` gives a Windows service after creating
//! it, and what a failing one means: a required setting that fails undoes
//! the install (the caller deletes the service it just created), an
//! optional one becomes a warning. No service manager calls here, so the
//! rule is tested on every OS; `windows.rs` makes the calls.

/// One setting applied after the service is created, in the order applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The Russian description shown in services.msc.
    Description,
    /// "Automatic (delayed start)": start a little after boot, once the
    /// network and 1C's own services are up.
    DelayedAutoStart,
    /// Restart 30 s after a failure, three times; the count resets after a day.
    FailureActions,
    /// Take those actions also when the agent exits with an error code,
    /// not only when the process crashes.
    FailureActionsOnNonCrash,
}

impl Setting {
    pub const ALL: [Setting; 4] = [
        Setting::Description,
        Setting::DelayedAutoStart,
        Setting::FailureActions,
        Setting::FailureActionsOnNonCrash,
    ];

    /// For messages: "could not {action} service …".
    pub fn action(self) -> &'static str {
        match self {
            Setting::Description => "set the description of",
            Setting::DelayedAutoStart => "set delayed start for",
            Setting::FailureActions => "set failure actions for",
            Setting::FailureActionsOnNonCrash => "set failure actions on error exits for",
        }
    }

    /// A stable name (tests and the debug-build fault injection use it).
    pub fn key(self) -> &'static str {
        match self {
            Setting::Description => "description",
            Setting::DelayedAutoStart => "delayed_auto_start",
            Setting::FailureActions => "failure_actions",
            Setting::FailureActionsOnNonCrash => "failure_actions_on_non_crash",
        }
    }

    /// Whether the service is still worth keeping without this setting.
    ///
    /// Real Windows (Vista / Server 2008 and later) supports all four, so
    /// there the question does not arise. Wine's service manager (used to
    /// smoke-test the .exe on Linux) implements neither the delayed start
    /// nor the error-exit flag. Without them the service starts right at
    /// boot, and restarts after crashes but not after error exits: worse,
    /// not broken, so install goes on and says how to set it by hand.
    /// Without the description or the restart policy it would be a service
    /// nobody recognises or one that stays down: those undo the install.
    pub fn optional(self) -> bool {
        matches!(
            self,
            Setting::DelayedAutoStart | Setting::FailureActionsOnNonCrash
        )
    }

    /// The `sc.exe` command that sets it by hand (for optional settings).
    fn by_hand(self, name: &str) -> Option<String> {
        match self {
            Setting::DelayedAutoStart => Some(format!("sc config \"{name}\" start= delayed-auto")),
            Setting::FailureActionsOnNonCrash => Some(format!("sc failureflag \"{name}\" 1")),
            Setting::Description | Setting::FailureActions => None,
        }
    }
}

/// Apply every setting in [`Setting::ALL`] order with `apply`. A failing
/// optional setting is kept as a warning and the rest are still applied; a
/// failing required setting stops there and is returned as the error: the
/// caller must then delete the service it created.
pub fn apply_all<E>(
    mut apply: impl FnMut(Setting) -> Result<(), E>,
) -> Result<Vec<(Setting, E)>, (Setting, E)> {
    let mut skipped = Vec::new();
    for setting in Setting::ALL {
        match apply(setting) {
            Ok(()) => {}
            Err(e) if setting.optional() => skipped.push((setting, e)),
            Err(e) => return Err((setting, e)),
        }
    }
    Ok(skipped)
}

/// The warning `service install` prints for a skipped optional setting.
pub fn skipped_warning(setting: Setting, name: &str, error: &str) -> String {
    let by_hand = setting
        .by_hand(name)
        .map(|c| format!("; to set it by hand: {c}"))
        .unwrap_or_default();
    format!(
        "could not {} service {name:?}: {error}; the service is installed without it{by_hand}",
        setting.action()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// Apply with `failing` failing; returns (result, what was attempted).
    fn run(failing: &[Setting]) -> (Result<Vec<Setting>, Setting>, Vec<Setting>) {
        let mut tried = Vec::new();
        let got = apply_all(|s| {
            tried.push(s);
            if failing.contains(&s) {
                Err("boom")
            } else {
                Ok(())
            }
        });
        let got = got
            .map(|skipped| skipped.into_iter().map(|(s, _)| s).collect())
            .map_err(|(s, _)| s);
        (got, tried)
    }

    use Setting::*;

    #[rstest]
    #[case::all_succeed(&[], Ok(vec![]), &Setting::ALL)]
    #[case::description_rolls_back(&[Description], Err(Description), &[Description])]
    #[case::delayed_start_is_a_warning(&[DelayedAutoStart], Ok(vec![DelayedAutoStart]), &Setting::ALL)]
    #[case::failure_actions_roll_back(
        &[FailureActions],
        Err(FailureActions),
        &[Description, DelayedAutoStart, FailureActions]
    )]
    #[case::non_crash_flag_is_a_warning(
        &[FailureActionsOnNonCrash],
        Ok(vec![FailureActionsOnNonCrash]),
        &Setting::ALL
    )]
    #[case::wine_both_optional_fail(
        &[DelayedAutoStart, FailureActionsOnNonCrash],
        Ok(vec![DelayedAutoStart, FailureActionsOnNonCrash]),
        &Setting::ALL
    )]
    #[case::warning_then_rollback(
        &[DelayedAutoStart, FailureActions],
        Err(FailureActions),
        &[Description, DelayedAutoStart, FailureActions]
    )]
    fn rollback_rule(
        #[case] failing: &[Setting],
        #[case] want: Result<Vec<Setting>, Setting>,
        #[case] want_tried: &[Setting],
    ) {
        let (got, tried) = run(failing);
        assert_eq!(got, want);
        assert_eq!(tried, want_tried, "settings attempted");
    }

    #[test]
    fn keys_are_distinct() {
        let mut keys: Vec<_> = Setting::ALL.iter().map(|s| s.key()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), Setting::ALL.len());
    }

    #[test]
    fn warnings_say_how_to_set_it_by_hand() {
        let w = skipped_warning(DelayedAutoStart, "OneCBackupBot", "The parameter is wrong");
        assert_eq!(
            w,
            "could not set delayed start for service \"OneCBackupBot\": The parameter is wrong; \
             the service is installed without it; to set it by hand: \
             sc config \"OneCBackupBot\" start= delayed-auto"
        );
        let w = skipped_warning(FailureActionsOnNonCrash, "A B", "x");
        assert!(w.ends_with("sc failureflag \"A B\" 1"), "{w}");
        // Every optional setting has a manual fix.
        for s in Setting::ALL.into_iter().filter(|s| s.optional()) {
            assert!(s.by_hand("n").is_some(), "{s:?}");
        }
    }
}
