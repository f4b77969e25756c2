//! Keys from a JWKS document (a local file or string, or a URL through `remote`).

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::pem::rsa_modulus_bits;
use super::{AlgSet, KeySet, Material, VerifyingKey};
use crate::check::error::ConfigError;

/// Parses a JWKS document. Keys that this crate cannot use are skipped with a warning; a set
/// with no usable key is an error.
pub(crate) fn keys_from_jwks(
    json: &[u8],
    allow_secrets: bool,
    variable: &'static str,
) -> Result<KeySet, ConfigError> {
    parse_jwks(json, allow_secrets, variable)
        .map_err(|reason| ConfigError::Key { variable, reason })
}

/// [`keys_from_jwks`] with the reason of a failure as text, for the remote refresher's logs.
pub(crate) fn parse_jwks(
    json: &[u8],
    allow_secrets: bool,
    variable: &'static str,
) -> Result<KeySet, &'static str> {
    let set: JwkSet =
        serde_json::from_slice(json).map_err(|_| "not a JWKS JSON document ({\"keys\": [...]})")?;
    let mut keys = KeySet::default();
    for jwk in &set.keys {
        match key_from_jwk(jwk, allow_secrets) {
            Ok(key) if keys.keys.iter().any(|k| k.collides_with(&key)) => tracing::warn!(
                variable,
                kid = jwk.common.key_id.as_deref().unwrap_or(""),
                "skipping a JWK whose kid an earlier JWK of the same algorithm already has"
            ),
            Ok(key) => keys.push(key),
            Err(reason) => tracing::warn!(
                variable,
                kid = jwk.common.key_id.as_deref().unwrap_or(""),
                reason,
                "skipping a JWK that cannot be used"
            ),
        }
    }
    if keys.is_empty() {
        return Err("the JWKS holds no usable key");
    }
    Ok(keys)
}

fn key_from_jwk(jwk: &Jwk, allow_secrets: bool) -> Result<VerifyingKey, &'static str> {
    use jsonwebtoken::jwk::{KeyOperations, PublicKeyUse};
    // A key published for encryption, or for operations other than verifying, must not
    // verify tokens: that is what its publisher said.
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return Err("the JWK's `use` is not `sig`");
    }
    if let Some(ops) = &jwk.common.key_operations
        && !ops.contains(&KeyOperations::Verify)
    {
        return Err("the JWK's `key_ops` do not include `verify`");
    }
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgSet::RSA,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => AlgSet::ES256,
            EllipticCurve::P384 => AlgSet::ES384,
            _ => return Err("unsupported EC curve"),
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => AlgSet::EDDSA,
            _ => return Err("unsupported OKP curve"),
        },
        AlgorithmParameters::OctetKey(_) if allow_secrets => AlgSet::HS256,
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric keys are not accepted from a URL");
        }
        _ => return Err("unsupported key type"),
    };
    // A JWK that names its algorithm verifies that algorithm only.
    let algorithms = match jwk.common.key_algorithm {
        Some(alg) => family.intersect(AlgSet::of(jwk_alg(alg).ok_or("unsupported alg")?)),
        None => family,
    };
    if algorithms.is_empty() {
        return Err("the JWK's alg does not match its key type");
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "the key parameters are invalid")?;
    if algorithms == AlgSet::RSA.intersect(algorithms) {
        let bits = rsa_modulus_bits(&key);
        if !(2048..=4096).contains(&bits) {
            return Err("RSA keys must have 2048 to 4096 bits");
        }
    }
    Ok(VerifyingKey {
        kid: jwk.common.key_id.clone().map(String::into_boxed_str),
        algorithms,
        material: Material::Jwt(key),
    })
}

fn jwk_alg(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::HS256 => Algorithm::HS256,
        KeyAlgorithm::HS384 => Algorithm::HS384,
        KeyAlgorithm::HS512 => Algorithm::HS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}
