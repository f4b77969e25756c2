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
    /// The algorithm its signature is made with (the fuzz key of that algorithm verifies it).
    pub alg: Algorithm,
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
/// whose signature is randomised; the oracle compares signed messages, and verifies the
/// accepted token's own signature over the message with the fuzz key.
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
            alg: Algorithm::HS256,
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
                alg: Algorithm::HS256,
            },
            Seed {
                name: "pay_two_headers",
                token: hs(&with(json!({"pay": pay2})), None),
                headers: vec![
                    ("authorization", BOUND_AUTH.into()),
                    ("x-user", BOUND_USER.into()),
                ],
                valid_in: &[0, 1, 4],
                alg: Algorithm::HS256,
            },
            Seed {
                alg: Algorithm::ES256,
                ..s("es256", es, &[3])
            },
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

/// The fuzz ES256 public key as the uncompressed P-256 point `04 || x || y`: the last 65 bytes
/// of its SubjectPublicKeyInfo DER.
fn es256_public_point() -> &'static [u8] {
    static POINT: OnceLock<Vec<u8>> = OnceLock::new();
    POINT.get_or_init(|| {
        let text: String = std::str::from_utf8(ES256_PUBLIC_PEM)
            .expect("pem")
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("pem base64");
        assert_eq!(der.len(), 91, "a P-256 SubjectPublicKeyInfo");
        der[der.len() - 65..].to_vec()
    })
}

/// Whether `signature` (the token's third segment) is a valid `alg` signature of `message`
/// under the fuzz keys, checked here with `aws-lc-rs` directly: none of the crate's code, and
/// not `jsonwebtoken`'s JWS code that the crate builds on, takes part.
pub fn signature_verifies(alg: Algorithm, message: &[u8], signature: &str) -> bool {
    use aws_lc_rs::{hmac, signature as ecdsa};
    let Ok(signature) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    match alg {
        Algorithm::HS256 => {
            let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
            hmac::verify(&key, message, &signature).is_ok()
        }
        Algorithm::ES256 => {
            ecdsa::UnparsedPublicKey::new(&ecdsa::ECDSA_P256_SHA256_FIXED, es256_public_point())
                .verify(message, &signature)
                .is_ok()
        }
        other => panic!("no fuzz key for {other:?}"),
    }
}

/// The oracle: panics if `config` accepted a request that no valid seed stands for.
///
/// An accepted request must carry exactly one token header, whose token (prefix stripped in
/// config 1) signs the same message as a seed valid in this configuration, and whose signature
/// segment verifies over that message with the fuzz key of the seed's algorithm (HMAC-SHA256
/// with [`SECRET`], ES256 with [`ES256_PUBLIC_PEM`]), checked by [`signature_verifies`]; with
/// binding on, the bound headers must hash as the seed's did.
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
    let (_, signature) = token.rsplit_once('.').expect("checked above");
    assert!(
        signature_verifies(seed.alg, message.as_bytes(), signature),
        "config {config} accepted seed {}'s message with a signature that does not verify: \
         {signature:?}",
        seed.name
    );
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

/// The `signature_headers` target: the whole layer with message signing required.
///
/// Input: `method \n path-and-query \n Signature-Input \n Signature \n Content-Digest \n body`
/// (the body is the rest, newlines included). An empty header part leaves that header out.
/// Every request carries [`signing::token`], a valid token whose `ipk` is the fuzz key's.
pub mod signing {
    use std::convert::Infallible;
    use std::sync::OnceLock;

    use base64::Engine as _;
    use base64::alphabet::STANDARD;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use bytes::Bytes;
    use http::{HeaderValue, Method, Request, Response, Uri};
    use http_body_util::{BodyExt as _, Full};
    use jsonwebtoken::{Algorithm, DecodingKey};
    use sfv::{BareItem, Dictionary, ListEntry, Parser};
    use tower::ServiceExt as _;
    use tower_approov::test_util::{InstallationKey, RequestSigner};
    use tower_approov::{
        ApproovBody, ApproovConfig, ApproovError, ApproovErrorKind, ApproovLayer, MessageSigning,
        SigningConfig,
    };
    use tower_layer::Layer as _;

    use super::{ES256_PRIVATE_PEM, ES256_PUBLIC_PEM, FAR_EXP, SECRET};

    /// The public origin the layer rebuilds `@target-uri` from.
    pub const ORIGIN: &str = "https://api.example.com";
    /// The `created` of every seed signature (2025-11-28), with no `expires`: the layer is
    /// configured without a maximum age, so the seeds stay valid in later runs.
    pub const CREATED: i64 = 1_764_300_000;

    /// Standard base64, padding optional, as the layer reads Android's string signatures.
    const BASE64: GeneralPurpose = GeneralPurpose::new(
        &STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );

    fn pem_der(pem: &[u8]) -> Vec<u8> {
        let text: String = std::str::from_utf8(pem)
            .expect("pem")
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("pem base64")
    }

    /// The installation key: the fuzz-only P-256 key, so seeds and runs agree.
    pub fn key() -> &'static InstallationKey {
        static KEY: OnceLock<InstallationKey> = OnceLock::new();
        KEY.get_or_init(|| InstallationKey::from_pkcs8(&pem_der(ES256_PRIVATE_PEM)).expect("key"))
    }

    /// A valid HS256 token whose `ipk` is [`key`]'s public half.
    pub fn token() -> &'static str {
        static TOKEN: OnceLock<String> = OnceLock::new();
        TOKEN.get_or_init(|| {
            let _ = super::services();
            let claims = serde_json::json!({
                "exp": FAR_EXP,
                "did": "ExampleDeviceID0123456789==",
                "ipk": key().ipk().expect("ipk"),
            });
            super::hs(&claims, None)
        })
    }

    type Inner = tower::util::BoxCloneSyncService<
        Request<ApproovBody<Full<Bytes>>>,
        Response<Full<Bytes>>,
        Infallible,
    >;

    fn service() -> &'static tower_approov::ApproovService<Inner, tower_approov::JsonRejection> {
        static SERVICE: OnceLock<
            tower_approov::ApproovService<Inner, tower_approov::JsonRejection>,
        > = OnceLock::new();
        SERVICE.get_or_init(|| {
            let signing = SigningConfig::new(MessageSigning::Require)
                .with_public_origin(ORIGIN)
                .expect("origin")
                .with_max_age(None)
                .with_max_body_bytes(4096);
            let config = ApproovConfig::builder()
                .with_secret(SECRET, None)
                .expect("secret")
                .with_signing_config(signing)
                .build()
                .expect("config");
            // The handler reads the whole body, as a real one would.
            let inner = tower::service_fn(|req: Request<ApproovBody<Full<Bytes>>>| async move {
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                Ok::<_, Infallible>(Response::new(Full::new(body)))
            });
            ApproovLayer::new(config).layer(Inner::new(inner))
        })
    }

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RUNTIME.get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime")
        })
    }

    /// A request as the fuzz input describes it.
    #[derive(Debug, Clone)]
    pub struct Input {
        /// The method.
        pub method: Method,
        /// The request target (origin form, or whatever `Uri` parses).
        pub uri: Uri,
        /// `Signature-Input`, `Signature`, `Content-Digest` (`None`: absent).
        pub headers: [Option<HeaderValue>; 3],
        /// The body.
        pub body: Vec<u8>,
    }

    const NAMES: [&str; 3] = ["signature-input", "signature", "content-digest"];

    /// Decodes a fuzz input; `None` when a part is not a valid method, URI or header value (a
    /// server would never pass such a request on).
    pub fn decode(data: &[u8]) -> Option<Input> {
        let mut parts = data.splitn(6, |b| *b == b'\n');
        let mut next = || parts.next().unwrap_or_default();
        let method = Method::from_bytes(next()).ok()?;
        let uri = Uri::try_from(next()).ok()?;
        let mut headers: [Option<HeaderValue>; 3] = Default::default();
        for header in &mut headers {
            let value = next();
            if !value.is_empty() {
                *header = Some(HeaderValue::from_bytes(value).ok()?);
            }
        }
        let body = next().to_vec();
        Some(Input {
            method,
            uri,
            headers,
            body,
        })
    }

    /// The fuzz input for a request.
    pub fn encode(input: &Input) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(input.method.as_str().as_bytes());
        out.push(b'\n');
        out.extend_from_slice(input.uri.to_string().as_bytes());
        for header in &input.headers {
            out.push(b'\n');
            out.extend_from_slice(header.as_ref().map_or(&b""[..], HeaderValue::as_bytes));
        }
        out.push(b'\n');
        out.extend_from_slice(&input.body);
        out
    }

    /// Sends the request through the layer: `Ok` if it reached the handler.
    pub fn run(input: &Input) -> Result<(), ApproovErrorKind> {
        let mut request = Request::builder()
            .method(input.method.clone())
            .uri(input.uri.clone())
            .header("approov-token", token());
        for (name, value) in NAMES.iter().zip(&input.headers) {
            if let Some(value) = value {
                request = request.header(*name, value);
            }
        }
        let request = request
            .body(Full::new(Bytes::from(input.body.clone())))
            .expect("request");
        let response = runtime()
            .block_on(service().clone().oneshot(request))
            .expect("infallible");
        match response.extensions().get::<ApproovError>() {
            Some(error) => Err(error.kind()),
            None => Ok(()),
        }
    }

    /// A correctly signed request: the message (method, target, covered headers, body) and
    /// its signature base written out independently of the layer.
    #[derive(Debug, Clone)]
    pub struct SignedSeed {
        /// A file-name-friendly name.
        pub name: &'static str,
        /// The request.
        pub input: Input,
        /// The signature base, written out by hand here.
        pub base: Vec<u8>,
        /// Whether `content-digest` is covered (so the body is signed).
        pub covers_digest: bool,
    }

    /// The valid seeds: GET and POST, signed as iOS and as Android sign, fresh signatures.
    pub fn signed_seeds() -> Vec<SignedSeed> {
        let shapes: [(&'static str, Method, &str, &[u8], bool); 4] = [
            ("get_ios", Method::GET, "/v1/orders?page=2", b"", false),
            ("get_android", Method::GET, "/", b"", true),
            (
                "post_ios",
                Method::POST,
                "/v1/orders",
                br#"{"item":42,"note":"fuzz"}"#,
                false,
            ),
            (
                "put_android",
                Method::PUT,
                "/v1/orders/7?x=%20y",
                b"line one\nline two",
                true,
            ),
        ];
        shapes
            .into_iter()
            .map(|(name, method, target, body, android)| {
                let mut request = Request::builder()
                    .method(method.clone())
                    .uri(format!("{ORIGIN}{target}"))
                    .header("approov-token", token())
                    .body(body.to_vec())
                    .expect("request");
                let signer = RequestSigner::new(key())
                    .with_created(CREATED)
                    .with_expires_in(None);
                let signer = if android { signer.android() } else { signer.ios() };
                signer.sign(&mut request).expect("sign");
                let header = |n: &str| request.headers().get(n).cloned();
                let input = Input {
                    method: method.clone(),
                    uri: Uri::try_from(target).expect("uri"),
                    headers: NAMES.map(header),
                    body: body.to_vec(),
                };
                let covers_digest = !body.is_empty();
                let params = input.headers[0]
                    .as_ref()
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("install="))
                    .expect("signature-input")
                    .to_owned();
                let mut base = format!(
                    "\"@method\": {method}\n\"@target-uri\": {ORIGIN}{target}\n\"approov-token\": {}\n",
                    token()
                );
                if covers_digest {
                    let digest = input.headers[2].as_ref().expect("digest").to_str().expect("digest");
                    base.push_str(&format!("\"content-digest\": {digest}\n"));
                }
                base.push_str(&format!("\"@signature-params\": {params}"));
                SignedSeed {
                    name,
                    input,
                    base: base.into_bytes(),
                    covers_digest,
                }
            })
            .collect()
    }

    fn install(value: Option<&HeaderValue>) -> Option<ListEntry> {
        let dict: Dictionary = Parser::new(value?.as_bytes()).parse().ok()?;
        dict.get("install").cloned()
    }

    fn target(uri: &Uri) -> String {
        let path = match uri.path() {
            "" => "/",
            p => p,
        };
        match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        }
    }

    /// The oracle: panics unless an accepted request is one of the seeds' messages (same
    /// method, target, `install` signature input, and, when covered, `Content-Digest` and
    /// body) and its `install` signature verifies over that seed's base, written out by hand.
    pub fn assert_acceptable(input: &Input, seeds: &[SignedSeed]) {
        let signature_input = install(input.headers[0].as_ref());
        let seed = seeds
            .iter()
            .find(|s| {
                s.input.method == input.method
                    && target(&s.input.uri) == target(&input.uri)
                    && install(s.input.headers[0].as_ref()) == signature_input
                    && (!s.covers_digest
                        || (s.input.body == input.body
                            && s.input.headers[2]
                                .as_ref()
                                .map(|v| v.as_bytes().trim_ascii())
                                == input.headers[2].as_ref().map(|v| v.as_bytes().trim_ascii())))
            })
            .unwrap_or_else(|| panic!("accepted a message no seed signed: {input:?}"));
        let signature = match install(input.headers[1].as_ref()) {
            Some(ListEntry::Item(item)) => match item.bare_item {
                BareItem::ByteSequence(bytes) => bytes,
                BareItem::String(s) => BASE64.decode(s.as_str()).expect("accepted bad base64"),
                other => panic!("accepted a signature {other:?}"),
            },
            other => panic!("accepted without an install signature: {other:?}"),
        };
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature);
        let key = DecodingKey::from_ec_pem(ES256_PUBLIC_PEM).expect("public key");
        assert!(
            jsonwebtoken::crypto::verify(&signature, &seed.base, &key, Algorithm::ES256)
                .unwrap_or(false),
            "accepted a signature that does not verify over seed {}'s base",
            seed.name
        );
    }
}
