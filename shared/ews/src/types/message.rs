//! Messages mailbridge sends (and reads back from Sent Items).

use std::io::BufRead;

use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::common::{Body, Importance, Mailbox, parse_datetime};
use super::item::{ItemCommon, read_item_fields};
use crate::error::EwsError;
use crate::xml::{XmlReader, XmlWriter};

/// A file attached to a message, held in memory (mailbridge only sends small ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAttachment {
    /// File name shown to the recipient.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// An e-mail message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Id, CRM id, categories, extended properties.
    pub common: ItemCommon,
    /// Subject.
    pub subject: Option<String>,
    /// Body, text or HTML.
    pub body: Option<Body>,
    /// Attachments.
    pub attachments: Vec<FileAttachment>,
    /// Importance.
    pub importance: Option<Importance>,
    /// To.
    pub to: Vec<Mailbox>,
    /// Cc.
    pub cc: Vec<Mailbox>,
    /// Bcc.
    pub bcc: Vec<Mailbox>,
    /// Reply-To.
    pub reply_to: Vec<Mailbox>,
    /// From, as the server reports it (read-only here: mail goes out from the mailbox).
    pub from: Option<Mailbox>,
    /// When it was sent (read-only).
    pub sent: Option<DateTime<Utc>>,
    /// The Internet Message-ID (read-only).
    pub internet_message_id: Option<String>,
}

impl Message {
    /// Writes `<t:Message>` for `CreateItem`, properties in schema order.
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.open("t:Message", &[]);
        w.opt_element("t:Subject", self.subject.as_deref());
        if let Some(body) = &self.body {
            body.write(w);
        }
        if !self.attachments.is_empty() {
            w.open("t:Attachments", &[]);
            for attachment in &self.attachments {
                w.open("t:FileAttachment", &[]);
                w.text_element("t:Name", &attachment.name);
                w.text_element("t:ContentType", &attachment.content_type);
                w.text_element(
                    "t:Content",
                    &base64::engine::general_purpose::STANDARD.encode(&attachment.content),
                );
                w.close("t:FileAttachment");
            }
            w.close("t:Attachments");
        }
        self.common.write_categories(w);
        w.opt_element("t:Importance", self.importance.map(Importance::as_str));
        self.common.write_extended(w);
        for (element, list) in [
            ("t:ToRecipients", &self.to),
            ("t:CcRecipients", &self.cc),
            ("t:BccRecipients", &self.bcc),
        ] {
            write_recipients(w, element, list);
        }
        write_recipients(w, "t:ReplyTo", &self.reply_to);
        w.close("t:Message");
    }

    /// Reads the children of a `<Message>` already entered.
    pub(crate) fn read<R: BufRead>(r: &mut XmlReader<R>) -> Result<Message, EwsError> {
        let mut m = Message::default();
        let mut common = ItemCommon::default();
        read_item_fields(r, &mut common, |child, r| {
            match child.name.as_str() {
                "Subject" => m.subject = Some(r.read_text()?),
                "Body" => m.body = Some(Body::read(child, r)?),
                "Importance" => m.importance = Importance::parse(r.read_text()?.trim()),
                "ToRecipients" => m.to = Mailbox::read_list(r)?,
                "CcRecipients" => m.cc = Mailbox::read_list(r)?,
                "BccRecipients" => m.bcc = Mailbox::read_list(r)?,
                "ReplyTo" => m.reply_to = Mailbox::read_list(r)?,
                "From" => m.from = Mailbox::read_single(r)?,
                "DateTimeSent" => m.sent = Some(r.read_parsed("DateTimeSent", parse_datetime)?),
                "InternetMessageId" => m.internet_message_id = Some(r.read_text()?),
                "Attachments" => m.attachments = read_attachments(r)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        m.common = common;
        Ok(m)
    }
}

fn write_recipients(w: &mut XmlWriter, element: &str, list: &[Mailbox]) {
    if list.is_empty() {
        return;
    }
    w.open(element, &[]);
    for mailbox in list {
        mailbox.write(w);
    }
    w.close(element);
}

fn read_attachments<R: BufRead>(r: &mut XmlReader<R>) -> Result<Vec<FileAttachment>, EwsError> {
    let mut list = Vec::new();
    while let Some(child) = r.next_child()? {
        if child.name != "FileAttachment" {
            r.skip()?;
            continue;
        }
        let mut attachment = FileAttachment {
            name: String::new(),
            content_type: String::new(),
            content: Vec::new(),
        };
        while let Some(field) = r.next_child()? {
            match field.name.as_str() {
                "Name" => attachment.name = r.read_text()?,
                "ContentType" => attachment.content_type = r.read_text()?,
                "Content" => {
                    let text = r.read_text()?;
                    let cleaned: String = text.split_whitespace().collect();
                    attachment.content = base64::engine::general_purpose::STANDARD
                        .decode(cleaned)
                        .map_err(|e| {
                            EwsError::malformed(format!("attachment content is not base64: {e}"))
                        })?;
                }
                _ => r.skip()?,
            }
        }
        list.push(attachment);
    }
    Ok(list)
}
