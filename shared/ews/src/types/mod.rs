//! Typed EWS items and the small values they are made of.

mod calendar;
mod common;
mod contact;
mod ids;
mod item;
mod message;
mod path;
mod recurrence;

pub use calendar::{
    Attendee, CalendarItem, CalendarItemType, DeletedOccurrence, LegacyFreeBusy, Occurrence,
    ResponseKind,
};
pub use common::{
    Body, BodyType, CRM_ID_PROPERTY, ExtendedFieldUri, ExtendedProperty, IDEMPOTENCY_KEY_PROPERTY,
    Importance, MAILBRIDGE_PROPERTY_SET, Mailbox, Sensitivity,
};
pub use contact::{AddressKey, Contact, EmailKey, PhoneKey, PhysicalAddress};
pub use ids::{ChangeKey, DistinguishedFolder, FolderId, ItemId, SyncState};
pub use item::{Item, ItemCommon};
pub use message::{FileAttachment, Message};
pub use path::{BaseShape, ItemShape, PropertyPath};
pub use recurrence::{
    DayOfWeekIndex, DaysOfWeek, Month, Recurrence, RecurrencePattern, RecurrenceRange, Weekday,
};

pub(crate) use calendar::{REMINDER_MINUTES, bool_str};
pub(crate) use common::write_datetime;
pub(crate) use contact::birthday_value;
pub(crate) use item::write_strings;
