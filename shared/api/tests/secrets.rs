//! Secret hygiene: client secrets and API keys never appear in a response, a problem, a
//! log line (every level captured) or a `Debug` string, whatever path a request takes.

#![allow(clippy::unwrap_used)]

mod harness;

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use harness::{
    ADMIN_KEY, Answer, GOOD_SECRET, Harness, MAILBOX_A, NEW_SECRET, Req, TENANT_A, TENANT_B,
    WRONG_SECRET, far_expiry, onboard_body, req,
};
use mailbridge_api::{ApiConfig, VerifyRequest, hash_key};
use secrecy::SecretString;
use serde_json::json;

/// Every log line, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn seen(answer: &Answer) -> String {
    let headers: Vec<String> = answer
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    format!("{}\n{}\n{}", answer.status, headers.join("\n"), answer.text)
}

/// Every path a secret or key could take: onboarding that passes, fails, or has the
/// secret typed into the wrong fields; rotation refused and done; a tenant key used,
/// mistyped and aimed at another tenant; a revocation. Returns the answers (except the
/// key's creation, which shows it once by design) and the key.
async fn exercise(h: &Harness) -> (Vec<Answer>, String) {
    let mut out = Vec::new();
    let admin = |r: Req| r.key(ADMIN_KEY);
    let other = "agent@b.example";

    let mut misplaced = onboard_body(TENANT_B, other, WRONG_SECRET, WRONG_SECRET);
    misplaced["client_id"] = json!(WRONG_SECRET);
    misplaced["name"] = json!([WRONG_SECRET]);
    let mut as_object = onboard_body(TENANT_B, other, "", &far_expiry());
    as_object["client_secret"] = json!({ "value": WRONG_SECRET });
    for body in [
        onboard_body(TENANT_A, MAILBOX_A, GOOD_SECRET, &far_expiry()),
        onboard_body(TENANT_B, other, WRONG_SECRET, &far_expiry()),
        misplaced,
        as_object,
    ] {
        out.push(admin(req("POST", "/v1/tenants")).json(&body).send(h).await);
    }

    let uri = format!("/v1/tenants/{TENANT_A}/secret");
    for secret in [WRONG_SECRET, NEW_SECRET] {
        let body = json!({ "client_secret": secret, "secret_expires": far_expiry() });
        out.push(admin(req("PUT", &uri)).json(&body).send(h).await);
    }

    let created = admin(req("POST", &format!("/v1/tenants/{TENANT_A}/api-keys")))
        .send(h)
        .await;
    let key = created.body["key"].as_str().unwrap().to_owned();
    let tenant = format!("/v1/tenants/{TENANT_A}");
    out.push(req("GET", &tenant).key(&key).send(h).await);
    out.push(req("GET", &tenant).key(&format!("{key}0")).send(h).await);
    out.push(
        req("GET", &format!("/v1/mailboxes/{other}"))
            .key(&key)
            .send(h)
            .await,
    );
    out.push(
        req("GET", "/v1/tenants/x")
            .key(&format!("Bearer {GOOD_SECRET}"))
            .send(h)
            .await,
    );
    out.push(
        admin(req("POST", &format!("{tenant}/revoke")))
            .send(h)
            .await,
    );
    out.push(
        admin(req("GET", &format!("/v1/mailboxes/{MAILBOX_A}/audit")))
            .send(h)
            .await,
    );
    (out, key)
}

/// `Debug` of everything that holds or once held a secret.
fn debug_strings(h: &Harness) -> Vec<String> {
    let request = VerifyRequest {
        tenant_id: TENANT_A.to_owned(),
        client_id: "c".to_owned(),
        client_secret: SecretString::from(GOOD_SECRET),
        secret_expires: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        test_mailbox: MAILBOX_A.to_owned(),
        authority: None,
        ews_endpoint: None,
    };
    let mut debug = vec![
        format!("{request:?}"),
        format!("{:?}", h.app),
        format!("{:?}", ApiConfig::new(&hash_key(ADMIN_KEY)).unwrap()),
        format!("{:?}", h.app.secrets()),
    ];
    debug.extend(h.app.ops().verify_debug.lock().unwrap().iter().cloned());
    debug
}

#[tokio::test]
async fn secrets_and_keys_never_leave_through_responses_logs_or_debug() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let h = Harness::new();

    let (answers, key) = exercise(&h).await;

    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(
        statuses,
        [201, 422, 422, 422, 422, 200, 200, 401, 404, 401, 200, 200]
    );
    let responses: Vec<String> = answers.iter().map(seen).collect();
    let log_text = logs.text();
    let everything = [
        responses.join("\n"),
        debug_strings(&h).join("\n"),
        log_text.clone(),
    ];
    let everything = everything.join("\n");
    let admin_hash = hash_key(ADMIN_KEY);
    for secret in [
        GOOD_SECRET,
        NEW_SECRET,
        WRONG_SECRET,
        ADMIN_KEY,
        &admin_hash,
        &key,
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
    // The runner did receive the secrets, so their absence above means something.
    assert!(h.app.ops().calls().len() >= 4);
    // The logs were captured and carry the request's fields, the mailbox only hashed.
    assert!(log_text.contains("op=\"tenant.onboard\""), "{log_text}");
    assert!(
        log_text.contains(&format!("tenant=\"{TENANT_A}\"")),
        "{log_text}"
    );
    assert!(log_text.contains("caller=\"api:"), "{log_text}");
    assert!(log_text.contains("request_id="), "{log_text}");
    assert!(
        !log_text.contains(MAILBOX_A),
        "addresses are hashed in logs:\n{log_text}"
    );
}
