//! A `.env` line that does not parse stops start-up with a `ConfigError` naming the file and
//! the line, never the value (issue 13). One test in this binary: it changes the current
//! directory, which `.env` is looked up from.

mod common;

use std::path::PathBuf;

use tower_approov::{ApproovConfig, ConfigError};

fn dir_with_env(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("approov-dotenv-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env"), contents).unwrap();
    dir
}

fn from_env_in(dir: &PathBuf) -> Result<ApproovConfig, ConfigError> {
    std::env::set_current_dir(dir).unwrap();
    ApproovConfig::from_env()
}

#[test]
fn a_dotenv_line_that_does_not_parse_is_a_config_error_naming_the_file_and_line() {
    // An unterminated quote on line 3 would swallow the binding header after it.
    let dir = dir_with_env(
        "quote",
        &format!(
            "# comment\nAPPROOV_BASE64_SECRET={}\nAPPROOV_ISSUER=\"secret-looking-Pz71.approov.io\nAPPROOV_TOKEN_BINDING_HEADER=Authorization\n",
            common::secret_base64()
        ),
    );
    let error = from_env_in(&dir).unwrap_err();
    match &error {
        ConfigError::EnvFile { path, line } => {
            assert_eq!(path, &dir.join(".env"));
            assert_eq!(*line, Some(3));
        }
        other => panic!("expected ConfigError::EnvFile, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains(".env") && message.contains("line 3"),
        "{message}"
    );
    assert!(!message.contains("secret-looking-Pz71"), "{message}");
    assert!(!format!("{error:?}").contains("secret-looking-Pz71"));

    // A line that is not `NAME=value` at all.
    let dir = dir_with_env(
        "garbage",
        &format!(
            "APPROOV_BASE64_SECRET={}\n\nnot a variable line\n",
            common::secret_base64()
        ),
    );
    match from_env_in(&dir) {
        Err(ConfigError::EnvFile { line, .. }) => assert_eq!(line, Some(3)),
        other => panic!("expected ConfigError::EnvFile, got {other:?}"),
    }

    // A file that parses still works, and none at all is fine too.
    let dir = dir_with_env(
        "good",
        &format!("APPROOV_BASE64_SECRET={}\n", common::secret_base64()),
    );
    from_env_in(&dir).unwrap();
    std::fs::remove_file(dir.join(".env")).unwrap();
    // With neither a .env file (in this directory or above) nor variables: no key source.
    if !dir.ancestors().skip(1).any(|d| d.join(".env").is_file()) {
        assert!(matches!(from_env_in(&dir), Err(ConfigError::NoKeySource)));
    }
}
