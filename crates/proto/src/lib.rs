//! bitswarm-proto (being written).
