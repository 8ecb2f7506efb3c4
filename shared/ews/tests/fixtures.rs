//! Response fixtures, written from Microsoft's documented EWS message shapes, parsed through
//! each operation's `parse_envelope` and checked value by value.
//!
//! Layout of `tests/fixtures/`: one folder per operation holds response messages (success
//! and per-item errors) that must also validate against the EWS schema; `faults/` holds SOAP
//! faults; `broken/` holds bodies that must give an error; `newer_schema/` holds responses
//! with what a newer server may add beyond the 2016 schema, which must parse but need not
//! validate.

mod responses;

use std::io::BufRead;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use mailbridge_ews::ops::{
    CreateItem, DeleteItem, FindItem, GetFolder, GetItem, SyncFolderItems, UpdateItem,
};
use mailbridge_ews::types::{ChangeKey, ItemId};
use mailbridge_ews::{EwsError, Operation};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The bytes of `tests/fixtures/<path>`.
fn load(path: &str) -> Vec<u8> {
    let file = fixtures_dir().join(path);
    std::fs::read(&file).unwrap_or_else(|err| panic!("cannot read {}: {err}", file.display()))
}

/// Parses a fixture as the response of operation `O`.
fn parse<O: Operation>(path: &str) -> Result<O::Response, EwsError> {
    O::parse_envelope(load(path).as_slice())
}

/// An instant written as EWS writes it.
fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("{text}: {err}"))
        .with_timezone(&Utc)
}

/// A calendar date.
fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid calendar date")
}

/// An item id with a change key.
fn id(value: &str, change_key: &str) -> ItemId {
    ItemId::new(value, Some(ChangeKey::new(change_key)))
}

/// Parses `source` with the operation a fixture's folder (or file name) belongs to, and
/// returns the response in debug form so that any two parses can be compared.
fn parse_as(fixture: &str, source: impl BufRead) -> Result<String, EwsError> {
    fn debug<T: std::fmt::Debug>(result: Result<T, EwsError>) -> Result<String, EwsError> {
        result.map(|value| format!("{value:?}"))
    }
    let name = fixture.rsplit('/').next().unwrap_or(fixture);
    let operation = if fixture.starts_with("newer_schema/") {
        name
    } else {
        fixture
    };
    match operation {
        o if o.starts_with("sync_folder_items") => debug(SyncFolderItems::parse_envelope(source)),
        o if o.starts_with("get_item") => debug(GetItem::parse_envelope(source)),
        o if o.starts_with("find_item") => debug(FindItem::parse_envelope(source)),
        o if o.starts_with("get_folder") => debug(GetFolder::parse_envelope(source)),
        o if o.starts_with("create_item") => debug(CreateItem::parse_envelope(source)),
        o if o.starts_with("update_item") => debug(UpdateItem::parse_envelope(source)),
        o if o.starts_with("delete_item") => debug(DeleteItem::parse_envelope(source)),
        // Faults and broken bodies mean the same to every operation.
        _ => debug(SyncFolderItems::parse_envelope(source)),
    }
}

/// Every fixture file, as a path relative to `tests/fixtures/`, sorted.
fn all_fixtures() -> Vec<String> {
    let root = fixtures_dir();
    let mut files = Vec::new();
    let list = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .and_then(|entries| entries.map(|e| e.map(|e| e.path())).collect())
            .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
    };
    for folder in list(&root) {
        for file in list(&folder) {
            let relative = file.strip_prefix(&root).expect("listed under the root");
            files.push(relative.display().to_string());
        }
    }
    files.sort();
    files
}

#[test]
fn every_fixture_has_the_outcome_its_folder_promises() {
    let files = all_fixtures();
    assert!(files.len() > 30, "only {} fixtures found", files.len());

    for file in files {
        let result = parse_as(&file, load(&file).as_slice());
        let expected = match file.split('/').next().unwrap() {
            "broken" => matches!(result, Err(EwsError::Malformed { .. })),
            "faults" => matches!(result, Err(EwsError::SoapFault { .. })),
            _ => matches!(result, Ok(_) | Err(EwsError::Response(_))),
        };
        assert!(expected, "{file}: unexpected outcome {result:?}");
    }
}

#[test]
fn tiny_read_buffers_give_the_same_result_as_one_slice() {
    for file in all_fixtures() {
        let bytes = load(&file);
        let whole = parse_as(&file, bytes.as_slice()).map_err(|e| e.to_string());
        let trickled = parse_as(
            &file,
            std::io::BufReader::with_capacity(1, bytes.as_slice()),
        )
        .map_err(|e| e.to_string());
        assert_eq!(trickled, whole, "{file}");
    }
}

#[test]
fn every_truncation_of_a_response_is_an_error_never_a_panic() {
    for file in all_fixtures()
        .into_iter()
        .filter(|f| !f.starts_with("broken/"))
    {
        let bytes = load(&file);
        let end = bytes.iter().rposition(|&b| b == b'>').unwrap() + 1;
        // A fault or an error message is reported as soon as the body's element is
        // complete; the closing tags after it are not read.
        let body_closing_tag = find_last(&bytes, b"Body>")
            .and_then(|i| bytes[..i].iter().rposition(|&b| b == b'<'))
            .unwrap();
        let body_content_end = bytes[..body_closing_tag]
            .iter()
            .rposition(|&b| b == b'>')
            .unwrap()
            + 1;
        let step = (end / 1500).max(1);
        for cut in (0..end).step_by(step).chain(end.saturating_sub(64)..end) {
            match parse_as(&file, &bytes[..cut]) {
                Err(EwsError::Malformed { .. }) => {}
                Err(EwsError::SoapFault { .. } | EwsError::Response(_))
                    if cut >= body_content_end => {}
                other => panic!("{file} cut at byte {cut} of {end}: {other:?}"),
            }
        }
    }
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}
