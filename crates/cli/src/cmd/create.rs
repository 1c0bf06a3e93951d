//! `bitswarm create` (placeholder until implemented).

use std::process::ExitCode;

/// Arguments of `bitswarm create`.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {}

/// Run `bitswarm create`.
pub fn run(_args: CreateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'create' is not implemented yet")
}
