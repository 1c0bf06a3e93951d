//! The persisted node cache: our id and the nodes of our routing table, so a restart
//! keeps its place in the DHT and needs no router.
//!
//! Format: a bencoded dictionary `{"id": 20 bytes, "nodes": compact IPv4 node info,
//! "nodes6": compact IPv6 node info}`, written to a temporary file and renamed.

use std::path::Path;

use bitswarm_bencode::{Decoder, OwnedValue};

use crate::error::CacheError;
use crate::krpc::{decode_nodes, encode_nodes, NodeInfo};
use crate::node_id::NodeId;

/// Nodes read from a cache at most.
pub const MAX_CACHED_NODES: usize = 2_000;
/// Largest cache file read.
const MAX_FILE: u64 = 1 << 20;

/// What a cache file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCache {
    /// The id the node had.
    pub id: NodeId,
    /// Nodes it knew.
    pub nodes: Vec<NodeInfo>,
}

impl NodeCache {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (v4, v6): (Vec<NodeInfo>, Vec<NodeInfo>) =
            self.nodes.iter().partition(|n| n.addr.is_ipv4());
        let mut d = OwnedValue::dict();
        d.insert("id", &self.id.0[..]);
        d.insert("nodes", encode_nodes(&v4));
        d.insert("nodes6", encode_nodes(&v6));
        d.to_bytes()
    }

    /// Reads a cache from bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<NodeCache, &'static str> {
        let v = Decoder::new()
            .max_depth(2)
            .decode(bytes)
            .map_err(|_| "not bencode")?;
        let d = v.as_dict().ok_or("not a dictionary")?;
        let id = d
            .get_bytes(b"id")
            .and_then(NodeId::from_slice)
            .ok_or("no id")?;
        let mut nodes = Vec::new();
        for (key, size) in [(&b"nodes"[..], 26), (&b"nodes6"[..], 38)] {
            if let Some(b) = d.get_bytes(key) {
                if b.len() % size != 0 {
                    return Err("bad node list");
                }
                for chunk in b.chunks(size * 64) {
                    if nodes.len() >= MAX_CACHED_NODES {
                        break;
                    }
                    nodes.extend(decode_nodes(chunk, size).ok_or("bad node list")?);
                }
            }
        }
        nodes.truncate(MAX_CACHED_NODES);
        Ok(NodeCache { id, nodes })
    }

    /// Writes the cache to `path` (through a temporary file and a rename).
    pub async fn save(&self, path: &Path) -> Result<(), CacheError> {
        let io = |source| CacheError::Io {
            path: path.display().to_string(),
            source,
        };
        // Per process: two processes sharing a cache do not write the same temporary.
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp.{}", std::process::id()));
        tokio::fs::write(&tmp, self.to_bytes()).await.map_err(io)?;
        tokio::fs::rename(&tmp, path).await.map_err(io)
    }

    /// Reads the cache at `path`; `Ok(None)` when there is no file.
    pub async fn load(path: &Path) -> Result<Option<NodeCache>, CacheError> {
        let name = || path.display().to_string();
        let meta = match tokio::fs::metadata(path).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CacheError::Io {
                    path: name(),
                    source,
                })
            }
        };
        if meta.len() > MAX_FILE {
            return Err(CacheError::Format {
                path: name(),
                reason: "file too large",
            });
        }
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| CacheError::Io {
                path: name(),
                source,
            })?;
        NodeCache::from_bytes(&bytes)
            .map(Some)
            .map_err(|reason| CacheError::Format {
                path: name(),
                reason,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_v4_and_v6() {
        let cache = NodeCache {
            id: NodeId([7; 20]),
            nodes: vec![
                NodeInfo {
                    id: NodeId([1; 20]),
                    addr: "1.2.3.4:5".parse().unwrap(),
                },
                NodeInfo {
                    id: NodeId([2; 20]),
                    addr: "[2a00::1]:6".parse().unwrap(),
                },
            ],
        };
        assert_eq!(NodeCache::from_bytes(&cache.to_bytes()), Ok(cache));
        assert!(NodeCache::from_bytes(b"d2:id3:abce").is_err());
        assert!(NodeCache::from_bytes(b"garbage").is_err());
    }

    #[tokio::test]
    async fn save_and_load_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dht.cache");
        assert!(NodeCache::load(&path).await.unwrap().is_none());
        let cache = NodeCache {
            id: NodeId([3; 20]),
            nodes: vec![],
        };
        cache.save(&path).await.unwrap();
        assert_eq!(NodeCache::load(&path).await.unwrap(), Some(cache));
    }
}
