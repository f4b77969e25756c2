//! Message signing through the whole layer (`ApproovService`, message signing required):
//! arbitrary method, target, `Signature-Input`, `Signature`, `Content-Digest` and body on a
//! request with a valid token carrying an `ipk`. Never panics; never lets through a request
//! whose signed message is not one of the seeds' or whose signature does not verify over it.
//! Input format: see `fuzz_support::signing`.
#![no_main]

use std::sync::OnceLock;

use fuzz_support::signing::{self, SignedSeed};
use libfuzzer_sys::fuzz_target;

fn seeds() -> &'static [SignedSeed] {
    static SEEDS: OnceLock<Vec<SignedSeed>> = OnceLock::new();
    SEEDS.get_or_init(signing::signed_seeds)
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = signing::decode(data) else {
        return;
    };
    if signing::run(&input).is_ok() {
        signing::assert_acceptable(&input, seeds());
    }
});
