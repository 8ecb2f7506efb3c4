//! Validates SOAP faults with xmllint against `tests/schemas/soap-fault.xsd`: a SOAP 1.1
//! fault envelope whose detail is checked against the EWS schemas beside the repository.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::xmllint::schema_dir;

fn fault_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/soap-fault.xsd")
}

/// Validates every fault in one xmllint run; panics listing each one that does not.
pub fn assert_valid(faults: &[(String, Vec<u8>)]) {
    assert!(!faults.is_empty(), "no faults to validate");
    let failures = failures(faults);
    assert!(
        failures.is_empty(),
        "{} of {} faults do not validate:\n\n{}",
        failures.len(),
        faults.len(),
        failures.join("\n\n")
    );
}

/// What xmllint said about each fault that does not validate, in one run.
pub fn failures(faults: &[(String, Vec<u8>)]) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!(
        "mailbridge-ews-sim-faults-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("a temp dir for xmllint");
    let files: Vec<(String, PathBuf)> = faults
        .iter()
        .enumerate()
        .map(|(n, (name, body))| {
            let file = dir.join(format!("{n:03}.xml"));
            std::fs::write(&file, body).expect("write a fault to validate");
            (name.clone(), file)
        })
        .collect();
    let output = Command::new("xmllint")
        .env("XML_CATALOG_FILES", schema_dir().join("catalog.xml"))
        .args(["--nonet", "--noout", "--schema"])
        .arg(fault_schema())
        .args(files.iter().map(|(_, f)| f))
        .output()
        .expect("xmllint runs (apt-get install libxml2-utils)");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "xmllint could not load the fault schema ({}):\n{stderr}",
        output.status
    );
    files
        .iter()
        .filter(|(_, file)| {
            let validates = format!("{} validates", file.display());
            !stderr.lines().any(|line| line == validates)
        })
        .map(|(name, file)| {
            let path = file.display().to_string();
            let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with(&path)).collect();
            format!("{name}:\n{}", said.join("\n"))
        })
        .collect()
}
