//! What the replay tests share: signed GETs written out by hand (the base from APPROOV.md,
//! signed with the installation key or an account key directly, never by `RequestSigner`),
//! and the other valid form of an ECDSA P-256 signature, computed here apart from the crate.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tower_approov::test_util::InstallationKey;

use crate::sdk_support::{self, account_mac, sdk_params, sdk_params_for, signature_headers};

/// The order `n` of P-256, as four big-endian 64-bit limbs.
const N: [u64; 4] = [
    0xffff_ffff_0000_0000,
    0xffff_ffff_ffff_ffff,
    0xbce6_faad_a717_9e84,
    0xf3b9_cac2_fc63_2551,
];

/// `r || (n - s)`: the other signature that verifies as well as `r || s`.
pub fn other_form(signature: &[u8]) -> Vec<u8> {
    assert_eq!(signature.len(), 64);
    let limb = |i: usize| u64::from_be_bytes(signature[32 + 8 * i..40 + 8 * i].try_into().unwrap());
    let mut out = signature[..32].to_vec();
    let mut limbs = [0u64; 4];
    let mut borrow = false;
    for i in (0..4).rev() {
        let (d, b1) = N[i].overflowing_sub(limb(i));
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        limbs[i] = d;
        borrow = b1 || b2;
    }
    assert!(!borrow, "s was not below n");
    for l in limbs {
        out.extend_from_slice(&l.to_be_bytes());
    }
    out
}

/// The GET the tests replay: `/v1/orders?page=2` to `api.example.com`, its base written out.
pub struct SignedGet {
    pub token: String,
    pub input: String,
    pub signature: String,
}

const COMPONENTS: &str = r#""@method" "@target-uri" "approov-token""#;

fn base(token: &str, params: &str) -> String {
    format!(
        "\"@method\": GET\n\"@target-uri\": https://api.example.com/v1/orders?page=2\n\
         \"approov-token\": {token}\n\"@signature-params\": {params}"
    )
}

impl SignedGet {
    /// Signed by `key` (`install`), its token carrying the key's `ipk`.
    pub fn install(key: &InstallationKey) -> Self {
        Self::install_with(key, sdk_support::token(key))
    }

    /// Signed by `key` (`install`) with this token.
    pub fn install_with(key: &InstallationKey, token: String) -> Self {
        let params = sdk_params(COMPONENTS);
        let (input, signature) = signature_headers(key, &params, &base(&token, &params), false);
        Self {
            token,
            input,
            signature,
        }
    }

    /// Signed by the account key `key` of id `mskid` (`account`), its token carrying `mskid`.
    pub fn account(key: &[u8], mskid: &str) -> Self {
        let token = sdk_support::token_of(None, Some(mskid));
        let params = sdk_params_for("hmac-sha256", COMPONENTS);
        let mac = account_mac(key, &base(&token, &params));
        Self {
            token,
            input: format!("account={params}"),
            signature: format!("account=:{mac}:"),
        }
    }

    /// The same request with the `install` signature in its other valid form.
    pub fn with_other_form(&self) -> Self {
        let b64 = self
            .signature
            .strip_prefix("install=:")
            .and_then(|s| s.strip_suffix(':'))
            .expect("an install byte sequence");
        let other = STANDARD.encode(other_form(&STANDARD.decode(b64).unwrap()));
        Self {
            token: self.token.clone(),
            input: self.input.clone(),
            signature: format!("install=:{other}:"),
        }
    }

    /// The signature's `created`, in seconds since the epoch.
    pub fn created(&self) -> i64 {
        self.input
            .split(";created=")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Its header lines.
    pub fn headers(&self) -> Vec<(&str, &str)> {
        vec![
            ("Host", "api.example.com"),
            ("Approov-Token", &self.token),
            ("Signature-Input", &self.input),
            ("Signature", &self.signature),
        ]
    }

    /// Sends it to `addr` over a fresh connection.
    pub async fn send(&self, addr: std::net::SocketAddr) -> sdk_support::Answer {
        sdk_support::raw(addr, "GET /v1/orders?page=2 HTTP/1.1", &self.headers(), b"").await
    }
}

#[test]
fn the_other_form_of_a_signature_adds_up_to_n_with_it() {
    // s = 1: its other form is n - 1.
    let mut signature = vec![0u8; 64];
    signature[63] = 1;
    let other = other_form(&signature);
    assert_eq!(
        &other[32..],
        hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550")
    );
    assert_eq!(other_form(&other), signature);
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
