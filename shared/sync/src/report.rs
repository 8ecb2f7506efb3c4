//! What a sync run did (or, in a dry run, would do).

use std::fmt;

use mailbridge_store::Folder;

use crate::plan::{Action, PushAction};

/// Counts for one folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolderReport {
    /// The folder.
    pub folder: Option<Folder>,
    /// Delta pages read.
    pub pages: usize,
    /// Items read in full.
    pub fetched: usize,
    /// Records created in the CRM from new mailbox items.
    pub crm_created: usize,
    /// CRM records updated from mailbox changes (merges included).
    pub crm_updated: usize,
    /// CRM records deleted because their item was deleted.
    pub crm_deleted: usize,
    /// Items created in the mailbox from CRM records.
    pub mailbox_created: usize,
    /// Items updated in the mailbox.
    pub mailbox_updated: usize,
    /// Items moved to Deleted Items.
    pub mailbox_deleted: usize,
    /// Items paired with existing records on first connect (by stamp, e-mail or name).
    pub matched: usize,
    /// Items with several candidate records: made new records instead.
    pub ambiguous: usize,
    /// Items that came back unchanged (our own writes among them).
    pub unchanged: usize,
    /// Fields both sides changed; each is in the audit trail.
    pub conflicts: usize,
    /// Duplicate items of one record (a create repeated out of turn) moved to Deleted
    /// Items; each is in the audit trail.
    pub twins_removed: usize,
    /// Whether the folder's sync cursor was invalid and the folder was enumerated again.
    pub reenumerated: bool,
    /// In a dry run: every planned action.
    pub planned: Vec<String>,
    /// In a dry run: the mass-delete brake would stop the pull, with this many linked
    /// items going of this many (a real run deletes nothing and the mailbox needs
    /// attention).
    pub would_brake: Option<(usize, usize)>,
}

impl FolderReport {
    /// Drops what a dry run planned so far, keeping what was read: an invalid cursor
    /// means the enumeration plans it all again.
    pub(crate) fn forget_planned(&mut self) {
        *self = FolderReport {
            folder: self.folder,
            pages: self.pages,
            fetched: self.fetched,
            reenumerated: self.reenumerated,
            ..FolderReport::default()
        };
    }

    pub(crate) fn count(&mut self, action: &Action) {
        match action {
            Action::Refresh { .. } => self.unchanged += 1,
            Action::CrmCreate { ambiguous, .. } => {
                self.crm_created += 1;
                if ambiguous.is_some() {
                    self.ambiguous += 1;
                }
            }
            Action::CrmUpdate { .. } => self.crm_updated += 1,
            Action::CrmDelete { .. } => self.crm_deleted += 1,
            Action::Merge {
                conflicts,
                matched_by,
                ..
            } => {
                self.conflicts += conflicts.len();
                if matched_by.is_some() {
                    self.matched += 1;
                } else {
                    self.crm_updated += 1;
                }
            }
            Action::RemoveTwin { .. } => self.twins_removed += 1,
            Action::KeepEdited { .. } | Action::Ignore { .. } => {}
        }
    }
}

impl FolderReport {
    /// Counts a planned push action (a dry run's; a real run counts what it did).
    pub(crate) fn count_push(&mut self, action: &PushAction) {
        match action {
            PushAction::Create { .. } => self.mailbox_created += 1,
            PushAction::Update { .. } => self.mailbox_updated += 1,
            PushAction::Delete { .. } => self.mailbox_deleted += 1,
            // Unknown until the mailbox is searched for the stamp.
            PushAction::DeleteStamped { .. }
            | PushAction::Skip { .. }
            | PushAction::RefreshVersion { .. } => {}
        }
    }
}

impl fmt::Display for FolderReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let folder = self.folder.map_or("folder", Folder::as_str);
        writeln!(
            f,
            "{folder}: {} pages, {} items read{}",
            self.pages,
            self.fetched,
            if self.reenumerated {
                " (cursor was invalid: enumerated again)"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "  to CRM:     {} new, {} changed, {} deleted; {} matched, {} ambiguous, {} unchanged",
            self.crm_created,
            self.crm_updated,
            self.crm_deleted,
            self.matched,
            self.ambiguous,
            self.unchanged
        )?;
        writeln!(
            f,
            "  to mailbox: {} new, {} changed, {} deleted; {} conflicts",
            self.mailbox_created, self.mailbox_updated, self.mailbox_deleted, self.conflicts
        )?;
        if self.twins_removed > 0 {
            writeln!(
                f,
                "  duplicates: {} twin items of one record removed",
                self.twins_removed
            )?;
        }
        if let Some((deletes, linked)) = self.would_brake {
            writeln!(
                f,
                "  would brake: {deletes} of {linked} linked items would be deleted at once; \
                 a sync stops before deleting anything and the mailbox needs attention"
            )?;
        }
        for line in &self.planned {
            writeln!(f, "    {line}")?;
        }
        Ok(())
    }
}
