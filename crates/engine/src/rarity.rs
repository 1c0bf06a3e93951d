//! Pieces ordered by availability, with O(1) availability changes.
//!
//! The candidate pieces (wanted, missing, not started) sit in one vector sorted by
//! availability; `start[a]` is where the bucket of availability `a` begins. Moving a piece
//! to the next bucket is a swap with the bucket's edge, so a `have` costs O(1) and a
//! bitfield O(set bits), whatever the piece count. Removing or inserting a candidate costs
//! O(highest availability), which is bounded by the number of peers.

const ABSENT: u32 = u32::MAX;

/// Availability per piece plus the bucketed order of candidate pieces.
#[derive(Debug, Clone)]
pub(crate) struct RarityOrder {
    order: Vec<u32>,
    pos: Vec<u32>,
    start: Vec<u32>,
    avail: Vec<u32>,
}

impl RarityOrder {
    /// All `piece_count` pieces at availability 0, none of them a candidate.
    pub(crate) fn new(piece_count: u32) -> Self {
        RarityOrder {
            order: Vec::new(),
            pos: vec![ABSENT; piece_count as usize],
            start: vec![0, 0],
            avail: vec![0; piece_count as usize],
        }
    }

    /// Availability of `piece` (0 out of range).
    pub(crate) fn availability(&self, piece: u32) -> u32 {
        self.avail.get(piece as usize).copied().unwrap_or(0)
    }

    /// Whether `piece` is a candidate.
    pub(crate) fn contains(&self, piece: u32) -> bool {
        self.pos.get(piece as usize).is_some_and(|&p| p != ABSENT)
    }

    /// Number of candidates.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    fn max_bucket(&self) -> usize {
        self.start.len() - 2
    }

    fn ensure_bucket(&mut self, a: usize) {
        while self.max_bucket() < a {
            self.start.push(self.order.len() as u32);
        }
    }

    fn swap(&mut self, i: u32, j: u32) {
        if i == j {
            return;
        }
        self.order.swap(i as usize, j as usize);
        self.pos[self.order[i as usize] as usize] = i;
        self.pos[self.order[j as usize] as usize] = j;
    }

    /// One more peer has `piece`.
    pub(crate) fn increment(&mut self, piece: u32) {
        let Some(&a) = self.avail.get(piece as usize) else {
            return;
        };
        let a = a as usize;
        self.avail[piece as usize] += 1;
        self.ensure_bucket(a + 1);
        let i = self.pos[piece as usize];
        if i != ABSENT {
            let last = self.start[a + 1] - 1;
            self.swap(i, last);
            self.start[a + 1] -= 1;
        }
    }

    /// One peer fewer has `piece`.
    pub(crate) fn decrement(&mut self, piece: u32) {
        let Some(&a) = self.avail.get(piece as usize) else {
            return;
        };
        if a == 0 {
            return;
        }
        let a = a as usize;
        self.avail[piece as usize] -= 1;
        let i = self.pos[piece as usize];
        if i != ABSENT {
            let first = self.start[a];
            self.swap(i, first);
            self.start[a] += 1;
        }
    }

    /// Makes `piece` a candidate (no-op if it is one).
    pub(crate) fn insert(&mut self, piece: u32) {
        if piece as usize >= self.pos.len() || self.contains(piece) {
            return;
        }
        let a = self.avail[piece as usize] as usize;
        self.ensure_bucket(a);
        let top = self.max_bucket();
        self.order.push(piece);
        self.pos[piece as usize] = self.order.len() as u32 - 1;
        self.start[top + 1] += 1;
        // Walk down from the top bucket to bucket `a`.
        for b in (a + 1..=top).rev() {
            let first = self.start[b];
            self.swap(self.pos[piece as usize], first);
            self.start[b] += 1;
        }
    }

    /// Removes `piece` from the candidates (no-op if absent).
    pub(crate) fn remove(&mut self, piece: u32) {
        if !self.contains(piece) {
            return;
        }
        let a = self.avail[piece as usize] as usize;
        let top = self.max_bucket();
        // Walk up from bucket `a` to the end of the vector.
        for b in a..=top {
            let last = self.start[b + 1] - 1;
            self.swap(self.pos[piece as usize], last);
            self.start[b + 1] -= 1;
        }
        self.order.pop();
        self.pos[piece as usize] = ABSENT;
    }

    /// Non-empty buckets from rarest to most common: (availability, candidates).
    pub(crate) fn buckets(&self) -> impl Iterator<Item = (u32, &[u32])> + '_ {
        (0..=self.max_bucket()).filter_map(move |a| {
            let (s, e) = (self.start[a] as usize, self.start[a + 1] as usize);
            (s < e).then(|| (a as u32, &self.order[s..e]))
        })
    }

    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        assert_eq!(*self.start.last().unwrap() as usize, self.order.len());
        assert_eq!(self.start[0], 0);
        for (a, w) in self.start.windows(2).enumerate() {
            assert!(w[0] <= w[1]);
            for &p in &self.order[w[0] as usize..w[1] as usize] {
                assert_eq!(self.avail[p as usize] as usize, a, "piece {p}");
            }
        }
        for (i, &p) in self.order.iter().enumerate() {
            assert_eq!(self.pos[p as usize] as usize, i);
        }
        let present = self.pos.iter().filter(|&&p| p != ABSENT).count();
        assert_eq!(present, self.order.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_are_sorted_by_availability() {
        let mut r = RarityOrder::new(5);
        for p in 0..5 {
            r.insert(p);
        }
        r.increment(3);
        r.increment(3);
        r.increment(1);
        r.check_invariants();
        let b: Vec<(u32, Vec<u32>)> = r.buckets().map(|(a, s)| (a, s.to_vec())).collect();
        assert_eq!(b.len(), 3);
        assert_eq!(b[1], (1, vec![1]));
        assert_eq!(b[2], (2, vec![3]));
        r.remove(3);
        r.check_invariants();
        assert!(!r.contains(3));
        assert_eq!(r.availability(3), 2);
        r.insert(3);
        r.check_invariants();
    }

    proptest! {
        #[test]
        fn random_operations_keep_invariants(ops in proptest::collection::vec((0u8..4, 0u32..20), 0..300)) {
            let mut r = RarityOrder::new(20);
            for (op, p) in ops {
                match op {
                    0 => r.increment(p),
                    1 => r.decrement(p),
                    2 => r.insert(p),
                    _ => r.remove(p),
                }
                r.check_invariants();
            }
        }
    }
}
