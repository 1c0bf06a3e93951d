//! [`EncryptionPolicy`] as its command-line word (`prefer`, `require`, `disable`) in serde
//! formats: the parallel downloader's JSON task header and the runner's scenario TOML.

use bitswarm_net::EncryptionPolicy;
use serde::{Deserialize, Deserializer, Serializer};

/// Writes the policy's word.
pub fn serialize<S: Serializer>(p: &EncryptionPolicy, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(p)
}

/// Reads a policy's word; anything else is an error naming the accepted words.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EncryptionPolicy, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}
