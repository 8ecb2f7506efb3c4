//! `EwsMailbox::with_page_size`: the bound is checked before anything is sent, a delta page
//! asks for that many changes, and a fetch is split into `GetItem` requests of that size
//! whose results come back as one list, in order (an answer of the wrong length is refused).

// Helpers outside `#[test]` functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

mod harness;

use std::fmt::Write as _;

use harness::script_server::{Reply, ScriptServer};
use harness::tokens::{CountingTokens, fast_client};
use mailbridge_ews::backend::MAX_PAGE_SIZE;
use mailbridge_ews::{EwsError, EwsMailbox};
use mailbridge_mailbox::{FolderKind, MailboxBackend};

const MAILBOX: &str = "agent@brokerage.example";

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">{body}</s:Body></s:Envelope>"#
    )
}

/// A `GetItem` answer with one contact per id.
fn contacts(ids: &[&str]) -> Reply {
    let mut messages = String::new();
    for id in ids {
        let _ = write!(
            messages,
            r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Contact><t:ItemId Id="{id}" ChangeKey="ck-{id}"/><t:GivenName>{id}</t:GivenName></t:Contact></m:Items></m:GetItemResponseMessage>"#
        );
    }
    Reply::ok(envelope(&format!(
        "<m:GetItemResponse><m:ResponseMessages>{messages}</m:ResponseMessages></m:GetItemResponse>"
    )))
}

fn sync_page() -> Reply {
    Reply::ok(envelope(
        r#"<m:SyncFolderItemsResponse><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SyncState>state-2</m:SyncState><m:IncludesLastItemInRange>false</m:IncludesLastItemInRange><m:Changes><t:Create><t:Contact><t:ItemId Id="c1" ChangeKey="ck1"/></t:Contact></t:Create><t:Create><t:Contact><t:ItemId Id="c2" ChangeKey="ck2"/></t:Contact></t:Create></m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>"#,
    ))
}

#[tokio::test]
async fn a_page_size_out_of_range_is_refused_with_the_bound() {
    let server = ScriptServer::start(Vec::new()).await;
    let client = fast_client(&server, CountingTokens::default());
    for size in [0, MAX_PAGE_SIZE + 1] {
        let Err(err) = EwsMailbox::new(&client, MAILBOX).with_page_size(size) else {
            panic!("page size {size} was accepted");
        };
        assert!(
            matches!(&err, EwsError::InvalidInput { field, .. } if field == "page size"),
            "{err:?}"
        );
        assert!(err.to_string().contains("1 to 512"), "{err}");
    }
    let full = EwsMailbox::new(&client, MAILBOX);
    assert_eq!(full.page_size(), MAX_PAGE_SIZE);
    let bounds = [1, MAX_PAGE_SIZE].map(|size| {
        EwsMailbox::new(&client, MAILBOX)
            .with_page_size(size)
            .unwrap()
            .page_size()
    });
    assert_eq!(bounds, [1, MAX_PAGE_SIZE]);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_delta_page_asks_for_the_page_size() {
    let server = ScriptServer::start(vec![sync_page()]).await;
    let client = fast_client(&server, CountingTokens::default());
    let backend = EwsMailbox::new(&client, MAILBOX).with_page_size(2).unwrap();
    let page = backend.delta(FolderKind::Contacts, None).await.unwrap();
    assert!(page.more);
    assert_eq!(page.changes.len(), 2);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0]
            .body
            .contains("<m:MaxChangesReturned>2</m:MaxChangesReturned>"),
        "{}",
        requests[0].body
    );
}

#[tokio::test]
async fn a_fetch_is_split_into_requests_of_the_page_size_and_keeps_the_order() {
    let server = ScriptServer::start(vec![
        contacts(&["a", "b"]),
        contacts(&["c", "d"]),
        contacts(&["e"]),
    ])
    .await;
    let client = fast_client(&server, CountingTokens::default());
    let backend = EwsMailbox::new(&client, MAILBOX).with_page_size(2).unwrap();
    let ids: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
    let fetched = backend.fetch(FolderKind::Contacts, &ids).await.unwrap();
    let got: Vec<String> = fetched.into_iter().map(|r| r.unwrap().item.id).collect();
    assert_eq!(got, ids);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for (request, expected) in requests.iter().zip([2, 2, 1]) {
        assert_eq!(request.body.matches("<t:ItemId ").count(), expected);
    }
}

#[tokio::test]
async fn the_default_fetch_is_one_request() {
    let ids: Vec<String> = (0..5).map(|n| format!("x{n}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let server = ScriptServer::start(vec![contacts(&refs)]).await;
    let client = fast_client(&server, CountingTokens::default());
    let backend = EwsMailbox::new(&client, MAILBOX);
    let fetched = backend.fetch(FolderKind::Contacts, &ids).await.unwrap();
    assert_eq!(fetched.len(), 5);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_fetch_answered_with_too_few_items_is_refused_not_misaligned() {
    let server = ScriptServer::start(vec![contacts(&["a", "b"]), contacts(&["c"])]).await;
    let client = fast_client(&server, CountingTokens::default());
    let backend = EwsMailbox::new(&client, MAILBOX).with_page_size(2).unwrap();
    let ids: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    let err = backend.fetch(FolderKind::Contacts, &ids).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("GetItem answered 1 items for 2 ids"),
        "{err}"
    );
}
