//! `bitswarm verify` (placeholder until implemented).

use std::process::ExitCode;

/// Arguments of `bitswarm verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {}

/// Run `bitswarm verify`.
pub fn run(_args: VerifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'verify' is not implemented yet")
}
