//! The whole per-request check on arbitrary headers: never panics, never accepts a request
//! that no valid seed token stands for. See `fuzz_support` for the input format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((config, headers)) = fuzz_support::decode_input(data) else {
        return;
    };
    let service = &fuzz_support::services()[config];
    if service.check(&headers).is_ok() {
        fuzz_support::assert_acceptable(config, &headers);
    }
});
