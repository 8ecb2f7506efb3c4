//! What the error-code rows act on, made through the control API, and builders for the
//! raw requests they send.

use chrono::{Duration, TimeZone, Utc};
use mailbridge_ews_sim::model::{
    Contact, Event, FolderKind, ItemContent, Pattern, Range, Recurrence,
};

use crate::harness::Env;

/// What the rows act on, made through the control API.
pub struct Fixtures {
    /// A contact, its current change key and the one before it.
    pub contact: String,
    pub stale_key: String,
    /// The id a contact had before the owner deleted it.
    pub gone: String,
    /// A daily series of five, the third occurrence deleted.
    pub series: String,
    /// A single appointment.
    pub single: String,
    /// A mailbox of the tenant the app may not reach.
    pub out_of_scope: String,
}

impl Fixtures {
    pub fn make(env: &Env) -> Fixtures {
        let world = env.sim.world();
        let mb = env.mailbox();
        let contact = |name: &str| {
            ItemContent::contact(Contact {
                display_name: Some(name.into()),
                ..Contact::default()
            })
        };
        let first = world
            .owner_create(mb, FolderKind::Contacts, contact("Ada"))
            .unwrap();
        world
            .owner_edit(mb, &first.id, |c| *c = contact("Ada Lovelace"))
            .unwrap();
        let gone = world
            .owner_create(mb, FolderKind::Contacts, contact("Gone"))
            .unwrap();
        world.owner_delete(mb, &gone.id).unwrap();

        let start = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
        let mut series = Event::new("Stand-up", start, start + Duration::minutes(15));
        series.recurrence = Some(Recurrence {
            pattern: Pattern::Daily { interval: 1 },
            range: Range::Numbered {
                start: start.date_naive(),
                count: 5,
            },
        });
        series.deleted.push(start + Duration::days(2));
        let series = world
            .owner_create(mb, FolderKind::Calendar, ItemContent::event(series))
            .unwrap();
        let single = world
            .owner_create(
                mb,
                FolderKind::Calendar,
                ItemContent::event(Event::new("Viewing", start, start + Duration::hours(1))),
            )
            .unwrap();

        let out_of_scope = env.tenant.mailboxes[1].clone();
        world
            .update_tenant(&env.tenant.tenant_id, |t| {
                t.apps[0].mailbox_scope = Some(vec![mb.to_owned()]);
            })
            .unwrap();
        Fixtures {
            contact: first.id,
            stale_key: first.change_key,
            gone: gone.id,
            series: series.id,
            single: single.id,
            out_of_scope,
        }
    }
}

pub const CONTACTS_FOLDER: &str = r#"<m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="contacts"/></m:FolderIds>"#;

pub fn get_folder() -> String {
    format!("<m:GetFolder>{CONTACTS_FOLDER}</m:GetFolder>")
}

pub fn get_item(ids: &str) -> String {
    format!(
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds>{ids}</m:ItemIds></m:GetItem>"
    )
}

pub fn find(folder: &str, view: &str, restriction: &str) -> String {
    format!(
        r#"<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>{view}{restriction}<m:ParentFolderIds><t:DistinguishedFolderId Id="{folder}"/></m:ParentFolderIds></m:FindItem>"#
    )
}

pub fn restrict(expression: &str) -> String {
    find(
        "contacts",
        "",
        &format!("<m:Restriction>{expression}</m:Restriction>"),
    )
}

/// `UpdateItem` of one item; `id` is the whole id element, `how` the operation's attributes.
pub fn update(how: &str, id: &str, change: &str) -> String {
    format!(
        "<m:UpdateItem {how}><m:ItemChanges><t:ItemChange>{id}<t:Updates>{change}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
}

pub fn set_job_title(value: &str) -> String {
    format!(r#"<t:SetItemField><t:FieldURI FieldURI="contacts:JobTitle"/>{value}</t:SetItemField>"#)
}

pub fn create(attributes: &str, folder: Option<&str>, item: &str) -> String {
    let saved = folder.map_or_else(String::new, |f| {
        format!(r#"<m:SavedItemFolderId><t:DistinguishedFolderId Id="{f}"/></m:SavedItemFolderId>"#)
    });
    format!("<m:CreateItem {attributes}>{saved}<m:Items>{item}</m:Items></m:CreateItem>")
}

pub fn event(start: &str, end: &str, recurrence: &str) -> String {
    format!(
        "<t:CalendarItem><t:Subject>Viewing</t:Subject><t:Start>{start}</t:Start><t:End>{end}</t:End>{recurrence}</t:CalendarItem>"
    )
}

pub const MONDAY_TEN: &str = "2027-03-01T10:00:00Z";
pub const MONDAY_ELEVEN: &str = "2027-03-01T11:00:00Z";
pub const CONTACT: &str = "<t:Contact><t:GivenName>Bo</t:GivenName></t:Contact>";
