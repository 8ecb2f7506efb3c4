//! The demo's second half: two-way sync of the same mailbox with an embedded CRM side.

use mailbridge_ews::{EwsClient, EwsMailbox};
use mailbridge_ews_sim::World;
use mailbridge_ews_sim::model::{FolderKind as SimFolder, ItemData as SimData};
use mailbridge_identity::TenantTokens;
use mailbridge_mailbox::{ContactData, ItemData};
use mailbridge_store::{Expect, Folder, SqliteStore, StateStore};
use mailbridge_sync::{Engine, SyncConfig};

use crate::demo::err;

/// What the sync half showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncOutcome {
    /// Mailbox contacts paired with CRM contacts on first connect.
    pub matched: usize,
    /// The CRM-created contact reached the mailbox, stamped with its CRM id.
    pub crm_to_mailbox: bool,
    /// The owner's edit reached the CRM change feed.
    pub mailbox_to_crm: bool,
}

fn contact(given: &str, surname: &str, email: &str, company: &str) -> ItemData {
    ItemData::Contact(ContactData {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        emails: vec![email.into()],
        company: Some(company.into()),
        ..ContactData::default()
    })
}

/// Runs the sync half of the demo, numbering its steps from `step`.
pub async fn run(
    world: &World,
    ews: &EwsClient<TenantTokens>,
    mailbox: &str,
    mut step: usize,
) -> Result<SyncOutcome, String> {
    let store = SqliteStore::in_memory().map_err(|e| err("opening the store")(&e))?;
    let backend = EwsMailbox::new(ews, mailbox);
    let engine = Engine::new(&store, &backend, mailbox, SyncConfig::default());
    let mut outcome = SyncOutcome::default();

    // The CRM already knows one of the mailbox's contacts (under a capitalised address)
    // and one person the mailbox does not have.
    let first = world
        .items(mailbox, SimFolder::Contacts)
        .map_err(|e| err("reading the mailbox")(&e))?
        .into_iter()
        .find_map(|i| match i.content.data {
            SimData::Contact(c) => c.emails.values().next().cloned().map(|e| (c, e)),
            _ => None,
        });
    let crm_write = |crm_id: &'static str, data: ItemData| {
        let store = &store;
        async move {
            store
                .crm_write(
                    mailbox,
                    Folder::Contacts,
                    crm_id,
                    Expect::Any,
                    Some(&data.to_json()),
                )
                .await
                .map_err(|e| err("writing a CRM record")(&e))
        }
    };
    if let Some((known, email)) = &first {
        crm_write(
            "crm-1001",
            contact(
                known.given_name.as_deref().unwrap_or_default(),
                known.surname.as_deref().unwrap_or_default(),
                &email.to_uppercase(),
                "Known to the CRM",
            ),
        )
        .await?;
    }
    crm_write(
        "crm-1002",
        contact("Nina", "Holm", "nina.holm@example.com", "Holm Estates"),
    )
    .await?;

    step += 1;
    let dry = engine
        .dry_run(Folder::Contacts)
        .await
        .map_err(|e| err("planning the first sync")(&e))?;
    println!(
        "\n{step}. First connect, dry run (nothing written): matched to CRM contacts {}, new to the CRM {}, ambiguous {}, CRM changes waiting {}",
        dry.matched,
        dry.crm_created,
        dry.ambiguous,
        dry.planned.iter().filter(|p| p.starts_with("push")).count()
    );
    outcome.matched = dry.matched;

    step += 1;
    let reports = engine
        .sync_mailbox()
        .await
        .map_err(|e| err("the first sync")(&e))?;
    println!("{step}. First sync, both folders:");
    for report in &reports {
        for line in report.to_string().lines() {
            println!("     {line}");
        }
    }
    let stamped = world
        .items(mailbox, SimFolder::Contacts)
        .map_err(|e| err("reading the mailbox")(&e))?
        .into_iter()
        .find(|i| {
            i.content.common.extended_value(
                mailbridge_ews::types::CRM_ID_PROPERTY.property_set_id,
                "MailbridgeCrmId",
            ) == Some("crm-1002")
        });
    if let Some(item) = &stamped {
        outcome.crm_to_mailbox = true;
        println!(
            "     the CRM's Nina Holm is now in the mailbox as item {}…, stamped with CRM id crm-1002",
            &item.id[..12.min(item.id.len())]
        );
    }

    step += 1;
    outcome.mailbox_to_crm = owner_round_trip(world, &engine, &store, mailbox, step).await?;
    Ok(outcome)
}

/// The owner edits a contact in Outlook; the next sync puts it in the CRM's change feed.
async fn owner_round_trip<B: mailbridge_mailbox::MailboxBackend>(
    world: &World,
    engine: &Engine<'_, SqliteStore, B>,
    store: &SqliteStore,
    mailbox: &str,
    step: usize,
) -> Result<bool, String> {
    let mut edited = false;
    let cursor = store
        .get_cursor(mailbox, Folder::Contacts)
        .await
        .map_err(|e| err("reading the cursor")(&e))?
        .feed_seq;
    let target = world
        .items(mailbox, SimFolder::Contacts)
        .map_err(|e| err("reading the mailbox")(&e))?
        .into_iter()
        .next()
        .ok_or("the mailbox has no contacts")?;
    world
        .owner_edit(mailbox, &target.id, |c| {
            if let SimData::Contact(contact) = &mut c.data {
                contact.job_title = Some("Senior broker (edited in Outlook)".into());
            }
        })
        .map_err(|e| err("editing as the owner")(&e))?;
    engine
        .sync_mailbox()
        .await
        .map_err(|e| err("the second sync")(&e))?;
    let feed = store
        .read_feed(mailbox, Folder::Contacts, cursor, 10)
        .await
        .map_err(|e| err("reading the change feed")(&e))?;
    println!(
        "{step}. The owner changed a job title in Outlook; the CRM's change feed after the next sync:"
    );
    for record in &feed {
        let title = record
            .data
            .as_deref()
            .and_then(|d| ItemData::contact_from_json(d).ok())
            .and_then(|d| match d {
                ItemData::Contact(c) => c.job_title,
                ItemData::Event(_) => None,
            })
            .unwrap_or_default();
        println!(
            "     {} version {} (feed position {}): job title {title:?}",
            record.crm_id,
            record.version,
            record.feed_seq.unwrap_or_default()
        );
        if title.contains("edited in Outlook") {
            edited = true;
        }
    }
    Ok(edited)
}
