//! Opaque EWS tokens: item ids, occurrence ids, change keys, folder ids and sync states.
//!
//! Each is base64 of a small binary record ending in a checksum, so a client can store and
//! echo them but a damaged or invented one is recognised and refused, as Exchange does.

use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::model::idset::{IdSet, get_varint, put_varint};
use crate::model::{FolderKind, SyncCursor};

const ITEM: u8 = 1;
const OCCURRENCE: u8 = 2;
const FOLDER: u8 = 3;
const CHANGE_KEY: u8 = 4;
const SYNC_STATE: u8 = 5;

/// What an item id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemRef {
    /// A stored item.
    Item {
        /// Mailbox number.
        mailbox: u32,
        /// Item number.
        number: u64,
    },
    /// One occurrence of a recurring series.
    Occurrence {
        /// Mailbox number.
        mailbox: u32,
        /// The series' item number.
        master: u64,
        /// The occurrence's original start.
        original_start: DateTime<Utc>,
    },
}

impl ItemRef {
    /// The mailbox the id belongs to.
    pub fn mailbox(self) -> u32 {
        match self {
            ItemRef::Item { mailbox, .. } | ItemRef::Occurrence { mailbox, .. } => mailbox,
        }
    }
}

fn checksum(bytes: &[u8]) -> [u8; 4] {
    let hash = bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    });
    hash.to_be_bytes()
}

/// A record of `kind` with room for every fixed-size token, so writing one allocates once.
fn record(kind: u8) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(32);
    bytes.push(kind);
    bytes
}

fn seal(mut bytes: Vec<u8>) -> String {
    let sum = checksum(&bytes);
    bytes.extend_from_slice(&sum);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a sealed token of `kind`, returning its payload after the kind byte.
fn open(text: &str, kind: u8) -> Option<Vec<u8>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
    if checksum(body) != sum || body.first() != Some(&kind) {
        return None;
    }
    Some(body[1..].to_vec())
}

fn take<const N: usize>(input: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = input.split_at_checked(N)?;
    *input = rest;
    head.try_into().ok()
}

/// The id of a stored item.
pub fn item_id(mailbox: u32, number: u64) -> String {
    let mut bytes = record(ITEM);
    bytes.extend_from_slice(&mailbox.to_be_bytes());
    bytes.extend_from_slice(&number.to_be_bytes());
    // Exchange ids are long; padding keeps ours from looking like counters.
    bytes.extend_from_slice(&[0x46, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00]);
    seal(bytes)
}

/// The id of one occurrence of a series.
pub fn occurrence_id(mailbox: u32, master: u64, original_start: DateTime<Utc>) -> String {
    let mut bytes = record(OCCURRENCE);
    bytes.extend_from_slice(&mailbox.to_be_bytes());
    bytes.extend_from_slice(&master.to_be_bytes());
    bytes.extend_from_slice(&original_start.timestamp().to_be_bytes());
    seal(bytes)
}

/// Reads an item or occurrence id; `None` when it is not one this simulator issued.
pub fn parse_item_id(text: &str) -> Option<ItemRef> {
    if let Some(payload) = open(text, ITEM) {
        let mut input = payload.as_slice();
        let mailbox = u32::from_be_bytes(take(&mut input)?);
        let number = u64::from_be_bytes(take(&mut input)?);
        return Some(ItemRef::Item { mailbox, number });
    }
    let payload = open(text, OCCURRENCE)?;
    let mut input = payload.as_slice();
    let mailbox = u32::from_be_bytes(take(&mut input)?);
    let master = u64::from_be_bytes(take(&mut input)?);
    let start = i64::from_be_bytes(take(&mut input)?);
    Some(ItemRef::Occurrence {
        mailbox,
        master,
        original_start: DateTime::from_timestamp(start, 0)?,
    })
}

/// The change key of an item at a change number.
pub fn change_key(change: u64) -> String {
    let mut bytes = record(CHANGE_KEY);
    bytes.extend_from_slice(&change.to_be_bytes());
    seal(bytes)
}

/// Reads a change key back into its change number.
pub fn parse_change_key(text: &str) -> Option<u64> {
    let payload = open(text, CHANGE_KEY)?;
    Some(u64::from_be_bytes(take(&mut payload.as_slice())?))
}

fn folder_index(folder: FolderKind) -> u8 {
    match folder {
        FolderKind::Inbox => 0,
        FolderKind::Drafts => 1,
        FolderKind::SentItems => 2,
        FolderKind::DeletedItems => 3,
        FolderKind::Contacts => 4,
        FolderKind::Calendar => 5,
    }
}

fn folder_at(index: u8) -> Option<FolderKind> {
    FolderKind::ALL
        .into_iter()
        .find(|f| folder_index(*f) == index)
}

/// The id of a folder of a mailbox.
pub fn folder_id(mailbox: u32, folder: FolderKind) -> String {
    let mut bytes = record(FOLDER);
    bytes.extend_from_slice(&mailbox.to_be_bytes());
    bytes.push(folder_index(folder));
    bytes.extend_from_slice(&[0x2E, 0x00, 0x00, 0x00, 0x01, 0x00]);
    seal(bytes)
}

/// Reads a folder id.
pub fn parse_folder_id(text: &str) -> Option<(u32, FolderKind)> {
    let payload = open(text, FOLDER)?;
    let mut input = payload.as_slice();
    let mailbox = u32::from_be_bytes(take(&mut input)?);
    let [index] = take::<1>(&mut input)?;
    Some((mailbox, folder_at(index)?))
}

/// The sync state for a cursor of a mailbox's folder.
pub fn sync_state(mailbox: u32, folder: FolderKind, cursor: &SyncCursor) -> String {
    let mut bytes = record(SYNC_STATE);
    bytes.extend_from_slice(&mailbox.to_be_bytes());
    bytes.push(folder_index(folder));
    bytes.extend_from_slice(&cursor.generation.to_be_bytes());
    put_varint(&mut bytes, cursor.watermark);
    cursor.known.encode(&mut bytes);
    seal(bytes)
}

/// Reads a sync state; `None` if damaged, or made for another mailbox or folder.
pub fn parse_sync_state(text: &str, mailbox: u32, folder: FolderKind) -> Option<SyncCursor> {
    let payload = open(text, SYNC_STATE)?;
    let mut input = payload.as_slice();
    let owner = u32::from_be_bytes(take(&mut input)?);
    let [index] = take::<1>(&mut input)?;
    if owner != mailbox || folder_at(index)? != folder {
        return None;
    }
    let generation = u32::from_be_bytes(take(&mut input)?);
    let watermark = get_varint(&mut input)?;
    let known = IdSet::decode(&mut input)?;
    input.is_empty().then_some(SyncCursor {
        generation,
        watermark,
        known,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_damage_is_detected() {
        let id = item_id(7, 42);
        assert_eq!(
            parse_item_id(&id),
            Some(ItemRef::Item {
                mailbox: 7,
                number: 42
            })
        );
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(
            parse_item_id(&occurrence_id(7, 42, start)),
            Some(ItemRef::Occurrence {
                mailbox: 7,
                master: 42,
                original_start: start
            })
        );
        assert_eq!(parse_change_key(&change_key(99)), Some(99));
        assert_eq!(
            parse_folder_id(&folder_id(3, FolderKind::Calendar)),
            Some((3, FolderKind::Calendar))
        );
        let mut damaged = id.into_bytes();
        damaged[6] = if damaged[6] == b'A' { b'B' } else { b'A' };
        assert_eq!(parse_item_id(&String::from_utf8(damaged).unwrap()), None);
        assert_eq!(parse_item_id("not base64 at all!"), None);
        assert_eq!(parse_change_key(&item_id(1, 1)), None);
    }

    #[test]
    fn sync_states_belong_to_one_mailbox_folder() {
        let mut cursor = SyncCursor {
            generation: 2,
            watermark: 1234,
            known: IdSet::new(),
        };
        for n in 1..600 {
            cursor.known.insert(n);
        }
        let state = sync_state(5, FolderKind::Contacts, &cursor);
        assert!(state.len() < 64, "{state}");
        assert_eq!(
            parse_sync_state(&state, 5, FolderKind::Contacts),
            Some(cursor)
        );
        assert_eq!(parse_sync_state(&state, 6, FolderKind::Contacts), None);
        assert_eq!(parse_sync_state(&state, 5, FolderKind::Calendar), None);
    }
}
