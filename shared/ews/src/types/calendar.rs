//! Calendar items: single events, recurring series and their exceptions, meetings.

use std::io::BufRead;

use chrono::{DateTime, Utc};

use super::ItemId;
use super::common::{Body, Mailbox, Sensitivity, parse_datetime, string_enum};
use super::item::{ItemCommon, read_item_fields};
use super::recurrence::Recurrence;
use crate::error::EwsError;
use crate::xml::{XmlReader, XmlWriter};

string_enum! {
    /// How the time shows in free/busy (`LegacyFreeBusyStatus`).
    LegacyFreeBusy {
        /// Free.
        Free = "Free",
        /// Tentative.
        Tentative = "Tentative",
        /// Busy.
        Busy = "Busy",
        /// Out of office.
        Oof = "OOF",
        /// Working elsewhere.
        WorkingElsewhere = "WorkingElsewhere",
        /// No data.
        NoData = "NoData",
    }
}

string_enum! {
    /// What kind of calendar item this is.
    CalendarItemType {
        /// A one-off event.
        Single = "Single",
        /// An unmodified occurrence of a series.
        Occurrence = "Occurrence",
        /// A modified occurrence of a series.
        Exception = "Exception",
        /// The series itself.
        RecurringMaster = "RecurringMaster",
    }
}

string_enum! {
    /// An attendee's answer (`ResponseTypeType`).
    ResponseKind {
        /// Not known.
        Unknown = "Unknown",
        /// The organizer.
        Organizer = "Organizer",
        /// Tentatively accepted.
        Tentative = "Tentative",
        /// Accepted.
        Accept = "Accept",
        /// Declined.
        Decline = "Decline",
        /// Not answered.
        NoResponseReceived = "NoResponseReceived",
    }
}

/// The reminder lead times EWS accepts (`ReminderMinutesBeforeStartType`: up to five years).
pub(crate) const REMINDER_MINUTES: std::ops::RangeInclusive<u32> = 0..=2_629_800;

/// A meeting attendee and their answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    /// Who.
    pub mailbox: Mailbox,
    /// Their answer, when the server reports one.
    pub response: Option<ResponseKind>,
    /// When they answered.
    pub last_response_time: Option<DateTime<Utc>>,
}

impl Attendee {
    /// An attendee to invite.
    pub fn new(mailbox: Mailbox) -> Attendee {
        Attendee {
            mailbox,
            response: None,
            last_response_time: None,
        }
    }

    pub(crate) fn write_list(w: &mut XmlWriter, element: &str, attendees: &[Attendee]) {
        w.open(element, &[]);
        for attendee in attendees {
            w.open("t:Attendee", &[]);
            attendee.mailbox.write(w);
            w.close("t:Attendee");
        }
        w.close(element);
    }

    fn read_list<R: BufRead>(r: &mut XmlReader<R>) -> Result<Vec<Attendee>, EwsError> {
        let mut list = Vec::new();
        while let Some(child) = r.next_child()? {
            if child.name != "Attendee" {
                r.skip()?;
                continue;
            }
            let mut attendee = Attendee::new(Mailbox::default());
            while let Some(field) = r.next_child()? {
                match field.name.as_str() {
                    "Mailbox" => attendee.mailbox = Mailbox::read(r)?,
                    "ResponseType" => {
                        attendee.response = ResponseKind::parse(r.read_text()?.trim());
                    }
                    "LastResponseTime" => {
                        attendee.last_response_time =
                            Some(r.read_parsed("LastResponseTime", parse_datetime)?);
                    }
                    _ => r.skip()?,
                }
            }
            list.push(attendee);
        }
        Ok(list)
    }
}

/// A modified occurrence of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The occurrence's own id.
    pub id: ItemId,
    /// Its start now.
    pub start: DateTime<Utc>,
    /// Its end now.
    pub end: DateTime<Utc>,
    /// Where the series would have put it.
    pub original_start: DateTime<Utc>,
}

/// A deleted occurrence of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedOccurrence {
    /// Where the series would have put it.
    pub start: DateTime<Utc>,
}

/// A calendar item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalendarItem {
    /// Id, CRM id, categories, modification time.
    pub common: ItemCommon,
    /// Subject.
    pub subject: Option<String>,
    /// Body.
    pub body: Option<Body>,
    /// Sensitivity.
    pub sensitivity: Option<Sensitivity>,
    /// Whether a reminder is set.
    pub reminder_is_set: Option<bool>,
    /// Minutes before start the reminder fires.
    pub reminder_minutes: Option<u32>,
    /// The iCalendar UID shared by all copies of a meeting.
    pub uid: Option<String>,
    /// Start.
    pub start: Option<DateTime<Utc>>,
    /// End.
    pub end: Option<DateTime<Utc>>,
    /// Windows time zone id of the start (`StartTimeZone/@Id`).
    pub start_time_zone: Option<String>,
    /// Windows time zone id of the end.
    pub end_time_zone: Option<String>,
    /// All-day event.
    pub is_all_day: bool,
    /// Free/busy.
    pub show_as: Option<LegacyFreeBusy>,
    /// Location display text.
    pub location: Option<String>,
    /// Whether it is a meeting (has attendees).
    pub is_meeting: bool,
    /// Whether the organizer cancelled it.
    pub is_cancelled: bool,
    /// Single, occurrence, exception or series.
    pub item_type: Option<CalendarItemType>,
    /// The organizer.
    pub organizer: Option<Mailbox>,
    /// Required attendees.
    pub required_attendees: Vec<Attendee>,
    /// Optional attendees.
    pub optional_attendees: Vec<Attendee>,
    /// The recurrence, on a series.
    pub recurrence: Option<Recurrence>,
    /// Modified occurrences, on a series.
    pub modified_occurrences: Vec<Occurrence>,
    /// Deleted occurrences, on a series.
    pub deleted_occurrences: Vec<DeletedOccurrence>,
}

impl CalendarItem {
    /// Writes `<t:CalendarItem>` for `CreateItem`, properties in schema order.
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.open("t:CalendarItem", &[]);
        w.opt_element("t:Subject", self.subject.as_deref());
        w.opt_element("t:Sensitivity", self.sensitivity.map(Sensitivity::as_str));
        if let Some(body) = &self.body {
            body.write(w);
        }
        self.common.write_categories(w);
        if let Some(set) = self.reminder_is_set {
            w.text_element("t:ReminderIsSet", bool_str(set));
        }
        if let Some(minutes) = self.reminder_minutes {
            w.int_element("t:ReminderMinutesBeforeStart", minutes, REMINDER_MINUTES);
        }
        self.common.write_extended(w);
        w.opt_element("t:UID", self.uid.as_deref());
        if let Some(start) = &self.start {
            w.datetime_element("t:Start", start);
        }
        if let Some(end) = &self.end {
            w.datetime_element("t:End", end);
        }
        if self.is_all_day {
            w.text_element("t:IsAllDayEvent", "true");
        }
        w.opt_element(
            "t:LegacyFreeBusyStatus",
            self.show_as.map(LegacyFreeBusy::as_str),
        );
        w.opt_element("t:Location", self.location.as_deref());
        if !self.required_attendees.is_empty() {
            Attendee::write_list(w, "t:RequiredAttendees", &self.required_attendees);
        }
        if !self.optional_attendees.is_empty() {
            Attendee::write_list(w, "t:OptionalAttendees", &self.optional_attendees);
        }
        if let Some(recurrence) = &self.recurrence {
            recurrence.write(w);
        }
        if let Some(zone) = &self.start_time_zone {
            w.empty("t:StartTimeZone", &[("Id", zone)]);
        }
        if let Some(zone) = &self.end_time_zone {
            w.empty("t:EndTimeZone", &[("Id", zone)]);
        }
        w.close("t:CalendarItem");
    }

    /// Reads the children of a `<CalendarItem>` already entered.
    pub(crate) fn read<R: BufRead>(r: &mut XmlReader<R>) -> Result<CalendarItem, EwsError> {
        let mut c = CalendarItem::default();
        let mut common = ItemCommon::default();
        read_item_fields(r, &mut common, |child, r| {
            match child.name.as_str() {
                "Subject" => c.subject = Some(r.read_text()?),
                "Body" => c.body = Some(Body::read(child, r)?),
                "Sensitivity" => c.sensitivity = Sensitivity::parse(r.read_text()?.trim()),
                "ReminderIsSet" => c.reminder_is_set = Some(r.read_bool("ReminderIsSet")?),
                "ReminderMinutesBeforeStart" => {
                    c.reminder_minutes =
                        Some(r.read_parsed("ReminderMinutesBeforeStart", |s| s.parse().ok())?);
                }
                "UID" => c.uid = Some(r.read_text()?),
                "Start" => c.start = Some(r.read_parsed("Start", parse_datetime)?),
                "End" => c.end = Some(r.read_parsed("End", parse_datetime)?),
                "IsAllDayEvent" => c.is_all_day = r.read_bool("IsAllDayEvent")?,
                "LegacyFreeBusyStatus" => c.show_as = LegacyFreeBusy::parse(r.read_text()?.trim()),
                "Location" => c.location = Some(r.read_text()?),
                "IsMeeting" => c.is_meeting = r.read_bool("IsMeeting")?,
                "IsCancelled" => c.is_cancelled = r.read_bool("IsCancelled")?,
                "CalendarItemType" => c.item_type = CalendarItemType::parse(r.read_text()?.trim()),
                "Organizer" => c.organizer = Mailbox::read_single(r)?,
                "RequiredAttendees" => c.required_attendees = Attendee::read_list(r)?,
                "OptionalAttendees" => c.optional_attendees = Attendee::read_list(r)?,
                "Recurrence" => c.recurrence = Recurrence::read(r)?,
                "ModifiedOccurrences" => c.modified_occurrences = read_occurrences(r)?,
                "DeletedOccurrences" => c.deleted_occurrences = read_deleted_occurrences(r)?,
                "StartTimeZone" => {
                    c.start_time_zone = child.attr("Id").map(str::to_owned);
                    r.skip()?;
                }
                "EndTimeZone" => {
                    c.end_time_zone = child.attr("Id").map(str::to_owned);
                    r.skip()?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        c.common = common;
        Ok(c)
    }
}

fn read_occurrences<R: BufRead>(r: &mut XmlReader<R>) -> Result<Vec<Occurrence>, EwsError> {
    let mut list = Vec::new();
    while let Some(_occurrence) = r.next_child()? {
        let (mut id, mut start, mut end, mut original_start) = (None, None, None, None);
        while let Some(field) = r.next_child()? {
            match field.name.as_str() {
                "ItemId" => {
                    id = Some(ItemId::from_element(&field)?);
                    r.skip()?;
                }
                "Start" => start = Some(r.read_parsed("Start", parse_datetime)?),
                "End" => end = Some(r.read_parsed("End", parse_datetime)?),
                "OriginalStart" => {
                    original_start = Some(r.read_parsed("OriginalStart", parse_datetime)?);
                }
                _ => r.skip()?,
            }
        }
        match (id, start, end, original_start) {
            (Some(id), Some(start), Some(end), Some(original_start)) => {
                list.push(Occurrence {
                    id,
                    start,
                    end,
                    original_start,
                });
            }
            _ => {
                return Err(EwsError::malformed(
                    "an <Occurrence> lacks ItemId, Start, End or OriginalStart",
                ));
            }
        }
    }
    Ok(list)
}

fn read_deleted_occurrences<R: BufRead>(
    r: &mut XmlReader<R>,
) -> Result<Vec<DeletedOccurrence>, EwsError> {
    let mut list = Vec::new();
    while let Some(_occurrence) = r.next_child()? {
        let mut start = None;
        while let Some(field) = r.next_child()? {
            if field.name == "Start" {
                start = Some(r.read_parsed("Start", parse_datetime)?);
            } else {
                r.skip()?;
            }
        }
        let start =
            start.ok_or_else(|| EwsError::malformed("a <DeletedOccurrence> lacks Start"))?;
        list.push(DeletedOccurrence { start });
    }
    Ok(list)
}

pub(crate) fn bool_str(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}
