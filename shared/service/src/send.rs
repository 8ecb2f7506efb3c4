//! Sending mail from a user's mailbox with `SendAndSaveCopy`: delivered from that address,
//! a copy in Sent Items. An idempotency key, stamped on the message, makes a retried send
//! find the first one instead of sending twice, also when the first attempt's response was
//! lost.

use mailbridge_ews::ops::{CreateItem, FindItem, Restriction, View};
use mailbridge_ews::types::{
    Body, BodyType, DistinguishedFolder, ExtendedProperty, FileAttachment,
    IDEMPOTENCY_KEY_PROPERTY, ItemShape, Mailbox, Message, PropertyPath,
};
use mailbridge_ews::{EwsClient, EwsError};
use mailbridge_identity::TokenSource;
use serde::{Deserialize, Serialize};

/// Most recipients (to, cc and bcc together) one message may have.
pub const MAX_RECIPIENTS: usize = 500;
/// Longest subject.
pub const MAX_SUBJECT_CHARS: usize = 255;
/// Largest body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest total of attachments, decoded. EWS requests are capped (35 MB by default in
/// Exchange Online, less on many servers) and base64 grows content by a third; 3 MiB keeps
/// every message well inside the smallest common limit.
pub const MAX_ATTACHMENT_BYTES: usize = 3 * 1024 * 1024;
/// Longest idempotency key.
pub const MAX_KEY_CHARS: usize = 200;

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name shown to recipients.
    pub name: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// The bytes.
    #[serde(with = "base64_bytes")]
    pub content: Vec<u8>,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutgoingMail {
    /// Recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Copies.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Blind copies.
    #[serde(default)]
    pub bcc: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body (exclusive with `html`).
    #[serde(default)]
    pub text: Option<String>,
    /// HTML body (exclusive with `text`).
    #[serde(default)]
    pub html: Option<String>,
    /// Attachments.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// What a send did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sent {
    /// The idempotency key.
    pub key: String,
    /// The message had been sent before with this key; nothing was sent now.
    pub replayed: bool,
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The message is not acceptable; names the field.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Exchange refused or failed. When `may_have_taken_effect()` is true, retry with
    /// the same key: the retry finds the first message if it went out.
    #[error("the mailbox could not send: {0}")]
    Mailbox(#[from] EwsError),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SendError {
    SendError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn is_address(text: &str) -> bool {
    let text = text.trim();
    text.len() <= 320
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        && text.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
}

impl OutgoingMail {
    /// Checks the message against the limits, naming the first field that is wrong.
    pub fn validate(&self) -> Result<(), SendError> {
        for (field, list) in [("to", &self.to), ("cc", &self.cc), ("bcc", &self.bcc)] {
            if let Some(bad) = list.iter().find(|a| !is_address(a)) {
                let shown: String = bad.chars().take(80).collect();
                return Err(invalid(
                    field,
                    format!("{shown:?} is not an e-mail address"),
                ));
            }
        }
        let recipients = self.to.len() + self.cc.len() + self.bcc.len();
        if recipients == 0 {
            return Err(invalid("to", "at least one recipient is needed"));
        }
        if recipients > MAX_RECIPIENTS {
            return Err(invalid(
                "to",
                format!("at most {MAX_RECIPIENTS} recipients in all"),
            ));
        }
        if self.subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(invalid(
                "subject",
                format!("at most {MAX_SUBJECT_CHARS} characters"),
            ));
        }
        match (&self.text, &self.html) {
            (Some(_), Some(_)) => {
                return Err(invalid("html", "give a text or an HTML body, not both"));
            }
            (Some(b), None) | (None, Some(b)) if b.len() > MAX_BODY_BYTES => {
                return Err(invalid(
                    "text",
                    format!("the body may be at most {MAX_BODY_BYTES} bytes"),
                ));
            }
            _ => {}
        }
        let total: usize = self.attachments.iter().map(|a| a.content.len()).sum();
        if total > MAX_ATTACHMENT_BYTES {
            return Err(invalid(
                "attachments",
                format!("{total} bytes in all; at most {MAX_ATTACHMENT_BYTES}"),
            ));
        }
        if let Some(a) = self.attachments.iter().find(|a| {
            a.name.trim().is_empty() || a.name.len() > 255 || a.name.contains(['/', '\\'])
        }) {
            let shown: String = a.name.chars().take(80).collect();
            return Err(invalid(
                "attachments.name",
                format!("{shown:?} is not a file name"),
            ));
        }
        Ok(())
    }

    fn to_message(&self, key: &str) -> Message {
        let mailboxes = |list: &[String]| list.iter().map(|a| Mailbox::new(a.trim())).collect();
        let body = match (&self.text, &self.html) {
            (_, Some(html)) => Some(Body {
                kind: BodyType::Html,
                content: html.clone(),
            }),
            (Some(text), None) => Some(Body::text(text.clone())),
            (None, None) => None,
        };
        let mut message = Message {
            subject: Some(self.subject.clone()),
            body,
            to: mailboxes(&self.to),
            cc: mailboxes(&self.cc),
            bcc: mailboxes(&self.bcc),
            attachments: self
                .attachments
                .iter()
                .map(|a| FileAttachment {
                    name: a.name.clone(),
                    content_type: a.content_type.clone(),
                    content: a.content.clone(),
                })
                .collect(),
            ..Message::default()
        };
        message.common.extended.push(ExtendedProperty {
            field: IDEMPOTENCY_KEY_PROPERTY,
            value: key.to_owned(),
        });
        message
    }
}

/// Sends `mail` from `mailbox` unless a message with `key` is already in its Sent Items.
pub async fn send<T: TokenSource>(
    ews: &EwsClient<T>,
    mailbox: &str,
    mail: &OutgoingMail,
    key: &str,
) -> Result<Sent, SendError> {
    let key = key.trim();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(invalid(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_CHARS} printable characters"),
        ));
    }
    mail.validate()?;
    if already_sent(ews, mailbox, key).await? {
        tracing::info!(op = "send", mailbox_tag = %mailbridge_ews::mailbox_tag(mailbox), "message sent before with this key; not sent again");
        return Ok(Sent {
            key: key.to_owned(),
            replayed: true,
        });
    }
    for result in ews
        .execute(
            mailbox,
            &CreateItem::send_and_save_copy(mail.to_message(key)),
        )
        .await?
    {
        result.map_err(EwsError::Response)?;
    }
    Ok(Sent {
        key: key.to_owned(),
        replayed: false,
    })
}

async fn already_sent<T: TokenSource>(
    ews: &EwsClient<T>,
    mailbox: &str,
    key: &str,
) -> Result<bool, SendError> {
    let find = FindItem {
        folder: DistinguishedFolder::SentItems.into(),
        shape: ItemShape::ids_with_crm_id(),
        view: View::Indexed {
            max_entries: 1,
            offset: 0,
        },
        restriction: Some(Restriction::IsEqualTo(
            PropertyPath::Extended(IDEMPOTENCY_KEY_PROPERTY),
            key.to_owned(),
        )),
    };
    Ok(!ews.execute(mailbox, &find).await?.items.is_empty())
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| serde::de::Error::custom("content: not valid base64"))
    }
}
