//! The peer's pending requests to us, in arrival order, with constant-time membership
//! (a seed checks every new request for a duplicate; with hundreds pending, a linear
//! scan per request was a visible share of the seed's CPU).

use std::collections::{HashSet, VecDeque};

use bitswarm_wire::BlockInfo;

/// Pending requests: served first come, first served; each block at most once.
#[derive(Debug, Default)]
pub(crate) struct IncomingRequests {
    order: VecDeque<BlockInfo>,
    set: HashSet<BlockInfo>,
}

impl IncomingRequests {
    /// How many are pending.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// Adds `b` at the back; false (and nothing changes) if it is already pending.
    pub(crate) fn push(&mut self, b: BlockInfo) -> bool {
        if !self.set.insert(b) {
            return false;
        }
        self.order.push_back(b);
        true
    }

    /// Removes `b`; false if it was not pending.
    pub(crate) fn remove(&mut self, b: &BlockInfo) -> bool {
        if !self.set.remove(b) {
            return false;
        }
        // Requests are usually served in order: `b` is at or near the front.
        if let Some(i) = self.order.iter().position(|x| x == b) {
            self.order.remove(i);
        }
        true
    }

    /// Takes every pending request, in order.
    pub(crate) fn take_all(&mut self) -> Vec<BlockInfo> {
        self.set.clear();
        self.order.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(piece: u32, offset: u32) -> BlockInfo {
        BlockInfo {
            piece,
            offset,
            length: 16384,
        }
    }

    #[test]
    fn keeps_order_refuses_duplicates_and_removes_from_anywhere() {
        let mut q = IncomingRequests::default();
        assert!(q.push(b(0, 0)));
        assert!(q.push(b(0, 16384)));
        assert!(q.push(b(1, 0)));
        assert!(!q.push(b(0, 16384)), "a duplicate is refused");
        assert_eq!(q.len(), 3);
        assert!(q.remove(&b(0, 16384)));
        assert!(!q.remove(&b(0, 16384)), "already gone");
        assert!(!q.remove(&b(7, 0)), "never there");
        assert_eq!(q.len(), 2);
        // Removed blocks may be requested again.
        assert!(q.push(b(0, 16384)));
        assert_eq!(q.take_all(), vec![b(0, 0), b(1, 0), b(0, 16384)]);
        assert_eq!(q.len(), 0);
        assert!(q.push(b(0, 0)), "empty again after take_all");
    }
}
