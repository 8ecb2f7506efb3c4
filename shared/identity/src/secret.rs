//! The application's client secret, wrapped so it cannot be printed by accident.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A client secret of an Entra ID app registration (the secret's *Value*, not its *Secret ID*).
///
/// The value is held in a [`SecretString`], zeroed when dropped. `Debug` prints a redaction;
/// there is deliberately no `Display` and no `Serialize`, so the value cannot reach a log line,
/// an error message or a JSON document without an explicit call inside this crate.
#[derive(Clone)]
pub struct ClientSecret(SecretString);

impl ClientSecret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The raw value, for the token request body and for scrubbing text that echoes it.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the secret is the empty string (an unfilled form field, usually).
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl From<SecretString> for ClientSecret {
    /// Wraps a secret already held in a [`SecretString`], e.g. one read from a secret store.
    fn from(value: SecretString) -> Self {
        Self(value)
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_a_redaction_not_the_value() {
        let secret = ClientSecret::new("s3cr3t-VALUE-xyz");

        let printed = format!("{secret:?} {secret:#?}");

        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn wraps_a_secret_string_without_exposing_it() {
        let secret = ClientSecret::from(SecretString::from("from-store".to_owned()));

        assert_eq!(secret.expose(), "from-store");
        assert!(!secret.is_empty());
        assert!(ClientSecret::new("").is_empty());
    }
}
