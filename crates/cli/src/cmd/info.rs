//! `bitswarm info` (placeholder until implemented).

use std::process::ExitCode;

/// Arguments of `bitswarm info`.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {}

/// Run `bitswarm info`.
pub fn run(_args: InfoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'info' is not implemented yet")
}
