//! Spooled payloads: kept whole (megabytes too), replaced, deleted and lapsed by time, with
//! a clear `NotFound` for one that is not there.

use std::time::Duration;

use super::fixtures::{HOSTILE, instant};
use super::{Failure, Outcome, Runner};
use crate::error::StoreError;
use crate::state::StateStore;

const MB: &str = "agent@example.com";
const DAY: Duration = Duration::from_hours(24);

pub(super) async fn run<S: StateStore>(runner: &mut Runner, make: &impl AsyncFn() -> S) {
    cases!(
        runner,
        make,
        spool_keeps_a_payload_until_it_is_deleted,
        spool_holds_megabytes_in_order,
        spool_replaces_a_larger_payload_with_a_smaller_one,
        spool_reports_a_missing_payload_as_not_found,
        spool_payload_lapses_after_its_ttl,
        spool_keys_and_mailboxes_are_independent,
    );
}

/// `len` bytes in which no short stretch repeats, so a chunk read back out of place or
/// twice shows up as a difference.
fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Fails unless `got` equals `want`, naming the first differing byte instead of printing
/// megabytes.
fn same_bytes(got: &[u8], want: &[u8]) -> Outcome {
    if got.len() != want.len() {
        return Err(Failure::at(
            file!(),
            line!(),
            &format!("payload is {} bytes, want {}", got.len(), want.len()),
        ));
    }
    if let Some(at) = got.iter().zip(want).position(|(a, b)| a != b) {
        return Err(Failure::at(
            file!(),
            line!(),
            &format!("payload differs at byte {at} of {}", want.len()),
        ));
    }
    Ok(())
}

async fn spool_keeps_a_payload_until_it_is_deleted<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(12, 0);
    let message = br#"{"to":["o'brien@example.com"],"subject":"50%_off \xf0\x9f\x98\x80"}"#;

    store.put_spool(MB, "order-17", message, DAY, t0).await?;
    same_bytes(&store.get_spool(MB, "order-17", t0).await?, message)?;
    store.put_spool(MB, "order-17", message, DAY, t0).await?;
    same_bytes(&store.get_spool(MB, "order-17", t0).await?, message)?;

    store.delete_spool(MB, "order-17").await?;
    check_err!(
        store.get_spool(MB, "order-17", t0).await,
        StoreError::NotFound { .. }
    );
    store.delete_spool(MB, "order-17").await?;
    store.put_spool(MB, "empty", b"", DAY, t0).await?;
    same_bytes(&store.get_spool(MB, "empty", t0).await?, b"")?;
    Ok(())
}

async fn spool_holds_megabytes_in_order<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(12, 0);
    // Larger than the API's 10 MiB send body, so every message it accepts fits.
    let big = payload(11 * 1024 * 1024 + 17, 5);

    store.put_spool(MB, "big", &big, DAY, t0).await?;

    same_bytes(&store.get_spool(MB, "big", t0).await?, &big)?;
    store.delete_spool(MB, "big").await?;
    check_err!(
        store.get_spool(MB, "big", t0).await,
        StoreError::NotFound { .. }
    );
    Ok(())
}

async fn spool_replaces_a_larger_payload_with_a_smaller_one<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(12, 0);
    let large = payload(3 * 1024 * 1024, 7);
    let small = payload(1000, 8);

    store.put_spool(MB, "k", &large, DAY, t0).await?;
    store.put_spool(MB, "k", &small, DAY, t0).await?;
    same_bytes(&store.get_spool(MB, "k", t0).await?, &small)?;

    store.put_spool(MB, "k", &large, DAY, t0).await?;
    same_bytes(&store.get_spool(MB, "k", t0).await?, &large)?;
    Ok(())
}

async fn spool_reports_a_missing_payload_as_not_found<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(12, 0);
    match store.get_spool(MB, "never-spooled", t0).await {
        Err(StoreError::NotFound { what }) => {
            check!(
                what.contains("never-spooled"),
                "the error names the key: {what}"
            );
        }
        other => {
            return Err(Failure::at(
                file!(),
                line!(),
                &format!("got {other:?}, want NotFound"),
            ));
        }
    }
    Ok(())
}

async fn spool_payload_lapses_after_its_ttl<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(12, 0);
    let minute = Duration::from_mins(1);
    store.put_spool(MB, "k", b"soon gone", minute, t0).await?;

    same_bytes(
        &store.get_spool(MB, "k", t0 + minute / 2).await?,
        b"soon gone",
    )?;
    check_err!(
        store.get_spool(MB, "k", t0 + 2 * minute).await,
        StoreError::NotFound { .. }
    );

    store
        .put_spool(MB, "k", b"again", minute, t0 + 3 * minute)
        .await?;
    same_bytes(&store.get_spool(MB, "k", t0 + 3 * minute).await?, b"again")?;
    Ok(())
}

async fn spool_keys_and_mailboxes_are_independent<S: StateStore>(store: &S) -> Outcome {
    let t0 = instant(12, 0);
    let pairs = [
        ("a#b@example.com", "c"),
        ("a@example.com", "b#c"),
        ("a@example.com", "b"),
        ("other@example.com", "b"),
    ];
    for (n, (mailbox, key)) in pairs.iter().enumerate() {
        store
            .put_spool(mailbox, key, n.to_string().as_bytes(), DAY, t0)
            .await?;
    }
    for key in HOSTILE {
        store.put_spool(MB, key, key.as_bytes(), DAY, t0).await?;
    }

    for (n, (mailbox, key)) in pairs.iter().enumerate() {
        same_bytes(
            &store.get_spool(mailbox, key, t0).await?,
            n.to_string().as_bytes(),
        )?;
    }
    for key in HOSTILE {
        same_bytes(&store.get_spool(MB, key, t0).await?, key.as_bytes())?;
    }
    store.delete_spool("a@example.com", "b").await?;
    same_bytes(&store.get_spool("other@example.com", "b", t0).await?, b"3")?;
    same_bytes(&store.get_spool("a@example.com", "b#c", t0).await?, b"1")?;
    Ok(())
}
