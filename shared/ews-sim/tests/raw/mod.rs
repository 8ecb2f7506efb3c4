//! Raw SOAP against the simulator, as a client other than ours would write it, and tables of
//! requests whose status and response code are each asserted on their own.

#![allow(dead_code)]

pub mod fault_schema;
#[allow(dead_code)]
#[path = "../../../ews/tests/xmllint/mod.rs"]
pub mod xmllint;

use crate::harness::Env;

pub const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const TYPES: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
pub const MESSAGES: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";

/// A SOAP 1.1 envelope with the `s:`, `t:` and `m:` prefixes bound.
pub fn envelope(header: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}" xmlns:t="{TYPES}" xmlns:m="{MESSAGES}"><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

/// The server version and impersonation headers our client sends.
pub fn impersonating(mailbox: &str) -> String {
    format!(
        r#"<t:RequestServerVersion Version="Exchange2016"/><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>{mailbox}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"#
    )
}

/// An operation for `mailbox`, with the usual headers.
pub fn op(mailbox: &str, body: &str) -> String {
    envelope(&impersonating(mailbox), body)
}

/// A token for the tenant's app, fetched over the wire.
pub async fn token(env: &Env) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", env.tenant.client_id.as_str()),
        ("client_secret", env.tenant.client_secret.as_str()),
        ("scope", "https://outlook.office365.com/.default"),
    ];
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        env.sim.base_url(),
        env.tenant.tenant_id
    );
    let json: serde_json::Value = env
        .http
        .post(url)
        .form(&form)
        .send()
        .await
        .expect("the token endpoint answers")
        .json()
        .await
        .expect("a JSON token response");
    json["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// Posts raw SOAP; returns the status and the body.
pub async fn post(env: &Env, token: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let response = env
        .http
        .post(env.sim.ews_url())
        .bearer_auth(token)
        .header("content-type", "text/xml; charset=utf-8")
        .body(body)
        .send()
        .await
        .expect("the simulator answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// Every response code in a response, in order: the `m:ResponseCode` of each message, or
/// the `e:ResponseCode` of a fault's detail.
pub fn codes(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in ["m:ResponseCode", "e:ResponseCode"] {
        let open = format!("<{tag}");
        let close = format!("</{tag}>");
        let mut rest = body;
        while let Some(at) = rest.find(&open) {
            let after = &rest[at + open.len()..];
            let Some(start) = after.find('>') else { break };
            let value = &after[start + 1..];
            let Some(end) = value.find(&close) else { break };
            found.push(value[..end].to_owned());
            rest = &value[end..];
        }
    }
    found
}

/// One row of a table: a request and what it must get.
pub struct Case {
    /// Names the row in failures and in the validated file's name.
    pub name: &'static str,
    pub request: String,
    /// The HTTP status.
    pub status: u16,
    /// The only response code the response may hold.
    pub code: &'static str,
    /// Run on the world just before the request (to queue a fault, say).
    pub setup: Option<fn(&mailbridge_ews_sim::World)>,
}

impl Case {
    pub fn new(name: &'static str, request: String, status: u16, code: &'static str) -> Case {
        Case {
            name,
            request,
            status,
            code,
            setup: None,
        }
    }

    /// The same row, with `setup` run just before its request.
    #[must_use]
    pub fn after(mut self, setup: fn(&mailbridge_ews_sim::World)) -> Case {
        self.setup = Some(setup);
        self
    }
}

/// Sends each row's request and asserts its status and its code; returns each response
/// as `(name, body)` for schema validation. Every mismatch is reported at once.
pub async fn run(env: &Env, token: &str, cases: Vec<Case>) -> Vec<(String, Vec<u8>)> {
    let mut failures = Vec::new();
    let mut responses = Vec::new();
    for case in cases {
        if let Some(setup) = case.setup {
            setup(env.sim.world());
        }
        let (status, body) = post(env, token, case.request).await;
        let got = codes(&body);
        if status != case.status || got != [case.code] {
            failures.push(format!(
                "{}: expected {} {}, got {status} {got:?}\n{body}",
                case.name, case.status, case.code
            ));
        }
        responses.push((case.name.to_owned(), body.into_bytes()));
    }
    assert!(
        failures.is_empty(),
        "{} rows got the wrong answer:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    responses
}

/// Whether a response is a SOAP fault.
pub fn is_fault(body: &[u8]) -> bool {
    String::from_utf8_lossy(body).contains("<s:Fault>")
}

/// Validates responses: messages against the EWS schemas, SOAP faults against the fault
/// schema (whose detail is checked against the EWS schemas).
pub fn assert_valid(responses: Vec<(String, Vec<u8>)>) {
    let (faults, messages): (Vec<_>, Vec<_>) =
        responses.into_iter().partition(|(_, b)| is_fault(b));
    if !faults.is_empty() {
        check_faults(&faults);
    }
    if !messages.is_empty() {
        xmllint::assert_valid(&messages);
    }
}

/// Validates each fault against the fault schema, and checks what the schema cannot: the
/// `faultcode` names the same response code as the detail.
pub fn check_faults(faults: &[(String, Vec<u8>)]) {
    fault_schema::assert_valid(faults);
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
            doc.contains(&format!(
                "<faultcode xmlns:a=\"{TYPES}\">a:{code}</faultcode>"
            )),
            "{name}: the faultcode names another code than {code}"
        );
    }
}
