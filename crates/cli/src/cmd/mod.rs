//! One module per subcommand; each has an `Args` struct (clap) and `run`.

pub mod create;
pub mod dht_args;
pub mod download;
pub mod download_workers;
pub mod info;
pub mod lsd_args;
pub mod peer_args;
pub mod seed;
pub mod sim;
pub mod swarm;
pub mod tracker;
pub mod verify;
