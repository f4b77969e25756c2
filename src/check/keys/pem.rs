//! Public keys from PEM: RSA (2048 to 4096 bits), EC on P-256 or P-384, Ed25519.

use jsonwebtoken::DecodingKey;
use simple_asn1::{ASN1Block, BigUint, oid};

use super::{AlgSet, Material, VerifyingKey};
use crate::check::error::ConfigError;

/// Parses one PEM public key (RSA, EC P-256 or P-384, Ed25519).
pub(crate) fn key_from_pem(
    pem: &[u8],
    kid: Option<String>,
    variable: &'static str,
) -> Result<VerifyingKey, ConfigError> {
    let text = std::str::from_utf8(pem).map_err(|_| ConfigError::Key {
        variable,
        reason: "the PEM is not text",
    })?;
    if text.contains("PRIVATE KEY") {
        return Err(ConfigError::Key {
            variable,
            reason: "this is a private key: give the public key (`approov keyset -kid K -getPEM`)",
        });
    }
    let kid = kid.map(String::into_boxed_str);
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        let bits = rsa_modulus_bits(&key);
        if !(2048..=4096).contains(&bits) {
            return Err(ConfigError::Key {
                variable,
                reason: "RSA keys must have 2048 to 4096 bits",
            });
        }
        return Ok(VerifyingKey {
            kid,
            algorithms: AlgSet::RSA,
            material: Material::Jwt(key),
        });
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        // The curve is read from the key's own OID, not guessed from the point's length:
        // a secp256k1 point is as long as a P-256 one, and taken for P-256 it would reject
        // every token instead of being refused here.
        let algorithms = match (
            ec_curve_of_pem(text),
            key.try_get_as_bytes().map(<[u8]>::len),
        ) {
            (Some(curve), Ok(65)) if curve == AlgSet::ES256 => curve,
            (Some(curve), Ok(97)) if curve == AlgSet::ES384 => curve,
            _ => {
                return Err(ConfigError::Key {
                    variable,
                    reason: "only EC keys on P-256 and P-384 are supported",
                });
            }
        };
        return Ok(VerifyingKey {
            kid,
            algorithms,
            material: Material::Jwt(key),
        });
    }
    if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        return Ok(VerifyingKey {
            kid,
            algorithms: AlgSet::EDDSA,
            material: Material::Jwt(key),
        });
    }
    Err(ConfigError::Key {
        variable,
        reason: "not a PEM public key of a supported type (RSA, EC P-256/P-384, Ed25519)",
    })
}

/// The named curve of an EC `PUBLIC KEY` PEM (a SubjectPublicKeyInfo), as the algorithm set
/// it verifies: P-256 or P-384, `None` for any other curve or shape.
fn ec_curve_of_pem(text: &str) -> Option<AlgSet> {
    let pem = ::pem::parse(text).ok()?;
    if pem.tag() != "PUBLIC KEY" {
        return None;
    }
    // SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID curve }, BIT STRING }
    let blocks = simple_asn1::from_der(pem.contents()).ok()?;
    let [ASN1Block::Sequence(_, spki)] = blocks.as_slice() else {
        return None;
    };
    let [ASN1Block::Sequence(_, algorithm), ASN1Block::BitString(..)] = spki.as_slice() else {
        return None;
    };
    let [
        ASN1Block::ObjectIdentifier(_, kind),
        ASN1Block::ObjectIdentifier(_, curve),
    ] = algorithm.as_slice()
    else {
        return None;
    };
    if *kind != oid!(1, 2, 840, 10045, 2, 1) {
        return None;
    }
    if *curve == oid!(1, 2, 840, 10045, 3, 1, 7) {
        Some(AlgSet::ES256)
    } else if *curve == oid!(1, 3, 132, 0, 34) {
        Some(AlgSet::ES384)
    } else {
        None
    }
}

/// The modulus size of an RSA key decoded from PEM or from a JWK.
pub(super) fn rsa_modulus_bits(key: &DecodingKey) -> u64 {
    use jsonwebtoken::DecodingKeyKind;
    match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, .. } => BigUint::from_bytes_be(n).bits(),
        DecodingKeyKind::SecretOrDer(der) => pkcs1_modulus_bits(der).unwrap_or(0),
    }
}

/// The size of the modulus of a DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, e INTEGER }`
/// (what `jsonwebtoken` keeps of an RSA PEM, PKCS#1 or SubjectPublicKeyInfo alike).
fn pkcs1_modulus_bits(der: &[u8]) -> Option<u64> {
    let blocks = simple_asn1::from_der(der).ok()?;
    let [ASN1Block::Sequence(_, fields)] = blocks.as_slice() else {
        return None;
    };
    let [ASN1Block::Integer(_, modulus), ASN1Block::Integer(..)] = fields.as_slice() else {
        return None;
    };
    Some(modulus.bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modulus_size_is_read_from_a_pkcs1_der_and_a_malformed_one_gives_none() {
        // SEQUENCE { INTEGER 0x00 0x80.. (a 2048-bit modulus with its sign byte), INTEGER 3 }
        let mut der = vec![0x30, 0x82, 0x01, 0x08, 0x02, 0x82, 0x01, 0x01, 0x00, 0x80];
        der.extend([0u8; 255]);
        der.extend([0x02, 0x01, 0x03]);
        assert_eq!(pkcs1_modulus_bits(&der), Some(2048));
        assert_eq!(pkcs1_modulus_bits(&der[..40]), None);
        assert_eq!(pkcs1_modulus_bits(&[0x02, 0x01, 0x03]), None);
    }
}
