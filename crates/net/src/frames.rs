//! Where whole messages end in the bytes read from a peer, so the socket task hands the
//! driver whole messages only (decoded in place, without copying) and moves the start of
//! an unfinished one to the front of the next receive buffer, where the rest of it lands.
//!
//! This is advisory: the session decodes correctly however the stream is cut. The scan
//! starts at the stream's first byte: a BitTorrent handshake (first byte 19, 68 bytes)
//! if the stream starts with one, then length-prefixed messages. A length no message can
//! have (over [`MAX_FRAME`]) ends the scan for good: from then on everything read is
//! handed over as it comes (the session will close the connection anyway).

/// The handshake's length, and the first byte it (and no message) starts with.
const HANDSHAKE_LEN: usize = 68;
const HANDSHAKE_FIRST: u8 = 19;
/// Longer declared messages stop the scan (the session's limits are tighter).
pub const MAX_FRAME: usize = 16 << 20;

/// The scan's position in the stream.
#[derive(Debug, Clone, Default)]
pub struct FrameScan {
    /// Bytes of a message longer than a buffer, already handed over in part, still to
    /// come before the next message starts.
    skip: usize,
    /// Past the first byte of the stream.
    started: bool,
    /// Out of step: hand over everything.
    lost: bool,
}

impl FrameScan {
    /// A scan at the start of a stream.
    pub fn new() -> FrameScan {
        FrameScan::default()
    }

    /// How many bytes at the front of `buf` (the bytes read and not yet handed over; they
    /// start where the previous hand-over ended) to hand over now: whole messages only,
    /// or, when `full` (no room left to read the rest into), everything. The rest is
    /// expected back at the front of the next call's `buf`.
    pub fn cut(&mut self, buf: &[u8], full: bool) -> usize {
        if self.lost {
            return buf.len();
        }
        if self.skip >= buf.len() {
            self.skip -= buf.len();
            return buf.len();
        }
        let mut pos = std::mem::take(&mut self.skip);
        if !self.started && pos < buf.len() {
            self.started = true;
            if buf[pos] == HANDSHAKE_FIRST {
                if buf.len() - pos < HANDSHAKE_LEN {
                    self.started = false;
                    return self.partial(buf, pos, HANDSHAKE_LEN, full);
                }
                pos += HANDSHAKE_LEN;
            }
        }
        while let Some(&[a, b, c, d]) = buf.get(pos..pos + 4) {
            let total = 4 + u32::from_be_bytes([a, b, c, d]) as usize;
            if total > MAX_FRAME {
                self.lost = true;
                return buf.len();
            }
            if buf.len() - pos < total {
                return self.partial(buf, pos, total, full);
            }
            pos += total;
        }
        pos
    }

    /// A message of `total` bytes starts at `pos` and is not all in `buf`: hand over up
    /// to it, or (nothing before it and no room for the rest) all of `buf`, remembering
    /// how much of the message is still to come.
    fn partial(&mut self, buf: &[u8], pos: usize, total: usize, full: bool) -> usize {
        if pos > 0 || !full {
            return pos;
        }
        self.skip = total - buf.len();
        buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(len: usize, fill: u8) -> Vec<u8> {
        let mut m = (len as u32).to_be_bytes().to_vec();
        m.extend(std::iter::repeat_n(fill, len));
        m
    }

    /// Feeds `stream` through a buffer of `cap` bytes in reads of `step` bytes, as the
    /// socket task does; returns the hand-overs.
    fn feed(stream: &[u8], cap: usize, step: usize) -> Vec<Vec<u8>> {
        let mut scan = FrameScan::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            let n = step.min(cap - buf.len()).min(stream.len() - at);
            buf.extend_from_slice(&stream[at..at + n]);
            at += n;
            let cut = scan.cut(&buf, buf.len() == cap);
            if cut > 0 {
                out.push(buf.drain(..cut).collect());
            }
        }
        assert!(buf.is_empty(), "{} bytes never handed over", buf.len());
        out
    }

    #[test]
    fn hands_over_whole_messages_after_the_handshake() {
        let mut stream = vec![19u8];
        stream.extend_from_slice(&[b'x'; 67]);
        let msgs: Vec<Vec<u8>> = (0..20).map(|i| msg(9 + 16384 * (i % 2), i as u8)).collect();
        for m in &msgs {
            stream.extend_from_slice(m);
        }
        stream.extend_from_slice(&msg(0, 0)); // a keep-alive
        for step in [1, 7, 1000, 40_000, 1 << 20] {
            let out = feed(&stream, 64 * 1024, step);
            assert_eq!(out.concat(), stream, "step {step}");
            // Every hand-over ends at a message boundary.
            let mut bounds = vec![68];
            for m in &msgs {
                bounds.push(bounds.last().unwrap() + m.len());
            }
            bounds.push(stream.len());
            let mut end = 0;
            for o in &out {
                end += o.len();
                assert!(bounds.contains(&end), "step {step}: cut at {end}");
            }
        }
    }

    #[test]
    fn a_message_longer_than_the_buffer_goes_in_parts_and_the_scan_keeps_step() {
        let mut stream = msg(5, 1);
        let big_start = stream.len();
        stream.extend_from_slice(&msg(300_000, 2)); // a big extension message
        let big_end = stream.len();
        for i in 0..4 {
            stream.extend_from_slice(&msg(9, 3 + i));
        }
        let out = feed(&stream, 64 * 1024, 10_000);
        assert_eq!(out.concat(), stream);
        // Cuts fall inside the big message (it cannot fit) or on message boundaries
        // after it: the scan found its way past it.
        let mut end = 0;
        for o in &out {
            end += o.len();
            let inside = end > big_start && end < big_end;
            assert!(
                inside || end == big_start || (end - big_end) % 13 == 0,
                "cut at {end}"
            );
        }
        let mut scan = FrameScan::new();
        assert_eq!(scan.cut(&stream[..big_start + 100], true), big_start);
        // Waiting for a message after the big one: nothing lost.
        let tail = &stream[big_end..];
        let mut scan2 = FrameScan::new();
        assert_eq!(scan2.cut(&tail[..20], false), 13);
    }

    #[test]
    fn an_impossible_length_hands_over_everything_from_then_on() {
        let mut stream = msg(3, 1);
        stream.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
        let mut scan = FrameScan::new();
        assert_eq!(scan.cut(&stream, false), stream.len());
        assert_eq!(
            scan.cut(&[0, 0], false),
            2,
            "no longer waits for whole messages"
        );
    }

    #[test]
    fn waits_for_the_rest_of_a_message_while_there_is_room() {
        let mut scan = FrameScan::new();
        let m = msg(100, 7);
        assert_eq!(scan.cut(&m[..50], false), 0);
        assert_eq!(scan.cut(&m, false), m.len());
        // An unfinished handshake is waited for too.
        let mut scan = FrameScan::new();
        assert_eq!(scan.cut(&[19, b'B', b'i'], false), 0);
    }
}
