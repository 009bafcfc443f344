//! Messages for a configuration that does not parse into the schema.
//!
//! figment names a key with its profile (`default.worker.commit_ms`) and
//! quotes serde's list of expected keys in doubled backticks. These messages
//! name the key as the file writes it, the file or environment it came
//! from, and what to write instead.

use figment::error::Kind;

/// Describes every error `error` holds, separated by semicolons.
pub(super) fn describe(error: &figment::Error) -> String {
    error
        .clone()
        .into_iter()
        .map(|one| describe_one(&one))
        .collect::<Vec<_>>()
        .join("; ")
}

fn describe_one(error: &figment::Error) -> String {
    let key = error.path.join(".");
    let origin = error
        .metadata
        .as_ref()
        .map(|metadata| match &metadata.source {
            Some(source) => format!(" in {source}"),
            None => format!(" in the {}", metadata.name),
        })
        .unwrap_or_default();

    let problem = match &error.kind {
        Kind::UnknownField(_, expected) => {
            format!("unknown key; the keys allowed here are {}", quoted_list(expected))
        }
        Kind::UnknownVariant(found, expected) => {
            format!("`{found}` is not one of {}", quoted_list(expected))
        }
        Kind::InvalidType(actual, expected) => format!("found {actual}, expected {expected}{}", unit_hint(&key)),
        Kind::MissingField(name) => format!("the required key `{name}` is missing"),
        other => other.to_string().trim().to_string(),
    };
    if key.is_empty() {
        format!("{problem}{origin}")
    } else {
        format!("key `{key}`{origin}: {problem}")
    }
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Returns how to write a duration key whose value had the wrong type.
fn unit_hint(key: &str) -> &'static str {
    if key.ends_with("_ms") {
        "; write a whole number of milliseconds without a unit, for example 1000"
    } else if key.ends_with("_secs") {
        "; write a whole number of seconds without a unit, for example 30"
    } else {
        ""
    }
}
