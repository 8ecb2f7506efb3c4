//! Leases, idempotency records and the audit trail.

use std::time::Duration;

use super::fixtures::{all, event, instant, pages};
use super::{Failure, Outcome, Runner};
use crate::error::StoreError;
use crate::model::{Idempotency, Lease};
use crate::state::StateStore;

const KEY: &str = "sync/agent@example.com/contacts";
const MINUTE: Duration = Duration::from_mins(1);

pub(super) async fn run<S: StateStore>(runner: &mut Runner, make: &impl AsyncFn() -> S) {
    cases!(
        runner,
        make,
        lease_is_granted_once_while_valid,
        lease_expires_and_passes_on_with_a_larger_token,
        lease_renewal_extends_it,
        lease_renewal_after_expiry_is_refused,
        lease_release_frees_it,
        leases_are_independent_per_key,
        idempotency_claims_then_reports_progress_then_the_response,
        idempotency_refuses_a_different_request_under_the_same_key,
        idempotency_claim_lapses_after_its_ttl,
        idempotency_response_expires_after_its_ttl,
        idempotency_scopes_are_independent,
        audit_lists_a_mailbox_oldest_first_in_pages,
    );
}

fn granted(lease: Option<Lease>, who: &str) -> Result<Lease, Failure> {
    lease.ok_or_else(|| Failure::at(file!(), line!(), &format!("lease not granted to {who}")))
}

async fn lease_is_granted_once_while_valid<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(10, 0);
    let a = granted(
        store.acquire_lease(KEY, "runner-a", 5 * MINUTE, t0).await?,
        "a",
    )?;
    check_eq!((a.key.as_str(), a.owner.as_str()), (KEY, "runner-a"));
    check_eq!(a.expires, t0 + 5 * MINUTE);

    check_eq!(
        store
            .acquire_lease(KEY, "runner-b", 5 * MINUTE, t0 + MINUTE)
            .await?,
        None
    );
    let just_before = t0 + 5 * MINUTE - Duration::from_millis(1);
    check_eq!(
        store
            .acquire_lease(KEY, "runner-b", MINUTE, just_before)
            .await?,
        None
    );

    let again = granted(
        store
            .acquire_lease(KEY, "runner-a", 5 * MINUTE, t0 + MINUTE)
            .await?,
        "a again",
    )?;
    check_eq!(again.owner.as_str(), "runner-a");
    check!(
        again.token >= a.token,
        "token went back: {again:?} after {a:?}"
    );
    check_eq!(again.expires, t0 + 6 * MINUTE);
    Ok(())
}

async fn lease_expires_and_passes_on_with_a_larger_token<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(10, 0);
    let a = granted(store.acquire_lease(KEY, "runner-a", MINUTE, t0).await?, "a")?;

    let later = t0 + 2 * MINUTE;
    let b = granted(
        store.acquire_lease(KEY, "runner-b", MINUTE, later).await?,
        "b",
    )?;
    check!(b.token > a.token, "token did not grow: {b:?} after {a:?}");
    check_eq!(b.owner.as_str(), "runner-b");

    check_err!(
        store.renew_lease(&a, MINUTE, later).await,
        StoreError::LeaseLost { .. }
    );
    store.release_lease(&a).await?;
    check_eq!(
        store.acquire_lease(KEY, "runner-c", MINUTE, later).await?,
        None
    );
    check_eq!(store.renew_lease(&b, MINUTE, later).await?.token, b.token);
    Ok(())
}

async fn lease_renewal_extends_it<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(10, 0);
    let a = granted(store.acquire_lease(KEY, "runner-a", MINUTE, t0).await?, "a")?;

    let renewed = store.renew_lease(&a, 5 * MINUTE, t0 + MINUTE / 2).await?;
    check_eq!(renewed.expires, t0 + MINUTE / 2 + 5 * MINUTE);
    check_eq!(
        (renewed.key.as_str(), renewed.owner.as_str(), renewed.token),
        (KEY, "runner-a", a.token)
    );

    check_eq!(
        store
            .acquire_lease(KEY, "runner-b", MINUTE, t0 + 2 * MINUTE)
            .await?,
        None
    );
    let b = store
        .acquire_lease(KEY, "runner-b", MINUTE, t0 + 6 * MINUTE)
        .await?;
    check!(b.is_some(), "renewed lease never lapsed");
    Ok(())
}

async fn lease_renewal_after_expiry_is_refused<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(10, 0);
    let a = granted(store.acquire_lease(KEY, "runner-a", MINUTE, t0).await?, "a")?;
    check_err!(
        store.renew_lease(&a, MINUTE, t0 + 2 * MINUTE).await,
        StoreError::LeaseLost { .. }
    );

    let mut forged = a.clone();
    forged.token += 1;
    check_err!(
        store.renew_lease(&forged, MINUTE, t0).await,
        StoreError::LeaseLost { .. }
    );
    let never = Lease {
        key: "never/acquired".to_owned(),
        ..a
    };
    check_err!(
        store.renew_lease(&never, MINUTE, t0).await,
        StoreError::LeaseLost { .. }
    );
    store.release_lease(&never).await?;
    Ok(())
}

async fn lease_release_frees_it<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(10, 0);
    let a = granted(
        store
            .acquire_lease(KEY, "runner-a", 10 * MINUTE, t0)
            .await?,
        "a",
    )?;
    store.release_lease(&a).await?;
    store.release_lease(&a).await?;

    let b = granted(
        store
            .acquire_lease(KEY, "runner-b", MINUTE, t0 + MINUTE)
            .await?,
        "b",
    )?;
    check!(b.token > a.token, "token did not grow: {b:?} after {a:?}");
    check_err!(
        store.renew_lease(&a, MINUTE, t0 + MINUTE).await,
        StoreError::LeaseLost { .. }
    );
    Ok(())
}

async fn leases_are_independent_per_key<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(10, 0);
    let keys = [
        KEY,
        "sync/agent@example.com/calendar",
        "sync/o'brien@example.com/contacts",
    ];
    for key in keys {
        granted(store.acquire_lease(key, "runner-a", MINUTE, t0).await?, key)?;
    }
    for key in keys {
        check_eq!(
            store.acquire_lease(key, "runner-b", MINUTE, t0).await?,
            None
        );
    }
    check!(
        store
            .acquire_lease("sync/agent@example.com", "runner-b", MINUTE, t0)
            .await?
            .is_some(),
        "a key prefix is held"
    );
    Ok(())
}

async fn idempotency_claims_then_reports_progress_then_the_response<S: StateStore>(
    store: &S,
) -> Outcome {
    let t0 = instant(11, 0);
    let ttl = 60 * MINUTE;
    let begin = async |at| {
        store
            .begin_idempotent("api:k1", "req-1", "hash-a", ttl, at)
            .await
    };

    check_eq!(begin(t0).await?, Idempotency::Claimed);
    check_eq!(begin(t0 + MINUTE).await?, Idempotency::InProgress);

    let response = r#"{"status":201,"id":"o'brien 😀"}"#;
    store.finish_idempotent("api:k1", "req-1", response).await?;
    check_eq!(
        begin(t0 + 2 * MINUTE).await?,
        Idempotency::Done(response.to_owned())
    );
    check_eq!(
        begin(t0 + 3 * MINUTE).await?,
        Idempotency::Done(response.to_owned())
    );
    Ok(())
}

async fn idempotency_refuses_a_different_request_under_the_same_key<S: StateStore>(
    store: &S,
) -> Outcome {
    let t0 = instant(11, 0);
    let ttl = 60 * MINUTE;
    check_eq!(
        store
            .begin_idempotent("api:k1", "req-1", "hash-a", ttl, t0)
            .await?,
        Idempotency::Claimed
    );
    check_eq!(
        store
            .begin_idempotent("api:k1", "req-1", "hash-b", ttl, t0 + MINUTE)
            .await?,
        Idempotency::Mismatch
    );

    store.finish_idempotent("api:k1", "req-1", "{}").await?;
    check_eq!(
        store
            .begin_idempotent("api:k1", "req-1", "hash-b", ttl, t0 + MINUTE)
            .await?,
        Idempotency::Mismatch
    );
    Ok(())
}

async fn idempotency_claim_lapses_after_its_ttl<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(11, 0);
    let begin = async |hash, at| store.begin_idempotent("s", "req-1", hash, MINUTE, at).await;

    check_eq!(begin("hash-a", t0).await?, Idempotency::Claimed);
    check_eq!(
        begin("hash-a", t0 + MINUTE / 2).await?,
        Idempotency::InProgress
    );
    check_eq!(
        begin("hash-a", t0 + 2 * MINUTE).await?,
        Idempotency::Claimed
    );
    check_eq!(
        begin("hash-a", t0 + 2 * MINUTE).await?,
        Idempotency::InProgress
    );
    check_eq!(
        begin("hash-b", t0 + 10 * MINUTE).await?,
        Idempotency::Claimed
    );
    Ok(())
}

async fn idempotency_response_expires_after_its_ttl<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(11, 0);
    let begin = async |at| {
        store
            .begin_idempotent("s", "req-1", "hash-a", MINUTE, at)
            .await
    };

    check_eq!(begin(t0).await?, Idempotency::Claimed);
    store.finish_idempotent("s", "req-1", "done").await?;
    check_eq!(
        begin(t0 + MINUTE / 2).await?,
        Idempotency::Done("done".to_owned())
    );
    check_eq!(begin(t0 + 24 * 60 * MINUTE).await?, Idempotency::Claimed);
    Ok(())
}

async fn idempotency_scopes_are_independent<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(11, 0);
    let ttl = 60 * MINUTE;
    for scope in ["api:k1", "api:k2", "api:k1'", "api:%"] {
        check_eq!(
            store
                .begin_idempotent(scope, "req-1", "hash", ttl, t0)
                .await?,
            Idempotency::Claimed
        );
    }
    check_eq!(
        store
            .begin_idempotent("api:k1", "req-2", "hash", ttl, t0)
            .await?,
        Idempotency::Claimed
    );
    store.finish_idempotent("api:k1", "req-1", "one").await?;
    check_eq!(
        store
            .begin_idempotent("api:k2", "req-1", "hash", ttl, t0)
            .await?,
        Idempotency::InProgress
    );
    Ok(())
}

async fn audit_lists_a_mailbox_oldest_first_in_pages<S: StateStore>(store: &S) -> Outcome {
    const A: &str = "agent@example.com";
    const B: &str = "other@example.com";
    let empty = store.list_audit(A, None, 10).await?;
    check!(
        empty.items.is_empty() && empty.next.is_none(),
        "empty trail: {empty:?}"
    );
    store.append_audit(&[]).await?;

    store
        .append_audit(&[event(A, 1), event(B, 2), event(A, 3)])
        .await?;
    store.append_audit(&[event(A, 4)]).await?;
    let mut hostile = event(A, 5);
    hostile.detail = r#"{"field":"name","old":"O'Neil","new":"50%_off 😀"}"#.into();
    hostile.subject = "crm-'\"".into();
    store
        .append_audit(&[hostile.clone(), event(B, 6), event(A, 7)])
        .await?;

    let want_a = vec![event(A, 1), event(A, 3), event(A, 4), hostile, event(A, 7)];
    for limit in [1, 2, 5, 10] {
        let pages = pages(limit, async |after| {
            store.list_audit(A, after.as_deref(), limit).await
        })
        .await?;
        check_eq!(pages.into_iter().flatten().collect::<Vec<_>>(), want_a);
    }
    let b = all(1, async |after| {
        store.list_audit(B, after.as_deref(), 1).await
    })
    .await?;
    check_eq!(b, [event(B, 2), event(B, 6)]);
    Ok(())
}
