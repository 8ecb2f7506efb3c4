//! Every response the simulator returns validates against Microsoft's EWS schemas: each
//! operation's successes, each per-item error, each SOAP fault and each throttling answer,
//! recorded while real clients talk to it, checked with xmllint.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod harness;
mod raw;

#[allow(dead_code)]
#[path = "../../ews/tests/xmllint/mod.rs"]
mod xmllint;

use chrono::{TimeZone, Utc};
use mailbridge_ews::ops::{
    CalendarUpdate, ContactUpdate, CreateItem, DeleteItem, FindItem, GetFolder, GetItem,
    ItemChange, Restriction, SyncFolderItems, UpdateItem, Updates, View,
};
use mailbridge_ews::types::{
    CRM_ID_PROPERTY, CalendarItem, Contact, DistinguishedFolder, FolderId, Item, ItemId, ItemShape,
    Mailbox, Message, PropertyPath, SyncState,
};
use mailbridge_ews_sim::model::{FolderKind, SeedSpec};
use mailbridge_ews_sim::{Fault, Refusal, ThrottlePolicy};

use raw::{Case, MESSAGES, SOAP, TYPES};

/// Runs every operation, with successes and failures, through our client.
async fn exercise_the_client(env: &harness::Env) {
    let mb = env.mailbox();
    let world = env.sim.world();
    world
        .seed(
            mb,
            &SeedSpec {
                contacts: 40,
                events: 10,
                recurring: 3,
                seed: 9,
                from: None,
            },
        )
        .unwrap();

    let folders = GetFolder {
        folders: vec![
            DistinguishedFolder::Contacts.into(),
            DistinguishedFolder::Calendar.into(),
            DistinguishedFolder::Inbox.into(),
            FolderId::Id {
                id: "garbage".into(),
                change_key: None,
            },
        ],
    };
    drop(env.ews.execute(mb, &folders).await);

    for (folder, shape) in [
        (DistinguishedFolder::Contacts, ItemShape::ids_with_crm_id()),
        (DistinguishedFolder::Contacts, ItemShape::full_with_crm_id()),
        (DistinguishedFolder::Calendar, ItemShape::full_with_crm_id()),
    ] {
        let mut op = SyncFolderItems::new(folder, None);
        op.shape = shape;
        op.max_changes = 25;
        let page = env.ews.execute(mb, &op).await.unwrap();
        op.sync_state = page.sync_state;
        drop(env.ews.execute(mb, &op).await);
    }
    let bad_state =
        SyncFolderItems::new(DistinguishedFolder::Contacts, Some(SyncState::new("AAAA")));
    drop(env.ews.execute(mb, &bad_state).await);

    let mut c = Contact {
        display_name: Some("Ünïcødé & <Co> ]]>".into()),
        ..Contact::default()
    };
    c.common.crm_id = Some("crm-schema".into());
    let created = env
        .ews
        .execute(
            mb,
            &CreateItem::save_in(
                DistinguishedFolder::Contacts,
                vec![Item::Contact(Box::new(c))],
            ),
        )
        .await
        .unwrap();
    let id = created[0].clone().unwrap().unwrap();
    let start = Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap();
    let mut event = CalendarItem {
        subject: Some("Series".into()),
        start: Some(start),
        end: Some(start + chrono::Duration::hours(1)),
        ..CalendarItem::default()
    };
    event
        .required_attendees
        .push(mailbridge_ews::types::Attendee::new(Mailbox::new(
            "x@buyers.example",
        )));
    let backwards = CalendarItem {
        start: Some(start),
        end: Some(start - chrono::Duration::hours(1)),
        ..CalendarItem::default()
    };
    let calendar = CreateItem::save_in(
        DistinguishedFolder::Calendar,
        vec![
            Item::CalendarItem(Box::new(event)),
            Item::CalendarItem(Box::new(backwards)),
        ],
    );
    let events = env.ews.execute(mb, &calendar).await.unwrap();
    let event_id = events[0].clone().unwrap().unwrap();

    drop(
        env.ews
            .execute(
                mb,
                &GetItem::full(vec![id.clone(), ItemId::new("bm9wZQ==", None)]),
            )
            .await,
    );
    let find = FindItem {
        folder: DistinguishedFolder::Contacts.into(),
        shape: ItemShape::full_with_crm_id(),
        view: View::Indexed {
            max_entries: 5,
            offset: 0,
        },
        restriction: Some(Restriction::IsEqualTo(
            PropertyPath::Extended(CRM_ID_PROPERTY),
            "crm-schema".into(),
        )),
    };
    drop(env.ews.execute(mb, &find).await);
    let view = FindItem {
        folder: DistinguishedFolder::Calendar.into(),
        shape: ItemShape::full_with_crm_id(),
        view: View::Calendar {
            start,
            end: start + chrono::Duration::days(40),
            max_entries: Some(50),
        },
        restriction: None,
    };
    drop(env.ews.execute(mb, &view).await);

    let update = UpdateItem::guarded(vec![
        ItemChange {
            id: id.clone(),
            updates: Updates::Contact(vec![ContactUpdate::JobTitle(Some("Agent".into()))]),
        },
        ItemChange {
            id: event_id.clone(),
            updates: Updates::CalendarItem(vec![CalendarUpdate::Location(Some("Hall".into()))]),
        },
    ]);
    drop(env.ews.execute(mb, &update).await);
    drop(env.ews.execute(mb, &update).await);

    let message = Message {
        subject: Some("Hello".into()),
        to: vec![Mailbox::new("buyer@buyers.example")],
        ..Message::default()
    };
    drop(
        env.ews
            .execute(mb, &CreateItem::send_and_save_copy(message))
            .await,
    );
    let sent = world.items(mb, FolderKind::SentItems).unwrap();
    drop(
        env.ews
            .execute(
                mb,
                &GetItem::full(vec![ItemId::new(sent[0].id.clone(), None)]),
            )
            .await,
    );

    drop(
        env.ews
            .execute(
                mb,
                &DeleteItem::move_to_deleted_items(vec![id.clone(), event_id, id]),
            )
            .await,
    );
    drop(env.ews.execute("nobody@contoso.example", &folders).await);
}

/// Requests no client of ours sends: other prefixes, throttling answered both ways.
async fn exercise_raw_requests(env: &harness::Env) {
    let token = raw::token(env).await;
    let mb = env.mailbox();
    let world = env.sim.world();

    // A default-namespace request in the style of other EWS libraries.
    let other_style = format!(
        r#"<Envelope xmlns="{SOAP}"><Header><ExchangeImpersonation xmlns="{TYPES}"><ConnectingSID><PrimarySmtpAddress>{mb}</PrimarySmtpAddress></ConnectingSID></ExchangeImpersonation></Header><Body><FindItem xmlns="{MESSAGES}" Traversal="Shallow"><ItemShape><BaseShape xmlns="{TYPES}">Default</BaseShape></ItemShape><IndexedPageItemView MaxEntriesReturned="3" Offset="0" BasePoint="Beginning"/><SortOrder><FieldOrder xmlns="{TYPES}" Order="Descending"><FieldURI FieldURI="contacts:Surname"/></FieldOrder></SortOrder><ParentFolderIds><DistinguishedFolderId xmlns="{TYPES}" Id="contacts"/></ParentFolderIds></FindItem></Body></Envelope>"#
    );
    let (status, body) = raw::post(env, &token, other_style).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("IncludesLastItemInRange=\"false\""), "{body}");

    // Throttling answered as Exchange does: a fault, and a per-message error.
    for refusal in [Refusal::ServerBusyFault, Refusal::ServerBusyMessage] {
        world.set_throttle(ThrottlePolicy {
            refusal,
            ..ThrottlePolicy::default()
        });
        world.inject(Fault::ServerBusy, None);
        let sync = SyncFolderItems::new(DistinguishedFolder::Contacts, None);
        let _ = env.ews.execute(mb, &sync).await;
    }
    world.set_throttle(ThrottlePolicy::default());
}

const GET_CONTACTS_FOLDER: &str = r#"<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="contacts"/></m:FolderIds></m:GetFolder>"#;

/// Requests whose shape is wrong, each with the status and the response code Exchange
/// answers it with.
fn malformed_requests(mb: &str) -> Vec<Case> {
    let version = r#"<t:RequestServerVersion Version="Exchange2016"/>"#;
    let sync = |max: &str| {
        format!(
            r#"<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:MaxChangesReturned>{max}</m:MaxChangesReturned></m:SyncFolderItems>"#
        )
    };
    vec![
        Case::new(
            "contact properties out of schema order",
            raw::op(
                mb,
                "<m:CreateItem><m:Items><t:Contact><t:Surname>A</t:Surname><t:GivenName>B</t:GivenName></t:Contact></m:Items></m:CreateItem>",
            ),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "an element the item type does not have",
            raw::op(
                mb,
                "<m:CreateItem><m:Items><t:Contact><t:Colour>red</t:Colour></t:Contact></m:Items></m:CreateItem>",
            ),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "MaxChangesReturned 513",
            raw::op(mb, &sync("513")),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "MaxChangesReturned 0",
            raw::op(mb, &sync("0")),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "MaxChangesReturned 512 is the largest allowed",
            raw::op(mb, &sync("512")),
            200,
            "NoError",
        ),
        Case::new(
            "GetFolder without FolderShape",
            raw::op(
                mb,
                r#"<m:GetFolder><m:FolderIds><t:DistinguishedFolderId Id="contacts"/></m:FolderIds></m:GetFolder>"#,
            ),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "SyncFolderItems without ItemShape",
            raw::op(
                mb,
                r#"<m:SyncFolderItems><m:SyncFolderId><t:DistinguishedFolderId Id="contacts"/></m:SyncFolderId><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>"#,
            ),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "GetItem without ItemShape",
            raw::op(
                mb,
                r#"<m:GetItem><m:ItemIds><t:ItemId Id="AAAA"/></m:ItemIds></m:GetItem>"#,
            ),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "FindItem without ItemShape",
            raw::op(
                mb,
                r#"<m:FindItem Traversal="Shallow"><m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/></m:ParentFolderIds></m:FindItem>"#,
            ),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "two operations in one body",
            raw::op(mb, &format!("{GET_CONTACTS_FOLDER}{GET_CONTACTS_FOLDER}")),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "an empty body",
            raw::op(mb, ""),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "no impersonation header",
            raw::envelope(version, GET_CONTACTS_FOLDER),
            500,
            "ErrorInvalidExchangeImpersonationHeaderData",
        ),
        Case::new(
            "impersonation by SID",
            raw::envelope(
                r"<t:ExchangeImpersonation><t:ConnectingSID><t:SID>S-1-5-21-1</t:SID></t:ConnectingSID></t:ExchangeImpersonation>",
                GET_CONTACTS_FOLDER,
            ),
            500,
            "ErrorInvalidExchangeImpersonationHeaderData",
        ),
        Case::new(
            "an unknown server version",
            raw::envelope(
                &raw::impersonating(mb).replace("Exchange2016", "Exchange1999"),
                GET_CONTACTS_FOLDER,
            ),
            500,
            "ErrorInvalidServerVersion",
        ),
        Case::new(
            "an unknown operation",
            raw::op(mb, "<m:NoSuchOperation/>"),
            500,
            "ErrorInvalidRequest",
        ),
        Case::new(
            "not XML at all",
            "<not even xml".to_owned(),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "a DOCTYPE with an external entity",
            format!(
                "<!DOCTYPE s:Envelope [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>{}",
                raw::op(mb, "<m:GetFolder>&e;</m:GetFolder>")
                    .trim_start_matches(r#"<?xml version="1.0" encoding="utf-8"?>"#)
            ),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "a SOAP 1.2 envelope",
            raw::op(mb, GET_CONTACTS_FOLDER)
                .replace(SOAP, "http://www.w3.org/2003/05/soap-envelope"),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "a mailbox the tenant does not have",
            raw::op("stranger@fabrikam.example", GET_CONTACTS_FOLDER),
            500,
            "ErrorNonExistentMailbox",
        ),
        Case::new(
            "a distinguished folder the simulator does not hold",
            raw::op(
                mb,
                r#"<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="tasks"/></m:FolderIds></m:GetFolder>"#,
            ),
            200,
            "ErrorFolderNotFound",
        ),
        Case::new(
            "an item id the server never issued",
            raw::op(
                mb,
                r#"<m:UpdateItem ConflictResolution="NeverOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="AAAA"/><t:Updates><t:DeleteItemField><t:FieldURI FieldURI="contacts:JobTitle"/></t:DeleteItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"#,
            ),
            200,
            "ErrorInvalidIdMalformed",
        ),
        Case::new(
            "an empty item id",
            raw::op(
                mb,
                r#"<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id=""/></m:ItemIds></m:DeleteItem>"#,
            ),
            200,
            "ErrorInvalidIdEmpty",
        ),
    ]
}

#[tokio::test]
async fn malformed_requests_each_get_their_status_and_code_and_validate() {
    let env = harness::start().await;
    let token = raw::token(&env).await;
    let responses = raw::run(&env, &token, malformed_requests(env.mailbox())).await;

    // The entity was refused, not resolved.
    assert!(
        responses
            .iter()
            .all(|(_, body)| !String::from_utf8_lossy(body).contains("root:")),
        "a response shows a file's content"
    );
    let (faults, messages): (Vec<_>, Vec<_>) =
        responses.into_iter().partition(|(_, b)| raw::is_fault(b));
    check_faults(&faults);
    xmllint::assert_valid(&messages);

    // SOAP 1.1 only, as text/xml: any other content type is refused before the body is read.
    for content_type in [
        Some("application/soap+xml; charset=utf-8"),
        Some("application/json"),
        None,
    ] {
        let mut request = env
            .http
            .post(env.sim.ews_url())
            .bearer_auth(&token)
            .body(raw::op(env.mailbox(), GET_CONTACTS_FOLDER));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 415, "{content_type:?}");
        let text = response.text().await.unwrap();
        assert!(text.contains("'text/xml; charset=utf-8'"), "{text}");
    }
    let (status, _) = raw::post(&env, &token, raw::op(env.mailbox(), GET_CONTACTS_FOLDER)).await;
    assert_eq!(status, 200, "text/xml is accepted");
}

/// The schemas do not cover SOAP faults: check their detail by hand, the code against the
/// schema's `ResponseCodeType`.
fn check_faults(faults: &[(String, Vec<u8>)]) {
    let codes = std::fs::read_to_string(xmllint::schema_dir().join("messages.xsd")).unwrap();
    for (name, doc) in faults {
        let doc = String::from_utf8_lossy(doc);
        let code = doc
            .split_once("<e:ResponseCode")
            .and_then(|(_, rest)| rest.split_once('>'))
            .and_then(|(_, rest)| rest.split_once("</e:ResponseCode>"))
            .map_or_else(
                || panic!("{name}: a fault without a ResponseCode detail"),
                |(code, _)| code,
            );
        assert!(
            codes.contains(&format!("value=\"{code}\"")),
            "{name}: {code} is not a ResponseCodeType"
        );
        assert!(
            doc.contains(&format!(
                "<faultcode xmlns:a=\"{TYPES}\">a:{code}</faultcode>"
            )),
            "{name}"
        );
        assert!(doc.contains("<faultstring xml:lang=\"en-US\">"), "{name}");
    }
}

#[tokio::test]
async fn every_response_validates_against_the_ews_schemas() {
    let env = harness::start().await;
    env.sim.world().record_responses(true);
    exercise_the_client(&env).await;
    exercise_raw_requests(&env).await;
    let recorded = env.sim.world().take_recorded();

    let documents: Vec<(String, Vec<u8>)> = recorded
        .iter()
        .enumerate()
        .filter(|(_, r)| r.body.starts_with("<?xml"))
        .map(|(n, r)| {
            (
                format!("{n:03}-{}-{}", r.op, r.status),
                r.body.clone().into_bytes(),
            )
        })
        .collect();
    assert!(
        documents.len() >= 20,
        "only {} XML responses were recorded",
        documents.len()
    );

    // Every operation and every kind of failure was covered.
    let all = documents
        .iter()
        .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "GetFolderResponse",
        "SyncFolderItemsResponse",
        "GetItemResponse",
        "FindItemResponse",
        "CreateItemResponse",
        "UpdateItemResponse",
        "DeleteItemResponse",
        "ErrorItemNotFound",
        "ErrorInvalidIdMalformed",
        "ErrorIrresolvableConflict",
        "ErrorInvalidSyncStateData",
        "ErrorCalendarEndDateIsEarlierThanStartDate",
        "ErrorNonExistentMailbox",
        "ErrorServerBusy",
        "BackOffMilliseconds",
        "t:Recurrence",
        "t:ModifiedOccurrences",
        "t:DeletedOccurrences",
    ] {
        assert!(
            all.contains(expected),
            "no recorded response holds {expected}"
        );
    }

    let (faults, messages): (Vec<_>, Vec<_>) =
        documents.into_iter().partition(|(_, d)| raw::is_fault(d));
    check_faults(&faults);
    assert!(faults.len() >= 2, "only {} faults", faults.len());

    let verdicts = xmllint::validate(&messages);
    let failures: Vec<String> = verdicts
        .iter()
        .filter_map(|(name, v)| v.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "responses that do not validate:\n{}",
        failures.join("\n")
    );
}
