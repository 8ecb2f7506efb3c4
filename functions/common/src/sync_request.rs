//! The message on the sync queue: which mailbox to sync, and why. The scheduler and the
//! API write it; the mailbox-sync function reads it.

use serde::{Deserialize, Serialize};

/// Longest mailbox address accepted (RFC 5321's path limit, with room).
const MAX_ADDRESS: usize = 320;
/// Longest reason kept; longer ones are cut.
const MAX_REASON: usize = 64;

/// A request to sync one mailbox: `{"mailbox": "anna@contoso.example", "reason": "scheduled"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The mailbox's primary SMTP address.
    pub mailbox: String,
    /// Why the sync was asked for (`scheduled`, `api`…), for the logs.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Why a message is not a sync request. Never carries the body itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    /// The message has no body.
    #[error("the message has no body")]
    NoBody,
    /// The body is not a JSON object of the expected shape.
    #[error("the body is not a sync request: {0}")]
    Shape(String),
    /// The mailbox address is not usable.
    #[error("mailbox: {0}")]
    Mailbox(&'static str),
}

impl SyncRequest {
    /// A request for `mailbox` with `reason`.
    pub fn new(mailbox: impl Into<String>, reason: impl Into<String>) -> SyncRequest {
        SyncRequest {
            mailbox: mailbox.into(),
            reason: Some(reason.into()),
        }
    }

    /// Reads a message body, checking the address; it comes back trimmed and lower-cased.
    pub fn parse(body: Option<&str>) -> Result<SyncRequest, BadRequest> {
        let body = body
            .filter(|b| !b.trim().is_empty())
            .ok_or(BadRequest::NoBody)?;
        let mut request: SyncRequest = serde_json::from_str(body).map_err(|e| shape_error(&e))?;
        request.mailbox = check_address(&request.mailbox)?;
        request.reason = request.reason.map(|r| r.chars().take(MAX_REASON).collect());
        Ok(request)
    }

    /// The message body.
    pub fn to_body(&self) -> String {
        // A struct of two strings always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The reason, or `unspecified`.
    pub fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or("unspecified")
    }
}

/// A JSON error as a [`BadRequest`]: its category and position only, since serde's message
/// may quote the body.
pub(crate) fn shape_error(err: &serde_json::Error) -> BadRequest {
    let at = format!("line {} column {}", err.line(), err.column());
    BadRequest::Shape(match err.classify() {
        serde_json::error::Category::Data => format!("a field is missing or mistyped ({at})"),
        _ => format!("not JSON ({at})"),
    })
}

/// A mailbox address, trimmed and lower-cased, or why it is not one.
pub(crate) fn check_address(address: &str) -> Result<String, BadRequest> {
    let address = address.trim();
    if address.is_empty() {
        return Err(BadRequest::Mailbox("is empty"));
    }
    if address.len() > MAX_ADDRESS {
        return Err(BadRequest::Mailbox("is longer than 320 bytes"));
    }
    if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(BadRequest::Mailbox("holds spaces or control characters"));
    }
    match address.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(address.to_lowercase())
        }
        _ => Err(BadRequest::Mailbox(
            "is not an address of the form name@domain",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_through_its_body() {
        let request = SyncRequest::new("anna.berg@contoso.example", "scheduled");
        assert_eq!(SyncRequest::parse(Some(&request.to_body())), Ok(request));
    }

    #[test]
    fn the_address_is_trimmed_and_lower_cased_and_the_reason_optional() {
        let request = SyncRequest::parse(Some(r#"{"mailbox": " Anna.Berg@Contoso.Example "}"#));
        let request = request.unwrap();
        assert_eq!(request.mailbox, "anna.berg@contoso.example");
        assert_eq!(request.reason(), "unspecified");
    }

    #[test]
    fn bad_bodies_are_refused_without_quoting_them() {
        let cases = [
            (None, "no body"),
            (Some("  "), "no body"),
            (Some("sync anna please"), "not JSON"),
            (Some(r#"{"mailbox": 7}"#), "mistyped"),
            (Some(r#"{"reason": "scheduled"}"#), "missing"),
            (Some(r#"{"mailbox": ""}"#), "mailbox: is empty"),
            (
                Some(r#"{"mailbox": "anna berg@contoso.example"}"#),
                "mailbox: holds spaces",
            ),
            (
                Some(r#"{"mailbox": "anna.berg"}"#),
                "mailbox: is not an address",
            ),
            (
                Some(r#"{"mailbox": "a@b@c"}"#),
                "mailbox: is not an address",
            ),
        ];
        for (body, expected) in cases {
            let err = SyncRequest::parse(body).unwrap_err().to_string();
            assert!(err.contains(expected), "{body:?}: {err}");
            assert!(!err.contains("anna please"), "{err}");
        }
    }

    #[test]
    fn a_long_reason_is_cut() {
        let body = format!(
            r#"{{"mailbox": "a@b.example", "reason": "{}"}}"#,
            "x".repeat(500)
        );
        assert_eq!(SyncRequest::parse(Some(&body)).unwrap().reason().len(), 64);
    }
}
