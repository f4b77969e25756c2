//! Key material: HS256 secrets, public keys from PEM, JWKS; selection by `kid`.
//!
//! Every key knows the exact algorithms it may verify. This is what makes algorithm confusion
//! impossible: an HS256 token is only ever checked against a secret, never against the bytes
//! of a public key, whatever its header says.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "aws_lc_rs")]
use base64::Engine as _;
#[cfg(feature = "aws_lc_rs")]
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::check::error::ApproovErrorKind;

mod jwk;
mod pem;
#[cfg(feature = "jwks-url")]
pub(crate) mod remote;
mod secret;

pub(crate) use jwk::keys_from_jwks;
#[cfg(feature = "jwks-url")]
pub(crate) use jwk::parse_jwks;
pub(crate) use pem::key_from_pem;
pub(crate) use secret::Secret;

/// A set of algorithms, as a bit mask over [`ALGORITHMS`].
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AlgSet(u16);

/// The algorithms this crate can verify, in bit order.
const ALGORITHMS: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

impl AlgSet {
    pub(crate) const HS256: AlgSet = AlgSet(1);
    pub(crate) const RSA: AlgSet = AlgSet(0b1_1111_1000);
    pub(crate) const ES256: AlgSet = AlgSet(1 << 9);
    pub(crate) const ES384: AlgSet = AlgSet(1 << 10);
    pub(crate) const EDDSA: AlgSet = AlgSet(1 << 11);
    /// Every algorithm a JWKS URL can provide a key for.
    pub(crate) const ASYMMETRIC: AlgSet =
        AlgSet(Self::RSA.0 | Self::ES256.0 | Self::ES384.0 | Self::EDDSA.0);

    pub(crate) fn of(alg: Algorithm) -> AlgSet {
        ALGORITHMS
            .iter()
            .position(|a| *a == alg)
            .map_or(AlgSet(0), |i| AlgSet(1 << i))
    }

    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        let bit = Self::of(alg).0;
        bit != 0 && self.0 & bit == bit
    }

    pub(crate) fn union(self, other: AlgSet) -> AlgSet {
        AlgSet(self.0 | other.0)
    }

    pub(crate) fn intersect(self, other: AlgSet) -> AlgSet {
        AlgSet(self.0 & other.0)
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for AlgSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(ALGORITHMS.iter().filter(|a| self.contains(**a)))
            .finish()
    }
}

/// Parses a JOSE `alg` name into one of the algorithms this crate knows.
///
/// Returns `None` for `none`, for names of other specs, and for anything unknown.
pub(crate) fn parse_alg(name: &str) -> Option<Algorithm> {
    Some(match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// One key that can verify tokens.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    kid: Option<Box<str>>,
    algorithms: AlgSet,
    material: Material,
}

/// What does the verifying.
#[derive(Clone)]
enum Material {
    /// A `jsonwebtoken` key, verified through its crypto provider.
    Jwt(DecodingKey),
    /// An HS256 secret as an aws-lc HMAC key, prepared once: its inner and outer pad states are
    /// computed at start-up instead of on every token, and aws-lc wipes them on drop, whereas a
    /// `DecodingKey` keeps a copy of the secret that is never wiped.
    #[cfg(feature = "aws_lc_rs")]
    Hmac(Box<aws_lc_rs::hmac::Key>),
}

impl VerifyingKey {
    /// Checks a token's signature (its third segment, base64url) over `message` (its first two
    /// segments) with this key, for `alg`, which the caller has checked this key accepts.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &str,
    ) -> Result<(), ApproovErrorKind> {
        match &self.material {
            #[cfg(feature = "aws_lc_rs")]
            Material::Hmac(key) => {
                let mut tag = [0u8; 32];
                match URL_SAFE_NO_PAD.decode_slice(signature, &mut tag) {
                    Ok(32) => {}
                    // Valid base64 of the wrong length: not an HS256 signature.
                    Ok(_) | Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
                        return Err(ApproovErrorKind::InvalidSignature);
                    }
                    Err(base64::DecodeSliceError::DecodeError(_)) => {
                        return Err(ApproovErrorKind::MalformedToken);
                    }
                }
                aws_lc_rs::hmac::verify(key, message, &tag)
                    .map_err(|_| ApproovErrorKind::InvalidSignature)
            }
            Material::Jwt(key) => {
                match jsonwebtoken::crypto::verify(signature, message, key, alg) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(ApproovErrorKind::InvalidSignature),
                    Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::Base64(_)) => {
                        Err(ApproovErrorKind::MalformedToken)
                    }
                    Err(_) => Err(ApproovErrorKind::InvalidSignature),
                }
            }
        }
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether `self` and `other` are the same key for the same algorithms under the same `kid`.
    #[cfg_attr(not(feature = "jwks-url"), allow(dead_code))]
    pub(crate) fn same_as(&self, other: &VerifyingKey) -> bool {
        use jsonwebtoken::DecodingKeyKind;
        self.kid == other.kid
            && self.algorithms == other.algorithms
            && match (&self.material, &other.material) {
                (Material::Jwt(a), Material::Jwt(b)) => match (a.kind(), b.kind()) {
                    (DecodingKeyKind::SecretOrDer(a), DecodingKeyKind::SecretOrDer(b)) => a == b,
                    (
                        DecodingKeyKind::RsaModulusExponent { n: n1, e: e1 },
                        DecodingKeyKind::RsaModulusExponent { n: n2, e: e2 },
                    ) => n1 == n2 && e1 == e2,
                    _ => false,
                },
                // Prepared HMAC keys cannot be compared; secrets never come from a URL anyway.
                #[cfg(feature = "aws_lc_rs")]
                _ => false,
            }
    }

    /// Whether `self` and `other` share a `kid` (or both have none) and an algorithm, so that
    /// a token could not tell them apart. Two kid-less secrets, say `old,new` without kids,
    /// would make every HS256 token ambiguous: that is refused at start-up rather than at
    /// every request.
    pub(crate) fn collides_with(&self, other: &VerifyingKey) -> bool {
        self.kid == other.kid && !self.algorithms.intersect(other.algorithms).is_empty()
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// The keys in force at one moment. Immutable: a refresh builds a new set and swaps it in.
#[derive(Default, Clone)]
pub(crate) struct KeySet {
    keys: Vec<VerifyingKey>,
    algorithms: AlgSet,
    /// A remote source (a JWKS URL) has not delivered its keys yet: a token that no key here
    /// can verify fails with [`ApproovErrorKind::KeysUnavailable`], since its key may well be
    /// among the ones still missing.
    pending: bool,
    /// Some keys come from a JWKS URL, so a key missing now may appear at the next fetch.
    refreshable: bool,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.keys).finish()
    }
}

impl KeySet {
    pub(crate) fn push(&mut self, key: VerifyingKey) {
        self.algorithms = self.algorithms.union(key.algorithms);
        self.keys.push(key);
    }

    pub(crate) fn extend(&mut self, other: KeySet) {
        for key in other.keys {
            self.push(key);
        }
    }

    /// The first key whose `kid` and algorithms collide with an earlier key's, if any: such a
    /// pair is ambiguous, since the token's `kid` could not say which one signed it.
    pub(crate) fn collision(&self) -> Option<&VerifyingKey> {
        self.keys
            .iter()
            .enumerate()
            .find(|(i, k)| self.keys[..*i].iter().any(|e| e.collides_with(k)))
            .map(|(_, k)| k)
    }

    /// Marks the set as still waiting for the keys of a remote source.
    #[cfg_attr(not(feature = "jwks-url"), allow(dead_code))]
    pub(crate) fn set_pending(&mut self, pending: bool) {
        self.pending = pending;
    }

    /// Marks the set as (partly) fetched from a JWKS URL.
    #[cfg_attr(not(feature = "jwks-url"), allow(dead_code))]
    pub(crate) fn set_refreshable(&mut self, refreshable: bool) {
        self.refreshable = refreshable;
    }

    #[cfg_attr(not(feature = "jwks-url"), allow(dead_code))]
    pub(crate) fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    #[cfg_attr(not(feature = "jwks-url"), allow(dead_code))]
    pub(crate) fn into_keys(self) -> Vec<VerifyingKey> {
        self.keys
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether any key here accepts `alg`.
    pub(crate) fn accepts(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(alg)
    }

    /// Picks the key for a token's `alg` and `kid`.
    ///
    /// - A `kid` that a key has selects that key, which must accept `alg`.
    /// - A `kid` that no key has is tolerated only when exactly one key accepts `alg` and that
    ///   key has no `kid` of its own: Approov can add a `kid` to tokens signed with the single
    ///   account secret (`approov secret -setKeyID`), and that must not break verification.
    /// - No `kid`: exactly one key must accept `alg`.
    ///
    /// While a remote source has not delivered its keys, every failure here is
    /// [`ApproovErrorKind::KeysUnavailable`].
    pub(crate) fn select(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<&VerifyingKey, ApproovErrorKind> {
        self.select_among_loaded(alg, kid).map_err(|kind| {
            if self.pending {
                ApproovErrorKind::KeysUnavailable
            } else {
                kind
            }
        })
    }

    fn select_among_loaded(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<&VerifyingKey, ApproovErrorKind> {
        if !self.accepts(alg) {
            // The account may have moved to a key set of another algorithm that the JWKS URL
            // publishes but the last fetch did not have: an asymmetric token naming a `kid`
            // that no key has is then an unknown `kid` (which asks for a fetch), not a refusal
            // of its algorithm. Nothing verifies it either way.
            let unknown_kid = kid.is_some_and(|kid| self.keys.iter().all(|k| k.kid() != Some(kid)));
            if self.refreshable && unknown_kid && AlgSet::ASYMMETRIC.contains(alg) {
                return Err(ApproovErrorKind::UnknownKeyId);
            }
            return Err(ApproovErrorKind::AlgorithmNotAllowed);
        }
        if let Some(kid) = kid {
            let mut named = self.keys.iter().filter(|k| k.kid() == Some(kid)).peekable();
            if named.peek().is_some() {
                return named
                    .find(|k| k.algorithms.contains(alg))
                    .ok_or(ApproovErrorKind::AlgorithmNotAllowed);
            }
            let mut candidates = self.keys.iter().filter(|k| k.algorithms.contains(alg));
            return match (candidates.next(), candidates.next()) {
                (Some(only), None) if only.kid.is_none() => Ok(only),
                _ => Err(ApproovErrorKind::UnknownKeyId),
            };
        }
        let mut candidates = self.keys.iter().filter(|k| k.algorithms.contains(alg));
        match (candidates.next(), candidates.next()) {
            (Some(only), None) => Ok(only),
            _ => Err(ApproovErrorKind::NoMatchingKey),
        }
    }
}

/// Where the keys come from: a fixed set, or a set that a background refresher replaces.
///
/// The request path only ever calls [`KeyStore::load`], which is lock-free: a refresh builds a
/// whole new [`KeySet`] and swaps it in, so a request never waits for a fetch.
#[derive(Clone)]
pub(crate) struct KeyStore {
    published: Arc<Published>,
    #[cfg(feature = "jwks-url")]
    remote: Option<Arc<remote::Remote>>,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("KeyStore");
        d.field("keys", &self.published.current.load().len());
        #[cfg(feature = "jwks-url")]
        d.field("remote", &self.remote);
        d.finish()
    }
}

/// The keys in force, and the revocation epoch that says when tokens verified earlier may no
/// longer be answered for from the verified-token cache.
///
/// # Why two bumps per removal
///
/// The cache tags each entry with the epoch read *before* its token was verified, and a hit
/// counts only when its tag equals the epoch now; a tag is never odd (see
/// [`Verifier::verify_and_remember`](crate::check::verify::Verifier::verify_and_remember)). A
/// removal bumps the epoch to an odd number, swaps the new set in, and bumps it to even again:
///
/// - A thread that sees the new set has synchronised with the swap, so its next read of the
///   epoch sees at least the first bump: every entry tagged before is refused from then on.
///   (Bumping only after the swap would leave a moment where the new set is visible and the
///   old entries still count.)
/// - A verification that read the final, even epoch then loads the keys after the swap, so
///   no entry with that tag can come from a removed key. (Bumping only before the swap would
///   let a verification read the new epoch, load the old keys, and tag its entry with an epoch
///   that stays current.)
/// - While the epoch is odd, no entry counts.
///
/// A hit thus costs one atomic load, and no clear of the cache is needed for correctness: the
/// cache is still emptied once after a removal, as housekeeping, since its entries are dead.
pub(crate) struct Published {
    current: arc_swap::ArcSwap<KeySet>,
    /// Even while no removal is under way, odd during one.
    epoch: AtomicU64,
    /// The epoch the verified-token cache was last emptied for (housekeeping only).
    cleared_epoch: AtomicU64,
}

impl Published {
    pub(crate) fn new(keys: KeySet) -> Self {
        Self {
            current: arc_swap::ArcSwap::from_pointee(keys),
            epoch: AtomicU64::new(0),
            cleared_epoch: AtomicU64::new(0),
        }
    }

    /// Puts `keys` in force. `removes`: a key in force now is not in `keys` (or no longer
    /// verifies what it did), so tokens verified until now must not be answered for from the
    /// cache any more.
    #[cfg_attr(not(any(test, feature = "jwks-url")), allow(dead_code))]
    pub(crate) fn publish(&self, keys: KeySet, removes: bool) {
        if removes {
            // SeqCst throughout: the order of these three writes is the whole argument above.
            self.epoch.fetch_add(1, Ordering::SeqCst);
            self.current.store(Arc::new(keys));
            self.epoch.fetch_add(1, Ordering::SeqCst);
        } else {
            self.current.store(Arc::new(keys));
        }
    }

    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<KeySet>> {
        self.current.load()
    }
}

impl KeyStore {
    pub(crate) fn fixed(keys: KeySet) -> Self {
        Self {
            published: Arc::new(Published::new(keys)),
            #[cfg(feature = "jwks-url")]
            remote: None,
        }
    }

    /// The keys in force now.
    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<KeySet>> {
        self.published.load()
    }

    /// Puts `keys` in force, as a refresh does (see [`Published::publish`]).
    #[cfg(test)]
    pub(crate) fn publish(&self, keys: KeySet, removes: bool) {
        self.published.publish(keys, removes);
    }

    /// Whether every key source can verify: always for fixed keys; for a JWKS URL, once a
    /// fetch delivered its keys, and until they are dropped as too old.
    pub(crate) fn ready(&self) -> bool {
        !self.load().pending
    }

    /// Called when a token names a `kid` that no key has, or when no remote key is in force:
    /// asks the refresher for an early fetch (rate-limited, coalesced). Never blocks.
    pub(crate) fn on_unknown_kid(&self) {
        #[cfg(feature = "jwks-url")]
        if let Some(remote) = &self.remote {
            remote.request_refresh();
        }
    }

    /// The revocation epoch now: a cache entry counts only if it was tagged with this value
    /// (see [`Published`]). One atomic load.
    pub(crate) fn revocation_epoch(&self) -> u64 {
        self.published.epoch.load(Ordering::SeqCst)
    }

    /// Whether `epoch` may tag a cache entry: not while a removal is under way.
    pub(crate) fn settled(epoch: u64) -> bool {
        epoch.is_multiple_of(2)
    }

    /// Whether the cache should be emptied now, as housekeeping: a removal finished at
    /// `epoch` since the last call that returned `true`. Exactly one caller sees each change.
    pub(crate) fn take_revocation(&self, epoch: u64) -> bool {
        let cleared = self.published.cleared_epoch.load(Ordering::Acquire);
        Self::settled(epoch)
            && cleared != epoch
            && self
                .published
                .cleared_epoch
                .compare_exchange(cleared, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_set_contains_only_its_members() {
        assert!(AlgSet::HS256.contains(Algorithm::HS256));
        assert!(!AlgSet::HS256.contains(Algorithm::HS384));
        assert!(AlgSet::RSA.contains(Algorithm::PS512));
        assert!(!AlgSet::RSA.contains(Algorithm::ES256));
        assert!(!AlgSet::ES256.contains(Algorithm::ES384));
    }

    #[test]
    fn an_algorithm_set_debug_lists_its_algorithms() {
        assert_eq!(
            format!("{:?}", AlgSet::RSA.union(AlgSet::EDDSA)),
            "{RS256, RS384, RS512, PS256, PS384, PS512, EdDSA}"
        );
    }

    /// The one key of a JWKS holding this one JWK, as a JWKS URL would give it.
    fn jwk_key(jwk: &str) -> VerifyingKey {
        crate::check::config::ensure_crypto_provider().unwrap();
        keys_from_jwks(format!(r#"{{"keys":[{jwk}]}}"#).as_bytes(), false, "test")
            .unwrap()
            .into_keys()
            .remove(0)
    }

    /// One P-256 key (RFC 7515 appendix A.3's) as a JWK under `kid`.
    fn ec_key(kid: &str) -> VerifyingKey {
        jwk_key(&format!(
            r#"{{"kty":"EC","crv":"P-256","kid":"{kid}","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}}"#
        ))
    }

    #[test]
    fn a_refetched_key_is_the_same_key_and_one_under_another_kid_is_not() {
        // A refresh that fetches the same keys removes none: cached tokens stay.
        assert!(ec_key("k").same_as(&ec_key("k")));
        assert!(!ec_key("k").same_as(&ec_key("k2")));
    }

    /// RFC 7515 appendix A.2's 2048-bit RSA modulus.
    const RSA_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

    /// An RSA public key as a JWK under `kid`.
    fn rsa_key(kid: &str, n: &str, e: &str) -> VerifyingKey {
        jwk_key(&format!(
            r#"{{"kty":"RSA","alg":"RS256","kid":"{kid}","n":"{n}","e":"{e}"}}"#
        ))
    }

    #[test]
    fn a_refetched_rsa_key_is_the_same_key_and_one_with_another_modulus_or_exponent_is_not() {
        let other_n = RSA_N.replacen("ofgW", "ofgX", 1);
        assert!(rsa_key("k", RSA_N, "AQAB").same_as(&rsa_key("k", RSA_N, "AQAB")));
        assert!(!rsa_key("k", RSA_N, "AQAB").same_as(&rsa_key("k", &other_n, "AQAB")));
        assert!(!rsa_key("k", RSA_N, "AQAB").same_as(&rsa_key("k", RSA_N, "Aw")));
        assert!(!rsa_key("k", RSA_N, "AQAB").same_as(&ec_key("k")));
    }

    #[test]
    fn a_key_set_debug_lists_its_keys_and_never_their_material() {
        let mut set = KeySet::default();
        set.push(ec_key("k1"));
        assert_eq!(
            format!("{set:?}"),
            "[VerifyingKey { kid: Some(\"k1\"), algorithms: {ES256}, key: \"[redacted]\" }]"
        );
    }

    #[test]
    fn the_asymmetric_set_is_every_algorithm_a_jwks_url_can_give_and_no_hmac() {
        for alg in ALGORITHMS {
            let hmac = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
            assert_eq!(AlgSet::ASYMMETRIC.contains(alg), !hmac, "{alg:?}");
        }
    }
}
