//! Convergence under random interleavings: CRM and mailbox-owner edits of contacts, events
//! and series (creates, edits, deletes), sync runs, faults (throttling, resets, lost and
//! broken responses, stale change keys, expired tokens, invalid sync states) that the
//! client's retries absorb or that end a run, runs killed at any mailbox call (between
//! two pages too: pages are two or three changes long), the same job delivered twice,
//! concurrent runners and invalidated cursors. After quiescence both sides hold the same
//! contacts and events, one to one, without duplicates, and no edit is lost except
//! through the documented conflict rule (CRM wins; an edit beats a delete), which is then
//! in the audit trail. See `convergence/check.rs` for exactly what is checked.
//!
//! `MAILBRIDGE_PROPTEST_CASES` sets the number of cases (500 by default). The run prints
//! how often each fault path was reached, and fails if a path that must be reached in a
//! run of that size never was. The two engine bugs it found are kept below as their
//! minimal cases.

#![allow(clippy::unwrap_used)]

mod harness;

#[path = "convergence/mod.rs"]
mod convergence;

use convergence::Case;
use convergence::ops::{Op, op};
use convergence::stats::{STATS, get};
use mailbridge_store::Folder;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn cases() -> u32 {
    std::env::var("MAILBRIDGE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// Runs one case to the end.
fn run_case(contacts: usize, page_size: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut case = Case::start(contacts, page_size).await;
        for op in ops {
            Box::pin(case.apply(op)).await;
        }
        case.finish().await
    })
}

#[test]
fn both_sides_converge() {
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 300,
        ..Config::default()
    });
    let strategy = (2usize..8, 2usize..=3, prop::collection::vec(op(), 1..20));
    let result = runner.run(&strategy, |(contacts, page_size, ops)| {
        run_case(contacts, page_size, &ops)
    });
    eprintln!("convergence: {STATS}");
    if let Err(err) = result {
        panic!("{err}");
    }
    // A run of this size reaches every path; if one never is, the test proves less than
    // it claims.
    if cases >= 200 {
        for (what, counter) in [
            ("a faulted run failing in the engine", &STATS.fault_failures),
            ("a faulted run absorbed by retries", &STATS.fault_absorbed),
            ("a kill between two pages", &STATS.kills_between_pages),
            ("a kill after a served call", &STATS.kills_after_served),
            (
                "a duplicate delivery started together",
                &STATS.duplicates_together,
            ),
            ("a stalled duplicate fenced off", &STATS.stalled_fenced),
            ("a busy runner", &STATS.busy),
            ("an audited conflict", &STATS.conflicts),
        ] {
            assert!(get(counter) > 0, "no case reached {what}");
        }
    }
}

// The engine bugs the property test found, as minimal cases.

/// The record came back without a conflict on record.
#[test]
fn a_mailbox_edit_beating_a_crm_delete_is_audited() {
    let ops = [
        Op::Sync,
        Op::CrmDelete(Folder::Contacts, 0),
        Op::OwnerEdit(Folder::Contacts, 0),
    ];
    run_case(1, 2, &ops).unwrap();
}

/// The pull after adopted the second item and orphaned the first, for good.
#[test]
fn a_run_stalled_before_a_create_and_taken_over_leaves_no_duplicate() {
    // The second delivery's third mailbox call is the CreateItem of the new contact.
    let ops = [
        Op::Sync,
        Op::CrmCreate(Folder::Contacts, false),
        Op::DuplicateDelivery(Some(3)),
    ];
    run_case(2, 2, &ops).unwrap();
}
