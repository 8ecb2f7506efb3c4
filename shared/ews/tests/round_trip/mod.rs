//! Hostile values written by the crate, read back as a response would carry them: the
//! writer's escaping and the reader's unescaping must cancel out exactly, and both the
//! request and the response built from it must validate.

use mailbridge_ews::Operation;
use mailbridge_ews::ops::{CreateItem, GetItem, MessageDisposition, SyncFolderItems};
use mailbridge_ews::types::{Contact, DistinguishedFolder, Item, SyncState};

use crate::requests::{self, HOSTILE, MAILBOX};
use crate::{texts, xmllint};

/// A `GetItem` response with one success message per item.
fn get_item_response(items: &[&str]) -> String {
    let mut messages = String::new();
    for item in items {
        messages.push_str(r#"<m:GetItemResponseMessage ResponseClass="Success">"#);
        messages.push_str("<m:ResponseCode>NoError</m:ResponseCode><m:Items>");
        messages.push_str(item);
        messages.push_str("</m:Items></m:GetItemResponseMessage>");
    }
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>"#,
            r#"<ServerVersionInfo xmlns="http://schemas.microsoft.com/exchange/services/2006/types" "#,
            r#"MajorVersion="15" MinorVersion="20" MajorBuildNumber="8769" MinorBuildNumber="21" "#,
            r#"Version="V2018_01_08"/></s:Header><s:Body>"#,
            r#"<m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" "#,
            r#"xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">"#,
            r#"<m:ResponseMessages>{}</m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>"#,
        ),
        messages
    )
}

/// What the writer put between `<element>` and `</element>`, exactly as it escaped it.
fn inner<'a>(xml: &'a str, element: &str) -> &'a str {
    let open = format!("<{element}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{element}> in the request"))
        + open.len();
    let end = xml
        .rfind(&format!("</{element}>"))
        .unwrap_or_else(|| panic!("no </{element}> in the request"));
    &xml[start..end]
}

/// Writes each item with `CreateItem`, reads the written XML back as a `GetItem` response
/// would carry it, and checks both the requests and that response against the schema.
fn round_trip(name: &str, items: &[Item]) -> Vec<Item> {
    let requests: Vec<String> = items
        .iter()
        .map(|item| {
            let mut op = CreateItem::save_in(DistinguishedFolder::Drafts, vec![item.clone()]);
            op.message_disposition = Some(MessageDisposition::SaveOnly);
            op.to_envelope(MAILBOX)
                .unwrap_or_else(|err| panic!("{name}: the crate refused: {err}"))
        })
        .collect();
    let written: Vec<&str> = requests.iter().map(|r| inner(r, "m:Items")).collect();
    let response = get_item_response(&written);

    let mut docs: Vec<_> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("{name}, request {i}"), r.clone().into_bytes()))
        .collect();
    docs.push((format!("{name}, read back"), response.clone().into_bytes()));
    xmllint::assert_valid(&docs);

    GetItem::parse_envelope(response.as_bytes())
        .unwrap_or_else(|err| panic!("{name}: the response did not parse: {err}"))
        .into_iter()
        .map(|result| result.unwrap_or_else(|err| panic!("{name}: {err}")))
        .collect()
}

#[test]
fn contacts_with_hostile_values_read_back_unchanged() {
    for (name, text) in texts() {
        let contacts = vec![
            Item::Contact(Box::new(requests::full_contact(&text))),
            Item::Contact(Box::new(Contact {
                given_name: Some(text.clone()),
                ..Contact::default()
            })),
        ];
        let back = round_trip(&format!("contacts, {name}"), &contacts);
        assert_eq!(
            back, contacts,
            "contacts with {name} text changed on the way"
        );
    }
}

#[test]
fn calendar_items_with_hostile_values_read_back_unchanged() {
    for (name, text) in texts() {
        let items = vec![
            Item::CalendarItem(Box::new(requests::full_calendar_item(&text))),
            Item::CalendarItem(Box::new(requests::all_day_event(&text))),
        ];
        let back = round_trip(&format!("calendar, {name}"), &items);
        assert_eq!(
            back, items,
            "calendar items with {name} text changed on the way"
        );
    }
}

#[test]
fn messages_with_hostile_values_read_back_unchanged() {
    for (name, text) in texts() {
        let items = vec![Item::Message(Box::new(requests::full_message(&text)))];
        let back = round_trip(&format!("message, {name}"), &items);
        assert_eq!(back, items, "a message with {name} text changed on the way");
    }
}

#[test]
fn a_hostile_sync_state_is_sent_back_exactly_as_received() {
    let request =
        SyncFolderItems::new(DistinguishedFolder::Contacts, Some(SyncState::new(HOSTILE)))
            .to_envelope(MAILBOX)
            .unwrap();
    let escaped = inner(&request, "m:SyncState");
    let response = format!(
        concat!(
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>"#,
            r#"<m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">"#,
            r#"<m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success">"#,
            r#"<m:ResponseCode>NoError</m:ResponseCode><m:SyncState>{}</m:SyncState>"#,
            r#"<m:IncludesLastItemInRange>true</m:IncludesLastItemInRange><m:Changes/>"#,
            r#"</m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>"#,
            r#"</soap:Body></soap:Envelope>"#,
        ),
        escaped
    );
    xmllint::assert_valid(&[
        ("sync request".into(), request.clone().into_bytes()),
        ("sync response".into(), response.clone().into_bytes()),
    ]);
    let page = SyncFolderItems::parse_envelope(response.as_bytes()).unwrap();
    assert_eq!(page.sync_state, Some(SyncState::new(HOSTILE)));
}
