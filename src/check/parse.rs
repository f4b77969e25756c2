//! Small parsers shared by the configuration of the crate (`config`) and of message signing
//! (`signing`): header names, booleans, whole numbers, lists. Here, at the crate root, so that
//! neither of the two imports the other's internals.

use http::HeaderName;

use crate::check::error::ConfigError;

pub(crate) fn parse_header_name(
    name: &str,
    variable: &'static str,
) -> Result<HeaderName, ConfigError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ConfigError::Empty { variable });
    }
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| ConfigError::Invalid {
        variable,
        expected: "an HTTP header name such as `Approov-Token`",
    })
}

pub(crate) fn parse_bool(value: &str, variable: &'static str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Invalid {
            variable,
            expected: "true/false, 1/0 or yes/no",
        }),
    }
}

pub(crate) fn parse_usize(value: &str, variable: &'static str) -> Result<usize, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Invalid {
        variable,
        expected: "a whole number",
    })
}

pub(crate) fn parse_list(value: &str, variable: &'static str) -> Result<Vec<String>, ConfigError> {
    let list: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    if list.is_empty() {
        return Err(ConfigError::Empty { variable });
    }
    Ok(list)
}
