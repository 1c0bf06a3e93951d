//! Which rank runs which client: rank 0 runs the tracker and follows the run, so clients
//! go round-robin over ranks 1..size (seeds, peers and leechers are listed in that order,
//! so every rank gets a mix of roles).

use super::scenario::ResolvedClient;

/// The rank of every client, in client order. `ranks` counts rank 0; with a single rank
/// (no client rank) every client lands on rank 0.
pub fn place(clients: &[ResolvedClient], ranks: usize) -> Vec<usize> {
    let workers = ranks.saturating_sub(1);
    clients
        .iter()
        .map(|c| {
            if workers == 0 {
                0
            } else {
                1 + c.index % workers
            }
        })
        .collect()
}

/// The clients placed on `rank`.
pub fn clients_of<'a>(
    clients: &'a [ResolvedClient],
    placement: &[usize],
    rank: usize,
) -> Vec<&'a ResolvedClient> {
    clients
        .iter()
        .zip(placement)
        .filter(|(_, r)| **r == rank)
        .map(|(c, _)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::scenario::Scenario;

    #[test]
    fn round_robin_over_client_ranks() {
        let clients = Scenario::default().resolved_clients();
        let p = place(&clients, 3);
        assert_eq!(&p[..4], &[1, 2, 1, 2]);
        assert!(!p.contains(&0));
        let one = clients_of(&clients, &p, 1);
        let two = clients_of(&clients, &p, 2);
        assert_eq!(one.len() + two.len(), clients.len());
        assert!(one.iter().any(|c| c.name.starts_with("seed")));
        assert!(two.iter().any(|c| c.name.starts_with("seed")));
        assert!(place(&clients, 1).iter().all(|r| *r == 0));
    }
}
