//! Edits on either side: the CRM writing records through the store, the owner editing
//! items in Outlook (the simulator's owner interface).

use mailbridge_ews_sim::ItemView;
use mailbridge_ews_sim::model::FolderKind as SimFolder;
use mailbridge_mailbox::ItemData;
use mailbridge_store::{Folder, StateStore};
use mailbridge_sync::plan::crm_id_for_item;

use super::Case;
use super::ops::Op;
use super::writes::{self, Entity, Side};
use crate::harness;

fn sim_folder(folder: Folder) -> SimFolder {
    match folder {
        Folder::Contacts => SimFolder::Contacts,
        Folder::Calendar => SimFolder::Calendar,
    }
}

fn parse(folder: Folder, json: &str) -> ItemData {
    match folder {
        Folder::Contacts => ItemData::contact_from_json(json),
        Folder::Calendar => ItemData::event_from_json(json),
    }
    .unwrap()
}

impl Case {
    /// The CRM ids of a folder's live records.
    async fn live_crm_ids(&self, folder: Folder) -> Vec<String> {
        self.env
            .records(folder)
            .await
            .into_iter()
            .map(|r| r.crm_id)
            .collect()
    }

    /// The record an item stands for: its link's, else its stamp's, else the id a pull
    /// would give the record it makes of it.
    async fn entity_of(&self, folder: Folder, view: &ItemView) -> Entity {
        let linked = self
            .env
            .store
            .link_by_item_id(self.env.mailbox(), folder, &view.id)
            .await
            .unwrap()
            .map(|l| l.crm_id);
        let id = linked
            .or_else(|| harness::stamp(view))
            .unwrap_or_else(|| crm_id_for_item(&view.id));
        (folder, id)
    }

    pub(super) async fn apply_crm(&mut self, op: &Op) {
        match *op {
            Op::CrmCreate(folder, series) => {
                self.next += 1;
                let n = self.next;
                let prefix = match folder {
                    Folder::Contacts => "crm",
                    Folder::Calendar => "evt",
                };
                let entity = (folder, format!("{prefix}-{n}"));
                let value = self.writes.value(&entity, Side::Crm);
                let data = match folder {
                    Folder::Contacts => writes::crm_contact(n, value),
                    Folder::Calendar => writes::crm_event(n, series.then_some(4), value),
                };
                self.env.crm_write(folder, &entity.1, Some(&data)).await;
            }
            Op::CrmEdit(folder, k) => self.crm_edit(folder, k, None).await,
            Op::CrmEditSeries(k, count) => self.crm_edit(Folder::Calendar, k, Some(count)).await,
            Op::CrmDelete(folder, k) => {
                let ids = self.live_crm_ids(folder).await;
                if !ids.is_empty() {
                    let entity = (folder, ids[k % ids.len()].clone());
                    self.writes.deleted(&entity, Side::Crm);
                    self.env.crm_write(folder, &entity.1, None).await;
                }
            }
            _ => unreachable!("not a CRM edit"),
        }
    }

    /// Writes a new tracked value to a live record; with `count`, to a series only, whose
    /// repetitions change too.
    async fn crm_edit(&mut self, folder: Folder, k: usize, count: Option<u32>) {
        let mut candidates = Vec::new();
        for record in self.env.records(folder).await {
            let data = parse(folder, record.data.as_deref().unwrap());
            let is_series = matches!(&data, ItemData::Event(e) if e.recurrence.is_some());
            if count.is_none() || is_series {
                candidates.push((record.crm_id, data));
            }
        }
        if candidates.is_empty() {
            return;
        }
        let (id, mut data) = candidates.swap_remove(k % candidates.len());
        if let Some(count) = count {
            writes::set_crm_count(&mut data, count);
        }
        let entity = (folder, id);
        writes::set_tracked(&mut data, self.writes.value(&entity, Side::Crm));
        self.env.crm_write(folder, &entity.1, Some(&data)).await;
    }

    pub(super) async fn apply_owner(&mut self, op: &Op) {
        let world = self.env.sim.world().clone();
        let mailbox = self.env.mailbox().to_owned();
        match *op {
            Op::OwnerCreate(folder, series) => {
                self.next += 1;
                let n = self.next;
                // The value is written by an edit after the create: the entity's id comes
                // from the new item's id.
                let content = match folder {
                    Folder::Contacts => writes::owner_contact(n, String::new()),
                    Folder::Calendar => writes::owner_event(n, series.then_some(3), String::new()),
                };
                let view = world
                    .owner_create(&mailbox, sim_folder(folder), content)
                    .unwrap();
                let entity = self.entity_of(folder, &view).await;
                let value = self.writes.value(&entity, Side::Owner);
                world
                    .owner_edit(&mailbox, &view.id, |c| {
                        writes::set_owner_tracked(&mut c.data, value);
                    })
                    .unwrap();
            }
            Op::OwnerEdit(folder, k) => self.owner_edit(folder, k, None).await,
            Op::OwnerEditSeries(k, count) => {
                self.owner_edit(Folder::Calendar, k, Some(count)).await;
            }
            Op::OwnerDelete(folder, k) => {
                let items = self.env.items(folder);
                if !items.is_empty() {
                    let item = &items[k % items.len()];
                    let entity = self.entity_of(folder, item).await;
                    self.writes.deleted(&entity, Side::Owner);
                    world.owner_delete(&mailbox, &item.id).unwrap();
                }
            }
            _ => unreachable!("not an owner edit"),
        }
    }

    /// Writes a new tracked value to an item; with `count`, to a series only, whose
    /// repetitions change too.
    async fn owner_edit(&mut self, folder: Folder, k: usize, count: Option<u32>) {
        let items: Vec<ItemView> = self
            .env
            .items(folder)
            .into_iter()
            .filter(|i| {
                count.is_none()
                    || matches!(&i.content.data,
                        mailbridge_ews_sim::model::ItemData::Event(e) if e.recurrence.is_some())
            })
            .collect();
        if items.is_empty() {
            return;
        }
        let item = &items[k % items.len()];
        let entity = self.entity_of(folder, item).await;
        let value = self.writes.value(&entity, Side::Owner);
        self.env
            .sim
            .world()
            .owner_edit(self.env.mailbox(), &item.id, |c| {
                if let Some(count) = count {
                    writes::set_owner_count(&mut c.data, count);
                }
                writes::set_owner_tracked(&mut c.data, value);
            })
            .unwrap();
    }
}
