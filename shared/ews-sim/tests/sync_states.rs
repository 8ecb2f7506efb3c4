//! Sync states as Exchange keeps them: compacted changes, the same page from the same
//! state, and states that outlive a restart of the server.

#![allow(clippy::unwrap_used)]

mod harness;

use harness::id_of;

use mailbridge_ews::ops::{
    ContactUpdate, DeleteItem, ItemChange, SyncChange, SyncFolderItems, UpdateItem, Updates,
};
use mailbridge_ews::types::{DistinguishedFolder, ItemId};
use mailbridge_ews_sim::model::{self, FolderKind, ItemContent, ItemData, SeedSpec};

#[tokio::test]
async fn an_item_updated_then_deleted_since_the_last_sync_comes_back_as_one_delete() {
    let env = harness::start().await;
    let world = env.sim.world();
    let mb = env.mailbox();
    world
        .seed(
            mb,
            &SeedSpec {
                contacts: 3,
                ..SeedSpec::default()
            },
        )
        .unwrap();
    let first = env
        .ews
        .execute(
            mb,
            &SyncFolderItems::new(DistinguishedFolder::Contacts, None),
        )
        .await
        .unwrap();
    let ids: Vec<ItemId> = first
        .changes
        .iter()
        .map(|c| match c {
            SyncChange::Create(item) => item.id().unwrap().clone(),
            other => panic!("creates only: {other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), 3);

    // One through EWS: updated, then deleted for good.
    let update = UpdateItem::guarded(vec![ItemChange {
        id: ids[0].clone(),
        updates: Updates::Contact(vec![ContactUpdate::JobTitle(Some("Gone soon".into()))]),
    }]);
    let updated = id_of(&env.ews.execute(mb, &update).await.unwrap()[0]);
    let delete = DeleteItem {
        delete_type: mailbridge_ews::ops::DeleteType::HardDelete,
        ..DeleteItem::move_to_deleted_items(vec![updated])
    };
    assert!(env.ews.execute(mb, &delete).await.unwrap()[0].is_ok());
    // One by the owner: edited in Outlook, then deleted (to Deleted Items).
    world
        .owner_edit(mb, &ids[1].id, |c| {
            if let ItemData::Contact(c) = &mut c.data {
                c.nickname = Some("Edited".into());
            }
        })
        .unwrap();
    world.owner_delete(mb, &ids[1].id).unwrap();

    let delta = env
        .ews
        .execute(
            mb,
            &SyncFolderItems::new(DistinguishedFolder::Contacts, first.sync_state),
        )
        .await
        .unwrap();
    assert_eq!(
        delta.changes,
        [
            SyncChange::Delete(ItemId::new(ids[0].id.clone(), None)),
            SyncChange::Delete(ItemId::new(ids[1].id.clone(), None)),
        ]
    );
}

/// The ids a sync page created, in order.
fn created_ids(page: &mailbridge_ews::ops::SyncPage) -> Vec<String> {
    page.changes
        .iter()
        .map(|c| match c {
            SyncChange::Create(item) => item.id().unwrap().id.clone(),
            other => panic!("a first sync holds only creates: {other:?}"),
        })
        .collect()
}

async fn sync_page(
    ews: &mailbridge_ews::EwsClient<mailbridge_identity::TenantTokens>,
    mailbox: &str,
    state: Option<mailbridge_ews::types::SyncState>,
) -> mailbridge_ews::ops::SyncPage {
    let mut op = SyncFolderItems::new(DistinguishedFolder::Contacts, state);
    op.max_changes = 512;
    ews.execute(mailbox, &op).await.unwrap()
}

#[tokio::test]
async fn sync_states_survive_reuse_and_a_restart_of_the_server() {
    let harness::Env {
        sim, tenant, http, ..
    } = harness::start().await;
    let world = sim.world().clone();
    let mb = tenant.mailboxes[0].clone();
    world
        .seed(
            &mb,
            &SeedSpec {
                contacts: 1200,
                seed: 5,
                ..SeedSpec::default()
            },
        )
        .unwrap();
    let ews = harness::client(
        &sim,
        &http,
        &tenant.tenant_id,
        &tenant.client_id,
        &tenant.client_secret,
    );
    let first = sync_page(&ews, &mb, None).await;
    let second = sync_page(&ews, &mb, first.sync_state.clone()).await;
    // The same state again: the same page, not the one after it.
    let replayed = sync_page(&ews, &mb, first.sync_state.clone()).await;
    assert_eq!(created_ids(&replayed), created_ids(&second));
    assert_eq!(replayed.sync_state, second.sync_state);
    assert_eq!((first.changes.len(), second.changes.len()), (512, 512));

    // The server stops; the same world is served again on another port.
    let old_url = sim.ews_url();
    drop(sim);
    // Let the stopped server's connection tasks see the stop before the next request.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let stopped = http
        .post(&old_url)
        .header("content-type", "text/xml; charset=utf-8")
        .body("<x/>")
        .send()
        .await;
    assert!(stopped.is_err(), "the first server is gone");
    let restarted = mailbridge_ews_sim::Simulator::serve(
        world.clone(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let ews = harness::client(
        &restarted,
        &http,
        &tenant.tenant_id,
        &tenant.client_id,
        &tenant.client_secret,
    );
    let third = sync_page(&ews, &mb, second.sync_state.clone()).await;
    assert!(third.includes_last_item_in_range);

    let mut all: Vec<String> = [&first, &second, &third]
        .into_iter()
        .flat_map(created_ids)
        .collect();
    assert_eq!(all.len(), 1200, "nothing twice");
    all.sort();
    let mut held: Vec<String> = world
        .items(&mb, FolderKind::Contacts)
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    held.sort();
    assert_eq!(all, held, "nothing missed");

    // And the last state goes on from there: quiet until the owner adds one.
    let added = world
        .owner_create(
            &mb,
            FolderKind::Contacts,
            ItemContent::contact(model::Contact::default()),
        )
        .unwrap();
    let fourth = sync_page(&ews, &mb, third.sync_state.clone()).await;
    assert_eq!(created_ids(&fourth), [added.id]);
}
