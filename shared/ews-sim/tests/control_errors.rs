//! Bad input to the control interface: each mistake is a 4xx whose JSON `error` names what
//! is wrong, and none of them takes the simulator down.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod control;
mod harness;

use control::Control;
use mailbridge_ews_sim::model::{Event, ItemContent};
use serde_json::{Value, json};

/// `(method, path, body, status, words the error must hold)`.
type Row = (&'static str, String, Value, u16, &'static str);

#[tokio::test]
async fn each_mistake_is_a_4xx_that_names_it() {
    let env = harness::start().await;
    let ctl = Control::of(&env);
    let mb = env.mailbox().to_owned();
    let tenant = env.tenant.tenant_id.clone();
    let (_, created) = ctl
        .post(
            &format!("/_sim/mailboxes/{mb}/folders/contacts/items"),
            &json!({"kind": "contact", "display_name": "Kept"}),
        )
        .await;
    let contact = control::segment(created["id"].as_str().unwrap());
    let start = chrono::Utc::now();
    let backwards = serde_json::to_value(ItemContent::event(Event::new(
        "Backwards",
        start,
        start - chrono::Duration::hours(1),
    )))
    .unwrap();
    let forwards = serde_json::to_value(ItemContent::event(Event::new(
        "Forwards",
        start,
        start + chrono::Duration::hours(1),
    )))
    .unwrap();

    let rows: Vec<Row> = vec![
        (
            "POST",
            "/_sim/tenants".into(),
            json!({"tenant_id": "nope", "domains": []}),
            400,
            "tenant_id",
        ),
        (
            "POST",
            "/_sim/tenants".into(),
            json!({"tenant_id": tenant, "domains": []}),
            409,
            "already exists",
        ),
        (
            "POST",
            "/_sim/tenants".into(),
            json!({"domains": []}),
            422,
            "missing field `tenant_id`",
        ),
        (
            "GET",
            "/_sim/tenants/unknown.example".into(),
            Value::Null,
            404,
            "no tenant unknown.example",
        ),
        (
            "POST",
            "/_sim/tenants/unknown.example/expire-tokens".into(),
            json!({}),
            404,
            "no tenant",
        ),
        (
            "POST",
            "/_sim/mailboxes".into(),
            json!({"address": "not an address", "tenant_id": tenant}),
            400,
            "not an SMTP address",
        ),
        (
            "POST",
            "/_sim/mailboxes".into(),
            json!({"address": "x@y.example", "tenant_id": "0f0f0f0f-0000-4000-8000-000000000000"}),
            404,
            "no tenant",
        ),
        (
            "GET",
            "/_sim/mailboxes/nobody@contoso.example".into(),
            Value::Null,
            404,
            "no mailbox nobody@contoso.example",
        ),
        (
            "POST",
            format!("/_sim/mailboxes/{mb}/seed"),
            json!({"contacts": 1_000_000}),
            400,
            "contacts",
        ),
        (
            "POST",
            format!("/_sim/mailboxes/{mb}/seed"),
            json!({"contacts": -1}),
            422,
            "contacts",
        ),
        (
            "POST",
            "/_sim/mailboxes/nobody@contoso.example/seed".into(),
            json!({"contacts": 1}),
            404,
            "no mailbox",
        ),
        (
            "GET",
            format!("/_sim/mailboxes/{mb}/folders/tasks/items"),
            Value::Null,
            400,
            "tasks",
        ),
        (
            "POST",
            format!("/_sim/mailboxes/{mb}/folders/contacts/items"),
            forwards.clone(),
            400,
            "cannot be stored in Contacts",
        ),
        (
            "POST",
            format!("/_sim/mailboxes/{mb}/folders/calendar/items"),
            backwards,
            400,
            "ends before it starts",
        ),
        (
            "POST",
            format!("/_sim/mailboxes/{mb}/folders/contacts/items"),
            json!({"kind": "task"}),
            422,
            "unknown variant `task`",
        ),
        (
            "GET",
            format!("/_sim/mailboxes/{mb}/items/garbage"),
            Value::Null,
            404,
            "no item garbage",
        ),
        (
            "PUT",
            format!("/_sim/mailboxes/{mb}/items/{contact}"),
            forwards,
            400,
            "cannot become a event",
        ),
        (
            "DELETE",
            format!("/_sim/mailboxes/{mb}/items/garbage"),
            Value::Null,
            404,
            "no item garbage",
        ),
        (
            "PUT",
            "/_sim/throttle".into(),
            json!({"max_concurrency": 0, "refusal": "http429"}),
            400,
            "max_concurrency",
        ),
        (
            "PUT",
            "/_sim/throttle".into(),
            json!({"max_concurrency": 1, "rate_per_second": -1.0, "refusal": "http429"}),
            400,
            "rate_per_second",
        ),
        (
            "PUT",
            "/_sim/throttle".into(),
            json!({"max_concurrency": 1, "refusal": "teapot"}),
            422,
            "unknown variant `teapot`",
        ),
        (
            "PUT",
            "/_sim/faults".into(),
            json!({"rates": [["http500", 2.0]]}),
            400,
            "rates are 0 to 1",
        ),
        (
            "PUT",
            "/_sim/faults".into(),
            json!({"latency_ms": u64::MAX, "jitter_ms": 1}),
            400,
            "latency_ms",
        ),
        (
            "POST",
            "/_sim/faults/inject".into(),
            json!({"fault": "meteor"}),
            422,
            "unknown variant `meteor`",
        ),
        (
            "POST",
            "/_sim/faults/inject".into(),
            json!({"fault": "http500", "count": 1_000_000_000u64}),
            400,
            "count",
        ),
        (
            "POST",
            "/_sim/faults/inject".into(),
            json!({"fault": "http500", "count": 0}),
            400,
            "count",
        ),
        (
            "POST",
            "/_sim/clock/advance".into(),
            json!({"seconds": -5}),
            400,
            "only moves forward",
        ),
        (
            "POST",
            "/_sim/clock/advance".into(),
            json!({"seconds": i64::MAX}),
            400,
            "seconds",
        ),
        (
            "POST",
            "/_sim/clock/advance".into(),
            json!({"seconds": "soon"}),
            422,
            "seconds",
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, status, words) in rows {
        let body = (!body.is_null()).then_some(&body);
        let (got, answer) = ctl.call(method, &path, body).await;
        let error = answer["error"].as_str().unwrap_or_default();
        if got != status || !error.contains(words) {
            wrong.push(format!(
                "{method} {path}: expected {status} naming {words:?}, got {got} {answer}"
            ));
        }
    }

    // Bodies that are not JSON at all.
    for (content_type, body, status, words) in [
        (Some("application/json"), "{", 400, "JSON"),
        (
            None,
            r#"{"seconds": 1}"#,
            415,
            "Content-Type: application/json",
        ),
    ] {
        let (got, answer) = ctl
            .raw("POST", "/_sim/clock/advance", content_type, body)
            .await;
        let error = answer["error"].as_str().unwrap_or_default();
        if got != status || !error.contains(words) {
            wrong.push(format!(
                "{body:?}: expected {status} naming {words:?}, got {got} {answer}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Nothing was applied, and the simulator still serves.
    let world = env.sim.world();
    assert_eq!(
        world.throttle_policy(),
        mailbridge_ews_sim::ThrottlePolicy::default()
    );
    assert!(world.now() < chrono::Utc::now() + chrono::Duration::seconds(60));
    assert_eq!(
        world
            .items(&mb, mailbridge_ews_sim::model::FolderKind::Contacts)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(ctl.get("/_sim/stats").await.0, 200);
    assert!(
        env.ews
            .execute(
                &mb,
                &mailbridge_ews::ops::GetFolder {
                    folders: vec![mailbridge_ews::types::DistinguishedFolder::Contacts.into()],
                }
            )
            .await
            .is_ok()
    );
}
