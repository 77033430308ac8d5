//! The `onec-backup-bot` binary: everything lives in the library; this only
//! makes what the process creates private to its user (see
//! [`onec_backup_bot::platform::restrict_new_files`]) and maps the outcome
//! of [`onec_backup_bot::cli::main`] to the process exit code.

fn main() -> std::process::ExitCode {
    onec_backup_bot::platform::restrict_new_files();
    onec_backup_bot::cli::main()
}
