//! The demo's last part: the whole bundle (API, scheduler, worker) in this process,
//! driven over HTTP the way a CRM and an administrator would.

use std::io::Write as _;
use std::time::Duration;

use mailbridge_ews_sim::World;
use mailbridge_ews_sim::model::{FolderKind as SimFolder, ItemData as SimData, SeedSpec};
use mailbridge_ews_sim::preset::PresetTenant;
use serde_json::{Value, json};

use crate::demo::err;
use crate::runner::{RunnerConfig, start};

/// What the bundle part showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BundleOutcome {
    /// Onboarding was verified.
    pub verified: bool,
    /// Mailboxes synced through the worker.
    pub synced: usize,
    /// The CRM's contact and event reached the mailbox.
    pub crm_to_mailbox: bool,
    /// The owner's edit reached the change feed.
    pub mailbox_to_crm: bool,
    /// Messages delivered (one, however often the send was retried).
    pub delivered: usize,
}

struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| err(path)(&e))?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }
}

/// Waits until the worker has synced `mailbox` after `since`, drawing a progress bar.
async fn wait_synced(api: &Client, mailbox: &str, since: &str) -> Result<(), String> {
    print!("     {mailbox:<28} [");
    for _ in 0..200 {
        let (_, health) = api
            .call(
                reqwest::Method::GET,
                &format!("/v1/mailboxes/{mailbox}"),
                None,
            )
            .await?;
        if health["last_sync"].as_str().is_some_and(|t| t > since) {
            println!("##########] synced");
            return Ok(());
        }
        print!("#");
        let _ = std::io::stdout().flush();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("] still waiting");
    Err(format!("{mailbox} was not synced in time"))
}

async fn sync(api: &Client, mailbox: &str) -> Result<(), String> {
    let since = chrono::Utc::now().to_rfc3339();
    api.call(
        reqwest::Method::POST,
        &format!("/v1/mailboxes/{mailbox}/sync"),
        None,
    )
    .await?;
    wait_synced(api, mailbox, &since).await
}

/// Runs the bundle part, numbering steps from `step`.
pub async fn run(
    world: &World,
    tenant: &PresetTenant,
    sim_base: &str,
    mut step: usize,
) -> Result<BundleOutcome, String> {
    let mut outcome = BundleOutcome::default();
    let data = std::env::temp_dir().join(format!("mailbridge-demo-{:016x}", fastrand::u64(..)));
    let admin_key = format!("mba_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let running = start(&RunnerConfig {
        data_dir: data.clone(),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_key: admin_key.clone(),
        sync_interval: Duration::from_mins(5),
    })
    .await?;
    let second = tenant.mailboxes[1].clone();
    world
        .seed(
            &second,
            &SeedSpec {
                contacts: 15,
                events: 4,
                recurring: 1,
                seed: 21,
                ..SeedSpec::default()
            },
        )
        .map_err(|e| err("seeding")(&e))?;
    let mut api = Client {
        http: reqwest::Client::new(),
        base: running.base_url.clone(),
        key: admin_key,
    };
    let result = async {
        onboard_and_sync(&mut api, tenant, sim_base, &mut step, &mut outcome).await?;
        crm_owner_and_send(&api, world, &second, &mut step, &mut outcome).await
    }
    .await;
    drop(running);
    let _ = std::fs::remove_dir_all(&data);
    result.map(|()| outcome)
}

/// Onboards the tenant through the API, issues a key, adds the second mailbox, syncs both.
async fn onboard_and_sync(
    api: &mut Client,
    tenant: &PresetTenant,
    sim_base: &str,
    step: &mut usize,
    outcome: &mut BundleOutcome,
) -> Result<(), String> {
    let (second, first) = (tenant.mailboxes[1].clone(), tenant.mailboxes[0].clone());
    *step += 1;
    println!(
        "\n{step}. The bundle (API, scheduler, sync worker) serves on {}",
        api.base
    );
    let expires = (chrono::Utc::now() + chrono::Duration::days(365))
        .date_naive()
        .to_string();
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/v1/tenants",
            Some(json!({
                "tenant_id": tenant.tenant_id, "name": "Contoso", "client_id": tenant.client_id,
                "client_secret": tenant.client_secret, "secret_expires": expires,
                "test_mailbox": first, "authority": sim_base,
                "ews_endpoint": format!("{sim_base}/EWS/Exchange.asmx"),
            })),
        )
        .await?;
    outcome.verified = status == 201;
    println!("   Onboarding through the API: HTTP {status}, verification steps:");
    for s in body["report"]["steps"]
        .as_array()
        .or(body["steps"].as_array())
        .into_iter()
        .flatten()
    {
        println!(
            "     {:<10} {:<7} {} ms  {}",
            s["name"].as_str().unwrap_or(""),
            s["outcome"].as_str().unwrap_or(""),
            s["duration_ms"],
            s["message"].as_str().unwrap_or("")
        );
    }
    let (_, key) = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/tenants/{}/api-keys", tenant.tenant_id),
            None,
        )
        .await?;
    key["key"]
        .as_str()
        .ok_or("no API key in the response")?
        .clone_into(&mut api.key);
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/tenants/{}/mailboxes", tenant.tenant_id),
            Some(json!({ "address": second })),
        )
        .await?;
    println!("   A tenant API key issued; second mailbox added: HTTP {status}");

    *step += 1;
    println!("{step}. Syncing both mailboxes through the worker:");
    for mailbox in [&first, &second] {
        sync(api, mailbox).await?;
        outcome.synced += 1;
    }

    Ok(())
}

/// The CRM writes, the owner edits, and a message goes out twice with one key.
async fn crm_owner_and_send(
    api: &Client,
    world: &World,
    second: &str,
    step: &mut usize,
    outcome: &mut BundleOutcome,
) -> Result<(), String> {
    *step += 1;
    api.call(
        reqwest::Method::PUT,
        &format!("/v1/mailboxes/{second}/contacts/crm-7001"),
        Some(json!({ "data": { "given_name": "Omar", "surname": "Lund", "emails": ["omar.lund@example.com"], "company": "Lund Homes" } })),
    )
    .await?;
    let start = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%dT10:00:00Z")
        .to_string();
    let end = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%dT11:00:00Z")
        .to_string();
    api.call(
        reqwest::Method::PUT,
        &format!("/v1/mailboxes/{second}/events/crm-evt-1"),
        Some(json!({ "data": { "subject": "Viewing: 12 Elm St", "location": "12 Elm St", "start": start, "end": end } })),
    )
    .await?;
    sync(api, second).await?;
    let has = |folder, text: &str| {
        world
            .items(second, folder)
            .unwrap_or_default()
            .iter()
            .any(|i| format!("{:?}", i.content.data).contains(text))
    };
    outcome.crm_to_mailbox =
        has(SimFolder::Contacts, "Lund Homes") && has(SimFolder::Calendar, "Viewing: 12 Elm St");
    println!(
        "{step}. A contact and an event created by the CRM are in {second}'s mailbox: {}",
        outcome.crm_to_mailbox
    );

    *step += 1;
    let (_, feed) = api
        .call(
            reqwest::Method::GET,
            &format!("/v1/mailboxes/{second}/changes?folder=contacts"),
            None,
        )
        .await?;
    let cursor = feed["next"].as_u64().unwrap_or_default();
    let target = world
        .items(second, SimFolder::Contacts)
        .map_err(|e| err("reading")(&e))?
        .into_iter()
        .next()
        .ok_or("no contacts")?;
    world
        .owner_edit(second, &target.id, |c| {
            if let SimData::Contact(contact) = &mut c.data {
                contact.phones.insert(
                    "MobilePhone".into(),
                    "+1 555 0100 (changed in Outlook)".into(),
                );
            }
        })
        .map_err(|e| err("editing as the owner")(&e))?;
    sync(api, second).await?;
    let (_, feed) = api
        .call(
            reqwest::Method::GET,
            &format!("/v1/mailboxes/{second}/changes?folder=contacts&after={cursor}"),
            None,
        )
        .await?;
    outcome.mailbox_to_crm = feed.to_string().contains("changed in Outlook");
    println!(
        "{step}. The owner changed a phone number in Outlook; the CRM's change feed shows it: {}",
        outcome.mailbox_to_crm
    );

    *step += 1;
    let message = json!({ "to": ["buyer@example.com"], "subject": "Your viewing on Friday", "text": "See you at 12 Elm St at 10:00." });
    let before = world.outbox().len();
    for attempt in 1..=2 {
        let response = api
            .http
            .post(format!("{}/v1/mailboxes/{second}/send", api.base))
            .bearer_auth(&api.key)
            .header("Idempotency-Key", "demo-viewing-friday")
            .json(&message)
            .send()
            .await
            .map_err(|e| err("sending")(&e))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        println!(
            "{step}. Send from {second}, attempt {attempt}: HTTP {status}, replayed: {}",
            body["replayed"]
        );
    }
    outcome.delivered = world.outbox().len() - before;
    println!(
        "   Delivered: {} message, with a copy in Sent Items",
        outcome.delivered
    );
    Ok(())
}
