//! [`ApproovConfigBuilder::from_env`]: the `APPROOV_*` variables, and the `.env` file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::{
    ApproovConfigBuilder, MAX_CLOCK_SKEW, MAX_MAX_TOKEN_LENGTH, MAX_SIGNATURE_MAX_AGE,
    MAX_SIGNATURE_MAX_BODY_BYTES, MAX_TOKEN_CACHE_SIZE, MAX_TOKEN_LENGTH_EXPECTED, Mode,
    SIGNATURE_MAX_BODY_BYTES_EXPECTED, TOKEN_CACHE_SIZE_EXPECTED, bounded,
};
use crate::check::error::ConfigError;
use crate::check::keys::Secret;
use crate::check::parse::{parse_bool, parse_header_name, parse_list, parse_usize};
use crate::check::replay::{ReplayConfig, StoreFailure};

impl ApproovConfigBuilder {
    /// A builder filled from the process environment, after reading a settings file: the one
    /// named by `APPROOV_ENV_FILE`, else `./.env` in the working directory if there is one,
    /// never a parent directory's. Real environment variables win over the file. Adjust the
    /// builder further, then [`build`](Self::build).
    ///
    /// Key sources never come from both places: if the environment names one
    /// (`APPROOV_BASE64_SECRET`, `APPROOV_BASE64URL_SECRET`, `APPROOV_PUBLIC_KEY_PEM`,
    /// `APPROOV_JWKS`, `APPROOV_JWKS_URL`, what decides the fetched keys,
    /// `APPROOV_JWKS_CA_FILE` and `APPROOV_JWKS_PROXY`, or the account message signing key
    /// `APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_*` and `..._KEY_ID`) and the file names another one, that is
    /// an error: a settings file nobody meant to load must not add keys to those the
    /// environment gives. The names of the variables taken from the file (never their
    /// values) are logged at `info`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is unusable;
    /// [`ConfigError::Io`] naming `APPROOV_ENV_FILE` when the file it names cannot be read;
    /// [`ConfigError::EnvFile`] when a line of the file does not parse;
    /// [`ConfigError::KeySourcesInTwoPlaces`] as above.
    pub fn from_env() -> Result<Self, ConfigError> {
        let Some(file) = EnvFile::find()? else {
            return Self::from_env_with(process_var);
        };
        file.check_key_sources(|name| std::env::var_os(name).is_some())?;
        let from_file = RefCell::new(Vec::new());
        let overridden = RefCell::new(Vec::new());
        let builder = Self::from_env_with(|name| {
            let value = process_var(name);
            let in_file = file.vars.get(name);
            match (value, in_file) {
                (None, Some(v)) => {
                    from_file.borrow_mut().push(name.to_owned());
                    Some(Ok(v.clone()))
                }
                (value, in_file) => {
                    if in_file.is_some() {
                        overridden.borrow_mut().push(name.to_owned());
                    }
                    value
                }
            }
        });
        // Names only: a value may be the secret.
        tracing::info!(
            file = %file.path.display(),
            from_file = %from_file.borrow().join(","),
            overridden_by_environment = %overridden.borrow().join(","),
            "Approov settings read from a settings file (variable names only; the environment \
             wins over the file)"
        );
        builder
    }

    /// A builder filled from variables looked up by `lookup`, which returns `None` for an unset
    /// variable and `Some(Err(()))` for one that is set but not UTF-8. [`from_env`](Self::from_env)
    /// is this over the process environment; tests and other configuration systems can pass
    /// their own.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first variable that is unusable.
    pub fn from_env_with<F>(lookup: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<Result<String, ()>>,
    {
        let var = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match lookup(name) {
                None => Ok(None),
                Some(Err(())) => Err(ConfigError::Invalid {
                    variable: name,
                    expected: "UTF-8 text",
                }),
                Some(Ok(v)) => Ok(Some(v)),
            }
        };
        let mut b = Self::default();

        for (name, decode) in [
            (
                "APPROOV_BASE64_SECRET",
                Secret::from_base64 as fn(&str, &'static str) -> _,
            ),
            ("APPROOV_BASE64URL_SECRET", Secret::from_base64url),
        ] {
            if let Some(list) = var(name)? {
                // The text copy of the secret is wiped when dropped, like the decoded bytes.
                let list = zeroize::Zeroizing::new(list);
                if list.trim().is_empty() {
                    return Err(ConfigError::Empty { variable: name });
                }
                // A comma-separated list, each entry `secret` or `kid:secret` (base64 has no
                // `:`), for rotation.
                for entry in list.split(',') {
                    let (kid, secret) = match entry.split_once(':') {
                        Some((kid, _)) if kid.trim().is_empty() => {
                            return Err(ConfigError::Invalid {
                                variable: name,
                                expected: "`secret` or `kid:secret` entries, with a non-empty kid",
                            });
                        }
                        Some((kid, secret)) => (Some(kid.trim().to_owned()), secret),
                        None => (None, entry),
                    };
                    b.keys.push(decode(secret, name)?.into_key(kid, name)?);
                }
            }
        }
        if let Some(v) = var("APPROOV_PUBLIC_KEY_PEM")? {
            const VAR: &str = "APPROOV_PUBLIC_KEY_PEM";
            let pem = text_or_file(&v, "-----BEGIN", VAR)?;
            b.keys
                .push(crate::check::keys::key_from_pem(&pem, None, VAR)?);
        }
        if let Some(v) = var("APPROOV_JWKS")? {
            const VAR: &str = "APPROOV_JWKS";
            let json = text_or_file(&v, "{", VAR)?;
            b.keys
                .extend(crate::check::keys::keys_from_jwks(&json, true, VAR)?);
        }
        if let Some(v) = var("APPROOV_JWKS_URL")? {
            const VAR: &str = "APPROOV_JWKS_URL";
            if v.trim().is_empty() {
                return Err(ConfigError::Empty { variable: VAR });
            }
            #[cfg(feature = "jwks-url")]
            {
                b.jwks_url = Some(crate::check::keys::remote::RemoteOptions::new(&v, VAR));
            }
            #[cfg(not(feature = "jwks-url"))]
            return Err(ConfigError::Jwks {
                variable: VAR,
                reason: "this build of tower-approov lacks the `jwks-url` feature",
            });
        }
        if let Some(v) = var("APPROOV_JWKS_MAX_STALENESS_SECONDS")? {
            const VAR: &str = "APPROOV_JWKS_MAX_STALENESS_SECONDS";
            let seconds = v.trim().parse::<u64>().ok();
            #[cfg(feature = "jwks-url")]
            {
                let max = crate::check::keys::remote::MAX_JWKS_MAX_STALENESS.as_secs();
                let seconds = seconds.filter(|s| (1..=max).contains(s));
                b.jwks_options().max_staleness =
                    Duration::from_secs(seconds.ok_or(ConfigError::Invalid {
                        variable: VAR,
                        expected: "a whole number of seconds from 1 to 604800 (7 days)",
                    })?);
            }
            #[cfg(not(feature = "jwks-url"))]
            {
                let _ = seconds;
                return Err(ConfigError::Jwks {
                    variable: VAR,
                    reason: "this build of tower-approov lacks the `jwks-url` feature",
                });
            }
        }
        for variable in ["APPROOV_JWKS_PROXY", "APPROOV_JWKS_CA_FILE"] {
            let Some(v) = var(variable)? else { continue };
            if v.trim().is_empty() {
                return Err(ConfigError::Empty { variable });
            }
            #[cfg(feature = "jwks-url")]
            if variable == "APPROOV_JWKS_PROXY" {
                let options = b.jwks_options();
                options.proxy = Some(v.trim().to_owned());
                options.proxy_variable = variable;
            } else {
                let pem = std::fs::read(v.trim())
                    .map_err(|source| ConfigError::Io { variable, source })?;
                let roots = crate::check::keys::remote::parse_root_certificates(&pem, variable)?;
                b.jwks_options().extra_roots.extend(roots);
            }
            #[cfg(not(feature = "jwks-url"))]
            return Err(ConfigError::Jwks {
                variable,
                reason: "this build of tower-approov lacks the `jwks-url` feature",
            });
        }
        if let Some(v) = var("APPROOV_TOKEN_HEADER")? {
            b.token_header = parse_header_name(&v, "APPROOV_TOKEN_HEADER")?;
        }
        if let Some(v) = var("APPROOV_TOKEN_PREFIX")? {
            b = b.with_token_prefix(&v);
        }
        if let Some(v) = var("APPROOV_TOKEN_BINDING_HEADER")? {
            // Set but empty is an error, not "binding off": unset the variable for that.
            b.binding_headers = parse_list(&v, "APPROOV_TOKEN_BINDING_HEADER")?
                .iter()
                .map(|h| parse_header_name(h, "APPROOV_TOKEN_BINDING_HEADER"))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = var("APPROOV_ALLOW_MISSING_PAY")? {
            b.allow_missing_pay = parse_bool(&v, "APPROOV_ALLOW_MISSING_PAY")?;
        }
        if let Some(v) = var("APPROOV_LEEWAY_SECONDS")? {
            let secs = v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
                variable: "APPROOV_LEEWAY_SECONDS",
                expected: "a whole number of seconds, e.g. 0 or 5",
            })?;
            b.leeway = Duration::from_secs(secs);
            if b.leeway > MAX_CLOCK_SKEW {
                return Err(ConfigError::Invalid {
                    variable: "APPROOV_LEEWAY_SECONDS",
                    expected: "at most 3600 seconds (one hour); keep it at a few seconds, if any",
                });
            }
        }
        if let Some(v) = var("APPROOV_ISSUER")? {
            b.issuers = Some(parse_list(&v, "APPROOV_ISSUER")?);
        }
        if let Some(v) = var("APPROOV_AUDIENCE")? {
            b.audiences = Some(parse_list(&v, "APPROOV_AUDIENCE")?);
        }
        if let Some(v) = var("APPROOV_MODE")? {
            b.mode = match v.trim().to_ascii_lowercase().as_str() {
                "enforce" => Mode::Enforce,
                "monitor" => Mode::Monitor,
                _ => {
                    return Err(ConfigError::Invalid {
                        variable: "APPROOV_MODE",
                        expected: "`enforce` or `monitor`",
                    });
                }
            };
        }
        if let Some(v) = var("APPROOV_TOKEN_CACHE_SIZE")? {
            const VAR: &str = "APPROOV_TOKEN_CACHE_SIZE";
            b.token_cache_size = parse_usize(&v, VAR)?;
            bounded(
                b.token_cache_size <= MAX_TOKEN_CACHE_SIZE,
                VAR,
                TOKEN_CACHE_SIZE_EXPECTED,
            )?;
        }
        if let Some(v) = var("APPROOV_STRIP_TOKEN_HEADER")? {
            b.strip_token_header = parse_bool(&v, "APPROOV_STRIP_TOKEN_HEADER")?;
        }
        if let Some(v) = var("APPROOV_MAX_TOKEN_LENGTH")? {
            const VAR: &str = "APPROOV_MAX_TOKEN_LENGTH";
            b.max_token_length = parse_usize(&v, VAR)?;
            bounded(
                b.max_token_length <= MAX_MAX_TOKEN_LENGTH,
                VAR,
                MAX_TOKEN_LENGTH_EXPECTED,
            )?;
        }
        crate::check::signing::apply_env(&mut b.signing, &var)?;
        replay_from_env(&mut b, &var)?;
        // The signing variables are parsed by `signing`; their bounds are checked here, where
        // the crate's other bounds are. Their defaults are within them, so a value beyond one
        // came from its variable.
        bounded(
            b.signing.clock_skew <= MAX_CLOCK_SKEW,
            "APPROOV_SIGNATURE_CLOCK_SKEW_SECONDS",
            "at most 3600 seconds (one hour)",
        )?;
        bounded(
            b.signing
                .max_age
                .is_none_or(|age| age <= MAX_SIGNATURE_MAX_AGE),
            "APPROOV_SIGNATURE_MAX_AGE_SECONDS",
            "at most 3600 seconds (one hour), or 0 to leave only `expires`",
        )?;
        bounded(
            b.signing.max_body_bytes <= MAX_SIGNATURE_MAX_BODY_BYTES,
            "APPROOV_SIGNATURE_MAX_BODY_BYTES",
            SIGNATURE_MAX_BODY_BYTES_EXPECTED,
        )?;
        Ok(b)
    }
}

/// A process environment variable, as [`ApproovConfigBuilder::from_env_with`] wants it.
fn process_var(name: &str) -> Option<Result<String, ()>> {
    match std::env::var(name) {
        Ok(value) => Some(Ok(value)),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => Some(Err(())),
    }
}

/// The variable that names the settings file explicitly.
const ENV_FILE: &str = "APPROOV_ENV_FILE";

/// The variables that say which keys verify tokens: the key sources, and what decides the
/// keys fetched from a JWKS URL (whose CA is trusted, which proxy may answer). They are taken
/// from one place only (see [`EnvFile::check_key_sources`]).
const KEY_SOURCES: [&str; 11] = [
    "APPROOV_BASE64_SECRET",
    "APPROOV_BASE64URL_SECRET",
    "APPROOV_PUBLIC_KEY_PEM",
    "APPROOV_JWKS",
    "APPROOV_JWKS_URL",
    "APPROOV_JWKS_CA_FILE",
    "APPROOV_JWKS_PROXY",
    // The account message signing key signs requests as the app: a stray settings file must
    // not add one either.
    "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64URL",
    "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_BASE64",
    "APPROOV_ACCOUNT_MESSAGE_SIGNING_SECRET_RAW",
    "APPROOV_ACCOUNT_MESSAGE_SIGNING_KEY_ID",
];

/// A settings file and its variables.
struct EnvFile {
    path: PathBuf,
    vars: HashMap<String, String>,
}

impl Drop for EnvFile {
    /// The file may hold the secret: our copy of its values is wiped, whatever the outcome.
    fn drop(&mut self) {
        self.vars.values_mut().for_each(zeroize::Zeroize::zeroize);
    }
}

impl EnvFile {
    /// The file named by `APPROOV_ENV_FILE` (an error if it cannot be read), else `./.env`
    /// in the working directory if it is a file, else none. A parent directory's `.env` is
    /// never read: started from `/srv/app/bin`, a copy of `.env.example` left in `/srv` would
    /// otherwise add its published example secret to the keys.
    fn find() -> Result<Option<Self>, ConfigError> {
        if let Some(named) = std::env::var_os(ENV_FILE) {
            if named.is_empty() {
                return Err(ConfigError::Empty { variable: ENV_FILE });
            }
            let path = PathBuf::from(named);
            let bytes = std::fs::read(&path).map_err(|source| ConfigError::Io {
                variable: ENV_FILE,
                source,
            })?;
            return Self::parse(path, bytes).map(Some);
        }
        let Some(path) = std::env::current_dir()
            .ok()
            .map(|dir| dir.join(".env"))
            .filter(|p| p.is_file())
        else {
            return Ok(None);
        };
        let bytes = std::fs::read(&path).map_err(|_| ConfigError::EnvFile {
            path: path.clone(),
            line: None,
        })?;
        Self::parse(path, bytes).map(Some)
    }

    /// Reads the variables of the file at `path`, whose content is `bytes`.
    ///
    /// A line that does not parse is an error naming the file and the line, never the text:
    /// an unterminated quote would otherwise swallow every line after it (the binding header,
    /// say) and silently turn those settings off.
    fn parse(path: PathBuf, bytes: Vec<u8>) -> Result<Self, ConfigError> {
        let unreadable = |line| ConfigError::EnvFile {
            path: path.clone(),
            line,
        };
        // The file may hold the secret: our copy of its text is wiped when dropped.
        let text = zeroize::Zeroizing::new(String::from_utf8(bytes).map_err(|e| {
            let mut bytes = e.into_bytes();
            zeroize::Zeroize::zeroize(&mut bytes);
            unreadable(None)
        })?);
        let mut vars = HashMap::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            match item {
                Ok((name, value)) => {
                    vars.insert(name, value);
                }
                Err(dotenvy::Error::LineParse(mut bad, _)) => {
                    // dotenvy hands back the (logical) line it could not parse: find where it
                    // starts to number it, then wipe it, since it may hold a secret.
                    let line = text
                        .find(bad.as_str())
                        .map(|at| text[..at].matches('\n').count() + 1);
                    zeroize::Zeroize::zeroize(&mut bad);
                    return Err(unreadable(line));
                }
                Err(_) => return Err(unreadable(None)),
            }
        }
        Ok(Self { path, vars })
    }

    /// Refuses key sources from both places: when the environment (`in_environment`) names a
    /// key source and the file names another one, the error names the first of each and the
    /// file. The same key source in both is no conflict: the environment's value is used.
    fn check_key_sources(&self, in_environment: impl Fn(&str) -> bool) -> Result<(), ConfigError> {
        let Some(environment) = KEY_SOURCES.iter().find(|name| in_environment(name)) else {
            return Ok(());
        };
        match KEY_SOURCES
            .iter()
            .find(|name| self.vars.contains_key(**name) && !in_environment(name))
        {
            Some(file) => Err(ConfigError::KeySourcesInTwoPlaces {
                environment,
                file,
                path: self.path.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// The value itself when it starts with `marker` (PEM or JSON text), else the content of the
/// file it names.
fn text_or_file(value: &str, marker: &str, variable: &'static str) -> Result<Vec<u8>, ConfigError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ConfigError::Empty { variable });
    }
    if value.starts_with(marker) {
        return Ok(value.as_bytes().to_vec());
    }
    std::fs::read(value).map_err(|source| ConfigError::Io { variable, source })
}

/// The `APPROOV_REPLAY_*` variables. Replay protection is on only with
/// `APPROOV_REPLAY_PROTECTION=on`; any other replay variable set while it is not is an error,
/// so that a typo in that one variable cannot turn the protection off quietly.
fn replay_from_env(
    b: &mut ApproovConfigBuilder,
    var: &dyn Fn(&'static str) -> Result<Option<String>, ConfigError>,
) -> Result<(), ConfigError> {
    const PROTECTION: &str = "APPROOV_REPLAY_PROTECTION";
    const URL: &str = "APPROOV_REPLAY_REDIS_URL";
    const FAILURE: &str = "APPROOV_REPLAY_STORE_FAILURE";
    const ENTRIES: &str = "APPROOV_REPLAY_MEMORY_ENTRIES";
    const PREFIX: &str = "APPROOV_REPLAY_KEY_PREFIX";
    const TIMEOUT: &str = "APPROOV_REPLAY_REDIS_TIMEOUT_MS";
    let on = match var(PROTECTION)? {
        None => false,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "on" => true,
            "off" => false,
            _ => {
                return Err(ConfigError::Invalid {
                    variable: PROTECTION,
                    expected: "`on` or `off`",
                });
            }
        },
    };
    let (url, failure, entries, prefix, timeout) = (
        var(URL)?,
        var(FAILURE)?,
        var(ENTRIES)?,
        var(PREFIX)?,
        var(TIMEOUT)?,
    );
    if !on {
        let set = [
            (URL, url.is_some()),
            (FAILURE, failure.is_some()),
            (ENTRIES, entries.is_some()),
            (PREFIX, prefix.is_some()),
            (TIMEOUT, timeout.is_some()),
        ];
        if let Some((variable, _)) = set.iter().find(|(_, set)| *set) {
            return Err(ConfigError::Invalid {
                variable,
                expected: "nothing while APPROOV_REPLAY_PROTECTION is not `on`: set \
                           APPROOV_REPLAY_PROTECTION=on, or unset this variable",
            });
        }
        return Ok(());
    }
    let mut replay = match url {
        Some(url) if url.trim().is_empty() => {
            return Err(ConfigError::Empty { variable: URL });
        }
        Some(url) => ReplayConfig::redis(&url),
        None => ReplayConfig::memory(),
    };
    if let Some(v) = failure {
        replay = replay.with_store_failure(match v.trim().to_ascii_lowercase().as_str() {
            "reject" => StoreFailure::Reject,
            "allow" => StoreFailure::Allow,
            _ => {
                return Err(ConfigError::Invalid {
                    variable: FAILURE,
                    expected: "`reject` (refuse signed requests while the store cannot answer) \
                               or `allow`",
                });
            }
        });
    }
    // Each setting checked alone, so that an error names its own variable.
    if let Some(v) = entries {
        let entries = parse_usize(&v, ENTRIES)?;
        ReplayConfig::memory()
            .with_memory_entries(entries)
            .check(ENTRIES)?;
        replay = replay.with_memory_entries(entries);
    }
    if let Some(v) = prefix {
        ReplayConfig::memory()
            .with_key_prefix(v.trim())
            .check(PREFIX)?;
        replay = replay.with_key_prefix(v.trim());
    }
    if let Some(v) = timeout {
        let ms = v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
            variable: TIMEOUT,
            expected: "a whole number of milliseconds from 1 to 10000",
        })?;
        let timeout = Duration::from_millis(ms);
        ReplayConfig::memory()
            .with_timeout(timeout)
            .check(TIMEOUT)?;
        replay = replay.with_timeout(timeout);
    }
    // The Redis URL may hold a password: errors about it name the variable only.
    b.replay_setting = if replay.redis_url.is_some() {
        URL
    } else {
        PROTECTION
    };
    b.replay = Some(replay);
    Ok(())
}
