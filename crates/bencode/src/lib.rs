//! bitswarm-bencode (being written).
