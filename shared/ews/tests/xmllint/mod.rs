//! Validates whole SOAP envelopes against Microsoft's EWS schemas with `xmllint`, offline.
//!
//! The schemas live beside the repository (`<repo root>/../shared/ews-schema`); their
//! catalog maps the W3C `xml.xsd` import to a local copy, and `--nonet` keeps xmllint from
//! ever reaching for the network. Each run writes its documents into a fresh directory under
//! the system temp dir and removes it afterwards.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The folder holding `soap-envelope-lax.xsd`, `catalog.xml` and the EWS schemas.
pub fn schema_dir() -> PathBuf {
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = repo_root.join("../shared/ews-schema");
    dir.canonicalize().unwrap_or_else(|err| {
        panic!(
            "the EWS schema folder {} is missing ({err}); it should sit beside the repository",
            dir.display()
        )
    })
}

/// What xmllint said about one document: `Ok` when it validates, otherwise its messages.
pub type Verdict = Result<(), String>;

/// Validates each `(name, document)` against the lax SOAP envelope schema in one xmllint
/// run, and returns a verdict per name. Panics, with what to install, if xmllint is missing.
pub fn validate(documents: &[(String, Vec<u8>)]) -> BTreeMap<String, Verdict> {
    let schemas = schema_dir();
    let work = WorkDir::new();
    let mut files = Vec::new();
    for (index, (name, content)) in documents.iter().enumerate() {
        let file = work.0.join(format!("{index:03}-{}.xml", file_stem(name)));
        std::fs::write(&file, content).expect("write a document to validate");
        files.push((name.clone(), file));
    }

    let output = Command::new("xmllint")
        .env("XML_CATALOG_FILES", schemas.join("catalog.xml"))
        .arg("--nonet")
        .arg("--noout")
        .arg("--schema")
        .arg(schemas.join("soap-envelope-lax.xsd"))
        .args(files.iter().map(|(_, file)| file))
        .output()
        .unwrap_or_else(|err| match err.kind() {
            ErrorKind::NotFound => panic!(
                "xmllint is not installed, so EWS messages cannot be checked against the schema: \
                 install libxml2-utils (apt-get install libxml2-utils; the CI script installs it)"
            ),
            _ => panic!("could not run xmllint: {err}"),
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    // 0: all valid; 3: some failed validation. Anything else means the schema did not load
    // or xmllint itself failed, which no verdict per document can describe.
    match output.status.code() {
        Some(0 | 3) => {}
        _ => panic!(
            "xmllint failed ({}) before validating; is the schema folder intact?\n{stderr}",
            output.status
        ),
    }

    files
        .into_iter()
        .map(|(name, file)| {
            let path = file.to_string_lossy().into_owned();
            let messages: Vec<String> = stderr
                .lines()
                .filter(|line| {
                    line.strip_prefix(path.as_str())
                        .is_some_and(|rest| rest.starts_with(':'))
                })
                .map(|line| line.replacen(path.as_str(), &name, 1))
                .collect();
            let validates = stderr
                .lines()
                .any(|line| line == format!("{path} validates"));
            let verdict = if validates && messages.is_empty() {
                Ok(())
            } else if messages.is_empty() {
                Err(format!("{name}: xmllint gave no verdict\n{stderr}"))
            } else {
                Err(messages.join("\n"))
            };
            (name, verdict)
        })
        .collect()
}

/// Validates the documents and panics listing every one that does not validate.
pub fn assert_valid(documents: &[(String, Vec<u8>)]) {
    assert!(!documents.is_empty(), "nothing to validate");
    let failures: Vec<String> = validate(documents)
        .into_iter()
        .filter_map(|(name, verdict)| verdict.err().map(|err| format!("{name}:\n{err}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} documents do not validate against the EWS schema:\n\n{}",
        failures.len(),
        documents.len(),
        failures.join("\n\n")
    );
}

fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A fresh directory under the system temp dir, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> WorkDir {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "mailbridge-ews-xmllint-{}-{}-{nanos}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create a temp dir for xmllint");
        WorkDir(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
