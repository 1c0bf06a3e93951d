//! `bitswarm sim` (placeholder until implemented).

use std::process::ExitCode;

/// Arguments of `bitswarm sim`.
#[derive(clap::Args, Debug)]
pub struct SimArgs {}

/// Run `bitswarm sim`.
pub fn run(_args: SimArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'sim' is not implemented yet")
}
