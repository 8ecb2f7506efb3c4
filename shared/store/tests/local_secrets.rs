//! The encrypted local secret file: the shared conformance suite, keys, tampering, file
//! permissions, and secret values kept out of the file and out of every error.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use mailbridge_store::conformance::secret_store_suite;
use mailbridge_store::{LocalSecretFile, SecretError, SecretStore};
use secrecy::{ExposeSecret, SecretString};

const NAME: &str = "tenants/6a1e/client-secret";
const VALUE: &str = "Zq8~value-that-must-never-show-up";

fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("secrets.bin"), dir.join("secrets.key"))
}

async fn stored(dir: &Path) -> LocalSecretFile {
    let (secrets, key) = paths(dir);
    let store = LocalSecretFile::open(&secrets, &key).unwrap();
    store
        .put(NAME, &SecretString::from(VALUE.to_owned()))
        .await
        .unwrap();
    store
}

fn assert_hides_value(error: &SecretError) {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(VALUE), "{shown}");
}

fn assert_locked(result: Result<impl std::fmt::Debug, SecretError>, says: &str) {
    match result {
        Err(error @ SecretError::Locked { .. }) => {
            assert!(error.to_string().contains(says), "{error}");
            assert_hides_value(&error);
        }
        other => panic!("expected Locked ({says}), got {other:?}"),
    }
}

#[tokio::test]
async fn local_secret_file_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    secret_store_suite(async || {
        let n = n.fetch_add(1, Ordering::Relaxed);
        let secrets = dir.path().join(format!("{n}.secrets"));
        LocalSecretFile::open(secrets, dir.path().join(format!("{n}.key"))).unwrap()
    })
    .await;
}

#[tokio::test]
async fn secrets_survive_reopening_and_are_shared_between_handles() {
    let dir = tempfile::tempdir().unwrap();
    let first = stored(dir.path()).await;
    let (secrets, key) = paths(dir.path());
    let second = LocalSecretFile::open(&secrets, &key).unwrap();
    let value = second.get(NAME).await.unwrap().unwrap();
    assert_eq!(value.expose_secret(), VALUE);

    second.delete(NAME).await.unwrap();
    assert!(first.get(NAME).await.unwrap().is_none());
}

#[tokio::test]
async fn a_missing_key_is_created_private_and_the_file_is_private_too() {
    let dir = tempfile::tempdir().unwrap();
    let (secrets, key) = paths(dir.path());
    let store = LocalSecretFile::open(&secrets, &key).unwrap();
    assert_eq!(std::fs::metadata(&key).unwrap().len(), 32);
    assert!(!secrets.exists(), "opening alone writes no secrets file");

    store
        .put(NAME, &SecretString::from(VALUE.to_owned()))
        .await
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for path in [&key, &secrets] {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
    }

    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "temporary files left behind: {left:?}");
}

#[tokio::test]
async fn the_value_and_its_name_never_appear_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = stored(dir.path()).await;
    store
        .put("second", &SecretString::from(VALUE.repeat(3)))
        .await
        .unwrap();
    let (secrets, key) = paths(dir.path());

    let bytes = std::fs::read(&secrets).unwrap();
    let key_bytes = std::fs::read(&key).unwrap();
    for needle in [VALUE.as_bytes(), NAME.as_bytes(), b"second", &key_bytes[..]] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{:?} is readable in the file",
            String::from_utf8_lossy(needle)
        );
    }
    let shown = format!("{store:?}");
    assert!(!shown.contains(VALUE), "{shown}");
}

#[tokio::test]
async fn another_key_cannot_open_the_file() {
    let dir = tempfile::tempdir().unwrap();
    stored(dir.path()).await;
    let (secrets, _) = paths(dir.path());
    let other_key = dir.path().join("other.key");
    LocalSecretFile::open(dir.path().join("unused.bin"), &other_key).unwrap();

    assert_locked(
        LocalSecretFile::open(&secrets, &other_key),
        "cannot be decrypted with this key",
    );
}

#[tokio::test]
async fn a_tampered_file_is_locked_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = stored(dir.path()).await;
    let (secrets, key) = paths(dir.path());
    let mut bytes = std::fs::read(&secrets).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&secrets, &bytes).unwrap();

    assert_locked(store.get(NAME).await, "altered");
    assert_locked(
        store
            .put("other", &SecretString::from(VALUE.to_owned()))
            .await,
        "altered",
    );
    assert_locked(LocalSecretFile::open(&secrets, &key), "altered");
    assert_eq!(
        std::fs::read(&secrets).unwrap(),
        bytes,
        "a locked file is never rewritten"
    );

    std::fs::write(&secrets, b"plain text, not ours").unwrap();
    assert_locked(
        LocalSecretFile::open(&secrets, &key),
        "not a mailbridge secrets file",
    );
}

#[test]
fn a_key_file_of_the_wrong_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (secrets, key) = paths(dir.path());
    for size in [0, 16, 31, 33, 4096] {
        std::fs::write(&key, vec![7_u8; size]).unwrap();
        assert_locked(
            LocalSecretFile::open(&secrets, &key),
            "exactly 32 random bytes",
        );
    }
}

#[tokio::test]
async fn a_lost_key_is_not_replaced_while_secrets_need_it() {
    let dir = tempfile::tempdir().unwrap();
    stored(dir.path()).await;
    let (secrets, key) = paths(dir.path());
    std::fs::remove_file(&key).unwrap();

    assert_locked(LocalSecretFile::open(&secrets, &key), "missing");
    assert!(
        !key.exists(),
        "a new key was made for secrets it cannot read"
    );
}

#[test]
fn an_unreachable_location_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir");
    let error = LocalSecretFile::open(missing.join("s.bin"), missing.join("s.key")).unwrap_err();
    assert!(
        matches!(error, SecretError::Unavailable { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn refused_names_do_not_show_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = stored(dir.path()).await;
    let error = store
        .put("../escape", &SecretString::from(VALUE.to_owned()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, SecretError::InvalidName { .. }),
        "{error:?}"
    );
    assert_hides_value(&error);
}
