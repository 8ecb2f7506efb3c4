//! The transport against a scripted loopback HTTP server: headers, retries, token renewal,
//! resets, faults, and that no token reaches an error or a log.

// Helpers outside `#[test]` functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

mod harness;

use std::sync::atomic::Ordering;
use std::time::Duration;

use harness::script_server::{Reply, ScriptServer};
use harness::tokens::{CountingTokens, fast_client};
use mailbridge_ews::ops::{CreateItem, SyncFolderItems};
use mailbridge_ews::types::{Contact, DistinguishedFolder, Item, SyncState};
use mailbridge_ews::{ErrorKind, EwsClient, EwsError, ResponseCode};

const MAILBOX: &str = "agent@brokerage.example";

fn client(server: &ScriptServer, tokens: CountingTokens) -> EwsClient<CountingTokens> {
    fast_client(server, tokens)
}

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">{body}</s:Body></s:Envelope>"#
    )
}

fn sync_ok() -> Reply {
    Reply::ok(envelope(
        r#"<m:SyncFolderItemsResponse><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SyncState>state-2</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange><m:Changes><t:Create><t:Contact><t:ItemId Id="c1" ChangeKey="ck1"/></t:Contact></t:Create></m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>"#,
    ))
}

fn sync_error(code: &str, back_off_ms: Option<u64>) -> Reply {
    let xml = back_off_ms
        .map(|ms| {
            format!(
                r#"<m:MessageXml><t:Value Name="BackOffMilliseconds">{ms}</t:Value></m:MessageXml>"#
            )
        })
        .unwrap_or_default();
    Reply::ok(envelope(&format!(
        r#"<m:SyncFolderItemsResponse><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Error"><m:MessageText>failed</m:MessageText><m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{xml}</m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>"#
    )))
}

fn fault(code: &str) -> Reply {
    Reply::status(
        500,
        envelope(&format!(
            r#"<s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:{code}</faultcode><faultstring xml:lang="en-US">The request failed.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">{code}</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The request failed.</e:Message></detail></s:Fault>"#
        )),
    )
}

fn sync_op() -> SyncFolderItems {
    SyncFolderItems::new(
        DistinguishedFolder::Contacts,
        Some(SyncState::new("state-1")),
    )
}

#[tokio::test]
async fn every_request_impersonates_the_mailbox_and_routes_to_it() {
    let server = ScriptServer::start(vec![sync_ok()]).await;
    let page = client(&server, CountingTokens::default())
        .execute(MAILBOX, &sync_op())
        .await
        .unwrap();

    assert_eq!(page.sync_state, Some(SyncState::new("state-2")));
    assert!(page.includes_last_item_in_range);
    assert_eq!(page.changes.len(), 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.header("x-anchormailbox"), Some(MAILBOX));
    assert_eq!(
        req.header("authorization"),
        Some("Bearer token-1-SECRETVALUE")
    );
    assert!(req.header("content-type").unwrap().starts_with("text/xml"));
    assert!(req.header("client-request-id").is_some());
    assert!(req.body.contains(&format!(
        "<t:PrimarySmtpAddress>{MAILBOX}</t:PrimarySmtpAddress>"
    )));
    assert!(
        req.body
            .contains(r#"<t:RequestServerVersion Version="Exchange2013_SP1"/>"#)
    );
    assert!(req.body.contains("<m:SyncState>state-1</m:SyncState>"));
}

#[tokio::test]
async fn server_busy_is_retried_after_the_back_off_it_names() {
    let server =
        ScriptServer::start(vec![sync_error("ErrorServerBusy", Some(30)), sync_ok()]).await;
    let started = std::time::Instant::now();
    let page = client(&server, CountingTokens::default())
        .execute(MAILBOX, &sync_op())
        .await
        .unwrap();

    assert_eq!(page.changes.len(), 1);
    assert_eq!(server.requests().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "the back-off was not honoured"
    );
}

#[tokio::test]
async fn http_429_and_503_are_throttling_and_retried() {
    let throttled = Reply::status(429, String::new()).with_header("Retry-After", "0");
    let server = ScriptServer::start(vec![
        throttled,
        Reply::status(503, String::new()),
        sync_ok(),
    ])
    .await;
    let page = client(&server, CountingTokens::default())
        .execute(MAILBOX, &sync_op())
        .await
        .unwrap();

    assert_eq!(page.changes.len(), 1);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_and_the_request_sent_once_more() {
    let tokens = CountingTokens::default();
    let server = ScriptServer::start(vec![Reply::status(401, String::new()), sync_ok()]).await;
    client(&server, tokens.clone())
        .execute(MAILBOX, &sync_op())
        .await
        .unwrap();

    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 1);
    let requests = server.requests();
    assert_eq!(
        requests[1].header("authorization"),
        Some("Bearer token-2-SECRETVALUE")
    );
}

#[tokio::test]
async fn a_second_refusal_is_an_auth_error_with_the_server_reason() {
    let tokens = CountingTokens::default();
    let refused = Reply::status(401, String::new()).with_header(
        "x-ms-diagnostics",
        r#"2000008;reason="The token has expired.";error_category="invalid_token""#,
    );
    let server = ScriptServer::start(vec![refused.clone(), refused.clone(), refused]).await;
    let err = client(&server, tokens.clone())
        .execute(MAILBOX, &sync_op())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("The token has expired."), "{err}");
    assert_eq!(tokens.renewals.load(Ordering::SeqCst), 1);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_reset_connection_is_retried_for_reads() {
    let server = ScriptServer::start(vec![
        Reply::Reset,
        Reply::Truncated(sync_ok_body()),
        sync_ok(),
    ])
    .await;
    let page = client(&server, CountingTokens::default())
        .execute(MAILBOX, &sync_op())
        .await
        .unwrap();

    assert_eq!(page.changes.len(), 1);
    assert_eq!(server.requests().len(), 3);
}

fn sync_ok_body() -> String {
    match sync_ok() {
        Reply::Http { body, .. } => body,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_create_is_never_resent_once_it_may_have_reached_the_server() {
    let server = ScriptServer::start(vec![Reply::Reset, sync_ok()]).await;
    let contact = Contact {
        given_name: Some("Ada".into()),
        ..Contact::default()
    };
    let op = CreateItem::save_in(
        DistinguishedFolder::Contacts,
        vec![Item::Contact(Box::new(contact))],
    );
    let err = client(&server, CountingTokens::default())
        .execute(MAILBOX, &op)
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            EwsError::Network {
                maybe_sent: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn faults_and_refusals_are_typed_and_not_retried() {
    let cases = [
        (fault("ErrorImpersonateUserDenied"), ErrorKind::Permission),
        (fault("ErrorNonExistentMailbox"), ErrorKind::NotFound),
        (
            Reply::status(403, "EWS is disabled for this app".into()),
            ErrorKind::Permission,
        ),
        (
            sync_error("ErrorInvalidSyncStateData", None),
            ErrorKind::InvalidSyncState,
        ),
        (Reply::status(400, "bad".into()), ErrorKind::Fatal),
    ];
    for (reply, kind) in cases {
        let server = ScriptServer::start(vec![reply, sync_ok()]).await;
        let err = client(&server, CountingTokens::default())
            .execute(MAILBOX, &sync_op())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(server.requests().len(), 1, "{err} was retried");
    }
}

#[tokio::test]
async fn impersonation_fault_keeps_its_code() {
    let server = ScriptServer::start(vec![fault("ErrorImpersonateUserDenied")]).await;
    let err = client(&server, CountingTokens::default())
        .execute(MAILBOX, &sync_op())
        .await
        .unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorImpersonateUserDenied)
    );
}

#[tokio::test]
async fn retries_stop_at_the_attempt_limit() {
    let busy = || sync_error("ErrorServerBusy", Some(1));
    let server = ScriptServer::start(vec![busy(), busy(), busy(), busy(), busy()]).await;
    let err = client(&server, CountingTokens::default())
        .execute(MAILBOX, &sync_op())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Throttling);
    assert_eq!(err.back_off(), Some(Duration::from_millis(1)));
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let server = ScriptServer::start(vec![sync_ok()]).await;
    let c = client(&server, CountingTokens::default());
    let err = c.execute("not an address", &sync_op()).await.unwrap_err();
    assert!(err.to_string().contains("mailbox"), "{err}");
    let mut op = sync_op();
    op.max_changes = 513;
    let err = c.execute(MAILBOX, &op).await.unwrap_err();
    assert!(err.to_string().contains("MaxChangesReturned"), "{err}");
    assert!(server.requests().is_empty());
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let err = EwsClient::new(
        reqwest::Client::new(),
        "http://mail.example.com/EWS/Exchange.asmx",
        CountingTokens::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, EwsError::InsecureEndpoint { .. }));
}
