//! Who reaches what: every route the router serves, called by every kind of caller (no
//! key, a made-up key, the admin key, tenant A's key, tenant B's key) against tenant A's
//! things. A tenant key reaches only its own tenant; anything else looks absent.

#![allow(clippy::unwrap_used)]

mod harness;

use std::collections::BTreeSet;

use harness::{
    ADMIN_KEY, GOOD_SECRET, Harness, MAILBOX_A, NEW_SECRET, Req, TENANT_A, far_expiry,
    onboard_body, req,
};
use mailbridge_api::{Verb, served_routes};
use mailbridge_store::{LocalSecretFile, SqliteStore};
use serde_json::json;

/// A route under test: its template, and a request for it against `tenant` / `mailbox`.
struct Route {
    verb: Verb,
    template: &'static str,
    call: fn(&str, &str) -> Req,
    /// Statuses for (admin, own tenant key, other tenant key); no key and a made-up key
    /// always get 401 except where `public`.
    expect: (u16, u16, u16),
    public: bool,
}

fn message() -> serde_json::Value {
    json!({ "to": ["client@example.com"], "subject": "Hello", "text": "Hi" })
}

// One row per route: kept as one table so a missing route stands out.
#[allow(clippy::too_many_lines)]
fn routes() -> Vec<Route> {
    use Verb::{Delete, Get, Post, Put};
    let mb = "/v1/mailboxes/{address}";
    vec![
        Route {
            verb: Get,
            template: "/openapi.json",
            call: |_, _| req("GET", "/openapi.json"),
            expect: (200, 200, 200),
            public: true,
        },
        Route {
            verb: Post,
            template: "/v1/tenants",
            call: |_, _| {
                req("POST", "/v1/tenants").json(&onboard_body(
                    "tenant-c.example",
                    "agent@c.example",
                    GOOD_SECRET,
                    &far_expiry(),
                ))
            },
            expect: (201, 403, 403),
            public: false,
        },
        Route {
            verb: Get,
            template: "/v1/tenants/{id}",
            call: |t, _| req("GET", &format!("/v1/tenants/{t}")),
            expect: (200, 200, 404),
            public: false,
        },
        Route {
            verb: Put,
            template: "/v1/tenants/{id}/secret",
            call: |t, _| {
                req("PUT", &format!("/v1/tenants/{t}/secret"))
                    .json(&json!({ "client_secret": NEW_SECRET, "secret_expires": far_expiry() }))
            },
            expect: (200, 403, 404),
            public: false,
        },
        Route {
            verb: Post,
            template: "/v1/tenants/{id}/revoke",
            call: |t, _| req("POST", &format!("/v1/tenants/{t}/revoke")),
            expect: (200, 403, 404),
            public: false,
        },
        Route {
            verb: Post,
            template: "/v1/tenants/{id}/api-keys",
            call: |t, _| req("POST", &format!("/v1/tenants/{t}/api-keys")),
            expect: (201, 403, 404),
            public: false,
        },
        Route {
            verb: Post,
            template: "/v1/tenants/{id}/mailboxes",
            call: |t, _| {
                req("POST", &format!("/v1/tenants/{t}/mailboxes"))
                    .json(&json!({ "address": "new@a.example" }))
            },
            expect: (201, 201, 404),
            public: false,
        },
        Route {
            verb: Get,
            template: "/v1/tenants/{id}/mailboxes",
            call: |t, _| req("GET", &format!("/v1/tenants/{t}/mailboxes")),
            expect: (200, 200, 404),
            public: false,
        },
        Route {
            verb: Get,
            template: mb,
            call: |_, m| req("GET", &format!("/v1/mailboxes/{m}")),
            expect: (200, 200, 404),
            public: false,
        },
        Route {
            verb: Put,
            template: "/v1/mailboxes/{address}/contacts/{crm_id}",
            call: |_, m| {
                req("PUT", &format!("/v1/mailboxes/{m}/contacts/c1"))
                    .json(&json!({ "data": { "given_name": "Ann" } }))
            },
            expect: (201, 201, 404),
            public: false,
        },
        Route {
            verb: Delete,
            template: "/v1/mailboxes/{address}/contacts/{crm_id}",
            call: |_, m| {
                req("DELETE", &format!("/v1/mailboxes/{m}/contacts/c1")).header("if-match", "*")
            },
            expect: (200, 200, 404),
            public: false,
        },
        Route {
            verb: Put,
            template: "/v1/mailboxes/{address}/events/{crm_id}",
            call: |_, m| {
                req("PUT", &format!("/v1/mailboxes/{m}/events/e1")).json(&json!({ "data": {
                "subject": "Viewing", "start": "2026-05-01T09:00:00Z", "end": "2026-05-01T10:00:00Z" } }))
            },
            expect: (201, 201, 404),
            public: false,
        },
        Route {
            verb: Delete,
            template: "/v1/mailboxes/{address}/events/{crm_id}",
            call: |_, m| {
                req("DELETE", &format!("/v1/mailboxes/{m}/events/e1")).header("if-match", "*")
            },
            expect: (200, 200, 404),
            public: false,
        },
        Route {
            verb: Get,
            template: "/v1/mailboxes/{address}/changes",
            call: |_, m| req("GET", &format!("/v1/mailboxes/{m}/changes?folder=contacts")),
            expect: (200, 200, 404),
            public: false,
        },
        Route {
            verb: Get,
            template: "/v1/mailboxes/{address}/calendar",
            call: |_, m| {
                req(
                    "GET",
                    &format!(
                        "/v1/mailboxes/{m}/calendar?start=2026-05-01T00:00:00Z&end=2026-05-08T00:00:00Z"
                    ),
                )
            },
            expect: (200, 200, 404),
            public: false,
        },
        Route {
            verb: Post,
            template: "/v1/mailboxes/{address}/sync",
            call: |_, m| req("POST", &format!("/v1/mailboxes/{m}/sync")),
            expect: (202, 202, 404),
            public: false,
        },
        Route {
            verb: Post,
            template: "/v1/mailboxes/{address}/acknowledge-deletes",
            call: |_, m| req("POST", &format!("/v1/mailboxes/{m}/acknowledge-deletes")),
            // The mailbox is active: nothing to let through.
            expect: (409, 409, 404),
            public: false,
        },
        Route {
            verb: Post,
            template: "/v1/mailboxes/{address}/send",
            call: |_, m| {
                req("POST", &format!("/v1/mailboxes/{m}/send"))
                    .header("idempotency-key", "k-1")
                    .json(&message())
            },
            expect: (200, 200, 404),
            public: false,
        },
        Route {
            verb: Get,
            template: "/v1/mailboxes/{address}/audit",
            call: |_, m| req("GET", &format!("/v1/mailboxes/{m}/audit")),
            expect: (200, 200, 404),
            public: false,
        },
    ]
}

#[test]
fn the_table_covers_every_route_the_router_serves() {
    let served: BTreeSet<(Verb, &str)> =
        served_routes::<SqliteStore, LocalSecretFile, harness::TestOps>()
            .into_iter()
            .map(|r| (r.verb, r.path))
            .collect();
    let tested: BTreeSet<(Verb, &str)> = routes().iter().map(|r| (r.verb, r.template)).collect();
    assert_eq!(served, tested);
}

#[tokio::test]
async fn every_route_answers_each_caller_as_the_table_says() {
    let mut failures = Vec::new();
    for route in routes() {
        for caller in ["none", "made-up", "admin", "own", "other"] {
            // A fresh pair of tenants per cell, so no call sees another's effects.
            let (h, key_a, key_b) = Harness::with_two_tenants().await;
            let calls_before = h.app.ops().calls().len();
            let request = (route.call)(TENANT_A, MAILBOX_A);
            let request = match caller {
                "none" => request,
                "made-up" => request.key(&format!("mbk_{TENANT_A}_{}", "0".repeat(64))),
                "admin" => request.key(ADMIN_KEY),
                "own" => request.key(&key_a),
                _ => request.key(&key_b),
            };
            let answer = request.send(&h).await;

            let expected = match caller {
                "none" | "made-up" if route.public => route.expect.0,
                "none" | "made-up" => 401,
                "admin" => route.expect.0,
                "own" => route.expect.1,
                _ => route.expect.2,
            };
            let refused = expected >= 400;
            if answer.status != expected || (refused && !answer.is_problem(expected)) {
                failures.push(format!(
                    "{} {} as {caller}: {} (expected {expected}): {}",
                    route.verb.as_str(),
                    route.template,
                    answer.status,
                    answer.text
                ));
            }
            if refused && h.app.ops().calls().len() != calls_before {
                failures.push(format!(
                    "{} {} as {caller} reached the runner",
                    route.verb.as_str(),
                    route.template
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn another_tenants_things_look_exactly_like_missing_ones() {
    for route in routes().into_iter().filter(|r| r.expect.2 == 404) {
        let (h, key_a, _) = Harness::with_two_tenants().await;
        let theirs = (route.call)("tenant-b.example", "agent@b.example")
            .key(&key_a)
            .send(&h)
            .await;
        let missing = (route.call)("tenant-z.example", "ghost@a.example")
            .key(&key_a)
            .send(&h)
            .await;
        assert_eq!(theirs.status, 404, "{}: {}", route.template, theirs.text);
        assert_eq!(theirs.body, missing.body, "{}", route.template);
    }
}

#[tokio::test]
async fn keys_must_be_bearer_tokens() {
    let h = Harness::new();
    for value in [
        ADMIN_KEY.to_owned(),
        format!("Basic {ADMIN_KEY}"),
        "Bearer ".to_owned(),
    ] {
        let answer = req("GET", &format!("/v1/tenants/{TENANT_A}"))
            .header("authorization", &value)
            .send(&h)
            .await;
        assert!(answer.is_problem(401), "{value}: {}", answer.text);
        assert_eq!(answer.fields(), ["Authorization"]);
    }
    let lower = req("GET", &format!("/v1/tenants/{TENANT_A}"))
        .header("authorization", &format!("bearer {ADMIN_KEY}"))
        .send(&h)
        .await;
    assert_eq!(lower.status, 404, "the scheme is case-insensitive");
}
