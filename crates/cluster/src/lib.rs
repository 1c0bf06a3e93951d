//! bitswarm-cluster (being written).
