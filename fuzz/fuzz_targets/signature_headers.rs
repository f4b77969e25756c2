//! The structured-field (RFC 8941/9651) signature headers: `Signature-Input`, `Signature` and
//! `Content-Digest`, parsed with `sfv` and walked the way an RFC 9421 verifier of Approov's
//! `install` signature does. Never panics; whatever parses serializes and parses back the same.
//!
//! Input: the three header values separated by `\n`.
//!
//! NOTE for the lead: message signing (src/signing/) was not on main when this was written, so
//! this target drives the parsing path the layer is expected to take, not the layer itself.
//! Once signing lands, extend it to call the service with message signing on (see README.md).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use sfv::{BareItem, Dictionary, FieldType, ListEntry, Parser};

fn decode_binary(item: &BareItem) -> Option<Vec<u8>> {
    match item {
        // iOS: `install=:<base64>:`.
        BareItem::ByteSequence(bytes) => Some(bytes.clone()),
        // Android: `install="<base64>"`.
        BareItem::String(s) => STANDARD.decode(s.as_str()).ok(),
        _ => None,
    }
}

fn parse_dict(value: &[u8]) -> Option<Dictionary> {
    let dict: Dictionary = Parser::new(value).parse().ok()?;
    // Round trip: what parses serializes, and the serialization parses to the same value.
    if let Some(text) = dict.serialize() {
        let again: Dictionary = Parser::new(&text)
            .parse()
            .expect("serialized form re-parses");
        assert_eq!(again, dict, "round trip changed the value of {text:?}");
    }
    Some(dict)
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let (input, signature, digest) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );

    if let Some(dict) = parse_dict(input) {
        if let Some(ListEntry::InnerList(list)) = dict.get("install") {
            let components: Vec<&str> = list
                .items
                .iter()
                .filter_map(|i| match &i.bare_item {
                    BareItem::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect();
            let _ = components.iter().any(|c| c.starts_with('@'));
            for (key, value) in &list.params {
                match (key.as_str(), value) {
                    ("alg", BareItem::String(s)) => {
                        let _ = s.as_str() == "ecdsa-p256-sha256";
                    }
                    ("created" | "expires", BareItem::Integer(n)) => {
                        let n = i64::from(*n);
                        let _ = n.checked_add(15);
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(dict) = parse_dict(signature) {
        if let Some(ListEntry::Item(item)) = dict.get("install") {
            // A P-256 signature is 64 raw bytes (r || s).
            let _ = decode_binary(&item.bare_item).map(|b| b.len() == 64);
        }
    }
    if let Some(dict) = parse_dict(digest) {
        for (alg, len) in [("sha-256", 32), ("sha-512", 64)] {
            if let Some(ListEntry::Item(item)) = dict.get(alg) {
                let _ = decode_binary(&item.bare_item).map(|b| b.len() == len);
            }
        }
    }
});
