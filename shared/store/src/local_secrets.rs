//! The embedded secret store: one encrypted file on the local disk and a key file beside
//! it (or elsewhere, e.g. on a separate volume).
//!
//! The key file holds 32 random bytes and is created (mode 0600) on first use. The
//! secrets file holds every name and value sealed together with XChaCha20-Poly1305 under a
//! fresh random nonce on each write; it is replaced atomically (written to a temporary
//! file, flushed, renamed), so a crash leaves the old or the new file, never half of one.
//! A wrong key or an altered file is refused whole as `Locked`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::SecretError;
use crate::secret::{SecretStore, check_name};

mod sealed;

use sealed::{KEY_LEN, Sealer, Secrets};

/// A [`SecretStore`] in an encrypted local file.
///
/// Every call reads the file afresh, so several processes on one host share it; writes
/// are serialised within the process and, through a lock on the key file, across
/// processes.
// LIMIT: calls do their small file I/O on the calling thread (the file holds a few
// secrets, read and written whole), which blocks an async executor thread briefly.
pub struct LocalSecretFile {
    path: PathBuf,
    key_path: PathBuf,
    sealer: Sealer,
    writing: Mutex<()>,
}

impl std::fmt::Debug for LocalSecretFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSecretFile")
            .field("path", &self.path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

impl LocalSecretFile {
    /// Opens the secrets file at `secrets_path` (an absent file holds no secrets yet) with
    /// the key in `key_path`, creating a new random key there when neither file exists.
    ///
    /// Fails with `Locked` when the key file is not 32 bytes, when the key is missing but
    /// the secrets file exists (a new key could not read it), or when the secrets file
    /// does not open with this key; with `Unavailable` when a file cannot be read or
    /// created.
    pub fn open(
        secrets_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<LocalSecretFile, SecretError> {
        let (path, key_path) = (secrets_path.as_ref(), key_path.as_ref());
        let key = load_or_create_key(key_path, path)?;
        let store = LocalSecretFile {
            path: path.to_owned(),
            key_path: key_path.to_owned(),
            sealer: Sealer::new(&key),
            writing: Mutex::new(()),
        };
        store.load()?;
        Ok(store)
    }

    fn load(&self) -> Result<Secrets, SecretError> {
        match fs::read(&self.path) {
            Ok(bytes) => self.sealer.open(&bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Secrets::new()),
            Err(e) => Err(unavailable("reading", &self.path, &e)),
        }
    }

    /// Reads, edits and writes back the secrets while holding the write locks; `edit`
    /// says whether anything changed.
    fn change(&self, edit: impl FnOnce(&mut Secrets) -> bool) -> Result<(), SecretError> {
        let _in_process = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let _across_processes = self.lock_key_file()?;
        let mut secrets = self.load()?;
        if edit(&mut secrets) {
            write_atomically(&self.path, &self.sealer.seal(&secrets)?)?;
        }
        Ok(())
    }

    fn lock_key_file(&self) -> Result<Option<File>, SecretError> {
        let file =
            File::open(&self.key_path).map_err(|e| unavailable("opening", &self.key_path, &e))?;
        match file.lock() {
            Ok(()) => Ok(Some(file)),
            // LIMIT: where the platform has no file locks, two processes writing at the
            // same moment can lose one of the writes.
            Err(e) if e.kind() == io::ErrorKind::Unsupported => Ok(None),
            Err(e) => Err(unavailable("locking", &self.key_path, &e)),
        }
    }
}

impl SecretStore for LocalSecretFile {
    async fn put(&self, name: &str, value: &SecretString) -> Result<(), SecretError> {
        check_name(name)?;
        self.change(|secrets| {
            let value = SecretString::from(value.expose_secret().to_owned());
            secrets.insert(name.to_owned(), value);
            true
        })
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        check_name(name)?;
        let secrets = self.load()?;
        Ok(secrets
            .get(name)
            .map(|value| SecretString::from(value.expose_secret().to_owned())))
    }

    async fn delete(&self, name: &str) -> Result<(), SecretError> {
        check_name(name)?;
        self.change(|secrets| secrets.remove(name).is_some())
    }
}

fn unavailable(action: &str, path: &Path, error: &io::Error) -> SecretError {
    SecretError::Unavailable {
        detail: format!("{action} {}: {error}", path.display()),
    }
}

fn key_error(key_path: &Path, problem: &str) -> SecretError {
    SecretError::Locked {
        detail: format!("key file {}: {problem}", key_path.display()),
    }
}

/// The key in `key_path`, or a new one written there when neither it nor the secrets
/// file exists yet.
fn load_or_create_key(
    key_path: &Path,
    secrets_path: &Path,
) -> Result<Zeroizing<[u8; KEY_LEN]>, SecretError> {
    match File::open(key_path) {
        Ok(file) => read_key(file, key_path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if secrets_path.exists() {
                return Err(key_error(
                    key_path,
                    &format!(
                        "missing, but the secrets file {} exists; restore the key it was \
                         written with (a new key could not read it)",
                        secrets_path.display()
                    ),
                ));
            }
            create_key(key_path, secrets_path)
        }
        Err(e) => Err(unavailable("opening", key_path, &e)),
    }
}

fn read_key(file: File, key_path: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, SecretError> {
    // One byte more than a key is enough to tell a wrong file; never read a big one.
    let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
    file.take(KEY_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unavailable("reading", key_path, &e))?;
    let mut key = Zeroizing::new([0_u8; KEY_LEN]);
    if bytes.len() != KEY_LEN {
        let size = if bytes.len() > KEY_LEN {
            format!("more than {KEY_LEN}")
        } else {
            bytes.len().to_string()
        };
        return Err(key_error(
            key_path,
            &format!(
                "holds {size} bytes; a mailbridge secret key is exactly {KEY_LEN} random bytes"
            ),
        ));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

fn create_key(
    key_path: &Path,
    secrets_path: &Path,
) -> Result<Zeroizing<[u8; KEY_LEN]>, SecretError> {
    let mut key = Zeroizing::new([0_u8; KEY_LEN]);
    getrandom::fill(&mut key[..]).map_err(|_| SecretError::Unavailable {
        detail: "the system's random source failed".to_owned(),
    })?;
    match private_file(key_path) {
        Ok(mut file) => {
            file.write_all(&key[..])
                .and_then(|()| file.sync_all())
                .map_err(|e| unavailable("writing", key_path, &e))?;
            Ok(key)
        }
        // LIMIT: another process created it first; if it has not finished writing the
        // key yet, this open fails as a short key file and succeeds when retried.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            load_or_create_key(key_path, secrets_path)
        }
        Err(e) => Err(unavailable("creating", key_path, &e)),
    }
}

/// A new file only its owner can read and write.
fn private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Replaces `path` with `bytes` so that readers see the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SecretError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut suffix = [0_u8; 8];
    getrandom::fill(&mut suffix).map_err(|_| SecretError::Unavailable {
        detail: "the system's random source failed".to_owned(),
    })?;
    let name = path
        .file_name()
        .map_or_else(|| "secrets".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{:016x}.tmp", u64::from_le_bytes(suffix)));

    let written = private_file(&temp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(unavailable("writing", path, &e));
    }
    // The rename is durable only once the directory is flushed; not every file system
    // can flush a directory, and the file itself is already safe, so failures are ignored.
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}
