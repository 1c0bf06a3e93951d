//! [`Initiator`]: the dialling side of the MSE handshake.
//!
//! ```text
//! 1 A->B: Ya, PadA
//! 2 B->A: Yb, PadB
//! 3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//!         ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
//! 4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
//! ```
//! The initiator finds the start of step 4 by looking for the encrypted VC within the
//! 512 bytes of PadB after `Yb`.

use rand::{Rng, RngCore};

use crate::cipher::Rc4Stream;
use crate::dh::KeyPair;
use crate::outcome::{Established, Status};
use crate::{keys, scan, CryptoSet, MseError, Rc4Pair, KEY_LEN, MAX_PAD, VC_LEN};

/// Bytes of `crypto_select` + `len(PadD)` after the VC.
const SELECT_LEN: usize = 4 + 2;

enum State {
    /// Waiting for the peer's 96-byte key.
    AwaitYb,
    /// Looking for the encrypted VC after PadB.
    AwaitVc {
        dec: Rc4Stream,
        enc: Rc4Stream,
        vc: [u8; VC_LEN],
    },
    /// VC found: waiting for `crypto_select` and `len(PadD)`.
    AwaitSelect { dec: Rc4Stream, enc: Rc4Stream },
    /// Skipping PadD.
    AwaitPadD {
        dec: Rc4Stream,
        enc: Rc4Stream,
        select: CryptoSet,
        len: usize,
    },
    /// Finished or failed.
    Over,
}

/// The initiator's handshake state machine (sans-I/O).
pub struct Initiator {
    state: State,
    keys: KeyPair,
    skey: [u8; 20],
    provide: CryptoSet,
    pad_c: Vec<u8>,
    initial_payload: Vec<u8>,
    inbuf: Vec<u8>,
    out: Vec<u8>,
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Initiator")
            .field("provide", &self.provide)
            .field("buffered", &self.inbuf.len())
            .finish_non_exhaustive()
    }
}

impl Initiator {
    /// Starts a handshake for the torrent `info_hash` offering `provide`, sending
    /// `initial_payload` (usually the BitTorrent handshake; may be empty, at most
    /// 65535 bytes: longer is cut) inside step 3. Queues `Ya` and PadA.
    pub fn new(
        rng: &mut impl RngCore,
        info_hash: [u8; 20],
        provide: CryptoSet,
        mut initial_payload: Vec<u8>,
    ) -> Self {
        initial_payload.truncate(u16::MAX as usize);
        let keys = KeyPair::generate(rng);
        let mut out = keys.public().to_vec();
        out.extend(random_pad(rng));
        Initiator {
            state: State::AwaitYb,
            keys,
            skey: info_hash,
            provide,
            pad_c: random_pad(rng),
            initial_payload,
            inbuf: Vec::new(),
            out,
        }
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
                State::AwaitYb => {
                    if self.inbuf.len() < KEY_LEN {
                        self.state = State::AwaitYb;
                        return Ok(Status::InProgress);
                    }
                    let secret = self.keys.shared_secret(&self.inbuf[..KEY_LEN])?;
                    self.inbuf.drain(..KEY_LEN);
                    self.state = self.send_step3(&secret);
                }
                State::AwaitVc { mut dec, enc, vc } => {
                    let window = MAX_PAD + VC_LEN;
                    match scan::find(&self.inbuf[..self.inbuf.len().min(window)], &vc) {
                        Some(i) => {
                            self.inbuf.drain(..i + VC_LEN);
                            let mut skip = [0u8; VC_LEN];
                            dec.apply(&mut skip);
                            self.state = State::AwaitSelect { dec, enc };
                        }
                        None if self.inbuf.len() >= window => {
                            return Err(MseError::VcNotFound { scanned: window })
                        }
                        None => {
                            self.state = State::AwaitVc { dec, enc, vc };
                            return Ok(Status::InProgress);
                        }
                    }
                }
                State::AwaitSelect { mut dec, enc } => {
                    if self.inbuf.len() < SELECT_LEN {
                        self.state = State::AwaitSelect { dec, enc };
                        return Ok(Status::InProgress);
                    }
                    let mut f = [0u8; SELECT_LEN];
                    f.copy_from_slice(&self.inbuf[..SELECT_LEN]);
                    self.inbuf.drain(..SELECT_LEN);
                    dec.apply(&mut f);
                    let select = CryptoSet(u32::from_be_bytes([f[0], f[1], f[2], f[3]]));
                    let len = u16::from_be_bytes([f[4], f[5]]) as usize;
                    let single = select == CryptoSet::PLAINTEXT || select == CryptoSet::RC4;
                    if !single || !self.provide.contains(select) {
                        return Err(MseError::BadSelect {
                            select: select.0,
                            provided: self.provide.0,
                        });
                    }
                    if len > MAX_PAD {
                        return Err(MseError::PaddingTooLong { len });
                    }
                    self.state = State::AwaitPadD {
                        dec,
                        enc,
                        select,
                        len,
                    };
                }
                State::AwaitPadD {
                    mut dec,
                    enc,
                    select,
                    len,
                } => {
                    if self.inbuf.len() < len {
                        self.state = State::AwaitPadD {
                            dec,
                            enc,
                            select,
                            len,
                        };
                        return Ok(Status::InProgress);
                    }
                    let mut pad: Vec<u8> = self.inbuf.drain(..len).collect();
                    dec.apply(&mut pad);
                    let mut remaining = std::mem::take(&mut self.inbuf);
                    let cipher = if select == CryptoSet::RC4 {
                        dec.apply(&mut remaining);
                        Some(Rc4Pair {
                            encrypt: enc,
                            decrypt: dec,
                        })
                    } else {
                        None
                    };
                    return Ok(Status::Established(Box::new(Established {
                        cipher,
                        method: select,
                        initial_payload: Vec::new(),
                        remaining_bytes: remaining,
                        info_hash: self.skey,
                    })));
                }
                State::Over => return Err(MseError::Finished),
            }
        }
    }

    /// Queues step 3 and prepares the ciphers.
    fn send_step3(&mut self, secret: &[u8; KEY_LEN]) -> State {
        self.out.extend_from_slice(&keys::req1(secret));
        self.out
            .extend_from_slice(&keys::skey_marker(&self.skey, secret));
        let mut enc = Rc4Stream::new(&keys::key_a(secret, &self.skey));
        let dec = Rc4Stream::new(&keys::key_b(secret, &self.skey));
        let start = self.out.len();
        self.out.extend_from_slice(&[0u8; VC_LEN]);
        self.out.extend_from_slice(&self.provide.0.to_be_bytes());
        self.out
            .extend_from_slice(&(self.pad_c.len() as u16).to_be_bytes());
        self.out.extend_from_slice(&self.pad_c);
        self.out
            .extend_from_slice(&(self.initial_payload.len() as u16).to_be_bytes());
        self.out.extend_from_slice(&self.initial_payload);
        enc.apply(&mut self.out[start..]);
        // The responder's VC is the first 8 bytes of its keystream: compute them on a
        // second stream so `dec` stays at the start.
        let mut vc = [0u8; VC_LEN];
        Rc4Stream::new(&keys::key_b(secret, &self.skey)).apply(&mut vc);
        State::AwaitVc { dec, enc, vc }
    }
}

/// Random padding of 0–512 random bytes.
pub(crate) fn random_pad(rng: &mut impl RngCore) -> Vec<u8> {
    let len = rng.gen_range(0..=MAX_PAD);
    let mut pad = vec![0u8; len];
    rng.fill_bytes(&mut pad);
    pad
}
