//! Writes the seed corpora: `cargo run --release --bin seeds` (from `fuzz/`).
//!
//! `corpus/check/`: every seed token under every configuration, with its binding headers.
//! `corpus/signature_headers/`: `Signature-Input`, `Signature` and `Content-Digest` values in
//! the shapes Approov's iOS and Android SDKs send.

use std::fs;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let check = dir.join("check");
    fs::create_dir_all(&check)?;
    let mut n = 0;
    for seed in fuzz_support::seeds() {
        for config in 0..fuzz_support::CONFIGS {
            let input = fuzz_support::encode_input(config, &seed.token, &seed.headers);
            fs::write(check.join(format!("{}-c{config}", seed.name)), input)?;
            n += 1;
        }
    }
    let sig = dir.join("signature_headers");
    fs::create_dir_all(&sig)?;
    for (i, input) in fuzz_support::signature_seeds().iter().enumerate() {
        fs::write(sig.join(format!("sig-{i}")), input)?;
        n += 1;
    }
    println!("wrote {n} seeds under {}", dir.display());
    Ok(())
}
