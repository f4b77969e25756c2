//! Writes the seed corpora: `cargo run --release --bin seeds` (from `fuzz/`).
//!
//! `corpus/check/`: every seed token under every configuration, with its binding headers. Each
//! is checked as it is written: accepted exactly where the seed says, and, when accepted, the
//! oracle refuses the same token with one signature character changed.
//! `corpus/signature_headers/`: requests signed as Approov's iOS and Android SDKs sign, and
//! hand-written `Signature-Input`, `Signature` and `Content-Digest` shapes.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

/// The `check` target's seed `seed` under `config` (fuzz input `input`): the service accepts
/// it exactly when the seed says so, and the oracle agrees. For an accepted seed, the same
/// token with one changed signature character is refused by the service, and the oracle
/// panics on it: had the service accepted it, the fuzz run would have failed.
fn self_check(seed: &fuzz_support::Seed, config: usize, input: &[u8]) {
    let (decoded, headers) = fuzz_support::decode_input(input).expect("seed decodes");
    assert_eq!(
        decoded, config,
        "seed {} reads back its configuration",
        seed.name
    );
    let service = &fuzz_support::services()[config];
    let accepted = service.check(&headers).is_ok();
    assert_eq!(
        accepted,
        seed.valid_in.contains(&config),
        "seed {} in config {config}",
        seed.name
    );
    if !accepted {
        return;
    }
    fuzz_support::assert_acceptable(config, &headers);
    // One character in the middle of the signature segment, 'A' <-> 'B': still base64url.
    let cut = seed.token.rfind('.').expect("three parts") + 1;
    let at = cut + (seed.token.len() - cut) / 2;
    let mut forged = seed.token.clone().into_bytes();
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    let input = fuzz_support::encode_input(config, &forged, &seed.headers);
    let (_, headers) = fuzz_support::decode_input(&input).expect("forgery decodes");
    assert!(
        service.check(&headers).is_err(),
        "seed {} in config {config}: a changed signature was accepted",
        seed.name
    );
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        fuzz_support::assert_acceptable(config, &headers)
    }));
    panic::set_hook(hook);
    assert!(
        caught.is_err(),
        "seed {} in config {config}: the oracle let a changed signature through",
        seed.name
    );
}

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let check = dir.join("check");
    fs::create_dir_all(&check)?;
    let mut n = 0;
    for seed in fuzz_support::seeds() {
        for config in 0..fuzz_support::CONFIGS {
            let input = fuzz_support::encode_input(config, &seed.token, &seed.headers);
            self_check(seed, config, &input);
            fs::write(check.join(format!("{}-c{config}", seed.name)), input)?;
            n += 1;
        }
    }
    let sig = dir.join("signature_headers");
    fs::create_dir_all(&sig)?;
    // Correctly signed requests (iOS and Android shapes), then the same requests with the
    // hand-written header shapes of `signature_seeds` in place of their three headers.
    let signed = fuzz_support::signing::signed_seeds();
    for seed in &signed {
        // Each valid seed really passes the layer and the target's oracle, and reads back the
        // same from its file; one changed signature byte is refused.
        let input = fuzz_support::signing::encode(&seed.input);
        let decoded = fuzz_support::signing::decode(&input).expect("seed decodes");
        assert_eq!(
            fuzz_support::signing::run(&decoded),
            Ok(()),
            "seed {}",
            seed.name
        );
        fuzz_support::signing::assert_acceptable(&decoded, &signed);
        let mut tampered = decoded.clone();
        let signature = tampered.headers[1].as_ref().expect("signature").as_bytes();
        let mut changed = signature.to_vec();
        changed[12] = if changed[12] == b'A' { b'B' } else { b'A' };
        tampered.headers[1] = Some(http::HeaderValue::from_bytes(&changed).expect("value"));
        assert!(
            fuzz_support::signing::run(&tampered).is_err(),
            "seed {}",
            seed.name
        );
        fs::write(sig.join(seed.name), input)?;
        n += 1;
    }
    for (i, headers) in fuzz_support::signature_seeds().iter().enumerate() {
        let request = &signed[i % signed.len()].input;
        let mut input = format!("{}\n{}\n", request.method, request.uri).into_bytes();
        input.extend_from_slice(headers);
        input.push(b'\n');
        input.extend_from_slice(&request.body);
        fs::write(sig.join(format!("shape-{i}")), input)?;
        n += 1;
    }
    println!("wrote {n} seeds under {}", dir.display());
    Ok(())
}
