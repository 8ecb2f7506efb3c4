//! Carrying out a sync run for one mailbox: lease, pull, push, release.

use std::time::Duration;

use chrono::Utc;
use mailbridge_mailbox::{BackendError, FolderKind, ItemData, MailboxBackend};
use mailbridge_store::{
    AuditEvent, BrakedPull, Commit, DeletesGoAhead, Folder, Lease, LinkChange, MailboxStatus,
    RecordWrite, StateStore,
};
use tracing::{Instrument, info, warn};

use crate::error::SyncError;
use crate::report::FolderReport;

/// How a runner syncs.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// This runner's name in leases (host and process, or the Lambda request id).
    pub owner: String,
    /// How long a lease lasts without renewal; a crashed runner blocks no longer.
    pub lease_ttl: Duration,
    /// The mass-delete brake: a pull deleting more than this percentage of a folder's
    /// linked items stops instead (counted over the whole pull, not page by page).
    pub mass_delete_percent: usize,
    /// …once at least this many would go. A folder that reads empty brakes however few
    /// items it had; `usize::MAX` turns the brake off altogether (see [`plan::brakes`]).
    ///
    /// [`plan::brakes`]: crate::plan::brakes
    pub mass_delete_min: usize,
    /// Most outbox entries pushed per folder and run.
    pub push_batch: usize,
    /// How often a commit that lost a race with a CRM write is planned again.
    pub commit_retries: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            owner: format!("runner-{:016x}", fastrand::u64(..)),
            lease_ttl: Duration::from_mins(5),
            mass_delete_percent: 50,
            mass_delete_min: 10,
            push_batch: 1_000,
            commit_retries: 3,
        }
    }
}

/// The sync engine for one mailbox.
pub struct Engine<'a, S: StateStore, B: MailboxBackend> {
    pub(crate) store: &'a S,
    pub(crate) backend: &'a B,
    pub(crate) mailbox: String,
    pub(crate) config: SyncConfig,
    /// Someone's go-ahead for braked deletes, for the run that applies them.
    pub(crate) brake_released: Option<DeletesGoAhead>,
}

pub(crate) fn kind(folder: Folder) -> FolderKind {
    match folder {
        Folder::Contacts => FolderKind::Contacts,
        Folder::Calendar => FolderKind::Calendar,
    }
}

/// Reads a stored record of `folder`.
pub(crate) fn parse(folder: Folder, json: &str) -> Option<ItemData> {
    match folder {
        Folder::Contacts => ItemData::contact_from_json(json).ok(),
        Folder::Calendar => ItemData::event_from_json(json).ok(),
    }
}

impl<'a, S: StateStore, B: MailboxBackend> Engine<'a, S, B> {
    /// An engine syncing `mailbox` between `store` and `backend`.
    pub fn new(store: &'a S, backend: &'a B, mailbox: &str, config: SyncConfig) -> Self {
        Engine {
            store,
            backend,
            mailbox: mailbox.trim().to_lowercase(),
            config,
            brake_released: None,
        }
    }

    /// Syncs both folders and records the outcome on the mailbox record (last sync, last
    /// error, back-off, the brake). A mailbox whose braked deletes someone let through
    /// ([`mailbridge_store::acknowledge_deletes`]) runs once with the brake released.
    pub async fn sync_mailbox(&self) -> Result<Vec<FolderReport>, SyncError> {
        let acknowledged = match self.store.get_mailbox(&self.mailbox).await? {
            Some(mailbox) if mailbox.status != MailboxStatus::Active => {
                return Err(SyncError::Inactive {
                    reason: mailbox
                        .attention
                        .unwrap_or_else(|| format!("{:?}", mailbox.status)),
                });
            }
            Some(mailbox) => mailbox.deletes_go_ahead,
            None => None,
        };
        match acknowledged {
            Some(go_ahead) => Box::pin(self.released(go_ahead).sync_folders()).await,
            None => Box::pin(self.sync_folders()).await,
        }
    }

    /// The operator's answer to the mass-delete brake, once they have checked that the
    /// deletes are meant (the owner really emptied the folder): records the go-ahead as
    /// [`mailbridge_store::acknowledge_deletes`] does (the mailbox must have a record),
    /// then syncs, letting the braked folder's deletes through. `by` names the operator in
    /// the audit trail. A run that fails keeps the go-ahead for the next one.
    pub async fn acknowledge_brake(&self, by: &str) -> Result<Vec<FolderReport>, SyncError> {
        mailbridge_store::acknowledge_deletes(self.store, &self.mailbox, by, Utc::now()).await?;
        self.sync_mailbox().await
    }

    /// This engine with the brake released as `go_ahead` allows, for one run.
    fn released(&self, go_ahead: DeletesGoAhead) -> Engine<'a, S, B> {
        Engine {
            store: self.store,
            backend: self.backend,
            mailbox: self.mailbox.clone(),
            config: self.config.clone(),
            brake_released: Some(go_ahead),
        }
    }

    /// Syncs every folder. A folder that fails does not keep the others from syncing
    /// (another runner on Contacts says nothing about Calendar), unless its failure
    /// concerns the whole mailbox ([`SyncError::stops_mailbox`]). The first failure is the
    /// run's outcome, recorded on the mailbox and returned.
    async fn sync_folders(&self) -> Result<Vec<FolderReport>, SyncError> {
        let mut reports = Vec::new();
        let mut first: Option<SyncError> = None;
        for folder in Folder::ALL {
            match self.sync_folder(folder).await {
                Ok(report) => {
                    self.go_ahead_used(folder).await?;
                    reports.push(report);
                }
                Err(err) => {
                    let stop = err.stops_mailbox();
                    first.get_or_insert(err);
                    if stop {
                        break;
                    }
                }
            }
        }
        self.record_outcome(first.as_ref()).await?;
        match first {
            Some(err) => Err(err),
            None => Ok(reports),
        }
    }

    /// The braked folder synced: the go-ahead has done its work, and the brake guards the
    /// folder again.
    async fn go_ahead_used(&self, folder: Folder) -> Result<(), SyncError> {
        let Some(go_ahead) = self.brake_released.as_ref().filter(|g| g.folder == folder) else {
            return Ok(());
        };
        if !mailbridge_store::clear_go_ahead(self.store, &self.mailbox, go_ahead).await? {
            // LIMIT: the go-ahead stays when other writers keep winning; it is bounded by its folder and count.
            warn!(%folder, "could not clear the mass-delete go-ahead after it was used");
        }
        Ok(())
    }

    async fn record_outcome(&self, error: Option<&SyncError>) -> Result<(), SyncError> {
        // The mailbox record is optional (tests and tools sync bare mailboxes).
        for _ in 0..3 {
            let Some(mut mailbox) = self.store.get_mailbox(&self.mailbox).await? else {
                return Ok(());
            };
            let version = mailbox.version;
            let now = Utc::now();
            match error {
                None => {
                    mailbox.last_sync = Some(now);
                    mailbox.last_error = None;
                    mailbox.back_off_until = None;
                }
                Some(err) => {
                    mailbox.last_error = Some(err.to_string());
                    mailbox.back_off_until = err
                        .back_off()
                        .and_then(|d| chrono::Duration::from_std(d).ok())
                        .map(|d| now + d);
                    if let SyncError::Braked {
                        folder,
                        deletes,
                        linked,
                    } = *err
                    {
                        mailbox.status = MailboxStatus::NeedsAttention;
                        mailbox.attention = Some(err.to_string());
                        mailbox.braked = Some(BrakedPull {
                            folder,
                            deletes,
                            linked,
                        });
                        // A go-ahead for fewer deletes than this no longer holds.
                        mailbox.deletes_go_ahead = None;
                    }
                }
            }
            match self
                .store
                .put_mailbox(&mailbox, mailbridge_store::Expect::Version(version))
                .await
            {
                Ok(_) => return Ok(()),
                Err(mailbridge_store::StoreError::Conflict { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    /// Syncs one folder: takes its lease, pulls the mailbox's changes, pushes the CRM's.
    pub async fn sync_folder(&self, folder: Folder) -> Result<FolderReport, SyncError> {
        let key = format!("sync/{}/{}", self.mailbox, folder);
        let lease = self
            .store
            .acquire_lease(&key, &self.config.owner, self.config.lease_ttl, Utc::now())
            .await?
            .ok_or(SyncError::Busy { folder })?;
        let span =
            tracing::info_span!("sync_folder", mailbox = %self.mailbox, %folder, op = "sync");
        let mut report = FolderReport {
            folder: Some(folder),
            ..FolderReport::default()
        };
        let mut lease = lease;
        // The pull and push futures are boxed: inline they make every caller's future
        // tens of kilobytes.
        let result = async {
            Box::pin(self.pull(folder, &mut lease, &mut report, false, &[])).await?;
            let created = Box::pin(self.push(folder, &mut lease, &mut report)).await?;
            if created.is_empty() {
                return Ok(());
            }
            // Take our creates into the cursor now, and catch any deleted meanwhile: an
            // item created and deleted between two pulls is never reported.
            Box::pin(self.pull(folder, &mut lease, &mut report, false, &created)).await
        }
        .instrument(span.clone())
        .await;
        // A lease that lapsed is simply gone; releasing it is a courtesy.
        let released = self.store.release_lease(&lease).await;
        // Entered only now, with no await left: a span entered across an await would
        // leak into whatever else the thread runs meanwhile.
        let _entered = span.enter();
        if let Err(err) = released {
            warn!(error = %err, "could not release the sync lease");
        }
        match &result {
            Ok(()) => info!(
                pages = report.pages,
                crm_created = report.crm_created,
                crm_updated = report.crm_updated,
                crm_deleted = report.crm_deleted,
                mailbox_created = report.mailbox_created,
                mailbox_updated = report.mailbox_updated,
                mailbox_deleted = report.mailbox_deleted,
                conflicts = report.conflicts,
                "folder synced"
            ),
            Err(err) => warn!(error = %err, "folder sync stopped"),
        }
        result.map(|()| report)
    }

    /// What a sync of `folder` would do, without writing anything anywhere: the pull's
    /// planned actions (first-connect matches, new, ambiguous, deletes, and whether the
    /// brake would stop it) and the push's, one per outbox entry waiting (create, update
    /// with the fields it sends, delete). The push is planned against the CRM side as it
    /// is now, before the pull's effects; a stale change key shows only when it happens.
    pub async fn dry_run(&self, folder: Folder) -> Result<FolderReport, SyncError> {
        let mut report = FolderReport {
            folder: Some(folder),
            ..FolderReport::default()
        };
        let mut lease = Lease {
            key: String::new(),
            owner: self.config.owner.clone(),
            token: 0,
            expires: Utc::now(),
        };
        Box::pin(self.pull(folder, &mut lease, &mut report, true, &[])).await?;
        for entry in self
            .store
            .list_outbox(&self.mailbox, folder, self.config.push_batch)
            .await?
        {
            match self.plan_entry(folder, &entry).await {
                Ok(action) => {
                    report.count_push(&action);
                    report.planned.push(action.to_string());
                }
                Err(SyncError::Backend(err)) => report
                    .planned
                    .push(format!("refused        {} ({err})", entry.crm_id)),
                Err(err) => return Err(err),
            }
        }
        Ok(report)
    }

    pub(crate) async fn renew(&self, lease: &mut Lease) -> Result<(), SyncError> {
        *lease = self
            .store
            .renew_lease(lease, self.config.lease_ttl, Utc::now())
            .await?;
        Ok(())
    }

    pub(crate) fn commit(&self, folder: Folder, lease: &Lease) -> Commit {
        Commit {
            mailbox: self.mailbox.clone(),
            folder,
            id: format!("{}-{:016x}", self.config.owner, fastrand::u64(..)),
            lease: lease.clone(),
            cursor: None,
            records: Vec::new(),
            links: Vec::new(),
            outbox_done: Vec::new(),
            outbox_failed: Vec::new(),
            audit: Vec::new(),
        }
    }

    /// Puts conflicts on record at once, before the writes that resolve them: should a
    /// write's outcome be lost, the next run sees no conflict left, only the merged result.
    pub(crate) async fn record_conflicts(
        &self,
        crm_id: &str,
        conflicts: &[mailbridge_mailbox::FieldConflict],
    ) -> Result<(), SyncError> {
        if conflicts.is_empty() {
            return Ok(());
        }
        let events: Vec<AuditEvent> = conflicts
            .iter()
            .map(|c| {
                self.audit(
                    "conflict",
                    crm_id,
                    serde_json::json!({
                        "field": c.field,
                        "crm": c.crm,
                        "mailbox": c.mailbox,
                        "kept": format!("{:?}", c.winner),
                    }),
                )
            })
            .collect();
        self.store.append_audit(&events).await?;
        Ok(())
    }

    /// The audit event for an item deleted in the mailbox while the CRM edited its record:
    /// the edit wins.
    pub(crate) fn edit_beats_delete(&self, crm_id: &str) -> AuditEvent {
        self.audit(
            "conflict",
            crm_id,
            serde_json::json!({ "mailbox": "deleted", "crm": "edited", "kept": "Crm" }),
        )
    }

    /// The audit event for a record deleted in the CRM while the owner edited its item:
    /// the edit wins and the record comes back.
    pub(crate) fn edit_undoes_delete(&self, crm_id: &str) -> AuditEvent {
        self.audit(
            "conflict",
            crm_id,
            serde_json::json!({ "crm": "deleted", "mailbox": "edited", "kept": "Mailbox" }),
        )
    }

    // Callers build the detail inline with `json!`; taking it by value reads best there.
    #[allow(clippy::needless_pass_by_value)]
    pub(crate) fn audit(
        &self,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent {
            mailbox: self.mailbox.clone(),
            at: Utc::now(),
            actor: "sync".to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            detail: detail.to_string(),
        }
    }
}

/// A record write and the link version it leads to.
pub(crate) fn record_write(
    crm_id: &str,
    expected: Option<u64>,
    data: Option<&ItemData>,
) -> (RecordWrite, u64) {
    (
        RecordWrite {
            crm_id: crm_id.to_owned(),
            expected,
            // Exactly as written on the other side; hashes and merges compare canonical forms.
            data: data.map(|d| d.stored().to_json()),
        },
        expected.map_or(1, |v| v + 1),
    )
}

/// Whether a backend failure ends the run (as opposed to skipping one item).
pub(crate) fn ends_run(err: &BackendError) -> bool {
    !matches!(
        err,
        BackendError::NotFound | BackendError::Conflict | BackendError::Invalid(_)
    )
}

pub(crate) fn link_put(link: mailbridge_store::Link) -> LinkChange {
    LinkChange::Put(link)
}
