//! What a case does: edits on either side, runs, and faults, drawn at random.

use mailbridge_ews_sim::Fault;
use mailbridge_store::Folder;
use proptest::prelude::*;

/// One step of a case.
#[derive(Debug, Clone)]
pub enum Op {
    /// The CRM creates a contact, or an event (`series`: a recurring one).
    CrmCreate(Folder, bool),
    /// The CRM edits the tracked field (job title, location) of a live record.
    CrmEdit(Folder, usize),
    /// The CRM changes how often a recurring event repeats (and its location).
    CrmEditSeries(usize, u32),
    /// The CRM deletes a record.
    CrmDelete(Folder, usize),
    /// The owner creates a contact, or an event (`series`: a recurring one), in Outlook.
    OwnerCreate(Folder, bool),
    /// The owner edits the tracked field of an item.
    OwnerEdit(Folder, usize),
    /// The owner changes how often a recurring event repeats (and its location).
    OwnerEditSeries(usize, u32),
    /// The owner deletes an item (it moves to Deleted Items).
    OwnerDelete(Folder, usize),
    /// A plain sync run.
    Sync,
    /// A run while `count` of one kind of fault wait in the simulator: more than the
    /// client's four attempts end the run, fewer are absorbed by its retries.
    SyncWithFault { fault: usize, count: usize },
    /// The process dies at the `call`-th mailbox call of a run (its `call`-th delta call
    /// when `deltas`: between two pages, once the folders span several): before sending
    /// it, or once it has been served (`served`) and before its answer is used. The lease
    /// stays behind; the same runner comes back.
    Killed {
        call: u32,
        deltas: bool,
        served: bool,
    },
    /// The queue delivers the same job twice. `None`: both deliveries start together.
    /// `Some(call)`: the first stalls at its `call`-th mailbox call for longer than its
    /// lease, the second takes the folder over and finishes, then the first wakes up.
    DuplicateDelivery(Option<u32>),
    /// Two different runners start at once; one of them must find the folder busy.
    ConcurrentSync,
    /// Exchange declares the folder's sync states invalid.
    InvalidateCursor(Folder),
}

/// The faults a run may meet, and the operation each is queued for (`None`: any).
pub const FAULTS: [(Fault, Option<&str>); 13] = [
    (Fault::ServerBusy, None),
    (Fault::Http500, Some("SyncFolderItems")),
    (Fault::DropConnection, Some("GetItem")),
    (Fault::DropConnection, Some("FindItem")),
    (Fault::LoseResponse, Some("CreateItem")),
    (Fault::LoseResponse, Some("UpdateItem")),
    (Fault::LoseResponse, Some("DeleteItem")),
    (Fault::ChangeKeyConflict, Some("UpdateItem")),
    (Fault::TruncatedBody, Some("SyncFolderItems")),
    (Fault::MalformedBody, Some("GetItem")),
    (Fault::InvalidSyncState, Some("SyncFolderItems")),
    (Fault::ExpireToken, None),
    (Fault::ExpireToken, Some("UpdateItem")),
];

fn folder() -> impl Strategy<Value = Folder> {
    prop_oneof![Just(Folder::Contacts), Just(Folder::Calendar)]
}

/// A random step; edits are the most common, then runs.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (folder(), any::<bool>()).prop_map(|(f, s)| Op::CrmCreate(f, s)),
        4 => (folder(), any::<usize>()).prop_map(|(f, k)| Op::CrmEdit(f, k)),
        1 => (any::<usize>(), 2u32..12).prop_map(|(k, n)| Op::CrmEditSeries(k, n)),
        1 => (folder(), any::<usize>()).prop_map(|(f, k)| Op::CrmDelete(f, k)),
        2 => (folder(), any::<bool>()).prop_map(|(f, s)| Op::OwnerCreate(f, s)),
        4 => (folder(), any::<usize>()).prop_map(|(f, k)| Op::OwnerEdit(f, k)),
        1 => (any::<usize>(), 2u32..12).prop_map(|(k, n)| Op::OwnerEditSeries(k, n)),
        1 => (folder(), any::<usize>()).prop_map(|(f, k)| Op::OwnerDelete(f, k)),
        3 => Just(Op::Sync),
        3 => (0..FAULTS.len(), 1usize..=6)
            .prop_map(|(fault, count)| Op::SyncWithFault { fault, count }),
        1 => (1u32..16, any::<bool>())
            .prop_map(|(call, served)| Op::Killed { call, deltas: false, served }),
        1 => (2u32..5, any::<bool>())
            .prop_map(|(call, served)| Op::Killed { call, deltas: true, served }),
        1 => Just(Op::DuplicateDelivery(None)),
        1 => (1u32..12).prop_map(|call| Op::DuplicateDelivery(Some(call))),
        1 => Just(Op::ConcurrentSync),
        1 => folder().prop_map(Op::InvalidateCursor),
    ]
}
