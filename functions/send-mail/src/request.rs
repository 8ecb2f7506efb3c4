//! The two shapes of a message on the send retry queue: the pointer the API queues
//! (`{"mailbox", "idempotency_key"}`, the message spooled in the state table) and the older
//! inline form that carries the message itself (`{"mailbox", "idempotency_key", "message"}`).

use mailbridge_api::QueuedSend;
use mailbridge_fn_common::{BadRequest, SendRequest};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// A send to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryRequest {
    /// A pointer to a spooled send, as the API queues it.
    Queued(QueuedSend),
    /// A send carrying its message.
    Inline(SendRequest),
}

/// Why a body is not a send to retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRetry {
    /// The message has no body.
    #[error("the message has no body")]
    NoBody,
    /// The body is not a pointer of the expected shape.
    #[error("the body is not a send to retry: {0}")]
    Shape(String),
    /// The body carries a message, but not as an inline send reads.
    #[error(transparent)]
    Inline(#[from] BadRequest),
}

/// Just enough of a body to tell the two shapes apart.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    message: Option<IgnoredAny>,
}

impl RetryRequest {
    /// Reads a message body; the mailbox is trimmed and lower-cased.
    pub fn parse(body: Option<&str>) -> Result<RetryRequest, BadRetry> {
        let text = body
            .filter(|b| !b.trim().is_empty())
            .ok_or(BadRetry::NoBody)?;
        let probe: Probe = serde_json::from_str(text).map_err(|e| shape(&e))?;
        if probe.message.is_some() {
            return Ok(RetryRequest::Inline(SendRequest::parse(body)?));
        }

        let mut queued = QueuedSend::parse(text).map_err(|e| shape(&e))?;
        queued.mailbox = queued.mailbox.trim().to_lowercase();
        if !queued.mailbox.contains('@') {
            return Err(BadRetry::Shape("mailbox is not an address".to_owned()));
        }
        if queued.idempotency_key.is_empty() {
            return Err(BadRetry::Shape("idempotency_key is empty".to_owned()));
        }
        Ok(RetryRequest::Queued(queued))
    }

    /// The mailbox it is sent from.
    pub fn mailbox(&self) -> &str {
        match self {
            RetryRequest::Queued(queued) => &queued.mailbox,
            RetryRequest::Inline(request) => &request.mailbox,
        }
    }
}

fn shape(err: &serde_json::Error) -> BadRetry {
    BadRetry::Shape(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_and_an_inline_send_are_told_apart() {
        let pointer = r#"{"mailbox": " Anna.Berg@contoso.example", "idempotency_key": "k-1"}"#;
        assert_eq!(
            RetryRequest::parse(Some(pointer)),
            Ok(RetryRequest::Queued(QueuedSend {
                mailbox: "anna.berg@contoso.example".to_owned(),
                idempotency_key: "k-1".to_owned(),
            }))
        );
        let inline = r#"{"mailbox": "anna.berg@contoso.example", "idempotency_key": "k-2",
                         "message": {"to": ["a@b.example"], "subject": "s", "text": "t"}}"#;
        assert!(matches!(
            RetryRequest::parse(Some(inline)),
            Ok(RetryRequest::Inline(request)) if request.idempotency_key == "k-2"
        ));
    }

    #[test]
    fn bodies_that_are_neither_are_refused() {
        let cases = [
            (None, "no body"),
            (Some("[1, 2]"), "not a send to retry"),
            (Some(r#"{"mailbox": "a@b.example"}"#), "idempotency_key"),
            (
                Some(r#"{"mailbox": "nobody", "idempotency_key": "k"}"#),
                "not an address",
            ),
            (
                Some(r#"{"mailbox": "a@b.example", "idempotency_key": "k", "extra": 1}"#),
                "extra",
            ),
            (
                Some(r#"{"mailbox": "a@b.example", "message": "text"}"#),
                "missing",
            ),
        ];
        for (body, expected) in cases {
            let err = RetryRequest::parse(body).unwrap_err().to_string();
            assert!(err.contains(expected), "{body:?}: {err}");
        }
    }
}
