//! Convergence under random interleavings: CRM edits, mailbox-owner edits, syncs, faults
//! (throttling, resets, lost responses, stale change keys), runs killed at any point,
//! duplicate deliveries, concurrent runners and invalid cursors. After quiescence both
//! sides hold the same contacts and events, without duplicates, and no edit is lost except
//! through the documented conflict rule (CRM wins), which is then in the audit trail.
//!
//! `MAILBRIDGE_PROPTEST_CASES` sets the number of cases (500 by default).

#![allow(clippy::unwrap_used)]

mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use mailbridge_ews_sim::Fault;
use mailbridge_ews_sim::model::{FolderKind as SimFolder, ItemData as SimData, SeedSpec};
use mailbridge_mailbox::{ContactData, EventData, ItemData};
use mailbridge_store::{Folder, StateStore};
use mailbridge_sync::SyncConfig;
use mailbridge_sync::plan::crm_id_for_item;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    CrmCreate,
    CrmCreateEvent,
    CrmEdit(usize),
    CrmDelete(usize),
    OwnerCreate,
    OwnerEdit(usize),
    OwnerEditEvent(usize),
    OwnerDelete(usize),
    Sync,
    SyncWithFault(usize),
    KilledSync(u64),
    DuplicateDelivery,
    ConcurrentSync,
    InvalidateCursor,
}

const FAULTS: [(Fault, Option<&str>); 7] = [
    (Fault::ServerBusy, None),
    (Fault::Http500, Some("SyncFolderItems")),
    (Fault::DropConnection, Some("GetItem")),
    (Fault::LoseResponse, Some("CreateItem")),
    (Fault::LoseResponse, Some("UpdateItem")),
    (Fault::ChangeKeyConflict, Some("UpdateItem")),
    (Fault::TruncatedBody, Some("SyncFolderItems")),
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::CrmCreate),
        1 => Just(Op::CrmCreateEvent),
        4 => any::<usize>().prop_map(Op::CrmEdit),
        1 => any::<usize>().prop_map(Op::CrmDelete),
        2 => Just(Op::OwnerCreate),
        4 => any::<usize>().prop_map(Op::OwnerEdit),
        1 => any::<usize>().prop_map(Op::OwnerEditEvent),
        1 => any::<usize>().prop_map(Op::OwnerDelete),
        3 => Just(Op::Sync),
        2 => (0..FAULTS.len()).prop_map(Op::SyncWithFault),
        1 => (0u64..40).prop_map(Op::KilledSync),
        1 => Just(Op::DuplicateDelivery),
        1 => Just(Op::ConcurrentSync),
        1 => Just(Op::InvalidateCursor),
    ]
}

/// Every job title written, in order, by entity (the record's CRM id).
#[derive(Default)]
struct Writes {
    seq: u64,
    last: BTreeMap<String, (u64, String)>,
}

impl Writes {
    fn value(&mut self, entity: &str) -> String {
        self.seq += 1;
        let value = format!("title-{}", self.seq);
        self.last
            .insert(entity.to_owned(), (self.seq, value.clone()));
        value
    }

    /// A delete ends the entity's story: whether it survives (an edit on the other side
    /// wins) and with which value is the deletion rule's business, not an edit's.
    fn deleted(&mut self, entity: &str) {
        self.last.remove(entity);
    }
}

fn contact(n: u64, title: Option<String>) -> ItemData {
    ItemData::Contact(ContactData {
        given_name: Some(format!("Given{n}")),
        surname: Some(format!("Surname{n}")),
        emails: vec![format!("person{n}@example.com")],
        job_title: title,
        ..ContactData::default()
    })
}

struct Case {
    env: harness::Env,
    writes: Writes,
    next: u64,
}

impl Case {
    fn config(owner: &str) -> SyncConfig {
        SyncConfig {
            owner: owner.into(),
            lease_ttl: Duration::from_secs(30),
            // Random deletes may legitimately empty a small folder.
            mass_delete_min: usize::MAX,
            ..SyncConfig::default()
        }
    }

    async fn sync_as(&self, owner: &str) -> bool {
        let backend = mailbridge_ews::EwsMailbox::new(&self.env.ews, self.env.mailbox());
        let engine = mailbridge_sync::Engine::new(
            &self.env.store,
            &backend,
            self.env.mailbox(),
            Self::config(owner),
        );
        engine.sync_mailbox().await.is_ok()
    }

    async fn live_crm_ids(&self, folder: Folder) -> Vec<String> {
        self.env
            .records(folder)
            .await
            .into_iter()
            .map(|r| r.crm_id)
            .collect()
    }

    fn entity_of(view: &mailbridge_ews_sim::ItemView) -> String {
        harness::stamp(view).unwrap_or_else(|| crm_id_for_item(&view.id))
    }

    async fn apply(&mut self, op: &Op) {
        match op {
            Op::CrmCreate | Op::CrmCreateEvent | Op::CrmEdit(_) | Op::CrmDelete(_) => {
                self.apply_crm(op).await;
            }
            Op::OwnerCreate | Op::OwnerEdit(_) | Op::OwnerEditEvent(_) | Op::OwnerDelete(_) => {
                self.apply_owner(op);
            }
            _ => Box::pin(self.apply_run(op)).await,
        }
    }

    async fn apply_crm(&mut self, op: &Op) {
        let env = &self.env;
        match op {
            Op::CrmCreate => {
                self.next += 1;
                let id = format!("crm-{}", self.next);
                let title = self.writes.value(&id);
                env.crm_write(
                    Folder::Contacts,
                    &id,
                    Some(&contact(self.next, Some(title))),
                )
                .await;
            }
            Op::CrmCreateEvent => {
                self.next += 1;
                let start = Utc.with_ymd_and_hms(2026, 12, 20, 9, 0, 0).unwrap()
                    + chrono::Duration::hours(i64::try_from(self.next).unwrap());
                let event = ItemData::Event(EventData {
                    subject: Some(format!("Meeting {}", self.next)),
                    body: None,
                    location: None,
                    start,
                    end: start + chrono::Duration::minutes(30),
                    all_day: false,
                    time_zone: None,
                    show_as: None,
                    reminder_minutes: Some(15),
                    attendees: Vec::new(),
                    recurrence: None,
                    categories: Vec::new(),
                });
                env.crm_write(
                    Folder::Calendar,
                    &format!("evt-{}", self.next),
                    Some(&event),
                )
                .await;
            }
            Op::CrmEdit(k) => {
                let ids = self.live_crm_ids(Folder::Contacts).await;
                if ids.is_empty() {
                    return;
                }
                let id = &ids[k % ids.len()];
                let record = env
                    .store
                    .get_record(env.mailbox(), Folder::Contacts, id)
                    .await
                    .unwrap()
                    .unwrap();
                let ItemData::Contact(mut c) =
                    ItemData::contact_from_json(record.data.as_deref().unwrap()).unwrap()
                else {
                    unreachable!()
                };
                c.job_title = Some(self.writes.value(id));
                env.crm_write(Folder::Contacts, id, Some(&ItemData::Contact(c)))
                    .await;
            }
            Op::CrmDelete(k) => {
                let ids = self.live_crm_ids(Folder::Contacts).await;
                if !ids.is_empty() {
                    let id = &ids[k % ids.len()];
                    self.writes.deleted(id);
                    env.crm_write(Folder::Contacts, id, None).await;
                }
            }
            _ => unreachable!("not a CRM edit"),
        }
    }

    fn apply_owner(&mut self, op: &Op) {
        let env = &self.env;
        let world = env.sim.world();
        match op {
            Op::OwnerCreate => {
                self.next += 1;
                let c = mailbridge_ews_sim::model::Contact {
                    given_name: Some(format!("Owner{}", self.next)),
                    surname: Some("Made".into()),
                    ..Default::default()
                };
                let view = world
                    .owner_create(
                        env.mailbox(),
                        SimFolder::Contacts,
                        mailbridge_ews_sim::model::ItemContent::contact(c),
                    )
                    .unwrap();
                let title = self.writes.value(&Self::entity_of(&view));
                world
                    .owner_edit(env.mailbox(), &view.id, |content| {
                        if let SimData::Contact(c) = &mut content.data {
                            c.job_title = Some(title);
                        }
                    })
                    .unwrap();
            }
            Op::OwnerEdit(k) => {
                let items = env.items(Folder::Contacts);
                if items.is_empty() {
                    return;
                }
                let item = &items[k % items.len()];
                let title = self.writes.value(&Self::entity_of(item));
                world
                    .owner_edit(env.mailbox(), &item.id, |content| {
                        if let SimData::Contact(c) = &mut content.data {
                            c.job_title = Some(title);
                        }
                    })
                    .unwrap();
            }
            Op::OwnerEditEvent(k) => {
                let items = env.items(Folder::Calendar);
                if items.is_empty() {
                    return;
                }
                let n = self.next;
                world
                    .owner_edit(env.mailbox(), &items[k % items.len()].id, |content| {
                        if let SimData::Event(e) = &mut content.data {
                            e.location = Some(format!("Room {n}"));
                        }
                    })
                    .unwrap();
            }
            Op::OwnerDelete(k) => {
                let items = env.items(Folder::Contacts);
                if !items.is_empty() {
                    let item = &items[k % items.len()];
                    self.writes.deleted(&Self::entity_of(item));
                    world.owner_delete(env.mailbox(), &item.id).unwrap();
                }
            }
            _ => unreachable!("not an owner edit"),
        }
    }

    async fn apply_run(&mut self, op: &Op) {
        let world = self.env.sim.world();
        match op {
            Op::Sync => {
                self.sync_as("main").await;
            }
            Op::SyncWithFault(f) => {
                let (fault, op) = FAULTS[*f];
                // Enough of them to outlast the client's retries now and then.
                for _ in 0..3 {
                    world.inject(fault, op);
                }
                self.sync_as("main").await;
                world.clear_faults();
            }
            Op::KilledSync(ms) => {
                // The process dies at an arbitrary point; the same runner comes back.
                let _ =
                    tokio::time::timeout(Duration::from_millis(*ms), self.sync_as("main")).await;
            }
            Op::DuplicateDelivery => {
                self.sync_as("main").await;
                self.sync_as("main").await;
            }
            Op::ConcurrentSync => {
                let (a, b) = tokio::join!(self.sync_as("main"), self.sync_as("other"));
                let _ = (a, b);
            }
            Op::InvalidateCursor => {
                world
                    .invalidate_sync_states(self.env.mailbox(), SimFolder::Contacts)
                    .unwrap();
            }
            _ => unreachable!("not a run"),
        }
    }

    async fn quiesce_and_check(&mut self) -> Result<(), TestCaseError> {
        self.env.sim.world().clear_faults();
        let mut ok = false;
        for _ in 0..4 {
            if self.sync_as("main").await {
                ok = true;
            }
        }
        prop_assert!(ok, "no clean sync after the faults stopped");
        for folder in Folder::ALL {
            self.env.assert_converged(folder).await;
        }
        // No edit lost except through the conflict rule.
        let audit = {
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = self
                    .env
                    .store
                    .list_audit(self.env.mailbox(), after.as_deref(), 500)
                    .await
                    .unwrap();
                all.extend(page.items);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break all,
                }
            }
        };
        for record in self.env.records(Folder::Contacts).await {
            let Some((_, last)) = self.writes.last.get(&record.crm_id) else {
                continue;
            };
            let ItemData::Contact(c) =
                ItemData::contact_from_json(record.data.as_deref().unwrap()).unwrap()
            else {
                unreachable!()
            };
            if c.job_title.as_deref() == Some(last.as_str()) {
                continue;
            }
            let audited = audit.iter().any(|e| {
                e.action == "conflict"
                    && e.subject == record.crm_id
                    && e.detail.contains(last.as_str())
            });
            prop_assert!(
                audited,
                "{}: the last written title {last} was lost without a conflict record (now {:?})",
                record.crm_id,
                c.job_title
            );
        }
        Ok(())
    }
}

fn cases() -> u32 {
    std::env::var("MAILBRIDGE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn both_sides_converge(seed_contacts in 0usize..6, ops in prop::collection::vec(op(), 1..25)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let env = harness::start().await;
            // Exchange's real back-off hints are seconds long; these cases only need the
            // client to honour them.
            let mut throttle = env.sim.world().throttle_policy();
            throttle.back_off_ms = 5;
            env.sim.world().set_throttle(throttle);
            env.sim.world().seed(env.mailbox(), &SeedSpec {
                contacts: seed_contacts,
                events: 1,
                recurring: 1,
                seed: 11,
                ..SeedSpec::default()
            }).unwrap();
            let mut case = Case { env, writes: Writes::default(), next: 1000 };
            for op in &ops {
                Box::pin(case.apply(op)).await;
            }
            case.quiesce_and_check().await
        })?;
    }
}
