//! Account signatures and requests carrying two members (APPROOV.md section 3b), as the service
//! layers send them, over raw HTTP/1.1 on loopback to an app configured as `from_env()` would
//! configure it. Every signature base is written out by hand from APPROOV.md; every MAC is
//! computed here with aws-lc-rs (`account_mac`), every installation signature by
//! `InstallationKey::sign` over the hand-written base: `RequestSigner` signs nothing here.

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tower_approov::ApproovErrorKind as Kind;
use tower_approov::test_util::InstallationKey;

use crate::log_capture::{capture, level, lines_with};
use crate::sdk_support::*;

/// A key shaped as APPROOV.md section 3b describes the Approov test SDK's: a 64-character
/// base64url text whose own bytes (not decoded) key the HMAC, its `mskid` the text's first six
/// characters. (The test SDK's own text is not public; this one is
/// `base64url(SHA-384("tower-approov account key vector"))`.)
const TEST_KEY: &str = "FTkUk12gJ-1lo7_VomzwDNr5vzhPVWmQe3Qz_TGl9nh30ob_VW3aVqfkqQMEJVZK";
const TEST_MSKID: &str = "FTkUk1";

const RAW: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW";
const BASE64URL: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64URL";
const KEY_ID: &str = "APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID";
const SIGNING: &str = "APPROOV_MESSAGE_SIGNING";

const BASIC: &str = r#""@method" "@target-uri" "approov-token""#;
const URL: &str = "https://api.example.com/v1/orders?page=1";
const LINE: &str = "GET /v1/orders?page=1 HTTP/1.1";

/// `require`, with the test key as `..._RAW` and its id, and `extra`.
async fn serve_with(extra: &[(&'static str, &str)]) -> SocketAddr {
    let mut vars = vec![(SIGNING, "require"), (RAW, TEST_KEY), (KEY_ID, TEST_MSKID)];
    vars.extend_from_slice(extra);
    serve(config(&vars).unwrap()).await
}

/// The base an SDK signs for a GET of `target_uri` covering `@method`, `@target-uri`,
/// `approov-token`, then `extra` headers (name, value) in that order.
fn base(target_uri: &str, token: &str, extra: &[(&str, &str)], params: &str) -> String {
    let mut base = format!(
        "\"@method\": GET\n\
         \"@target-uri\": {target_uri}\n\
         \"approov-token\": {token}\n"
    );
    for (name, value) in extra {
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    base
}

/// How a signature value is written.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Encoding {
    /// `label=:b64:`: iOS, Flutter, React Native, OkHttp 3.5.8 and later.
    Bytes,
    /// `label="b64"`: OkHttp's account signature from 3.5.x up to 3.5.7.
    Text,
}

/// One member of `Signature-Input` and `Signature`.
#[derive(Clone)]
struct Member {
    label: &'static str,
    params: String,
    /// The signature, standard base64.
    signature: String,
    encoding: Encoding,
}

impl Member {
    /// The `install` member: `key`'s ECDSA signature over the base of `URL` (with `extra`
    /// covered headers after the token).
    fn install(key: &InstallationKey, token: &str, extra: &[(&str, &str)]) -> Self {
        Self::install_for(key, URL, token, extra)
    }

    fn install_for(
        key: &InstallationKey,
        target_uri: &str,
        token: &str,
        extra: &[(&str, &str)],
    ) -> Self {
        let params = sdk_params_for("ecdsa-p256-sha256", &components(extra));
        let base = base(target_uri, token, extra, &params);
        Self {
            label: "install",
            params,
            signature: STANDARD.encode(key.sign(base.as_bytes()).unwrap()),
            encoding: Encoding::Bytes,
        }
    }

    /// The `account` member: the HMAC of the base of `URL` under `key`'s bytes.
    fn account(key: &[u8], token: &str, extra: &[(&str, &str)]) -> Self {
        Self::account_for(key, URL, token, extra)
    }

    fn account_for(key: &[u8], target_uri: &str, token: &str, extra: &[(&str, &str)]) -> Self {
        let params = sdk_params_for("hmac-sha256", &components(extra));
        let base = base(target_uri, token, extra, &params);
        Self {
            label: "account",
            params,
            signature: account_mac(key, &base),
            encoding: Encoding::Bytes,
        }
    }

    fn written(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The same member with one bit of its signature flipped.
    fn tampered(mut self) -> Self {
        let mut bytes = STANDARD.decode(&self.signature).unwrap();
        bytes[0] ^= 1;
        self.signature = STANDARD.encode(bytes);
        self
    }
}

/// The components covered: the basic ones, then `extra`'s header names.
fn components(extra: &[(&str, &str)]) -> String {
    let mut components = BASIC.to_owned();
    for (name, _) in extra {
        components.push_str(&format!(" \"{name}\""));
    }
    components
}

/// `Signature-Input` and `Signature` for these members, in this order.
fn fields(members: &[Member]) -> (String, String) {
    let input: Vec<String> = members
        .iter()
        .map(|m| format!("{}={}", m.label, m.params))
        .collect();
    let signature: Vec<String> = members
        .iter()
        .map(|m| match m.encoding {
            Encoding::Bytes => format!("{}=:{}:", m.label, m.signature),
            Encoding::Text => format!("{}=\"{}\"", m.label, m.signature),
        })
        .collect();
    (input.join(", "), signature.join(", "))
}

/// `line` to `api.example.com` with `token`, the `extra` headers, and these members (no
/// signature headers when there are none).
async fn send(
    addr: SocketAddr,
    line: &str,
    token: &str,
    extra: &[(&str, &str)],
    members: &[Member],
) -> Answer {
    let (input, signature) = fields(members);
    let mut headers = vec![("Host", "api.example.com"), ("Approov-Token", token)];
    headers.extend_from_slice(extra);
    if !members.is_empty() {
        headers.push(("Signature-Input", &input));
        headers.push(("Signature", &signature));
    }
    raw(addr, line, &headers, b"").await
}

/// `account` alone passes, and the same request with it tampered is `account_signature_invalid`.
async fn passes_and_fails_once_tampered(
    addr: SocketAddr,
    line: &str,
    token: &str,
    account: Member,
) {
    send(addr, line, token, &[], std::slice::from_ref(&account))
        .await
        .assert_ok("");
    send(addr, line, token, &[], &[account.tampered()])
        .await
        .assert_rejected(Kind::AccountSignatureInvalid);
}

/// A token of an account with both kinds of signing, and its installation key.
fn both_token() -> (InstallationKey, String) {
    let key = InstallationKey::generate().unwrap();
    let token = token_of(Some(&key.ipk().unwrap()), Some(TEST_MSKID));
    (key, token)
}

// ---- the test key as a vector -----------------------------------------------------------------

/// A token for the vector: HS256 with the tests' secret over
/// `{"exp":4708683205.891912,"did":"ExampleApproovDevice==","mskid":"FTkUk1"}` (the float `exp`
/// Approov tokens carry), computed with Python's `hmac`, not by the crate or `jsonwebtoken`.
const VECTOR_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjQ3MDg2ODMyMDUuODkxOTEyLCJkaWQiOiJFeGFtcGxlQXBwcm9vdkRldmljZT09IiwibXNraWQiOiJGVGtVazEifQ.AGm7AKHmUBBhQunI0F1D54sGexTK08yE4K37McsNPX0";
/// The vector's parameters: `created` fixed in the past and no `expires`, so that the vector
/// holds whenever the test runs (the server's maximum age is turned off for it).
const VECTOR_PARAMS: &str = r#"("@method" "@target-uri" "approov-token" "approov-traceid");alg="hmac-sha256";created=1790000000"#;
/// HMAC-SHA256 of the vector's base keyed with `TEST_KEY`'s text, and with its base64url
/// decoding: both computed with Python's `hmac`.
const VECTOR_MAC_TEXT_KEY: &str = "qT1S65Ox8XjZ921ga8tJv+CYAdaI2QEZErLdPuJ9fyI=";
const VECTOR_MAC_DECODED_KEY: &str = "fKKiIVt8u/pfHsTItmH5gU6G8uuxEvQE3884+9gXs84=";

/// The vector's request, signed `account=:mac:`, to a server with the key in `variable`.
async fn vector_request(variable: &'static str, mac: &str) -> Answer {
    let addr = serve(
        config(&[
            (SIGNING, "require"),
            (variable, TEST_KEY),
            (KEY_ID, TEST_MSKID),
            ("APPROOV_SIGNATURE_MAX_AGE_SECONDS", "0"),
        ])
        .unwrap(),
    )
    .await;
    let input = format!("account={VECTOR_PARAMS}");
    let signature = format!("account=:{mac}:");
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", VECTOR_TOKEN),
        ("Approov-TraceID", "7f3a9c01"),
        ("Signature-Input", input.as_str()),
        ("Signature", signature.as_str()),
    ];
    raw(addr, LINE, &headers, b"").await
}

#[tokio::test]
async fn the_test_key_vector_passes_with_the_key_as_its_text_and_fails_with_it_decoded() {
    // The base, written out.
    let base = "\"@method\": GET\n\
                \"@target-uri\": https://api.example.com/v1/orders?page=1\n\
                \"approov-token\": eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjQ3MDg2ODMyMDUuODkxOTEyLCJkaWQiOiJFeGFtcGxlQXBwcm9vdkRldmljZT09IiwibXNraWQiOiJGVGtVazEifQ.AGm7AKHmUBBhQunI0F1D54sGexTK08yE4K37McsNPX0\n\
                \"approov-traceid\": 7f3a9c01\n\
                \"@signature-params\": (\"@method\" \"@target-uri\" \"approov-token\" \"approov-traceid\");alg=\"hmac-sha256\";created=1790000000";
    assert_eq!(TEST_KEY.len(), 64);
    assert_eq!(&TEST_KEY[..6], TEST_MSKID);
    // aws-lc-rs agrees with Python on both MACs.
    assert_eq!(account_mac(TEST_KEY.as_bytes(), base), VECTOR_MAC_TEXT_KEY);
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(TEST_KEY)
        .unwrap();
    assert_eq!(account_mac(&decoded, base), VECTOR_MAC_DECODED_KEY);

    // `..._RAW` keys the HMAC with the text, as the test SDK does; `..._BASE64URL` with the
    // decoded bytes, as its name says. Each verifies its own MAC and refuses the other's.
    vector_request(RAW, VECTOR_MAC_TEXT_KEY).await.assert_ok("");
    vector_request(RAW, VECTOR_MAC_DECODED_KEY)
        .await
        .assert_rejected(Kind::AccountSignatureInvalid);
    vector_request(BASE64URL, VECTOR_MAC_DECODED_KEY)
        .await
        .assert_ok("");
    vector_request(BASE64URL, VECTOR_MAC_TEXT_KEY)
        .await
        .assert_rejected(Kind::AccountSignatureInvalid);
}

#[tokio::test]
async fn a_key_configured_decoded_that_the_app_uses_as_text_is_refused_with_a_warning_naming_the_raw_variable()
 {
    let (logs, _guard) = capture();
    vector_request(BASE64URL, VECTOR_MAC_TEXT_KEY)
        .await
        .assert_rejected(Kind::AccountSignatureInvalid);
    let hints = lines_with(&logs, "would with the same key read as");
    assert_eq!(hints.len(), 1, "{}", logs.text());
    assert_eq!(level(&hints[0]), "WARN", "{hints:?}");
    assert!(
        hints[0].contains(&format!("configured=\"{BASE64URL}\"")),
        "{hints:?}"
    );
    assert!(
        hints[0].contains(&format!("verifies_with=\"{RAW}\"")),
        "{hints:?}"
    );
    // The key is in no line, nor the MAC.
    let text = logs.text();
    assert!(
        !text.contains(TEST_KEY) && !text.contains(VECTOR_MAC_TEXT_KEY),
        "{text}"
    );
    // A forgery verifies with neither reading: no hint.
    let (logs, _guard) = capture();
    vector_request(BASE64URL, &STANDARD.encode([7u8; 32]))
        .await
        .assert_rejected(Kind::AccountSignatureInvalid);
    assert!(lines_with(&logs, "would with the same key read as").is_empty());
    assert_eq!(lines_with(&logs, "account_signature_invalid").len(), 1);
}

#[tokio::test]
async fn the_cli_output_pasted_whole_as_the_raw_variable_keys_the_hmac_with_its_key_line() {
    // What `approov secret -messageSigningKey get-base64url` prints: lines before the key
    // line (their wording here is illustrative), the key line last.
    let pasted = format!(
        "Approov CLI\nEnter your admin role password: \nkey ID: {TEST_MSKID}\n\
         encoding: base64url\n{TEST_KEY}\n"
    );
    let addr = serve(config(&[(SIGNING, "require"), (RAW, &pasted)]).unwrap()).await;
    let token = token_of(None, Some(TEST_MSKID));
    let account = Member::account(TEST_KEY.as_bytes(), &token, &[]);
    passes_and_fails_once_tampered(addr, LINE, &token, account).await;
}

// ---- two members, as OkHttp 3.7 and later send them -------------------------------------------

#[tokio::test]
async fn a_request_with_both_members_valid_passes() {
    let addr = serve_with(&[]).await;
    let (key, token) = both_token();
    let members = [
        Member::install(&key, &token, &[]),
        Member::account(TEST_KEY.as_bytes(), &token, &[]),
    ];
    send(addr, LINE, &token, &[], &members).await.assert_ok("");
    // In the other order too: the dictionary's order means nothing.
    let reversed = [members[1].clone(), members[0].clone()];
    send(addr, LINE, &token, &[], &reversed).await.assert_ok("");
}

#[tokio::test]
async fn each_member_tampered_in_turn_is_refused_with_its_own_reason() {
    let addr = serve_with(&[]).await;
    let (key, token) = both_token();
    let install = Member::install(&key, &token, &[]);
    let account = Member::account(TEST_KEY.as_bytes(), &token, &[]);
    send(
        addr,
        LINE,
        &token,
        &[],
        &[install.clone().tampered(), account.clone()],
    )
    .await
    .assert_rejected(Kind::MessageSignatureInvalid);
    send(
        addr,
        LINE,
        &token,
        &[],
        &[install.clone(), account.clone().tampered()],
    )
    .await
    .assert_rejected(Kind::AccountSignatureInvalid);
    // Signed by another account key: the forged account member alone fails the request.
    let forged = Member::account(b"not-the-account-key", &token, &[]);
    send(addr, LINE, &token, &[], &[install, forged])
        .await
        .assert_rejected(Kind::AccountSignatureInvalid);
}

#[tokio::test]
async fn each_member_missing_in_turn_passes_and_both_missing_is_signature_missing() {
    let addr = serve_with(&[]).await;
    let (key, token) = both_token();
    let install = Member::install(&key, &token, &[]);
    let account = Member::account(TEST_KEY.as_bytes(), &token, &[]);
    send(addr, LINE, &token, &[], &[install])
        .await
        .assert_ok("");
    // What an app with account signing sends although its token has `ipk` too.
    send(addr, LINE, &token, &[], &[account])
        .await
        .assert_ok("");
    send(addr, LINE, &token, &[], &[])
        .await
        .assert_rejected(Kind::SignatureMissing);
}

#[tokio::test]
async fn an_account_signature_as_a_string_or_a_byte_sequence_passes_and_each_tampered_is_refused() {
    let addr = serve_with(&[]).await;
    let token = token_of(None, Some(TEST_MSKID));
    for encoding in [Encoding::Text, Encoding::Bytes] {
        let account = Member::account(TEST_KEY.as_bytes(), &token, &[]).written(encoding);
        let (_, signature) = fields(std::slice::from_ref(&account));
        let prefix = if encoding == Encoding::Text {
            "account=\""
        } else {
            "account=:"
        };
        assert!(signature.starts_with(prefix), "{signature}");
        passes_and_fails_once_tampered(addr, LINE, &token, account).await;
    }
}

#[tokio::test]
async fn an_account_signature_replayed_on_another_url_or_with_another_token_is_refused() {
    let addr = serve_with(&[]).await;
    let token = token_of(None, Some(TEST_MSKID));
    let account = Member::account(TEST_KEY.as_bytes(), &token, &[]);
    send(addr, LINE, &token, &[], std::slice::from_ref(&account))
        .await
        .assert_ok("");
    for line in [
        "GET /v1/orders?page=2 HTTP/1.1",
        "GET /v1/orders HTTP/1.1",
        "GET /v1/accounts?page=1 HTTP/1.1",
    ] {
        send(addr, line, &token, &[], std::slice::from_ref(&account))
            .await
            .assert_rejected(Kind::AccountSignatureInvalid);
    }
    // The same signature beside another valid token of the same key.
    let other = token_of(None, Some(TEST_MSKID));
    assert_ne!(other, token);
    send(addr, LINE, &other, &[], &[account])
        .await
        .assert_rejected(Kind::AccountSignatureInvalid);
}

#[tokio::test]
async fn each_url_form_of_the_sdks_verifies_an_account_signature_too() {
    let addr = serve_with(&[]).await;
    let token = token_of(None, Some(TEST_MSKID));
    for (line, signed_uri) in [
        // iOS: the root without its `/`.
        ("GET /?page=1 HTTP/1.1", "https://api.example.com?page=1"),
        // OkHttp: `|` in the query percent-encoded, raw on the wire.
        (
            "GET /v1/orders?f=a|b HTTP/1.1",
            "https://api.example.com/v1/orders?f=a%7Cb",
        ),
    ] {
        let account = Member::account_for(TEST_KEY.as_bytes(), signed_uri, &token, &[]);
        passes_and_fails_once_tampered(addr, line, &token, account).await;
    }
}

#[tokio::test]
async fn an_account_signature_with_another_algorithm_or_half_of_a_member_is_refused() {
    let addr = serve_with(&[]).await;
    let token = token_of(None, Some(TEST_MSKID));
    let mut account = Member::account(TEST_KEY.as_bytes(), &token, &[]);
    account.params = account.params.replace("hmac-sha256", "ecdsa-p256-sha256");
    send(addr, LINE, &token, &[], &[account])
        .await
        .assert_rejected(Kind::SignatureAlgorithmUnsupported);
    // `account` in `Signature-Input` but not in `Signature`.
    let account = Member::account(TEST_KEY.as_bytes(), &token, &[]);
    let (input, _) = fields(&[account]);
    let headers = [
        ("Host", "api.example.com"),
        ("Approov-Token", token.as_str()),
        ("Signature-Input", input.as_str()),
        ("Signature", "sig1=:AAAA:"),
    ];
    raw(addr, LINE, &headers, b"")
        .await
        .assert_rejected(Kind::SignatureLabelMissing);
}

// ---- mskid -----------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_whose_mskid_is_not_the_key_id_is_refused_when_it_carries_an_account_signature() {
    let addr = serve_with(&[]).await;
    let key = InstallationKey::generate().unwrap();
    let token = token_of(Some(&key.ipk().unwrap()), Some("other1"));
    // Even a MAC made with the configured key: the token says another key signed.
    let account = Member::account(TEST_KEY.as_bytes(), &token, &[]);
    send(addr, LINE, &token, &[], std::slice::from_ref(&account))
        .await
        .assert_rejected(Kind::AccountKeyIdMismatch);
    send(
        addr,
        LINE,
        &token,
        &[],
        &[Member::install(&key, &token, &[]), account],
    )
    .await
    .assert_rejected(Kind::AccountKeyIdMismatch);
    // Without an account member there is nothing of that key to check.
    send(
        addr,
        LINE,
        &token,
        &[],
        &[Member::install(&key, &token, &[])],
    )
    .await
    .assert_ok("");
}

#[tokio::test]
async fn with_a_list_of_keys_the_tokens_mskid_picks_its_key_and_an_unknown_one_is_refused() {
    let list = format!("old001:an-old-account-key-being-rotated-out,{TEST_MSKID}:{TEST_KEY}");
    let addr = serve(config(&[(SIGNING, "require"), (RAW, &list)]).unwrap()).await;
    let current = token_of(None, Some(TEST_MSKID));
    send(
        addr,
        LINE,
        &current,
        &[],
        &[Member::account(TEST_KEY.as_bytes(), &current, &[])],
    )
    .await
    .assert_ok("");
    let old = token_of(None, Some("old001"));
    let old_key = b"an-old-account-key-being-rotated-out";
    send(
        addr,
        LINE,
        &old,
        &[],
        &[Member::account(old_key, &old, &[])],
    )
    .await
    .assert_ok("");
    // A token of one key with the other key's MAC.
    send(
        addr,
        LINE,
        &old,
        &[],
        &[Member::account(TEST_KEY.as_bytes(), &old, &[])],
    )
    .await
    .assert_rejected(Kind::AccountSignatureInvalid);
    let unknown = token_of(None, Some("new999"));
    send(
        addr,
        LINE,
        &unknown,
        &[],
        &[Member::account(TEST_KEY.as_bytes(), &unknown, &[])],
    )
    .await
    .assert_rejected(Kind::AccountKeyIdMismatch);
}

// ---- Approov-Status --------------------------------------------------------------------------

#[tokio::test]
async fn a_covered_approov_status_is_verified_and_one_changed_in_flight_is_refused() {
    let addr = serve_with(&[]).await;
    let (key, token) = both_token();
    let status = [("approov-status", "success")];
    let members = [
        Member::install(&key, &token, &status),
        Member::account(TEST_KEY.as_bytes(), &token, &status),
    ];
    send(
        addr,
        LINE,
        &token,
        &[("Approov-Status", "success")],
        &members,
    )
    .await
    .assert_ok("");
    // Changed, or stripped: install is checked first.
    send(
        addr,
        LINE,
        &token,
        &[("Approov-Status", "no_network")],
        &members,
    )
    .await
    .assert_rejected(Kind::MessageSignatureInvalid);
    send(addr, LINE, &token, &[], &members)
        .await
        .assert_rejected(Kind::MessageSignatureInvalid);
    send(
        addr,
        LINE,
        &token,
        &[("Approov-Status", "no_network")],
        &members[1..],
    )
    .await
    .assert_rejected(Kind::AccountSignatureInvalid);
}

// ---- which members must verify: the README's matrix, every cell -------------------------------

/// The signing mode of a matrix column.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Off,
    Verify,
    Require,
    /// `require` with `APPROOV_ALLOW_MISSING_IPK=false`.
    RequireStrict,
}

/// What the request carries.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Carried {
    Nothing,
    Install,
    Account,
    Both,
    /// A member of another label only (`sig1`, a valid ECDSA signature): ignored.
    Other,
}

/// The rule (README, "Which members must verify"): the reason a request is refused with, or
/// `None` for 200. `forged`: every member carried is signed by a key the server does not know.
fn expected(
    mode: Mode,
    account_key: bool,
    ipk: bool,
    mskid: bool,
    carried: Carried,
    forged: bool,
) -> Option<Kind> {
    let require = matches!(mode, Mode::Require | Mode::RequireStrict);
    let install_checkable = ipk;
    let account_checkable = account_key && mskid;
    if mode == Mode::Off {
        return None;
    }
    if !install_checkable && !account_checkable {
        // A failover token: today's rule.
        return (mode == Mode::RequireStrict).then_some(Kind::InstallationKeyMissing);
    }
    let (install, account) = match carried {
        Carried::Nothing => return require.then_some(Kind::SignatureMissing),
        Carried::Install => (true, false),
        Carried::Account => (false, true),
        Carried::Both => (true, true),
        Carried::Other => (false, false),
    };
    if forged && install && install_checkable {
        return Some(Kind::MessageSignatureInvalid);
    }
    if forged && account && account_checkable {
        return Some(Kind::AccountSignatureInvalid);
    }
    let checked = (install && install_checkable) || (account && account_checkable);
    (!checked && require).then_some(Kind::SignatureLabelMissing)
}

#[tokio::test]
async fn every_cell_of_the_signing_matrix_answers_as_the_readme_says() {
    let installation = InstallationKey::generate().unwrap();
    let forger = InstallationKey::generate().unwrap();
    let ipk = installation.ipk().unwrap();
    let mut cells = 0;
    for mode in [Mode::Off, Mode::Verify, Mode::Require, Mode::RequireStrict] {
        for account_key in [true, false] {
            let mut vars = vec![(
                SIGNING,
                match mode {
                    Mode::Off => "off",
                    Mode::Verify => "verify",
                    Mode::Require | Mode::RequireStrict => "require",
                },
            )];
            if mode == Mode::RequireStrict {
                vars.push(("APPROOV_ALLOW_MISSING_IPK", "false"));
            }
            if account_key {
                vars.extend([(RAW, TEST_KEY), (KEY_ID, TEST_MSKID)]);
            }
            let addr = serve(config(&vars).unwrap()).await;
            for (has_ipk, has_mskid) in [(false, false), (true, false), (false, true), (true, true)]
            {
                let token = token_of(
                    has_ipk.then_some(ipk.as_str()),
                    has_mskid.then_some(TEST_MSKID),
                );
                for carried in [
                    Carried::Nothing,
                    Carried::Install,
                    Carried::Account,
                    Carried::Both,
                    Carried::Other,
                ] {
                    for forged in [false, true] {
                        let (installer, account_key_bytes): (&InstallationKey, &[u8]) = if forged {
                            (&forger, b"a-key-the-server-does-not-know")
                        } else {
                            (&installation, TEST_KEY.as_bytes())
                        };
                        let install = Member::install(installer, &token, &[]);
                        let account = Member::account(account_key_bytes, &token, &[]);
                        let mut other = Member::install(installer, &token, &[]);
                        other.label = "sig1";
                        let members = match carried {
                            Carried::Nothing => vec![],
                            Carried::Install => vec![install],
                            Carried::Account => vec![account],
                            Carried::Both => vec![install, account],
                            Carried::Other => vec![other],
                        };
                        let answer = send(addr, LINE, &token, &[], &members).await;
                        let want = expected(mode, account_key, has_ipk, has_mskid, carried, forged);
                        let cell = format!(
                            "{mode:?}, account key {account_key}, ipk {has_ipk}, mskid \
                             {has_mskid}, {carried:?}, forged {forged}"
                        );
                        assert_eq!(
                            (answer.status.as_u16(), answer.reason.as_deref()),
                            match want {
                                None => (200, None),
                                Some(kind) => (401, Some(kind.reason_code())),
                            },
                            "{cell}: {answer:?}"
                        );
                        cells += 1;
                    }
                }
            }
        }
    }
    assert_eq!(cells, 4 * 2 * 4 * 5 * 2);
}
