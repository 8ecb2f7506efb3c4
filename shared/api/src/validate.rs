//! Checks of single values that several routes share. Each returns the cleaned value or a
//! [`FieldError`] naming the field, so a route can report every bad field at once.

use url::{Host, Url};

use crate::problem::{ApiError, FieldError};

/// Collects field errors while a route checks its input.
#[derive(Debug, Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    /// The value, or `T::default()` after noting the error.
    pub fn take<T: Default>(&mut self, result: Result<T, FieldError>) -> T {
        result.unwrap_or_else(|e| {
            self.errors.push(e);
            T::default()
        })
    }

    /// Notes an error.
    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(FieldError::new(field, reason));
    }

    /// `Invalid` (422) with every noted error, or `Ok` when there were none.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Invalid(self.errors))
        }
    }
}

/// Longest e-mail address (RFC 5321's path limit).
const MAX_ADDRESS: usize = 254;

/// An e-mail address, trimmed and lower-cased: one `@`, a local part, a domain with a dot,
/// no spaces or control characters.
// LIMIT: a shape check, not RFC 5322: quoted local parts and address literals are refused,
// which real mailboxes never need.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let address = value.trim().to_lowercase();
    let refuse = |reason: &str| Err(FieldError::new(field, reason));
    if address.is_empty() {
        return refuse("is required");
    }
    if address.len() > MAX_ADDRESS {
        return refuse("is longer than 254 characters");
    }
    let Some((local, domain)) = address.split_once('@') else {
        return refuse("is not an e-mail address (no @)");
    };
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"@".contains(c);
    if local.is_empty() || local.chars().any(bad_char) {
        return refuse("is not an e-mail address (the part before @)");
    }
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    if !domain.contains('.') || !labels_ok {
        return refuse("is not an e-mail address (the domain)");
    }
    Ok(address)
}

/// Plain text of 1 to `max` characters without control characters, trimmed.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, "contains control characters"));
    }
    Ok(value.to_owned())
}

/// A tenant id: a directory GUID or a domain, lower-cased; letters, digits, `-` and `.`,
/// starting with a letter or digit, at most 64 characters.
pub fn tenant_id(field: &str, value: &str) -> Result<String, FieldError> {
    let id = value.trim().to_lowercase();
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(id)
    } else {
        Err(FieldError::new(
            field,
            "must be the directory (tenant) id or domain: letters, digits, '-' and '.'",
        ))
    }
}

/// An application (client) id: letters, digits and `-`, at most 64 characters.
pub fn client_id(field: &str, value: &str) -> Result<String, FieldError> {
    let id = value.trim();
    if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(id.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "must be the application (client) id from the app registration",
        ))
    }
}

/// An endpoint override: an absolute https URL, or http on a loopback host (the simulator).
pub fn endpoint(field: &str, value: &str) -> Result<String, FieldError> {
    let refuse = |reason: &str| Err(FieldError::new(field, reason));
    let Ok(url) = Url::parse(value.trim()) else {
        return refuse("is not an absolute URL");
    };
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => return refuse("has no host"),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return refuse("must use https (plain http only on a loopback host)"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("must not carry a user name or password");
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_accepts_ordinary_addresses_and_lowercases() {
        assert_eq!(
            email("to", " Agent@Brokerage.Example ").ok(),
            Some("agent@brokerage.example".to_owned())
        );
        assert!(email("to", "o'brien+crm@mail.example.co.uk").is_ok());
    }

    #[test]
    fn email_refuses_what_is_not_an_address() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a@@example.com",
            "a@-x.example",
            "a@x..example",
            "<a@example.com>",
        ] {
            assert!(email("to", bad).is_err(), "{bad:?} passed");
        }
    }

    #[test]
    fn endpoints_must_be_https_except_on_loopback() {
        assert!(
            endpoint(
                "ews_endpoint",
                "https://outlook.office365.com/EWS/Exchange.asmx"
            )
            .is_ok()
        );
        assert!(endpoint("ews_endpoint", "http://127.0.0.1:8080/EWS/Exchange.asmx").is_ok());
        assert!(endpoint("ews_endpoint", "http://example.com/EWS").is_err());
        assert!(endpoint("ews_endpoint", "https://user:pw@example.com/").is_err());
        assert!(endpoint("ews_endpoint", "not a url").is_err());
    }

    #[test]
    fn tenant_ids_are_guids_or_domains() {
        assert!(tenant_id("tenant_id", "6A1E0C4B-0F6B-4F1B-9C37-2B8A1D0E5F77").is_ok());
        assert!(tenant_id("tenant_id", "contoso.onmicrosoft.com").is_ok());
        assert!(tenant_id("tenant_id", "../etc").is_err());
        assert!(tenant_id("tenant_id", "a_b").is_err());
        assert!(tenant_id("tenant_id", "").is_err());
    }
}
