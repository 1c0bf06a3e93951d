//! [`Responder`]: the accepting side of the MSE handshake (see [`crate::initiator`] for
//! the message sequence).
//!
//! The responder finds the end of PadA by looking for `HASH('req1', S)` within the 512
//! bytes after `Ya`, then names the torrent from `HASH('req2', SKEY) xor
//! HASH('req3', S)` among the info-hashes it serves.

use rand::RngCore;

use crate::cipher::Rc4Stream;
use crate::dh::KeyPair;
use crate::initiator::random_pad;
use crate::outcome::{Established, Status};
use crate::{keys, scan, CryptoSet, MseError, Rc4Pair, KEY_LEN, MAX_PAD, VC_LEN};

/// Bytes of VC + `crypto_provide` + `len(PadC)`.
const PROVIDE_LEN: usize = VC_LEN + 4 + 2;

struct Ciphers {
    dec: Rc4Stream,
    enc: Rc4Stream,
}

enum State {
    /// Waiting for the peer's 96-byte key.
    AwaitYa,
    /// Looking for `HASH('req1', S)` after PadA.
    AwaitReq1 { secret: Box<[u8; KEY_LEN]> },
    /// Waiting for the 20-byte torrent marker.
    AwaitSkey { secret: Box<[u8; KEY_LEN]> },
    /// Waiting for VC, `crypto_provide`, `len(PadC)`.
    AwaitProvide { c: Ciphers },
    /// Waiting for PadC and `len(IA)`.
    AwaitPadC {
        c: Ciphers,
        provide: CryptoSet,
        len: usize,
    },
    /// Waiting for IA.
    AwaitIa {
        c: Ciphers,
        provide: CryptoSet,
        len: usize,
    },
    /// Finished or failed.
    Over,
}

/// The responder's handshake state machine (sans-I/O).
pub struct Responder {
    state: State,
    keys: KeyPair,
    info_hashes: Vec<[u8; 20]>,
    allowed: CryptoSet,
    prefer_rc4: bool,
    pad_b: Vec<u8>,
    pad_d: Vec<u8>,
    skey: [u8; 20],
    inbuf: Vec<u8>,
    out: Vec<u8>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("allowed", &self.allowed)
            .field("prefer_rc4", &self.prefer_rc4)
            .field("buffered", &self.inbuf.len())
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// Waits for a handshake for one of `info_hashes`, accepting the methods in
    /// `allowed`. When the peer offers both plaintext and RC4 and both are allowed,
    /// plaintext is selected (libtorrent's default) unless [`Responder::prefer_rc4`].
    pub fn new(rng: &mut impl RngCore, info_hashes: Vec<[u8; 20]>, allowed: CryptoSet) -> Self {
        Responder {
            state: State::AwaitYa,
            keys: KeyPair::generate(rng),
            info_hashes,
            allowed,
            prefer_rc4: false,
            pad_b: random_pad(rng),
            pad_d: random_pad(rng),
            skey: [0; 20],
            inbuf: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Whether RC4 is selected over plaintext when both are common (default `false`).
    pub fn prefer_rc4(mut self, prefer_rc4: bool) -> Self {
        self.prefer_rc4 = prefer_rc4;
        self
    }

    /// Bytes to send now (empty: nothing).
    pub fn poll_transmit(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Takes bytes received from the peer.
    pub fn handle_bytes(&mut self, data: &[u8]) -> Result<Status, MseError> {
        if matches!(self.state, State::Over) {
            return Err(MseError::Finished);
        }
        self.inbuf.extend_from_slice(data);
        let r = self.advance();
        if !matches!(r, Ok(Status::InProgress)) {
            self.state = State::Over;
        }
        r
    }

    fn advance(&mut self) -> Result<Status, MseError> {
        loop {
            match std::mem::replace(&mut self.state, State::Over) {
                State::AwaitYa => {
                    if self.inbuf.len() < KEY_LEN {
                        self.state = State::AwaitYa;
                        return Ok(Status::InProgress);
                    }
                    let secret = Box::new(self.keys.shared_secret(&self.inbuf[..KEY_LEN])?);
                    self.inbuf.drain(..KEY_LEN);
                    self.out.extend_from_slice(self.keys.public());
                    self.out.append(&mut self.pad_b);
                    self.state = State::AwaitReq1 { secret };
                }
                State::AwaitReq1 { secret } => {
                    let window = MAX_PAD + 20;
                    let req1 = keys::req1(&secret);
                    match scan::find(&self.inbuf[..self.inbuf.len().min(window)], &req1) {
                        Some(i) => {
                            self.inbuf.drain(..i + 20);
                            self.state = State::AwaitSkey { secret };
                        }
                        None if self.inbuf.len() >= window => {
                            return Err(MseError::Req1NotFound { scanned: window })
                        }
                        None => {
                            self.state = State::AwaitReq1 { secret };
                            return Ok(Status::InProgress);
                        }
                    }
                }
                State::AwaitSkey { secret } => {
                    if self.inbuf.len() < 20 {
                        self.state = State::AwaitSkey { secret };
                        return Ok(Status::InProgress);
                    }
                    let mut marker = [0u8; 20];
                    marker.copy_from_slice(&self.inbuf[..20]);
                    self.inbuf.drain(..20);
                    let want = keys::xor(&marker, &keys::req3(&secret));
                    let skey = self
                        .info_hashes
                        .iter()
                        .find(|ih| keys::req2(ih) == want)
                        .copied()
                        .ok_or(MseError::UnknownInfoHash)?;
                    self.skey = skey;
                    let c = Ciphers {
                        dec: Rc4Stream::new(&keys::key_a(&secret, &skey)),
                        enc: Rc4Stream::new(&keys::key_b(&secret, &skey)),
                    };
                    self.state = State::AwaitProvide { c };
                }
                State::AwaitProvide { mut c } => {
                    if self.inbuf.len() < PROVIDE_LEN {
                        self.state = State::AwaitProvide { c };
                        return Ok(Status::InProgress);
                    }
                    let mut f = [0u8; PROVIDE_LEN];
                    f.copy_from_slice(&self.inbuf[..PROVIDE_LEN]);
                    self.inbuf.drain(..PROVIDE_LEN);
                    c.dec.apply(&mut f);
                    if f[..VC_LEN] != [0u8; VC_LEN] {
                        return Err(MseError::BadVerification);
                    }
                    let provide = CryptoSet(u32::from_be_bytes([f[8], f[9], f[10], f[11]]));
                    let len = u16::from_be_bytes([f[12], f[13]]) as usize;
                    if len > MAX_PAD {
                        return Err(MseError::PaddingTooLong { len });
                    }
                    self.state = State::AwaitPadC { c, provide, len };
                }
                State::AwaitPadC {
                    mut c,
                    provide,
                    len,
                } => {
                    if self.inbuf.len() < len + 2 {
                        self.state = State::AwaitPadC { c, provide, len };
                        return Ok(Status::InProgress);
                    }
                    let mut f: Vec<u8> = self.inbuf.drain(..len + 2).collect();
                    c.dec.apply(&mut f);
                    let ia_len = u16::from_be_bytes([f[len], f[len + 1]]) as usize;
                    self.state = State::AwaitIa {
                        c,
                        provide,
                        len: ia_len,
                    };
                }
                State::AwaitIa {
                    mut c,
                    provide,
                    len,
                } => {
                    if self.inbuf.len() < len {
                        self.state = State::AwaitIa { c, provide, len };
                        return Ok(Status::InProgress);
                    }
                    let mut ia: Vec<u8> = self.inbuf.drain(..len).collect();
                    c.dec.apply(&mut ia);
                    let select = self.allowed.select_from(provide, self.prefer_rc4).ok_or(
                        MseError::NoCommonMethod {
                            provided: provide.0,
                            allowed: self.allowed.0,
                        },
                    )?;
                    return Ok(Status::Established(Box::new(self.finish(c, select, ia))));
                }
                State::Over => return Err(MseError::Finished),
            }
        }
    }

    /// Queues step 4 and hands over the ciphers.
    fn finish(&mut self, mut c: Ciphers, select: CryptoSet, ia: Vec<u8>) -> Established {
        let start = self.out.len();
        self.out.extend_from_slice(&[0u8; VC_LEN]);
        self.out.extend_from_slice(&select.0.to_be_bytes());
        self.out
            .extend_from_slice(&(self.pad_d.len() as u16).to_be_bytes());
        self.out.append(&mut self.pad_d);
        c.enc.apply(&mut self.out[start..]);
        let mut remaining = std::mem::take(&mut self.inbuf);
        let cipher = if select == CryptoSet::RC4 {
            c.dec.apply(&mut remaining);
            Some(Rc4Pair {
                encrypt: c.enc,
                decrypt: c.dec,
            })
        } else {
            None
        };
        Established {
            cipher,
            method: select,
            initial_payload: ia,
            remaining_bytes: remaining,
            info_hash: self.skey,
        }
    }
}
