//! Links between CRM records and mailbox items, and folder resets.

use super::fixtures::{HOSTILE, all, commit, link, snapshot, sync_lease, write};
use super::{Outcome, Runner};
use crate::model::{Folder, LinkChange};
use crate::state::StateStore;

const MB: &str = "agent@example.com";
const C: Folder = Folder::Contacts;

pub(super) async fn run<S: StateStore>(runner: &mut Runner, make: &impl AsyncFn() -> S) {
    cases!(
        runner,
        make,
        links_are_found_both_ways_and_replaced,
        links_page_in_crm_id_order_per_folder,
        reset_folder_forgets_sync_state_and_links_but_keeps_records,
    );
}

async fn links_are_found_both_ways_and_replaced<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    check_eq!(store.link_by_crm_id(MB, C, "crm-1").await?, None);
    check_eq!(store.link_by_item_id(MB, C, "item-1").await?, None);

    let mut c1 = commit(MB, C, "c1", &lease);
    c1.links.push(LinkChange::Put(link("crm-1", "item-1")));
    c1.links.push(LinkChange::Put(link("crm-2", "item-2")));
    store.commit(&c1).await?;
    check_eq!(
        store.link_by_item_id(MB, C, "item-2").await?,
        Some(link("crm-2", "item-2"))
    );

    let mut moved = link("crm-1", "item-1b");
    moved.crm_version = 4;
    moved.base = None;
    let mut c2 = commit(MB, C, "c2", &lease);
    c2.links.push(LinkChange::Put(moved.clone()));
    c2.links
        .push(LinkChange::Delete("crm-never-linked".to_owned()));
    store.commit(&c2).await?;
    check_eq!(
        store.link_by_crm_id(MB, C, "crm-1").await?,
        Some(moved.clone())
    );
    check_eq!(store.link_by_item_id(MB, C, "item-1b").await?, Some(moved));
    check_eq!(store.link_by_item_id(MB, C, "item-1").await?, None);

    check_eq!(
        store.link_by_crm_id(MB, Folder::Calendar, "crm-2").await?,
        None
    );
    check_eq!(
        store
            .link_by_item_id("other@example.com", C, "item-2")
            .await?,
        None
    );
    Ok(())
}

async fn links_page_in_crm_id_order_per_folder<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    let mut c1 = commit(MB, C, "c1", &lease);
    let mut expected = Vec::new();
    for (n, crm_id) in HOSTILE.iter().enumerate() {
        let l = link(crm_id, &format!("item-{n}-{crm_id}"));
        c1.links.push(LinkChange::Put(l.clone()));
        expected.push(l);
    }
    store.commit(&c1).await?;
    expected.sort_by(|a, b| a.crm_id.cmp(&b.crm_id));

    for limit in [1, 3, 50] {
        let listed = all(limit, async |after| {
            store.list_links(MB, C, after.as_deref(), limit).await
        })
        .await?;
        check_eq!(listed, expected);
    }
    for crm_id in HOSTILE {
        let found = store.link_by_crm_id(MB, C, crm_id).await?;
        check_eq!(found.map(|l| l.crm_id), Some(crm_id.to_owned()));
    }

    let calendar = store.list_links(MB, Folder::Calendar, None, 50).await?;
    check!(
        calendar.items.is_empty() && calendar.next.is_none(),
        "calendar: {calendar:?}"
    );
    Ok(())
}

async fn reset_folder_forgets_sync_state_and_links_but_keeps_records<S: StateStore>(
    store: &S,
) -> Outcome {
    for folder in Folder::ALL {
        let lease = sync_lease(store, MB, folder).await?;
        let mut c1 = commit(MB, folder, "c1", &lease);
        c1.cursor = Some((Some("state-1".to_owned()), true));
        c1.records = vec![
            write("crm-1", None, Some("one")),
            write("crm-2", None, Some("two")),
        ];
        c1.links.push(LinkChange::Put(link("crm-1", "item-1")));
        store.commit(&c1).await?;
    }
    let before = store.get_cursor(MB, C).await?;
    let calendar = snapshot(store, MB, Folder::Calendar).await?;

    store.reset_folder(MB, C).await?;
    let cursor = store.get_cursor(MB, C).await?;
    check_eq!(
        (cursor.sync_state.as_deref(), cursor.enumerated),
        (None, false)
    );
    check_eq!(cursor.feed_seq, before.feed_seq);
    check_eq!(store.link_by_crm_id(MB, C, "crm-1").await?, None);
    check_eq!(store.link_by_item_id(MB, C, "item-1").await?, None);
    check!(
        store.list_links(MB, C, None, 10).await?.items.is_empty(),
        "links kept"
    );
    check_eq!(store.list_records(MB, C, None, 10).await?.items.len(), 2);
    check_eq!(snapshot(store, MB, Folder::Calendar).await?, calendar);
    store.reset_folder("nobody@example.com", C).await?;

    let lease = sync_lease(store, MB, C).await?;
    let mut c2 = commit(MB, C, "c2", &lease);
    c2.records.push(write("crm-3", None, Some("three")));
    let after = store.commit(&c2).await?;
    check_eq!(after.feed_seq, before.feed_seq + 1);
    let feed = store.read_feed(MB, C, before.feed_seq, 10).await?;
    check_eq!(
        feed.iter().map(|r| r.crm_id.as_str()).collect::<Vec<_>>(),
        ["crm-3"]
    );
    Ok(())
}
