//! Requests whose shape is wrong, as a table: each row's HTTP status and response code
//! asserted on its own, each response validated against the EWS schemas.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod harness;
mod raw;

use raw::{Case, SOAP};

const GET_CONTACTS_FOLDER: &str = r#"<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="contacts"/></m:FolderIds></m:GetFolder>"#;

/// Each request, with the status and the response code Exchange answers it with.
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
    raw::assert_valid(responses);

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

#[test]
fn the_fault_schema_refuses_faults_exchange_would_not_send() {
    use mailbridge_ews_sim::ews::soap::{Fault, fault_envelope};
    let good =
        fault_envelope(&Fault::new("ErrorServerBusy", "Busy.").with("BackOffMilliseconds", "2000"));
    let bad = [
        ("an unknown code", good.replace(">ErrorServerBusy<", ">ErrorMadeUp<")),
        (
            "no Message in the detail",
            good.replace(
                r#"<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">Busy.</e:Message>"#,
                "",
            ),
        ),
        (
            "a MessageXml value without a name",
            good.replace(r#" Name="BackOffMilliseconds""#, ""),
        ),
        (
            "no faultstring",
            good.replace(r#"<faultstring xml:lang="en-US">Busy.</faultstring>"#, ""),
        ),
    ];
    let mut documents = vec![("good".to_owned(), good.clone().into_bytes())];
    for (name, doc) in &bad {
        assert_ne!(doc, &good, "{name}: the edit applies");
        documents.push(((*name).to_owned(), doc.clone().into_bytes()));
    }
    let failures = raw::fault_schema::failures(&documents);
    let failed: Vec<&str> = failures
        .iter()
        .map(|f| f.split(':').next().unwrap())
        .collect();
    assert_eq!(failed, bad.map(|(name, _)| name), "{failures:#?}");
}
