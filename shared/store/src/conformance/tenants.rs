//! Tenants and mailboxes: optimistic writes, paging, hostile values.

use super::fixtures::{HOSTILE, all, instant, mailbox, pages, tenant};
use super::{Outcome, Runner};
use crate::error::StoreError;
use crate::model::{Expect, MailboxStatus, TenantStatus};
use crate::state::StateStore;

pub(super) async fn run<S: StateStore>(runner: &mut Runner, make: &impl AsyncFn() -> S) {
    cases!(
        runner,
        make,
        tenant_round_trips_with_its_version,
        tenant_absent_expectation_conflicts_when_present,
        tenant_version_expectation_is_checked,
        tenant_list_pages_in_id_order,
        tenant_hostile_values_round_trip,
        mailbox_round_trips_with_its_version,
        mailbox_expectations_are_checked,
        mailbox_list_pages_in_address_order,
        mailbox_list_filters_by_tenant,
        mailbox_hostile_values_round_trip,
    );
}

async fn tenant_round_trips_with_its_version<S: StateStore>(store: &S) -> Outcome {
    check_eq!(store.get_tenant("t-1").await?, None);

    let mut stored = tenant("t-1");
    stored.status = TenantStatus::CredentialExpired;
    stored.status_reason = Some("secret expired on 1 March".to_owned());
    stored.version = 41;
    let version = store.put_tenant(&stored, Expect::Absent).await?;
    check_eq!(version, 1);

    stored.version = 1;
    check_eq!(store.get_tenant("t-1").await?, Some(stored.clone()));
    check_eq!(store.get_tenant("t-2").await?, None);
    Ok(())
}

async fn tenant_absent_expectation_conflicts_when_present<S: StateStore>(store: &S) -> Outcome {
    store.put_tenant(&tenant("t-1"), Expect::Absent).await?;

    let mut other = tenant("t-1");
    other.name = "someone else".into();
    check_err!(
        store.put_tenant(&other, Expect::Absent).await,
        StoreError::Conflict { expected: None, .. }
    );

    let kept = store.get_tenant("t-1").await?;
    check_eq!(
        kept.map(|t| (t.name, t.version)),
        Some(("Tenant t-1".to_owned(), 1))
    );
    Ok(())
}

async fn tenant_version_expectation_is_checked<S: StateStore>(store: &S) -> Outcome {
    let mut t = tenant("t-1");
    check_eq!(store.put_tenant(&t, Expect::Absent).await?, 1);

    t.name = "second".into();
    check_eq!(store.put_tenant(&t, Expect::Version(1)).await?, 2);
    t.name = "stale".into();
    check_err!(
        store.put_tenant(&t, Expect::Version(1)).await,
        StoreError::Conflict {
            expected: Some(1),
            ..
        }
    );
    check_eq!(
        store.get_tenant("t-1").await?.map(|t| t.name),
        Some("second".to_owned())
    );

    t.name = "any".into();
    check_eq!(store.put_tenant(&t, Expect::Any).await?, 3);
    check_eq!(store.get_tenant("t-1").await?.map(|t| t.version), Some(3));

    check_err!(
        store.put_tenant(&tenant("t-new"), Expect::Version(1)).await,
        StoreError::Conflict {
            expected: Some(1),
            ..
        }
    );
    check_eq!(store.get_tenant("t-new").await?, None);
    check_eq!(store.put_tenant(&tenant("t-new"), Expect::Any).await?, 1);
    Ok(())
}

async fn tenant_list_pages_in_id_order<S: StateStore>(store: &S) -> Outcome {
    let empty = store.list_tenants(None, 10).await?;
    check!(
        empty.items.is_empty() && empty.next.is_none(),
        "empty store lists {empty:?}"
    );

    let mut ids = vec!["t-5", "t-1", "t-7", "t-3", "t-2", "t-6", "t-4"];
    for id in &ids {
        store.put_tenant(&tenant(id), Expect::Absent).await?;
    }
    ids.sort_unstable();

    for limit in [1, 3, 7, 100] {
        let pages = pages(limit, async |after| {
            store.list_tenants(after.as_deref(), limit).await
        })
        .await?;
        let listed: Vec<String> = pages.iter().flatten().map(|t| t.id.clone()).collect();
        check_eq!(listed, ids);
        check!(
            pages.len() >= ids.len().div_ceil(limit),
            "limit {limit}: {} pages",
            pages.len()
        );
    }

    let one = store.list_tenants(None, 100).await?;
    check!(
        one.next.is_none(),
        "a page holding everything names a next page"
    );
    check!(
        one.items.iter().all(|t| t.version == 1),
        "listed tenants carry their versions"
    );
    Ok(())
}

async fn tenant_hostile_values_round_trip<S: StateStore>(store: &S) -> Outcome {
    let mut expected = Vec::new();
    for value in HOSTILE {
        let mut t = tenant(value);
        t.name = value.to_owned();
        t.client_id = value.to_owned();
        t.status_reason = Some(value.to_owned());
        t.api_key_hashes = vec![value.to_owned()];
        store.put_tenant(&t, Expect::Absent).await?;
        t.version = 1;
        check_eq!(store.get_tenant(value).await?, Some(t.clone()));
        expected.push(t);
    }
    expected.sort_by(|a, b| a.id.cmp(&b.id));

    let listed = all(3, async |after| {
        store.list_tenants(after.as_deref(), 3).await
    })
    .await?;
    check_eq!(listed, expected);
    check_eq!(store.get_tenant("o'brie%").await?, None);
    check_eq!(store.get_tenant("50__off").await?, None);
    Ok(())
}

async fn mailbox_round_trips_with_its_version<S: StateStore>(store: &S) -> Outcome {
    check_eq!(store.get_mailbox("agent@example.com").await?, None);

    let mut m = mailbox("agent@example.com", "t-1");
    m.status = MailboxStatus::NeedsAttention;
    m.attention = Some("120 of 140 contacts deleted at once".to_owned());
    m.last_error = Some("ErrorServerBusy".to_owned());
    m.back_off_until = Some(instant(4, 999));
    m.version = 9;
    check_eq!(store.put_mailbox(&m, Expect::Absent).await?, 1);

    m.version = 1;
    check_eq!(store.get_mailbox("agent@example.com").await?, Some(m));
    check_eq!(store.get_mailbox("other@example.com").await?, None);
    Ok(())
}

async fn mailbox_expectations_are_checked<S: StateStore>(store: &S) -> Outcome {
    let mut m = mailbox("agent@example.com", "t-1");
    store.put_mailbox(&m, Expect::Absent).await?;
    check_err!(
        store.put_mailbox(&m, Expect::Absent).await,
        StoreError::Conflict { expected: None, .. }
    );

    m.status = MailboxStatus::Paused;
    check_eq!(store.put_mailbox(&m, Expect::Version(1)).await?, 2);
    m.status = MailboxStatus::Active;
    check_err!(
        store.put_mailbox(&m, Expect::Version(1)).await,
        StoreError::Conflict {
            expected: Some(1),
            ..
        }
    );
    check_err!(
        store
            .put_mailbox(&mailbox("new@example.com", "t-1"), Expect::Version(3))
            .await,
        StoreError::Conflict {
            expected: Some(3),
            ..
        }
    );

    let kept = store.get_mailbox("agent@example.com").await?;
    check_eq!(
        kept.map(|m| (m.status, m.version)),
        Some((MailboxStatus::Paused, 2))
    );
    check_eq!(store.put_mailbox(&m, Expect::Any).await?, 3);
    Ok(())
}

async fn mailbox_list_pages_in_address_order<S: StateStore>(store: &S) -> Outcome {
    let empty = store.list_mailboxes(None, None, 5).await?;
    check!(
        empty.items.is_empty() && empty.next.is_none(),
        "empty store lists {empty:?}"
    );

    let mut addresses = Vec::new();
    for n in [4, 9, 1, 7, 3, 8, 2, 6, 5] {
        let address = format!("user{n}@example.com");
        let tenant = if n % 2 == 0 { "t-even" } else { "t-odd" };
        store
            .put_mailbox(&mailbox(&address, tenant), Expect::Absent)
            .await?;
        addresses.push(address);
    }
    addresses.sort_unstable();

    for limit in [1, 4, 9, 50] {
        let listed = all(limit, async |after| {
            store.list_mailboxes(None, after.as_deref(), limit).await
        })
        .await?;
        let listed: Vec<String> = listed.into_iter().map(|m| m.address).collect();
        check_eq!(listed, addresses);
    }
    Ok(())
}

async fn mailbox_list_filters_by_tenant<S: StateStore>(store: &S) -> Outcome {
    for n in 0..10 {
        let tenant = if n % 3 == 0 { "t-a" } else { "t-b" };
        let address = format!("m{n}@example.com");
        store
            .put_mailbox(&mailbox(&address, tenant), Expect::Absent)
            .await?;
    }

    let a = all(2, async |after| {
        store.list_mailboxes(Some("t-a"), after.as_deref(), 2).await
    })
    .await?;
    let a: Vec<String> = a.into_iter().map(|m| m.address).collect();
    check_eq!(
        a,
        [
            "m0@example.com",
            "m3@example.com",
            "m6@example.com",
            "m9@example.com"
        ]
    );

    let b = all(3, async |after| {
        store.list_mailboxes(Some("t-b"), after.as_deref(), 3).await
    })
    .await?;
    check_eq!(b.len(), 6);
    check!(
        b.iter().all(|m| m.tenant == "t-b"),
        "tenant t-b lists {b:?}"
    );

    let none = store.list_mailboxes(Some("t-c"), None, 3).await?;
    check!(
        none.items.is_empty() && none.next.is_none(),
        "unknown tenant lists {none:?}"
    );
    let prefix = store.list_mailboxes(Some("t-"), None, 3).await?;
    check!(
        prefix.items.is_empty(),
        "a tenant prefix matches {prefix:?}"
    );
    Ok(())
}

async fn mailbox_hostile_values_round_trip<S: StateStore>(store: &S) -> Outcome {
    let mut expected = Vec::new();
    for value in HOSTILE {
        let address = format!("{}@example.com", value.to_lowercase());
        let mut m = mailbox(&address, value);
        m.attention = Some(value.to_owned());
        m.last_error = Some(value.to_owned());
        store.put_mailbox(&m, Expect::Absent).await?;
        m.version = 1;
        check_eq!(store.get_mailbox(&address).await?, Some(m.clone()));

        let of_tenant = store.list_mailboxes(Some(value), None, 10).await?;
        check_eq!(of_tenant.items, [m.clone()]);
        expected.push(m);
    }
    expected.sort_by(|a, b| a.address.cmp(&b.address));

    let listed = all(4, async |after| {
        store.list_mailboxes(None, after.as_deref(), 4).await
    })
    .await?;
    check_eq!(listed, expected);
    Ok(())
}
