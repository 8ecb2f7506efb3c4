//! The message on the send retry queue: a message to send from a mailbox, with the
//! idempotency key that keeps a retried send from going out twice.

use mailbridge_service::OutgoingMail;
use serde::{Deserialize, Serialize};

use crate::sync_request::{BadRequest, check_address, shape_error};

/// A send to (re)try:
/// `{"mailbox": "…", "idempotency_key": "…", "message": {"to": […], "subject": "…", "text": "…"}}`.
///
/// `message` is [`OutgoingMail`] as JSON, attachments base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The mailbox it is sent from.
    pub mailbox: String,
    /// The caller's idempotency key: sends with one key go out once.
    pub idempotency_key: String,
    /// The message.
    pub message: OutgoingMail,
}

impl SendRequest {
    /// Reads a message body, checking the address (trimmed and lower-cased). The message
    /// itself is checked when it is sent.
    pub fn parse(body: Option<&str>) -> Result<SendRequest, BadRequest> {
        let body = body
            .filter(|b| !b.trim().is_empty())
            .ok_or(BadRequest::NoBody)?;
        let mut request: SendRequest = serde_json::from_str(body).map_err(|e| shape_error(&e))?;
        request.mailbox = check_address(&request.mailbox)?;
        Ok(request)
    }

    /// The message body.
    pub fn to_body(&self) -> String {
        // Strings, lists of strings and bytes always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_request_round_trips_through_its_body() {
        let request = SendRequest {
            mailbox: "anna.berg@contoso.example".into(),
            idempotency_key: "crm-outbox-1".into(),
            message: OutgoingMail {
                to: vec!["lena@customer.example".into()],
                subject: "Viewing".into(),
                text: Some("Thursday at 10".into()),
                ..OutgoingMail::default()
            },
        };
        assert_eq!(SendRequest::parse(Some(&request.to_body())), Ok(request));
    }

    #[test]
    fn bad_bodies_are_refused() {
        let cases = [
            (None, "no body"),
            (Some("{"), "not JSON"),
            (
                Some(r#"{"mailbox": "a@b.example", "idempotency_key": "k"}"#),
                "missing",
            ),
            (
                Some(r#"{"mailbox": "a", "idempotency_key": "k", "message": {"subject": "s"}}"#),
                "mailbox:",
            ),
        ];
        for (body, expected) in cases {
            let err = SendRequest::parse(body).unwrap_err().to_string();
            assert!(err.contains(expected), "{body:?}: {err}");
        }
    }
}
