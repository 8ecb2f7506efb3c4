//! Writing stored items as EWS `t:Contact`, `t:CalendarItem` and `t:Message` elements, in
//! schema order, holding what the response shape asks for.

use chrono::{DateTime, SecondsFormat, Utc};

use super::fields::{AddressPart, Field, Shape};
use super::ids;
use super::xml::XmlOut;
use crate::model::recurrence::{Entry, EntryKind};
use crate::model::{
    Attendee, Body, Contact, Event, ItemContent, ItemData, Message, Person, StoredItem,
};

/// How `xs:dateTime` values are written.
pub fn datetime(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// What the writer needs besides the item.
pub struct ItemWriter<'a> {
    /// The mailbox number, for ids.
    pub mailbox: u32,
    /// The response shape.
    pub shape: &'a Shape,
}

impl ItemWriter<'_> {
    /// Writes a stored item.
    pub fn item(&self, w: &mut XmlOut, item: &StoredItem) {
        let id = ids::item_id(self.mailbox, item.number);
        self.write(w, item, &id, None);
    }

    /// Writes one entry of a calendar view: a single event, an occurrence or an exception.
    pub fn entry(&self, w: &mut XmlOut, item: &StoredItem, entry: &Entry) {
        match (entry.kind, entry.original_start) {
            (EntryKind::Single, _) | (_, None) => self.item(w, item),
            (_, Some(original)) => {
                let id = ids::occurrence_id(self.mailbox, item.number, original);
                self.write(w, item, &id, Some(entry));
            }
        }
    }

    fn write(&self, w: &mut XmlOut, item: &StoredItem, id: &str, entry: Option<&Entry>) {
        let element = match &item.content.data {
            ItemData::Contact(_) => "t:Contact",
            ItemData::Event(_) => "t:CalendarItem",
            ItemData::Message(_) => "t:Message",
        };
        w.open(element, &[]);
        let change_key = ids::change_key(item.change);
        w.empty("t:ItemId", &[("Id", id), ("ChangeKey", &change_key)]);
        self.item_fields(w, item, entry);
        match &item.content.data {
            ItemData::Contact(c) => self.contact(w, c),
            ItemData::Event(e) => self.event(w, item, e, entry),
            ItemData::Message(m) => self.message(w, m),
        }
        w.close(element);
    }

    fn item_fields(&self, w: &mut XmlOut, item: &StoredItem, entry: Option<&Entry>) {
        let s = self.shape;
        let content = &item.content;
        if s.wants(Field::ParentFolderId, false) {
            let folder = ids::folder_id(self.mailbox, item.folder);
            w.empty("t:ParentFolderId", &[("Id", &folder)]);
        }
        if s.wants(Field::ItemClass, true) {
            w.leaf("t:ItemClass", item_class(content));
        }
        if s.wants(Field::Subject, true) {
            let changed = entry
                .and_then(|e| e.change.as_ref())
                .and_then(|c| c.subject.clone());
            if let Some(subject) = changed.or_else(|| content.subject()) {
                w.leaf("t:Subject", &subject);
            }
        }
        if s.wants(Field::Sensitivity, false) {
            w.leaf(
                "t:Sensitivity",
                content.common.sensitivity.as_deref().unwrap_or("Normal"),
            );
        }
        if s.wants(Field::Body, false) {
            let body = content
                .common
                .body
                .clone()
                .unwrap_or_else(|| Body::text(""));
            let (kind, text) = convert_body(&body, s.body);
            w.leaf_with("t:Body", &[("BodyType", kind)], &text);
        }
        if let ItemData::Message(m) = &content.data
            && s.wants(Field::Attachments, true)
            && !m.attachments.is_empty()
        {
            w.open("t:Attachments", &[]);
            for (n, a) in m.attachments.iter().enumerate() {
                w.open("t:FileAttachment", &[]);
                let id = format!("{}:{n}", ids::item_id(self.mailbox, item.number));
                w.empty("t:AttachmentId", &[("Id", &id)]);
                w.leaf("t:Name", &a.name);
                w.leaf("t:ContentType", &a.content_type);
                w.leaf("t:Size", &a.content.len().to_string());
                w.leaf("t:IsInline", "false");
                w.close("t:FileAttachment");
            }
            w.close("t:Attachments");
        }
        if s.wants(Field::DateTimeReceived, false) {
            w.leaf("t:DateTimeReceived", &datetime(&item.created));
        }
        if s.wants(Field::Size, false) {
            w.leaf("t:Size", &item.size.min(i32::MAX as usize).to_string());
        }
        if s.wants(Field::Categories, true) && !content.common.categories.is_empty() {
            w.open("t:Categories", &[]);
            for c in &content.common.categories {
                w.leaf("t:String", c);
            }
            w.close("t:Categories");
        }
        if s.wants(Field::Importance, false) {
            w.leaf(
                "t:Importance",
                content.common.importance.as_deref().unwrap_or("Normal"),
            );
        }
        self.late_item_fields(w, item);
    }

    /// `ItemType`'s fields from `DateTimeSent` on.
    fn late_item_fields(&self, w: &mut XmlOut, item: &StoredItem) {
        let s = self.shape;
        let content = &item.content;
        let is_event = matches!(content.data, ItemData::Event(_));
        if let ItemData::Message(m) = &content.data
            && s.wants(Field::DateTimeSent, true)
            && let Some(sent) = &m.sent
        {
            w.leaf("t:DateTimeSent", &datetime(sent));
        }
        if s.wants(Field::DateTimeCreated, false) {
            w.leaf("t:DateTimeCreated", &datetime(&item.created));
        }
        if let ItemData::Event(e) = &content.data {
            if s.wants(Field::ReminderIsSet, true) {
                w.leaf("t:ReminderIsSet", bool_text(e.reminder_minutes.is_some()));
            }
            if s.wants(Field::ReminderMinutesBeforeStart, true) {
                w.leaf(
                    "t:ReminderMinutesBeforeStart",
                    &e.reminder_minutes.unwrap_or(15).to_string(),
                );
            }
        }
        if s.wants(Field::HasAttachments, !is_event) {
            let has = matches!(&content.data, ItemData::Message(m) if !m.attachments.is_empty());
            w.leaf("t:HasAttachments", bool_text(has));
        }
        for key in s.extended() {
            let Some(value) = content
                .common
                .extended
                .iter()
                .find(|p| p.property_set.eq_ignore_ascii_case(&key.set) && p.name == key.name)
            else {
                continue;
            };
            w.open("t:ExtendedProperty", &[]);
            let attrs: Vec<(&str, &str)> = key
                .attrs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            w.empty("t:ExtendedFieldURI", &attrs);
            w.leaf("t:Value", &value.value);
            w.close("t:ExtendedProperty");
        }
        if s.wants(Field::LastModifiedTime, false) {
            w.leaf("t:LastModifiedTime", &datetime(&item.modified));
        }
    }

    fn contact(&self, w: &mut XmlOut, c: &Contact) {
        let s = self.shape;
        let text = |w: &mut XmlOut, field: Field, element: &str, value: &Option<String>| {
            if s.wants(field, true) {
                w.opt_leaf(element, value.as_deref());
            }
        };
        text(w, Field::FileAs, "t:FileAs", &c.file_as);
        text(w, Field::DisplayName, "t:DisplayName", &c.display_name);
        text(w, Field::GivenName, "t:GivenName", &c.given_name);
        text(w, Field::MiddleName, "t:MiddleName", &c.middle_name);
        text(w, Field::Nickname, "t:Nickname", &c.nickname);
        text(w, Field::CompanyName, "t:CompanyName", &c.company);
        dictionary(w, s, Field::EmailAddresses, "t:EmailAddresses", &c.emails);
        self.addresses(w, c);
        dictionary(w, s, Field::PhoneNumbers, "t:PhoneNumbers", &c.phones);
        if s.wants(Field::Birthday, true)
            && let Some(date) = c.birthday
        {
            // Exchange Online stores a birthday at 11:59 UTC of the day the owner entered.
            w.leaf(
                "t:Birthday",
                &format!("{}T11:59:00Z", date.format("%Y-%m-%d")),
            );
        }
        text(w, Field::Department, "t:Department", &c.department);
        text(w, Field::JobTitle, "t:JobTitle", &c.job_title);
        text(w, Field::Surname, "t:Surname", &c.surname);
    }

    fn addresses(&self, w: &mut XmlOut, c: &Contact) {
        let wanted = self.shape.wanted_keys(Field::PhysicalAddresses, true);
        let mut opened = false;
        for (key, address) in &c.addresses {
            let parts: Vec<(AddressPart, &str)> = AddressPart::ALL
                .into_iter()
                .filter(|part| {
                    wanted.as_ref().is_none_or(|keys| {
                        keys.iter()
                            .any(|(k, p)| k == key && p.is_none_or(|p| p == *part))
                    })
                })
                .filter_map(|part| {
                    let value = match part {
                        AddressPart::Street => &address.street,
                        AddressPart::City => &address.city,
                        AddressPart::State => &address.state,
                        AddressPart::CountryOrRegion => &address.country,
                        AddressPart::PostalCode => &address.postal_code,
                    };
                    value.as_deref().map(|v| (part, v))
                })
                .collect();
            if parts.is_empty() {
                continue;
            }
            if !opened {
                w.open("t:PhysicalAddresses", &[]);
                opened = true;
            }
            w.open("t:Entry", &[("Key", key)]);
            for (part, value) in parts {
                w.leaf(&format!("t:{}", part.name()), value);
            }
            w.close("t:Entry");
        }
        if opened {
            w.close("t:PhysicalAddresses");
        }
    }

    fn event(&self, w: &mut XmlOut, item: &StoredItem, e: &Event, entry: Option<&Entry>) {
        let s = self.shape;
        let (start, end) = entry.map_or((e.start, e.end), |x| (x.start, x.end));
        if s.wants(Field::Uid, true) {
            w.leaf("t:UID", &e.uid);
        }
        if s.wants(Field::Start, true) {
            w.leaf("t:Start", &datetime(&start));
        }
        if s.wants(Field::End, true) {
            w.leaf("t:End", &datetime(&end));
        }
        if let Some(original) = entry.and_then(|x| x.original_start)
            && s.wants(Field::OriginalStart, true)
        {
            w.leaf("t:OriginalStart", &datetime(&original));
        }
        if s.wants(Field::IsAllDayEvent, true) {
            w.leaf("t:IsAllDayEvent", bool_text(e.all_day));
        }
        if s.wants(Field::LegacyFreeBusyStatus, true) {
            w.leaf("t:LegacyFreeBusyStatus", &e.show_as);
        }
        if s.wants(Field::Location, true) {
            let changed = entry
                .and_then(|x| x.change.as_ref())
                .and_then(|c| c.location.clone());
            w.opt_leaf("t:Location", changed.as_deref().or(e.location.as_deref()));
        }
        if s.wants(Field::IsMeeting, true) {
            w.leaf("t:IsMeeting", bool_text(e.is_meeting));
        }
        if s.wants(Field::IsCancelled, true) {
            w.leaf("t:IsCancelled", bool_text(e.is_cancelled));
        }
        if s.wants(Field::IsRecurring, true) {
            w.leaf(
                "t:IsRecurring",
                bool_text(entry.is_some_and(|x| x.kind != EntryKind::Single)),
            );
        }
        if s.wants(Field::CalendarItemType, true) {
            let kind = match (entry.map(|x| x.kind), &e.recurrence) {
                (Some(EntryKind::Occurrence), _) => "Occurrence",
                (Some(EntryKind::Exception), _) => "Exception",
                (_, Some(_)) if entry.is_none() => "RecurringMaster",
                _ => "Single",
            };
            w.leaf("t:CalendarItemType", kind);
        }
        if s.wants(Field::Organizer, true)
            && let Some(organizer) = &e.organizer
        {
            w.open("t:Organizer", &[]);
            mailbox(w, organizer);
            w.close("t:Organizer");
        }
        attendees(
            w,
            s,
            Field::RequiredAttendees,
            "t:RequiredAttendees",
            &e.required,
        );
        attendees(
            w,
            s,
            Field::OptionalAttendees,
            "t:OptionalAttendees",
            &e.optional,
        );
        if entry.is_none() {
            self.series_fields(w, item, e);
        }
        if s.wants(Field::StartTimeZone, false) {
            let zone = e.start_time_zone.as_deref().unwrap_or("UTC");
            w.empty("t:StartTimeZone", &[("Id", zone)]);
        }
        if s.wants(Field::EndTimeZone, false) {
            let zone = e
                .end_time_zone
                .as_deref()
                .or(e.start_time_zone.as_deref())
                .unwrap_or("UTC");
            w.empty("t:EndTimeZone", &[("Id", zone)]);
        }
    }

    /// A series' pattern and its changed and deleted occurrences.
    fn series_fields(&self, w: &mut XmlOut, item: &StoredItem, e: &Event) {
        let s = self.shape;
        let Some(recurrence) = &e.recurrence else {
            return;
        };
        if s.wants(Field::Recurrence, false) {
            super::recurrence_xml::write(w, recurrence);
        }
        if s.wants(Field::ModifiedOccurrences, false) && !e.modified.is_empty() {
            w.open("t:ModifiedOccurrences", &[]);
            for m in &e.modified {
                w.open("t:Occurrence", &[]);
                let id = ids::occurrence_id(self.mailbox, item.number, m.original_start);
                let change_key = ids::change_key(item.change);
                w.empty("t:ItemId", &[("Id", &id), ("ChangeKey", &change_key)]);
                w.leaf("t:Start", &datetime(&m.start));
                w.leaf("t:End", &datetime(&m.end));
                w.leaf("t:OriginalStart", &datetime(&m.original_start));
                w.close("t:Occurrence");
            }
            w.close("t:ModifiedOccurrences");
        }
        if s.wants(Field::DeletedOccurrences, false) && !e.deleted.is_empty() {
            w.open("t:DeletedOccurrences", &[]);
            for d in &e.deleted {
                w.open("t:DeletedOccurrence", &[]);
                w.leaf("t:Start", &datetime(d));
                w.close("t:DeletedOccurrence");
            }
            w.close("t:DeletedOccurrences");
        }
    }

    fn message(&self, w: &mut XmlOut, m: &Message) {
        let s = self.shape;
        if s.wants(Field::Sender, true)
            && let Some(from) = &m.from
        {
            w.open("t:Sender", &[]);
            mailbox(w, from);
            w.close("t:Sender");
        }
        recipients(w, s, Field::ToRecipients, "t:ToRecipients", &m.to);
        recipients(w, s, Field::CcRecipients, "t:CcRecipients", &m.cc);
        recipients(w, s, Field::BccRecipients, "t:BccRecipients", &m.bcc);
        if s.wants(Field::From, true)
            && let Some(from) = &m.from
        {
            w.open("t:From", &[]);
            mailbox(w, from);
            w.close("t:From");
        }
        if s.wants(Field::InternetMessageId, true) && !m.internet_message_id.is_empty() {
            w.leaf("t:InternetMessageId", &m.internet_message_id);
        }
        if s.wants(Field::IsRead, true) {
            w.leaf("t:IsRead", bool_text(m.is_read));
        }
        recipients(w, s, Field::ReplyTo, "t:ReplyTo", &m.reply_to);
    }
}

fn item_class(content: &ItemContent) -> &'static str {
    match &content.data {
        ItemData::Contact(_) => "IPM.Contact",
        ItemData::Event(_) => "IPM.Appointment",
        ItemData::Message(_) => "IPM.Note",
    }
}

fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

fn dictionary(
    w: &mut XmlOut,
    shape: &Shape,
    field: Field,
    element: &str,
    entries: &std::collections::BTreeMap<String, String>,
) {
    let wanted = shape.wanted_keys(field, true);
    let chosen: Vec<(&String, &String)> = entries
        .iter()
        .filter(|(k, _)| {
            wanted
                .as_ref()
                .is_none_or(|keys| keys.iter().any(|(w, _)| w == *k))
        })
        .collect();
    if chosen.is_empty() {
        return;
    }
    w.open(element, &[]);
    for (key, value) in chosen {
        w.leaf_with("t:Entry", &[("Key", key)], value);
    }
    w.close(element);
}

fn mailbox(w: &mut XmlOut, person: &Person) {
    w.open("t:Mailbox", &[]);
    w.opt_leaf("t:Name", person.name.as_deref());
    w.leaf("t:EmailAddress", &person.address);
    w.leaf("t:RoutingType", "SMTP");
    w.leaf("t:MailboxType", "OneOff");
    w.close("t:Mailbox");
}

fn recipients(w: &mut XmlOut, shape: &Shape, field: Field, element: &str, list: &[Person]) {
    if list.is_empty() || !shape.wants(field, true) {
        return;
    }
    w.open(element, &[]);
    for person in list {
        mailbox(w, person);
    }
    w.close(element);
}

fn attendees(w: &mut XmlOut, shape: &Shape, field: Field, element: &str, list: &[Attendee]) {
    if list.is_empty() || !shape.wants(field, true) {
        return;
    }
    w.open(element, &[]);
    for attendee in list {
        w.open("t:Attendee", &[]);
        mailbox(w, &attendee.person);
        w.leaf("t:ResponseType", &attendee.response);
        w.close("t:Attendee");
    }
    w.close(element);
}

/// The body as the shape asks for it: `(BodyType, content)`.
fn convert_body(body: &Body, wanted: super::fields::BodyWanted) -> (&'static str, String) {
    use super::fields::BodyWanted;
    match (wanted, body.html) {
        (BodyWanted::Best | BodyWanted::Html, true) => ("HTML", body.content.clone()),
        (BodyWanted::Best | BodyWanted::Text, false) => ("Text", body.content.clone()),
        (BodyWanted::Text, true) => ("Text", html_to_text(&body.content)),
        (BodyWanted::Html, false) => {
            let mut escaped = String::with_capacity(body.content.len() + 64);
            for c in body.content.chars() {
                match c {
                    '&' => escaped.push_str("&amp;"),
                    '<' => escaped.push_str("&lt;"),
                    '>' => escaped.push_str("&gt;"),
                    '\n' => escaped.push_str("<br>\n"),
                    c => escaped.push(c),
                }
            }
            ("HTML", format!("<html><body>{escaped}</body></html>"))
        }
    }
}

/// A plain-text rendering of HTML: tags dropped, the common entities resolved.
// LIMIT: no layout (lists, tables) survives; Exchange's own conversion keeps more.
fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}
