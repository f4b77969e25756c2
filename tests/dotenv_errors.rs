//! Which settings file `from_env` reads, and what it may say (issues 13 and 23): only `./.env`
//! in the working directory or the file `APPROOV_ENV_FILE` names, never a parent directory's;
//! key sources from one place only; a line that does not parse is an error naming the file and
//! the line, never the value; the names taken from the file are logged at `info`.
//!
//! Each case runs `ApproovConfig::from_env()` in a process of its own (this test binary,
//! running only `child`), with its own working directory and environment: nothing here
//! changes the test process's directory or environment.
#![cfg(any(feature = "aws_lc_rs", feature = "rust_crypto"))]

mod keys_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tower_approov::ApproovConfig;

const SECRET_B64: &str =
    "dG93ZXItYXBwcm9vdi10ZXN0LXNlY3JldC02NC1ieXRlcy1sb25nLTAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbg==";
const OTHER_SECRET_B64: &str =
    "b3RoZXItYXBwcm9vdi10ZXN0LXNlY3JldC02NC1ieXRlcy1sb25nLTAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbg==";

/// Set in the child's environment: run the case instead of returning at once.
const CHILD: &str = "DOTENV_TEST_CHILD";
/// Tokens the child checks once its configuration is built, `TOKEN_<n>`.
const TOKEN: &str = "DOTENV_TEST_TOKEN_";

/// What the child reported.
struct Outcome {
    /// `OK`, or `ERR <the ConfigError's Display>`.
    result: String,
    /// For each token given, `ok` or the reason code it was refused with.
    tokens: Vec<String>,
    /// Everything it logged at `info` and above.
    logs: String,
}

/// The child: builds the configuration from its environment and working directory, checks
/// the tokens it was given, and prints the outcome for the parent.
#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    // libtest has printed `test child ... ` without a line end.
    println!();
    let config = match ApproovConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            println!("RESULT ERR {error}");
            return;
        }
    };
    println!("RESULT OK");
    let service = tower::Layer::layer(
        &tower_approov::ApproovLayer::new(config),
        tower::service_fn(|_: http::Request<String>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        }),
    );
    for n in 0.. {
        let Ok(token) = std::env::var(format!("{TOKEN}{n}")) else {
            break;
        };
        let mut headers = http::HeaderMap::new();
        headers.insert("approov-token", token.parse().unwrap());
        match service.check(&headers) {
            Ok(_) => println!("TOKEN ok"),
            Err(error) => println!("TOKEN {}", error.kind().reason_code()),
        }
    }
}

/// Runs the child in `dir`, with `vars` as its only `APPROOV_*` variables, checking `tokens`.
fn from_env_in(dir: &Path, vars: &[(&str, &str)], tokens: &[String]) -> Outcome {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .current_dir(dir)
        .env(CHILD, "1");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("APPROOV_") {
            command.env_remove(name);
        }
    }
    command.envs(vars.iter().copied());
    for (n, token) in tokens.iter().enumerate() {
        command.env(format!("{TOKEN}{n}"), token);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "the child failed:\n{stdout}");
    let result = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no result from the child:\n{stdout}"))
        .to_owned();
    let tokens = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("TOKEN "))
        .map(str::to_owned)
        .collect();
    let logs = stdout
        .lines()
        .filter(|l| l.contains(" INFO ") || l.contains(" WARN ") || l.contains(" ERROR "))
        .collect::<Vec<_>>()
        .join("\n");
    Outcome {
        result,
        tokens,
        logs,
    }
}

/// A fresh directory for one case.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("approov-dotenv-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An HS256 token signed with the secret whose standard base64 is `secret_b64`.
fn hs256_token(secret_b64: &str) -> String {
    let secret = STANDARD.decode(secret_b64).unwrap();
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &serde_json::json!({ "exp": exp }),
        &EncodingKey::from_secret(&secret).unwrap(),
    )
    .unwrap()
}

/// The secret of the repository's `.env.example`: fake, and public.
fn example_secret() -> String {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".env.example"))
            .unwrap();
    example
        .lines()
        .find_map(|l| l.strip_prefix("APPROOV_BASE64_SECRET="))
        .unwrap()
        .to_owned()
}

#[test]
fn a_dotenv_in_a_parent_directory_is_not_read_so_its_example_secret_adds_no_key() {
    // The finding: /srv/.env holds a copy of .env.example, the service runs from /srv/app/bin
    // with a public key only.
    let srv = scratch("parent");
    let example =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(".env.example")).unwrap();
    std::fs::write(srv.join(".env"), example).unwrap();
    let bin = srv.join("app").join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let pem = &keys_support::keys().p256.public_pem;
    let forged = hs256_token(&example_secret());

    let outcome = from_env_in(&bin, &[("APPROOV_PUBLIC_KEY_PEM", pem)], &[forged]);
    assert_eq!(outcome.result, "OK");
    // No HS256 key at all: the example secret's token is refused for its algorithm.
    assert_eq!(outcome.tokens, ["algorithm_not_allowed"]);
    assert!(!outcome.logs.contains("settings file"), "{}", outcome.logs);

    // And with nothing in the environment, the parent's file gives no key source either.
    let outcome = from_env_in(&bin, &[], &[]);
    assert_eq!(
        outcome.result,
        "ERR no Approov key is configured: set APPROOV_BASE64_SECRET to the output of `approov \
         secret -get base64` (or set APPROOV_BASE64URL_SECRET, APPROOV_PUBLIC_KEY_PEM, \
         APPROOV_JWKS or APPROOV_JWKS_URL), or put it in a .env file; with the builder, add a \
         key before `build()`"
    );
}

#[test]
fn the_dotenv_of_the_working_directory_is_read_and_the_names_it_gave_are_logged_at_info() {
    let dir = scratch("cwd");
    std::fs::write(
        dir.join(".env"),
        format!("APPROOV_BASE64_SECRET={SECRET_B64}\nAPPROOV_MODE=monitor\nAPPROOV_ISSUER=x\n"),
    )
    .unwrap();
    let outcome = from_env_in(
        &dir,
        &[("APPROOV_MODE", "enforce"), ("APPROOV_ISSUER", "x")],
        &[hs256_token(SECRET_B64)],
    );
    assert_eq!(outcome.result, "OK");
    // Enforced (the environment won): a token without `iss` is refused, not let through.
    assert_eq!(outcome.tokens, ["invalid_issuer"]);
    let line = outcome
        .logs
        .lines()
        .find(|l| l.contains("INFO") && l.contains("settings file"))
        .unwrap_or_else(|| panic!("no info line in:\n{}", outcome.logs));
    assert!(
        line.contains(&format!("file={}", dir.join(".env").display())),
        "{line}"
    );
    assert!(line.contains("from_file=APPROOV_BASE64_SECRET "), "{line}");
    assert!(
        line.contains("overridden_by_environment=APPROOV_ISSUER,APPROOV_MODE"),
        "{line}"
    );
    assert!(!outcome.logs.contains(SECRET_B64), "{}", outcome.logs);
}

#[test]
fn approov_env_file_names_the_settings_file_and_the_working_directorys_dotenv_is_not_read() {
    let dir = scratch("named");
    // Would stop the start-up if it were read.
    std::fs::write(dir.join(".env"), "not a variable line\n").unwrap();
    let named = dir.join("settings").join("approov.env");
    std::fs::create_dir_all(named.parent().unwrap()).unwrap();
    std::fs::write(&named, format!("APPROOV_BASE64_SECRET={SECRET_B64}\n")).unwrap();
    let outcome = from_env_in(
        &dir,
        &[("APPROOV_ENV_FILE", named.to_str().unwrap())],
        &[hs256_token(SECRET_B64)],
    );
    assert_eq!(outcome.result, "OK");
    assert_eq!(outcome.tokens, ["ok"]);
    assert!(
        outcome.logs.contains(&format!("file={}", named.display())),
        "{}",
        outcome.logs
    );
}

#[test]
fn an_approov_env_file_that_is_missing_unreadable_or_empty_is_a_config_error() {
    let dir = scratch("missing");
    let missing = dir.join("nowhere.env");
    let outcome = from_env_in(
        &dir,
        &[("APPROOV_ENV_FILE", missing.to_str().unwrap())],
        &[],
    );
    assert_eq!(
        outcome.result,
        "ERR APPROOV_ENV_FILE names a file that cannot be read (entity not found): check the \
         path and its permissions"
    );
    // A directory cannot be read as a file (and runs as root, unlike permissions, do not
    // change that).
    let outcome = from_env_in(&dir, &[("APPROOV_ENV_FILE", dir.to_str().unwrap())], &[]);
    assert_eq!(
        outcome.result,
        "ERR APPROOV_ENV_FILE names a file that cannot be read (is a directory): check the path \
         and its permissions"
    );
    let outcome = from_env_in(&dir, &[("APPROOV_ENV_FILE", "")], &[]);
    assert_eq!(
        outcome.result,
        "ERR APPROOV_ENV_FILE is set but empty: give it a value, or unset it to use the default"
    );
}

#[test]
fn a_key_source_in_the_environment_and_another_in_the_settings_file_is_a_config_error_naming_both()
{
    let dir = scratch("split");
    std::fs::write(
        dir.join(".env"),
        format!("APPROOV_MODE=monitor\nAPPROOV_BASE64_SECRET={SECRET_B64}\n"),
    )
    .unwrap();
    let pem = &keys_support::keys().p256.public_pem;
    let outcome = from_env_in(&dir, &[("APPROOV_PUBLIC_KEY_PEM", pem)], &[]);
    assert_eq!(
        outcome.result,
        format!(
            "ERR APPROOV_PUBLIC_KEY_PEM is set in the environment and APPROOV_BASE64_SECRET in \
             {}: keep the keys in one place (every key variable, APPROOV_JWKS_CA_FILE and \
             APPROOV_JWKS_PROXY in the environment, or all in the file), so that a settings \
             file cannot add keys to those of the environment",
            dir.join(".env").display()
        )
    );
    assert!(!outcome.result.contains(SECRET_B64));
    assert!(!outcome.result.contains("BEGIN PUBLIC KEY"));

    // An account message signing key signs requests as the app: the file cannot add one
    // either.
    std::fs::write(
        dir.join(".env"),
        "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW=a-published-example-key\n",
    )
    .unwrap();
    let outcome = from_env_in(&dir, &[("APPROOV_BASE64_SECRET", SECRET_B64)], &[]);
    assert!(
        outcome.result.starts_with(
            "ERR APPROOV_BASE64_SECRET is set in the environment and \
             APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW in "
        ),
        "{}",
        outcome.result
    );
    assert!(!outcome.result.contains("a-published-example-key"));

    // What decides the fetched keys counts as a key source too: a CA (or a proxy) for the
    // environment's JWKS URL cannot come from the file.
    std::fs::write(dir.join(".env"), "APPROOV_JWKS_CA_FILE=/etc/ssl/evil.pem\n").unwrap();
    let outcome = from_env_in(
        &dir,
        &[("APPROOV_JWKS_URL", "https://jwks.example.test/jwks.json")],
        &[],
    );
    assert!(
        outcome.result.starts_with(
            "ERR APPROOV_JWKS_URL is set in the environment and APPROOV_JWKS_CA_FILE in "
        ),
        "{}",
        outcome.result
    );
}

#[test]
fn the_same_key_source_in_both_places_is_taken_from_the_environment_alone() {
    let dir = scratch("same");
    std::fs::write(
        dir.join(".env"),
        format!("APPROOV_BASE64_SECRET={OTHER_SECRET_B64}\n"),
    )
    .unwrap();
    let outcome = from_env_in(
        &dir,
        &[("APPROOV_BASE64_SECRET", SECRET_B64)],
        &[hs256_token(SECRET_B64), hs256_token(OTHER_SECRET_B64)],
    );
    assert_eq!(outcome.result, "OK");
    assert_eq!(outcome.tokens, ["ok", "invalid_signature"]);
    assert!(
        outcome
            .logs
            .contains("overridden_by_environment=APPROOV_BASE64_SECRET"),
        "{}",
        outcome.logs
    );
}

#[test]
fn a_dotenv_line_that_does_not_parse_is_a_config_error_naming_the_file_and_line() {
    // An unterminated quote on line 3 would swallow the binding header after it.
    let dir = scratch("quote");
    std::fs::write(
        dir.join(".env"),
        format!(
            "# comment\nAPPROOV_BASE64_SECRET={SECRET_B64}\nAPPROOV_ISSUER=\"secret-looking-Pz71.approov.io\nAPPROOV_TOKEN_BINDING_HEADER=Authorization\n"
        ),
    )
    .unwrap();
    let outcome = from_env_in(&dir, &[], &[]);
    assert_eq!(
        outcome.result,
        format!(
            "ERR {}: line 3 does not parse (an unterminated quote?): fix it, or remove it",
            dir.join(".env").display()
        )
    );
    assert!(!outcome.result.contains("secret-looking-Pz71"));
    assert!(!outcome.logs.contains("secret-looking-Pz71"));

    // A line that is not `NAME=value` at all.
    let dir = scratch("garbage");
    std::fs::write(
        dir.join(".env"),
        format!("APPROOV_BASE64_SECRET={SECRET_B64}\n\nnot a variable line\n"),
    )
    .unwrap();
    let outcome = from_env_in(&dir, &[], &[]);
    assert_eq!(
        outcome.result,
        format!(
            "ERR {}: line 3 does not parse (an unterminated quote?): fix it, or remove it",
            dir.join(".env").display()
        )
    );

    // Text that is not UTF-8, in the named file too.
    let named = dir.join("latin1.env");
    std::fs::write(&named, b"APPROOV_ISSUER=caf\xe9\n").unwrap();
    let outcome = from_env_in(&dir, &[("APPROOV_ENV_FILE", named.to_str().unwrap())], &[]);
    assert_eq!(
        outcome.result,
        format!(
            "ERR {} cannot be read as UTF-8 text: fix or remove the file",
            named.display()
        )
    );

    // A file that parses works; and without one, and without variables, no key source.
    let dir = scratch("good");
    std::fs::write(
        dir.join(".env"),
        format!("APPROOV_BASE64_SECRET={SECRET_B64}\n"),
    )
    .unwrap();
    assert_eq!(from_env_in(&dir, &[], &[]).result, "OK");
    std::fs::remove_file(dir.join(".env")).unwrap();
    assert!(
        from_env_in(&dir, &[], &[])
            .result
            .starts_with("ERR no Approov key is configured")
    );
}
