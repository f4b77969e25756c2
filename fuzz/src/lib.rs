//! Shared by the fuzz targets and the seed generator: the configurations under test, the
//! real-shaped tokens they accept or refuse, and the mapping from fuzz input to headers.
//!
//! Input format of the `check` target: byte 0 picks one of [`CONFIGS`]; the rest is split on
//! `\n` into header lines. A line `name: value` becomes that header; a line without `:` is a
//! value of the `approov-token` header (so a bare token is a valid input line).

use std::sync::OnceLock;

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tower_approov::{ApproovConfig, ApproovLayer, ApproovService, JsonRejection};
use tower_layer::Layer;

/// The HS256 secret of every configuration. Fuzzing only: public.
pub const SECRET: &[u8; 64] = b"fuzz-only-secret-fuzz-only-secret-fuzz-only-secret-fuzz-only-sec";
/// A P-256 key pair made for fuzzing only (public, never use it elsewhere).
pub const ES256_PRIVATE_PEM: &[u8] = include_bytes!("../keys/es256-private.pem");
/// The public half of [`ES256_PRIVATE_PEM`].
pub const ES256_PUBLIC_PEM: &[u8] = include_bytes!("../keys/es256-public.pem");
/// The `exp` of every valid seed: a real Approov-shaped float, in 2119.
pub const FAR_EXP: f64 = 4_708_683_205.891_912;
/// The `Authorization` value the binding seeds are bound to.
pub const BOUND_AUTH: &str = "Bearer fuzz-user";
/// The `x-user` value of the two-header binding seed.
pub const BOUND_USER: &str = "42";

/// The configurations under test, picked by the first input byte.
pub const CONFIGS: usize = 5;

/// One service per configuration. `check` is the whole per-request check.
pub fn services() -> &'static [ApproovService<(), JsonRejection>] {
    static SERVICES: OnceLock<Vec<ApproovService<(), JsonRejection>>> = OnceLock::new();
    SERVICES.get_or_init(|| {
        let hs = || {
            ApproovConfig::builder()
                .with_secret(SECRET, None)
                .expect("secret")
        };
        let configs = [
            // 0: the defaults (cache on, no prefix, no binding).
            hs().build(),
            // 1: a `Bearer` prefix, cache off.
            hs().with_token_prefix("Bearer")
                .with_token_cache_size(0)
                .build(),
            // 2: binding on `Authorization`, a short maximum length, a tiny cache.
            hs().with_token_binding(["Authorization"])
                .expect("binding")
                .with_max_token_length(512)
                .with_token_cache_size(16)
                .build(),
            // 3: a secret under a kid and an ES256 key, issuer and audience required.
            ApproovConfig::builder()
                .with_secret(SECRET, Some("0001"))
                .expect("secret")
                .with_public_key_pem(ES256_PUBLIC_PEM, Some("es1"))
                .expect("pem")
                .with_issuer(["fuzz.approov.io"])
                .with_audience(["api.example.com"])
                .with_token_cache_size(100)
                .build(),
            // 4: binding on two headers, failover tokens (no `pay`) allowed.
            hs().with_token_binding(["Authorization", "X-User"])
                .expect("binding")
                .with_allow_missing_pay(true)
                .build(),
        ];
        configs
            .into_iter()
            .map(|c| ApproovLayer::new(c.expect("config")).layer(()))
            .collect()
    })
}

/// A real-shaped token with the headers that go with it and the configurations it passes in.
#[derive(Debug, Clone)]
pub struct Seed {
    /// A file-name-friendly name.
    pub name: &'static str,
    /// The token text.
    pub token: String,
    /// Other headers the request carries (binding headers).
    pub headers: Vec<(&'static str, String)>,
    /// The configurations that accept this token with these headers.
    pub valid_in: &'static [usize],
}

fn hs(claims: &Value, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(SECRET).expect("key"),
    )
    .expect("mint")
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn raw(header: &Value, claims: &Value, sig: &str) -> String {
    format!("{}.{}.{sig}", b64(header), b64(claims))
}

/// Every seed token. The valid ones are minted deterministically (HS256), except the ES256 one
/// whose signature is randomised; the oracle compares signed messages, not signatures.
pub fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let base = json!({"exp": FAR_EXP, "did": "ExampleDeviceID0123456789==", "ip": "1.2.3.4"});
        let with = |extra: Value| {
            let mut v = base.clone();
            for (k, x) in extra.as_object().expect("object") {
                v[k] = x.clone();
            }
            v
        };
        let addressed = with(json!({"iss": "fuzz.approov.io", "aud": "api.example.com"}));
        let pay1 = tower_approov::pay_claim_for([BOUND_AUTH.as_bytes()]);
        let pay2 = tower_approov::pay_claim_for([BOUND_AUTH.as_bytes(), BOUND_USER.as_bytes()]);
        let es = {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some("es1".into());
            let key = EncodingKey::from_ec_pem(ES256_PRIVATE_PEM).expect("es key");
            encode(&header, &addressed, &key).expect("mint es256")
        };
        let valid = hs(&base, None);
        let (message, _) = valid.rsplit_once('.').expect("three parts");
        let hs256 = json!({"alg": "HS256", "typ": "JWT"});
        let s = |name, token: String, valid_in: &'static [usize]| Seed {
            name,
            token,
            headers: Vec::new(),
            valid_in,
        };
        vec![
            s("valid", valid.clone(), &[0, 1, 4]),
            s(
                "valid_int_exp",
                hs(&with(json!({"exp": 4_708_683_205u64})), None),
                &[0, 1, 4],
            ),
            s("kid", hs(&base, Some("0001")), &[0, 1, 4]),
            s("aud_iss_kid", hs(&addressed, Some("0001")), &[0, 1, 3, 4]),
            s(
                "arc_ipk",
                hs(
                    &with(json!({"arc": "ABCD", "ipk": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"})),
                    None,
                ),
                &[0, 1, 4],
            ),
            Seed {
                name: "pay",
                token: hs(&with(json!({"pay": pay1})), None),
                headers: vec![("authorization", BOUND_AUTH.into())],
                valid_in: &[0, 1, 2],
            },
            Seed {
                name: "pay_two_headers",
                token: hs(&with(json!({"pay": pay2})), None),
                headers: vec![
                    ("authorization", BOUND_AUTH.into()),
                    ("x-user", BOUND_USER.into()),
                ],
                valid_in: &[0, 1, 4],
            },
            s("es256", es, &[3]),
            s("prefixed", format!("Bearer {valid}"), &[1]),
            s(
                "expired",
                hs(&with(json!({"exp": 1_000_000_000.5})), None),
                &[],
            ),
            s(
                "exp_string",
                hs(&with(json!({"exp": "4708683205"})), None),
                &[],
            ),
            s("exp_null", hs(&with(json!({"exp": null})), None), &[]),
            s("no_exp", hs(&json!({"did": "x"}), None), &[]),
            s(
                "nbf_future",
                hs(&with(json!({"nbf": FAR_EXP - 1.0})), None),
                &[],
            ),
            s(
                "pay_wrong",
                hs(&with(json!({"pay": "AAAA"})), None),
                &[0, 1],
            ),
            s("alg_none", raw(&json!({"alg": "none"}), &base, ""), &[]),
            s(
                "hs512",
                {
                    let h = Header::new(Algorithm::HS512);
                    encode(&h, &base, &EncodingKey::from_secret(SECRET).expect("key"))
                        .expect("mint")
                },
                &[],
            ),
            s(
                "bad_signature",
                format!("{message}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                &[],
            ),
            s(
                "crit",
                raw(&json!({"alg": "HS256", "crit": ["x"]}), &base, "AAAA"),
                &[],
            ),
            s("enc", raw(&json!({"enc": "A256GCM"}), &base, "AAAA"), &[]),
            s(
                "jwe_five_parts",
                format!(
                    "{}.a.b.c.d",
                    b64(&json!({"alg": "RSA-OAEP", "enc": "A256GCM"}))
                ),
                &[],
            ),
            s("array_payload", raw(&hs256, &json!([1, 2]), "AAAA"), &[]),
            s("garbage", "not.a.valid-token".into(), &[]),
        ]
    })
}

/// The input file for a seed under a configuration.
pub fn encode_input(config: usize, token: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let mut out = vec![config as u8];
    out.extend_from_slice(token.as_bytes());
    for (name, value) in headers {
        out.push(b'\n');
        out.extend_from_slice(format!("{name}: {value}").as_bytes());
    }
    out
}

/// Decodes a fuzz input into a configuration index and a header map. Lines that are not a
/// valid header name or value are dropped, as a server would never pass them on.
pub fn decode_input(data: &[u8]) -> Option<(usize, HeaderMap)> {
    let (&first, rest) = data.split_first()?;
    let mut headers = HeaderMap::new();
    for line in rest.split(|b| *b == b'\n') {
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(i) => (
                HeaderName::from_bytes(line[..i].trim_ascii()).ok(),
                &line[i + 1..],
            ),
            None => (Some(HeaderName::from_static("approov-token")), line),
        };
        let value = HeaderValue::from_bytes(value.trim_ascii_start()).ok();
        if let (Some(name), Some(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    Some((first as usize % CONFIGS, headers))
}

fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
    let mut all = headers.get_all(name).iter();
    match (all.next(), all.next()) {
        (Some(v), None) => Some(v.as_bytes()),
        _ => None,
    }
}

/// The oracle: panics if `config` accepted a request that no valid seed stands for.
///
/// An accepted request must carry exactly one token header, whose token (prefix stripped in
/// config 1) signs the same message as a seed valid in this configuration; with binding on, the
/// bound headers must hash as the seed's did.
pub fn assert_acceptable(config: usize, headers: &HeaderMap) {
    let value =
        single(headers, "approov-token").expect("accepted without exactly one token header");
    let mut token = std::str::from_utf8(value)
        .expect("accepted a non-UTF-8 token")
        .trim();
    if config == 1 && token.len() >= 6 && token[..6].eq_ignore_ascii_case("bearer") {
        token = token[6..].trim_start();
    }
    let (message, _) = token
        .rsplit_once('.')
        .expect("accepted a token without a dot");
    let seed = seeds()
        .iter()
        .filter(|s| s.valid_in.contains(&config))
        .find(|s| s.token.rsplit_once('.').is_some_and(|(m, _)| m == message))
        .unwrap_or_else(|| panic!("config {config} accepted an unknown message {message:?}"));
    match config {
        2 => assert_eq!(
            single(headers, "authorization"),
            Some(BOUND_AUTH.as_bytes()),
            "binding bypassed for seed {}",
            seed.name
        ),
        4 if !seed.headers.is_empty() => {
            let auth = single(headers, "authorization")
                .expect("binding header")
                .trim_ascii();
            let user = single(headers, "x-user")
                .expect("binding header")
                .trim_ascii();
            assert_eq!(
                [auth, user].concat(),
                [BOUND_AUTH, BOUND_USER].concat().into_bytes(),
                "binding bypassed for seed {}",
                seed.name
            );
        }
        _ => {}
    }
}

/// Seeds of the `signature_headers` target: `Signature-Input`, `Signature` and
/// `Content-Digest` values separated by `\n`, in the shapes Approov's SDKs send (iOS: byte
/// sequences; Android: strings).
pub fn signature_seeds() -> Vec<Vec<u8>> {
    let input = r#"install=("@method" "@target-uri" "approov-token" "content-type" "content-digest");alg="ecdsa-p256-sha256";created=1732791234;expires=1732791249"#;
    let sig = "A".repeat(86);
    [
        format!("{input}\ninstall=:{sig}==:\nsha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"),
        format!("{input}\ninstall=\"{sig}==\"\nsha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\""),
        format!(
            "install=(\"@method\" \"@target-uri\" \"approov-token\");alg=\"ecdsa-p256-sha256\";created=1732791234;keyid=\"k\";nonce=\"n\";tag=\"t\"\ninstall=:{sig}==:\nsha-512=:{}==:",
            "B".repeat(86)
        ),
        format!("{input}, account=(\"@method\");alg=\"hmac-sha256\";created=1\ninstall=:{sig}==:, account=:AAAA:\n"),
        "install=();alg=\"rsa-pss-sha512\"\ninstall=:AAAA:\nsha-256=:AAAA:".to_owned(),
        "sig1=(\"@method\");created=1.5\nsig1=?1\n".to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}
