//! After quiescence: both sides hold the same contacts and events, each record linked to
//! exactly one item and back, nothing twice, no edit lost except through the conflict
//! rule, and every conflict in the audit trail.

use std::collections::BTreeMap;

use mailbridge_mailbox::{ItemData, RemoteItem};
use mailbridge_store::{AuditEvent, CrmRecord, Folder, Link, StateStore};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::Case;
use super::runs::MAIN;
use super::stats::{STATS, bump};
use super::writes::tracked;

fn parse(folder: Folder, record: &CrmRecord) -> ItemData {
    let json = record.data.as_deref().unwrap();
    match folder {
        Folder::Contacts => ItemData::contact_from_json(json),
        Folder::Calendar => ItemData::event_from_json(json),
    }
    .unwrap()
}

/// Fails when two values share a key.
fn unique<'a>(
    what: &str,
    keys: impl IntoIterator<Item = (String, &'a str)>,
) -> Result<(), TestCaseError> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (key, name) in keys {
        if let Some(first) = seen.insert(key.clone(), name) {
            return Err(TestCaseError::fail(format!(
                "{what}: {first} and {name} share {key}"
            )));
        }
    }
    Ok(())
}

impl Case {
    async fn links(&self, folder: Folder) -> Vec<Link> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .env
                .store
                .list_links(self.env.mailbox(), folder, after.as_deref(), 200)
                .await
                .unwrap();
            all.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return all,
            }
        }
    }

    async fn audit(&self) -> Vec<AuditEvent> {
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
                None => return all,
            }
        }
    }

    /// Faults stop; the runner syncs until two runs in a row succeed (one to settle, one
    /// to show there is nothing left to do), then everything is checked.
    pub(super) async fn quiesce_and_check(&mut self) -> Result<(), TestCaseError> {
        self.env.sim.world().clear_faults();
        let mut clean = 0;
        for _ in 0..6 {
            match self.run(MAIN).await {
                Ok(_) => clean += 1,
                Err(err) => {
                    clean = 0;
                    eprintln!("quiescing: {err}");
                }
            }
            if clean == 2 {
                break;
            }
        }
        prop_assert!(clean == 2, "no two clean syncs after the faults stopped");
        let audit = self.audit().await;
        for folder in Folder::ALL {
            self.check_folder(folder).await?;
        }
        self.check_edits(&audit).await?;
        let conflicts = audit.iter().filter(|e| e.action == "conflict").count();
        for _ in 0..conflicts {
            bump(&STATS.conflicts);
        }
        bump(&STATS.cases);
        Ok(())
    }

    /// The two sides of one folder are the same, one to one.
    async fn check_folder(&self, folder: Folder) -> Result<(), TestCaseError> {
        let records = self.env.records(folder).await;
        let items: Vec<RemoteItem> = self.env.remote_items(folder).await;
        let links = self.links(folder).await;
        let record_hash: BTreeMap<&str, String> = records
            .iter()
            .map(|r| (r.crm_id.as_str(), parse(folder, r).content_hash()))
            .collect();
        let item_hash: BTreeMap<&str, String> = items
            .iter()
            .map(|i| (i.item.id.as_str(), i.data.content_hash()))
            .collect();
        // Nothing twice on either side: no two records, no two items alike, no two items
        // stamped with the same record.
        unique(
            &format!("{folder} records"),
            record_hash.iter().map(|(id, h)| (h.clone(), *id)),
        )?;
        unique(
            &format!("{folder} items"),
            item_hash.iter().map(|(id, h)| (h.clone(), *id)),
        )?;
        unique(
            &format!("{folder} stamps"),
            items
                .iter()
                .filter_map(|i| Some((i.crm_id.clone()?, i.item.id.as_str()))),
        )?;
        // One to one: a link per record and per item, each joining two equal contents.
        prop_assert_eq!(
            (records.len(), items.len(), links.len()),
            (links.len(), links.len(), links.len()),
            "{}: records, items and links differ in number",
            folder
        );
        unique(
            &format!("{folder} links"),
            links.iter().map(|l| (l.item_id.clone(), l.crm_id.as_str())),
        )?;
        unique(
            &format!("{folder} links"),
            links.iter().map(|l| (l.crm_id.clone(), l.item_id.as_str())),
        )?;
        for link in &links {
            let crm = record_hash.get(link.crm_id.as_str());
            let item = item_hash.get(link.item_id.as_str());
            prop_assert!(
                crm.is_some(),
                "{}: {} is linked but has no record",
                folder,
                link.crm_id
            );
            prop_assert!(
                item.is_some(),
                "{}: {} links to a missing item",
                folder,
                link.crm_id
            );
            prop_assert_eq!(
                crm,
                item,
                "{}: {} differs from its item",
                folder,
                link.crm_id
            );
        }
        for item in &items {
            if let Some(stamp) = &item.crm_id {
                prop_assert!(
                    links
                        .iter()
                        .any(|l| &l.crm_id == stamp && l.item_id == item.item.id),
                    "{}: item {} is stamped {} but not linked to it",
                    folder,
                    item.item.id,
                    stamp
                );
            }
        }
        let pending = self
            .env
            .store
            .list_outbox(self.env.mailbox(), folder, 100)
            .await
            .unwrap();
        prop_assert!(
            pending.is_empty(),
            "{}: the outbox still holds {:?}",
            folder,
            pending
        );
        Ok(())
    }

    /// Each last write survives, or lost a conflict that is on record with its value; each
    /// entity deleted on one side and edited on the other lives on, with the conflict on
    /// record.
    async fn check_edits(&self, audit: &[AuditEvent]) -> Result<(), TestCaseError> {
        let conflict = |crm_id: &str, value: Option<&str>| {
            audit.iter().any(|e| {
                e.action == "conflict"
                    && e.subject == crm_id
                    && value.is_none_or(|v| e.detail.contains(&format!("\"{v}\"")))
            })
        };
        let mut live: BTreeMap<(Folder, String), ItemData> = BTreeMap::new();
        for folder in Folder::ALL {
            for record in self.env.records(folder).await {
                let data = parse(folder, &record);
                live.insert((folder, record.crm_id), data);
            }
        }
        for ((folder, crm_id), (value, side)) in &self.writes.last {
            let Some(data) = live.get(&(*folder, crm_id.clone())) else {
                return Err(TestCaseError::fail(format!(
                    "{folder} {crm_id}: the last write ({value}, {side:?}) was lost with the record"
                )));
            };
            let now = tracked(data);
            prop_assert!(
                now == Some(value.as_str()) || conflict(crm_id, Some(value)),
                "{} {}: the last write ({}, {:?}) was lost without a conflict record (now {:?})",
                folder,
                crm_id,
                value,
                side,
                now
            );
        }
        for ((folder, crm_id), deleted_by) in &self.writes.contested {
            prop_assert!(
                conflict(crm_id, None),
                "{} {}: deleted ({:?}) and edited on the other side, but no conflict is on record",
                folder,
                crm_id,
                deleted_by
            );
        }
        Ok(())
    }
}
