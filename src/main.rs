//! The `onec-backup-bot` binary: everything lives in the library; this only
//! maps the outcome of [`onec_backup_bot::cli::main`] to the process exit code.

fn main() -> std::process::ExitCode {
    onec_backup_bot::cli::main()
}
