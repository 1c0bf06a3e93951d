//! The MSE/PE handshake parsers never panic and never buffer without bound: arbitrary
//! bytes, in arbitrary pieces, fed to a responder and to an initiator.
#![no_main]

use bitswarm_mse::{CryptoSet, Initiator, Responder, Status};
use libfuzzer_sys::fuzz_target;
use rand::rngs::StdRng;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let step = usize::from(split).max(1);
    let mut rng = StdRng::seed_from_u64(u64::from(split));
    let mut r = Responder::new(&mut rng, vec![[7u8; 20]], CryptoSet::BOTH);
    let mut i = Initiator::new(&mut rng, [7u8; 20], CryptoSet::BOTH, b"ia".to_vec());
    let (mut r_live, mut i_live) = (true, true);
    for chunk in data.chunks(step) {
        if r_live {
            r_live = matches!(r.handle_bytes(chunk), Ok(Status::InProgress));
            assert!(r.poll_transmit().len() <= 96 + 512 + 8 + 4 + 2 + 512);
        }
        if i_live {
            i_live = matches!(i.handle_bytes(chunk), Ok(Status::InProgress));
            assert!(i.poll_transmit().len() <= 2 * (96 + 512) + 40 + 16 + 512 + 2);
        }
    }
});
