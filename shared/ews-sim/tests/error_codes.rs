//! Every EWS response code the simulator can emit, each triggered by a raw SOAP request with
//! its HTTP status and code asserted, each response validated against the EWS schemas; and a
//! guard that fails when the simulator's source names a code no row triggers.

#![allow(clippy::unwrap_used)]

#[path = "error_codes/fixtures.rs"]
mod fixtures;
mod harness;
mod raw;
#[path = "error_codes/rows.rs"]
mod rows;

use std::collections::BTreeSet;
use std::path::Path;

use mailbridge_ews_sim::ews::soap::{MsgError, error_response};

/// Codes no request can reach, each with why, the operation whose response would carry it,
/// and where it is tested. Their response is built with the simulator's own writer and
/// validated like the rest.
const UNREACHABLE: [(&str, &str, &str); 2] = [
    (
        "ErrorItemSave",
        "CreateItem",
        "the store refuses a new item only for a folder that cannot hold it, and CreateItem \
         refuses those first with ErrorCannotCreate*InNon*Folder or \
         ErrorInvalidSendItemSaveSettings; UpdateItem's store refusals are all mapped before. \
         Kept so that a future store refusal is answered, not dropped; the answer is \
         validated in unreachable_codes_would_still_validate",
    ),
    (
        "ErrorCannotDeleteObject",
        "DeleteItem",
        "DeleteItem finds the item before it removes or moves it under the same lock, and \
         Deleted Items accepts every kind of item, so the store cannot refuse; validated in \
         unreachable_codes_would_still_validate",
    ),
];

/// Every `"Error..."` string literal in the simulator's source.
fn codes_in_source() -> BTreeSet<String> {
    fn walk(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (at, _) in text.match_indices("\"Error") {
                    let name: String = text[at + 1..]
                        .chars()
                        .take_while(char::is_ascii_alphanumeric)
                        .collect();
                    if name.len() > "Error".len() && text[at + 1 + name.len()..].starts_with('"') {
                        found.insert(name);
                    }
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    found
}

#[test]
fn every_code_in_the_source_has_a_row_or_a_reason() {
    let in_source = codes_in_source();
    assert!(
        in_source.len() >= 40,
        "the scan found only {} codes: {in_source:?}",
        in_source.len()
    );
    let tabled: BTreeSet<String> = rows::CODES.iter().map(|c| (*c).to_owned()).collect();
    let excused: BTreeSet<String> = UNREACHABLE
        .iter()
        .map(|(c, _, _)| (*c).to_owned())
        .collect();
    let missing: Vec<&String> = in_source
        .iter()
        .filter(|c| !tabled.contains(*c) && !excused.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes the simulator can emit that no row triggers: {missing:?}"
    );
    let stale: Vec<&String> = tabled
        .iter()
        .chain(&excused)
        .filter(|c| !in_source.contains(*c))
        .collect();
    assert!(
        stale.is_empty(),
        "rows for codes the source no longer has: {stale:?}"
    );
    let both: Vec<&String> = tabled.intersection(&excused).collect();
    assert!(both.is_empty(), "excused yet triggered: {both:?}");
}

#[tokio::test]
async fn every_code_is_triggered_with_its_status_and_validates() {
    let env = harness::start().await;
    let fixtures = fixtures::Fixtures::make(&env);
    let token = raw::token(&env).await;
    let cases = rows::cases(&env, &fixtures);
    let triggered: BTreeSet<&str> = cases.iter().map(|c| c.code).collect();
    let listed: BTreeSet<&str> = rows::CODES.iter().copied().collect();
    assert_eq!(triggered, listed, "rows::CODES lists what the rows trigger");
    let responses = raw::run(&env, &token, cases).await;
    raw::assert_valid(responses);
}

#[test]
fn unreachable_codes_would_still_validate() {
    let documents: Vec<(String, Vec<u8>)> = UNREACHABLE
        .iter()
        .map(|(code, op, _)| {
            let err = MsgError::new(code, "The store refused the write.");
            ((*code).to_owned(), error_response(op, &err).into_bytes())
        })
        .collect();
    raw::xmllint::assert_valid(&documents);
}
