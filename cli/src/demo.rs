//! `mailbridge demo`: one mailbox read end to end through the real client code, against the
//! simulator on loopback. Nothing leaves the machine.

use std::sync::Arc;

use chrono::{Duration, Utc};
use mailbridge_ews::EwsClient;
use mailbridge_ews::ops::{FindItem, GetItem, SyncChange, SyncFolderItems, View};
use mailbridge_ews::types::{CalendarItemType, DistinguishedFolder, EmailKey, Item, ItemShape};
use mailbridge_ews_sim::Simulator;
use mailbridge_ews_sim::model::SeedSpec;
use mailbridge_identity::{
    AppCredentials, Authority, ClientSecret, TenantTokens, TokenCache, TokenClient,
};

/// What the demo seeds into the test mailbox.
const SEED: SeedSpec = SeedSpec {
    contacts: 24,
    events: 8,
    recurring: 3,
    seed: 7,
    from: None,
};

pub(crate) fn err(context: &str) -> impl Fn(&dyn std::fmt::Display) -> String + '_ {
    move |e| format!("{context}: {e}")
}

/// What the demo found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Contacts read.
    pub contacts: usize,
    /// Calendar entries in the next 14 days.
    pub entries: usize,
    /// What the two-way sync showed.
    pub sync: crate::demo_sync::SyncOutcome,
    /// What the bundle showed.
    pub bundle: crate::demo_bundle::BundleOutcome,
}

/// Runs the demo and prints what it found.
pub async fn run() -> Result<Report, String> {
    let sim = Simulator::start()
        .await
        .map_err(|e| err("starting the simulator")(&e))?;
    let world = sim.world();
    let tenant =
        mailbridge_ews_sim::preset::contoso(world).map_err(|e| err("setting up the tenant")(&e))?;
    let mailbox = tenant.mailboxes[0].clone();
    world
        .seed(&mailbox, &SEED)
        .map_err(|e| err("seeding the mailbox")(&e))?;
    println!(
        "mailbridge demo: the Exchange simulator listens on {} (loopback only)\n",
        sim.base_url()
    );
    println!(
        "1. Tenant {} ({}), app {}",
        tenant.domain, tenant.tenant_id, tenant.client_id
    );
    println!(
        "2. Seeded {mailbox} with {} contacts, {} events and {} recurring series",
        SEED.contacts, SEED.events, SEED.recurring
    );

    let http = reqwest::Client::new();
    let authority = Authority::new(&sim.base_url()).map_err(|e| err("the authority")(&e))?;
    let token_client = TokenClient::new(http.clone(), authority);
    let creds = AppCredentials::new(
        &tenant.tenant_id,
        &tenant.client_id,
        ClientSecret::new(&tenant.client_secret),
    );
    show_a_diagnosis(&token_client, &tenant).await;
    let token = token_client
        .fetch(&creds)
        .await
        .map_err(|e| err("getting a token")(&e))?;
    let lifetime = token
        .expires_at()
        .duration_since(std::time::SystemTime::now())
        .map_or(0, |d| d.as_secs());
    println!("4. App-only token from the client-credentials grant, valid for {lifetime} s");

    let tokens = TenantTokens::new(Arc::new(TokenCache::new(token_client)), creds);
    let ews =
        EwsClient::new(http, &sim.ews_url(), tokens).map_err(|e| err("the EWS client")(&e))?;
    let contacts = read_contacts(&ews, &mailbox).await?;
    let entries = read_calendar(&ews, &mailbox).await?;
    let sync = Box::pin(crate::demo_sync::run(world, &ews, &mailbox, 6)).await?;
    let bundle = crate::demo_bundle::run(world, &tenant, &sim.base_url(), 9).await?;

    let stats = world.stats();
    let served: Vec<String> = stats
        .requests
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    println!("\nEWS requests the simulator served: {}", served.join(", "));
    println!(
        "Tokens issued: {}, refused: {}",
        stats.tokens_issued, stats.tokens_refused
    );
    Ok(Report {
        contacts,
        entries,
        sync,
        bundle,
    })
}

/// An administrator's typical mistake, and what mailbridge tells them.
async fn show_a_diagnosis(client: &TokenClient, tenant: &mailbridge_ews_sim::preset::PresetTenant) {
    let wrong = AppCredentials::new(
        &tenant.tenant_id,
        &tenant.client_id,
        ClientSecret::new("8f3e1c2a-secret-id-not-value"),
    );
    if let Err(e) = client.fetch(&wrong).await
        && let Some(diagnosis) = e.diagnosis()
    {
        println!("3. With the secret's id pasted instead of its value, sign-in is refused:");
        println!("     cause: {}", diagnosis.cause());
        println!("     fix:   {}", diagnosis.admin_fix());
    }
}

async fn read_contacts(ews: &EwsClient<TenantTokens>, mailbox: &str) -> Result<usize, String> {
    let mut state = None;
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let op = SyncFolderItems::new(DistinguishedFolder::Contacts, state);
        let page = ews
            .execute(mailbox, &op)
            .await
            .map_err(|e| err("syncing contacts")(&e))?;
        pages += 1;
        ids.extend(page.changes.iter().filter_map(|c| match c {
            SyncChange::Create(item) | SyncChange::Update(item) => item.id().cloned(),
            _ => None,
        }));
        state = page.sync_state;
        if page.includes_last_item_in_range {
            break;
        }
    }
    let mut contacts = Vec::new();
    for batch in ids.chunks(100) {
        let items = ews
            .execute(mailbox, &GetItem::full(batch.to_vec()))
            .await
            .map_err(|e| err("reading contacts")(&e))?;
        contacts.extend(items.into_iter().filter_map(|r| match r {
            Ok(Item::Contact(c)) => Some(c),
            _ => None,
        }));
    }
    println!(
        "5. Contacts: {} (SyncFolderItems, {pages} page; GetItem in batches of 100), the first ten:",
        contacts.len()
    );
    for c in contacts.iter().take(10) {
        println!(
            "     {:<24} {:<44} {}",
            c.file_as.as_deref().unwrap_or_default(),
            c.emails
                .get(&EmailKey::EmailAddress1)
                .map_or("", String::as_str),
            c.company_name.as_deref().unwrap_or_default()
        );
    }
    Ok(contacts.len())
}

async fn read_calendar(ews: &EwsClient<TenantTokens>, mailbox: &str) -> Result<usize, String> {
    let start = Utc::now();
    let end = start + Duration::days(14);
    let view = FindItem {
        folder: DistinguishedFolder::Calendar.into(),
        shape: ItemShape::full_with_crm_id(),
        view: View::Calendar {
            start,
            end,
            max_entries: None,
        },
        restriction: None,
    };
    let page = ews
        .execute(mailbox, &view)
        .await
        .map_err(|e| err("reading the calendar")(&e))?;
    println!(
        "6. Calendar, the next 14 days: {} entries (FindItem CalendarView, series expanded):",
        page.items.len()
    );
    for item in &page.items {
        let Item::CalendarItem(e) = item else {
            continue;
        };
        let kind = match e.item_type {
            Some(CalendarItemType::Occurrence) => "occurrence",
            Some(CalendarItemType::Exception) => "changed occurrence",
            _ => "single",
        };
        let when = e
            .start
            .map(|s| s.format("%a %d %b %H:%M").to_string())
            .unwrap_or_default();
        let until = e
            .end
            .map(|s| s.format("%H:%M").to_string())
            .unwrap_or_default();
        println!(
            "     {when}-{until}  {:<32} {kind}",
            e.subject.as_deref().unwrap_or_default()
        );
    }
    Ok(page.items.len())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_demo_reads_the_seeded_mailbox_end_to_end() {
        let report = super::run().await.expect("the demo runs");
        assert_eq!(report.contacts, super::SEED.contacts);
        // Three series start within a week and repeat, so the next fortnight holds entries.
        assert!(report.entries >= super::SEED.recurring, "{report:?}");
        assert_eq!(report.sync.matched, 1, "{report:?}");
        assert!(report.sync.crm_to_mailbox, "{report:?}");
        assert!(report.sync.mailbox_to_crm, "{report:?}");
        let bundle = report.bundle;
        assert!(
            bundle.verified && bundle.crm_to_mailbox && bundle.mailbox_to_crm,
            "{report:?}"
        );
        assert_eq!((bundle.synced, bundle.delivered), (2, 1), "{report:?}");
    }
}
