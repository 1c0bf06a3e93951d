//! One place that turns an error into the single line the user sees and an exit code.

use std::fmt;
use std::process::ExitCode;

/// An error that carries its own exit code; any other error exits with 2.
#[derive(Debug)]
pub struct Failure {
    /// Exit code to use.
    pub code: u8,
    /// What went wrong, in one line.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Print `bitswarm: error: ...` on one line and pick the exit code.
pub fn report(e: &anyhow::Error) -> ExitCode {
    // `{:#}` joins the context chain with ": " on one line.
    let line = format!("{e:#}").replace('\n', " ");
    eprintln!("bitswarm: error: {line}");
    let code = e.downcast_ref::<Failure>().map(|f| f.code).unwrap_or(2);
    ExitCode::from(code)
}
