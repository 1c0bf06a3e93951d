//! In-memory handshakes: initiator ↔ responder with random padding and split reads, and
//! bad input.

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::*;

const IH: [u8; 20] = [7u8; 20];
const OTHER: [u8; 20] = [9u8; 20];

/// Feeds `data` to `f` in random-sized pieces (at least one call, even if empty).
fn feed_split(
    rng: &mut StdRng,
    data: &[u8],
    mut f: impl FnMut(&[u8]) -> Result<Status, MseError>,
) -> Result<Option<Established>, MseError> {
    let mut rest = data;
    let mut done = None;
    loop {
        let n = if rest.is_empty() {
            0
        } else {
            rng.gen_range(1..=rest.len().min(97))
        };
        let (now, later) = rest.split_at(n);
        if let Status::Established(e) = f(now)? {
            done = Some(*e);
        }
        rest = later;
        if rest.is_empty() {
            return Ok(done);
        }
        assert!(done.is_none(), "established before all bytes were fed");
    }
}

/// Runs a full handshake; returns both outcomes.
fn run(
    seed: u64,
    provide: CryptoSet,
    allowed: CryptoSet,
    ia: &[u8],
) -> Result<(Established, Established), MseError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut a = Initiator::new(&mut rng, IH, provide, ia.to_vec());
    let mut b = Responder::new(&mut rng, vec![OTHER, IH], allowed);
    let (mut ea, mut eb) = (None, None);
    for _ in 0..10 {
        let to_b = a.poll_transmit();
        if eb.is_none() && !to_b.is_empty() {
            eb = feed_split(&mut rng, &to_b, |d| b.handle_bytes(d))?;
        }
        let to_a = b.poll_transmit();
        if ea.is_none() && !to_a.is_empty() {
            ea = feed_split(&mut rng, &to_a, |d| a.handle_bytes(d))?;
        }
        if let (Some(x), Some(y)) = (ea.take(), eb.take()) {
            return Ok((x, y));
        }
    }
    panic!("handshake did not finish");
}

#[test]
fn every_crypto_choice_with_random_padding_and_split_reads() {
    let cases = [
        (CryptoSet::RC4, CryptoSet::BOTH, CryptoSet::RC4),
        // Both offered, both allowed: plaintext (libtorrent's default).
        (CryptoSet::BOTH, CryptoSet::BOTH, CryptoSet::PLAINTEXT),
        (CryptoSet::BOTH, CryptoSet::RC4, CryptoSet::RC4),
        (CryptoSet::PLAINTEXT, CryptoSet::BOTH, CryptoSet::PLAINTEXT),
        (CryptoSet::BOTH, CryptoSet::PLAINTEXT, CryptoSet::PLAINTEXT),
        (CryptoSet::RC4, CryptoSet::RC4, CryptoSet::RC4),
    ];
    for seed in 0..12u64 {
        for (provide, allowed, want) in cases {
            let ia: Vec<u8> = (0..(seed as usize * 7)).map(|i| i as u8).collect();
            let (a, b) = run(seed, provide, allowed, &ia).expect("handshake");
            assert_eq!(a.method, want);
            assert_eq!(b.method, want);
            assert_eq!(b.initial_payload, ia);
            assert_eq!(b.info_hash, IH);
            assert!(a.remaining_bytes.is_empty() && b.remaining_bytes.is_empty());
            assert_eq!(a.cipher.is_some(), want == CryptoSet::RC4);
            if let (Some(mut ca), Some(mut cb)) = (a.cipher, b.cipher) {
                let mut msg = b"hello from A".to_vec();
                ca.encrypt.apply(&mut msg);
                assert_ne!(&msg[..], b"hello from A");
                cb.decrypt.apply(&mut msg);
                assert_eq!(&msg[..], b"hello from A");
                let mut back = vec![0u8; 100];
                cb.encrypt.apply_to(&[5u8; 100], &mut back);
                ca.decrypt.apply(&mut back);
                assert_eq!(back, vec![5u8; 100]);
            }
        }
    }
}

#[test]
fn prefer_selects_plaintext_when_offered_both_and_require_selects_rc4() {
    let b = CryptoSet::BOTH;
    // prefer (allowed both, no RC4 preference): plaintext for the payload.
    assert_eq!(b.select_from(b, false), Some(CryptoSet::PLAINTEXT));
    // require (allowed RC4 only): RC4, whatever the preference.
    assert_eq!(CryptoSet::RC4.select_from(b, false), Some(CryptoSet::RC4));
    assert_eq!(CryptoSet::RC4.select_from(b, true), Some(CryptoSet::RC4));
    assert_eq!(
        CryptoSet::RC4.select_from(CryptoSet::PLAINTEXT, false),
        None
    );
    // An explicit RC4 preference picks RC4 from both.
    assert_eq!(b.select_from(b, true), Some(CryptoSet::RC4));
    // One common method is selected either way.
    assert_eq!(b.select_from(CryptoSet::RC4, false), Some(CryptoSet::RC4));
    assert_eq!(
        b.select_from(CryptoSet::PLAINTEXT, true),
        Some(CryptoSet::PLAINTEXT)
    );
}

#[test]
fn responder_preferring_rc4_selects_it_from_both() {
    let mut rng = StdRng::seed_from_u64(41);
    let mut a = Initiator::new(&mut rng, IH, CryptoSet::BOTH, vec![]);
    let mut b = Responder::new(&mut rng, vec![IH], CryptoSet::BOTH).prefer_rc4(true);
    let (mut ea, mut eb) = (None, None);
    for _ in 0..10 {
        let to_b = a.poll_transmit();
        if eb.is_none() && !to_b.is_empty() {
            eb = feed_split(&mut rng, &to_b, |d| b.handle_bytes(d)).expect("responder");
        }
        let to_a = b.poll_transmit();
        if ea.is_none() && !to_a.is_empty() {
            ea = feed_split(&mut rng, &to_a, |d| a.handle_bytes(d)).expect("initiator");
        }
    }
    let (ea, eb) = (ea.expect("initiator done"), eb.expect("responder done"));
    assert_eq!(ea.method, CryptoSet::RC4);
    assert_eq!(eb.method, CryptoSet::RC4);
    assert!(ea.cipher.is_some() && eb.cipher.is_some());
}

#[test]
fn payload_after_the_handshake_is_returned_decrypted() {
    let mut rng = StdRng::seed_from_u64(99);
    let mut a = Initiator::new(&mut rng, IH, CryptoSet::RC4, b"IA".to_vec());
    let mut b = Responder::new(&mut rng, vec![IH], CryptoSet::BOTH);
    let ya = a.poll_transmit();
    assert!(matches!(b.handle_bytes(&ya), Ok(Status::InProgress)));
    let yb = b.poll_transmit();
    assert!(matches!(a.handle_bytes(&yb), Ok(Status::InProgress)));
    let step3 = a.poll_transmit();
    let Ok(Status::Established(mut eb)) = b.handle_bytes(&step3) else {
        panic!()
    };
    let mut step4 = b.poll_transmit();
    let mut after = b"payload B".to_vec();
    eb.cipher.as_mut().unwrap().encrypt.apply(&mut after);
    step4.extend(after);
    let Ok(Status::Established(ea)) = a.handle_bytes(&step4) else {
        panic!()
    };
    assert_eq!(ea.remaining_bytes, b"payload B");
    assert_eq!(eb.initial_payload, b"IA");
}

#[test]
fn unknown_torrent_is_refused() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut a = Initiator::new(&mut rng, IH, CryptoSet::BOTH, vec![]);
    let mut b = Responder::new(&mut rng, vec![OTHER], CryptoSet::BOTH);
    b.handle_bytes(&a.poll_transmit()).unwrap();
    a.handle_bytes(&b.poll_transmit()).unwrap();
    assert_eq!(
        b.handle_bytes(&a.poll_transmit()).unwrap_err(),
        MseError::UnknownInfoHash
    );
    assert_eq!(b.handle_bytes(b"x").unwrap_err(), MseError::Finished);
}

#[test]
fn no_common_method_is_refused() {
    let r = run(3, CryptoSet::PLAINTEXT, CryptoSet::RC4, b"");
    assert_eq!(
        r.unwrap_err(),
        MseError::NoCommonMethod {
            provided: 1,
            allowed: 2
        }
    );
}

#[test]
fn padding_over_512_bytes_is_refused() {
    // Responder: 600 bytes of PadA, no req1 marker.
    let mut rng = StdRng::seed_from_u64(4);
    let mut b = Responder::new(&mut rng, vec![IH], CryptoSet::BOTH);
    let mut bytes = vec![0u8; KEY_LEN + 600];
    rng.fill_bytes(&mut bytes[..KEY_LEN]);
    assert!(matches!(
        b.handle_bytes(&bytes[..KEY_LEN + 500]),
        Ok(Status::InProgress)
    ));
    assert!(matches!(
        b.handle_bytes(&bytes[KEY_LEN + 500..]),
        Err(MseError::Req1NotFound { .. })
    ));

    // Initiator: Yb then 600 bytes of garbage, no VC.
    let mut a = Initiator::new(&mut rng, IH, CryptoSet::BOTH, vec![]);
    assert!(matches!(
        a.handle_bytes(&bytes[..KEY_LEN + 300]),
        Ok(Status::InProgress)
    ));
    assert!(matches!(
        a.handle_bytes(&bytes[KEY_LEN + 300..]),
        Err(MseError::VcNotFound { .. })
    ));
}

#[test]
fn wrong_verification_constant_is_refused() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut a = Initiator::new(&mut rng, IH, CryptoSet::BOTH, vec![]);
    let mut b = Responder::new(&mut rng, vec![IH], CryptoSet::BOTH);
    b.handle_bytes(&a.poll_transmit()).unwrap();
    a.handle_bytes(&b.poll_transmit()).unwrap();
    let mut step3 = a.poll_transmit();
    step3[40] ^= 0x01; // first byte of ENCRYPT(VC)
    assert_eq!(
        b.handle_bytes(&step3).unwrap_err(),
        MseError::BadVerification
    );
}

#[test]
fn truncated_handshake_waits_and_out_of_range_keys_fail() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut a = Initiator::new(&mut rng, IH, CryptoSet::BOTH, vec![]);
    let mut b = Responder::new(&mut rng, vec![IH], CryptoSet::BOTH);
    let ya = a.poll_transmit();
    assert!(matches!(b.handle_bytes(&ya[..50]), Ok(Status::InProgress)));
    assert!(b.poll_transmit().is_empty());
    // Y = 1 is refused.
    let mut one = [0u8; KEY_LEN];
    one[KEY_LEN - 1] = 1;
    let mut b2 = Responder::new(&mut rng, vec![IH], CryptoSet::BOTH);
    assert_eq!(b2.handle_bytes(&one).unwrap_err(), MseError::BadPublicKey);
    let p = [0xffu8; KEY_LEN];
    assert_eq!(a.handle_bytes(&p).unwrap_err(), MseError::BadPublicKey);
}

#[test]
fn garbage_never_panics() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..50 {
        let len = rng.gen_range(0..1500);
        let mut junk = vec![0u8; len];
        rng.fill_bytes(&mut junk);
        let mut b = Responder::new(&mut rng, vec![IH], CryptoSet::BOTH);
        let _ = feed_split(&mut rng, &junk, |d| b.handle_bytes(d));
        let mut a = Initiator::new(&mut rng, IH, CryptoSet::BOTH, vec![]);
        let _ = feed_split(&mut rng, &junk, |d| a.handle_bytes(d));
    }
}

#[test]
fn public_keys_are_96_bytes_and_agree() {
    let mut rng = StdRng::seed_from_u64(8);
    let x = dh::KeyPair::generate(&mut rng);
    let y = dh::KeyPair::generate(&mut rng);
    assert_eq!(
        x.shared_secret(y.public()).unwrap(),
        y.shared_secret(x.public()).unwrap()
    );
}

#[test]
#[ignore = "timing: cargo test -p bitswarm-mse --release -- --ignored --nocapture"]
fn rc4_throughput() {
    let mut s = Rc4Stream::new(&[1u8; 20]);
    let mut buf = vec![0u8; 64 << 20];
    let t = std::time::Instant::now();
    s.apply(&mut buf);
    let secs = t.elapsed().as_secs_f64();
    println!("rc4: {:.0} MB/s", buf.len() as f64 / secs / 1e6);
}
