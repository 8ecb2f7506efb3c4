//! Checks of an outgoing message before it goes anywhere near Exchange.
//!
//! Limits, and why:
//! - at most [`MAX_RECIPIENTS`] recipients in all (Exchange Online's per-message limit);
//! - a subject of at most [`MAX_SUBJECT`] characters (what Outlook shows and EWS stores);
//! - a body of at most [`MAX_BODY_BYTES`];
//! - at most [`MAX_ATTACHMENTS`] attachments of at most [`MAX_ATTACHMENT_BYTES`] in all,
//!   decoded. EWS carries attachments base64 inside the SOAP request, a third larger than
//!   the files, and Exchange caps the size of a request, so the sum is kept well under it.
//!   The route's body limit (10 MiB) leaves room for that much base64 and the body.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mailbridge_mailbox::is_xml_char;

use crate::ops::{Attachment, OutgoingMessage};
use crate::validate::{self, Checks};

/// Most recipients (to, cc and bcc together).
pub const MAX_RECIPIENTS: usize = 500;
/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 255;
/// Largest body, in bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most attachments.
pub const MAX_ATTACHMENTS: usize = 50;
/// Largest total of attachments, decoded (3 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 3 * 1024 * 1024;

/// The message with addresses trimmed and lower-cased, or every field that is wrong.
pub fn check(message: &OutgoingMessage) -> Result<OutgoingMessage, crate::ApiError> {
    let mut checks = Checks::default();
    let mut lists = Vec::with_capacity(3);
    for (name, list) in [
        ("to", &message.to),
        ("cc", &message.cc),
        ("bcc", &message.bcc),
    ] {
        let clean: Vec<String> = list
            .iter()
            .enumerate()
            .map(|(i, a)| checks.take(validate::email(&format!("{name}[{i}]"), a)))
            .collect();
        lists.push(clean);
    }
    let total = lists.iter().map(Vec::len).sum::<usize>();
    if total == 0 {
        checks.push("to", "at least one recipient is required (to, cc or bcc)");
    } else if total > MAX_RECIPIENTS {
        checks.push("to", format!("at most {MAX_RECIPIENTS} recipients in all"));
    }

    let subject = message.subject.trim();
    if subject.chars().count() > MAX_SUBJECT {
        checks.push(
            "subject",
            format!("is longer than {MAX_SUBJECT} characters"),
        );
    }
    if subject.chars().any(char::is_control) {
        checks.push("subject", "contains control characters");
    }
    match (&message.text, &message.html) {
        (Some(_), Some(_)) => checks.push("html", "give either text or html, not both"),
        (None, None) => checks.push("text", "a body is required: text or html"),
        (Some(body), None) | (None, Some(body)) => {
            let field = if message.text.is_some() {
                "text"
            } else {
                "html"
            };
            if body.len() > MAX_BODY_BYTES {
                checks.push(field, format!("is larger than {MAX_BODY_BYTES} bytes"));
            } else if let Some(c) = body.chars().find(|c| !is_xml_char(*c)) {
                checks.push(
                    field,
                    format!(
                        "contains the character U+{:04X}, which Exchange cannot carry (control \
                         characters other than tab, line feed and carriage return)",
                        u32::from(c)
                    ),
                );
            }
        }
    }
    check_attachments(&mut checks, &message.attachments);
    checks.finish()?;

    let mut lists = lists.into_iter();
    Ok(OutgoingMessage {
        to: lists.next().unwrap_or_default(),
        cc: lists.next().unwrap_or_default(),
        bcc: lists.next().unwrap_or_default(),
        subject: subject.to_owned(),
        text: message.text.clone(),
        html: message.html.clone(),
        attachments: message.attachments.clone(),
    })
}

fn check_attachments(checks: &mut Checks, attachments: &[Attachment]) {
    if attachments.len() > MAX_ATTACHMENTS {
        checks.push(
            "attachments",
            format!("at most {MAX_ATTACHMENTS} attachments"),
        );
        return;
    }
    let mut total = 0usize;
    for (i, a) in attachments.iter().enumerate() {
        let field = |name: &str| format!("attachments[{i}].{name}");
        match validate::text(&field("name"), &a.name, 255) {
            Ok(name) if name.contains(['/', '\\']) => {
                checks.push(field("name"), "must be a file name, not a path");
            }
            Ok(_) => {}
            Err(e) => checks.push(e.field, e.reason),
        }
        if !is_media_type(&a.content_type) {
            checks.push(
                field("content_type"),
                "must be a media type such as application/pdf",
            );
        }
        match STANDARD.decode(a.content_base64.as_bytes()) {
            Ok(bytes) => total = total.saturating_add(bytes.len()),
            Err(_) => checks.push(field("content_base64"), "is not valid base64"),
        }
    }
    if total > MAX_ATTACHMENT_BYTES {
        checks.push(
            "attachments",
            format!("together are larger than {MAX_ATTACHMENT_BYTES} bytes (3 MiB) decoded"),
        );
    }
}

/// `type/subtype`, each an RFC 6838 restricted name, parameters allowed after `;`.
fn is_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    essence
        .split_once('/')
        .is_some_and(|(kind, sub)| token(kind) && token(sub))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;

    fn message() -> OutgoingMessage {
        OutgoingMessage {
            to: vec!["Client@Example.com".to_owned()],
            subject: "Viewing on Friday".to_owned(),
            text: Some("See you then.".to_owned()),
            ..OutgoingMessage::default()
        }
    }

    fn fields(result: Result<OutgoingMessage, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => vec![format!("unexpected: {other:?}")],
        }
    }

    #[test]
    fn a_plain_message_passes_with_addresses_cleaned() {
        let checked = check(&message()).ok();
        assert_eq!(
            checked.map(|m| m.to),
            Some(vec!["client@example.com".to_owned()])
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut m = message();
        m.to = vec!["ok@example.com".to_owned(), "not-an-address".to_owned()];
        m.html = Some("<p>hi</p>".to_owned());
        m.subject = "x".repeat(300);
        m.attachments = vec![Attachment {
            name: "../report.pdf".to_owned(),
            content_type: "pdf".to_owned(),
            content_base64: "%%%".to_owned(),
        }];
        assert_eq!(
            fields(check(&m)),
            [
                "to[1]",
                "subject",
                "html",
                "attachments[0].name",
                "attachments[0].content_type",
                "attachments[0].content_base64"
            ]
        );
    }

    #[test]
    fn recipients_and_a_body_are_required() {
        let mut m = message();
        m.to.clear();
        m.text = None;
        assert_eq!(fields(check(&m)), ["to", "text"]);
    }

    #[test]
    fn attachments_over_three_mib_decoded_are_refused() {
        let mut m = message();
        let big = STANDARD.encode(vec![0u8; MAX_ATTACHMENT_BYTES / 2 + 1]);
        let part = Attachment {
            name: "a.bin".to_owned(),
            content_type: "application/octet-stream".to_owned(),
            content_base64: big,
        };
        m.attachments = vec![part.clone(), part];
        assert_eq!(fields(check(&m)), ["attachments"]);
    }

    #[test]
    fn a_body_with_characters_exchange_cannot_carry_is_refused_naming_them() {
        let mut m = message();
        m.text = Some("line one\r\n\tindented \u{1F600}".to_owned());
        assert!(check(&m).is_ok(), "tabs, CRLF and emoji are fine");
        m.text = Some("bell \u{7} here".to_owned());
        let Err(ApiError::Invalid(errors)) = check(&m) else {
            panic!("a control character passed")
        };
        assert_eq!(errors[0].field, "text");
        assert!(errors[0].reason.contains("U+0007"), "{}", errors[0].reason);
        m.text = None;
        m.html = Some("<p>\u{FFFF}</p>".to_owned());
        assert_eq!(fields(check(&m)), ["html"]);
    }
}
