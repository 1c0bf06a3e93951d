//! bitswarm-swarm (being written).
