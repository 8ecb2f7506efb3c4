//! The secrets file format: a short header, then the name→value map sealed with
//! XChaCha20-Poly1305 under a random nonce.
//!
//! ```text
//! "MBSECRET" | format (1 byte) | nonce (24 bytes) | ciphertext of the map | tag (16 bytes)
//! ```
//!
//! The header is authenticated with the map (as associated data, after a fixed label), so
//! a changed byte anywhere makes the whole file unreadable. Inside, each entry is the
//! name's length (u32, little end), the name, the value's length, the value; names in
//! order.

use std::collections::BTreeMap;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::SecretError;

const MAGIC: &[u8; 8] = b"MBSECRET";
const FORMAT: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + 1 + NONCE_LEN;
/// Binds the ciphertext to its purpose, so a file sealed for something else with the same
/// key does not open as a secrets file.
const LABEL: &[u8] = b"mailbridge local secret file";

/// The secrets, by name.
pub(super) type Secrets = BTreeMap<String, SecretString>;

/// The length of a key file.
pub(super) const KEY_LEN: usize = 32;

/// Opens and seals secrets files with one key.
pub(super) struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    pub(super) fn new(key: &[u8; KEY_LEN]) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// The file bytes holding `secrets`, under a fresh random nonce.
    pub(super) fn seal(&self, secrets: &Secrets) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0_u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SecretError::Unavailable {
            detail: "the system's random source failed".to_owned(),
        })?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.push(FORMAT);
        header.extend_from_slice(&nonce);

        let mut buffer = encode(secrets)?;
        self.cipher
            .encrypt_in_place(&XNonce::from(nonce), &associated(&header), &mut *buffer)
            .map_err(|_| SecretError::Unavailable {
                detail: "the secrets are too large to seal".to_owned(),
            })?;
        let mut file = header;
        file.extend_from_slice(&buffer);
        Ok(file)
    }

    /// The secrets in a file's bytes; `Locked` when they were sealed with another key,
    /// altered, or are not a secrets file at all.
    pub(super) fn open(&self, file: &[u8]) -> Result<Secrets, SecretError> {
        if file.len() < HEADER_LEN + TAG_LEN || !file.starts_with(MAGIC) {
            return Err(locked("the secrets file is not a mailbridge secrets file"));
        }
        let (header, sealed) = file.split_at(HEADER_LEN);
        if header[MAGIC.len()] != FORMAT {
            return Err(locked(
                "the secrets file was written in a newer format; upgrade mailbridge",
            ));
        }
        let nonce = XNonce::try_from(&header[MAGIC.len() + 1..])
            .map_err(|_| locked("the secrets file is not a mailbridge secrets file"))?;

        let mut buffer = Zeroizing::new(sealed.to_vec());
        self.cipher
            .decrypt_in_place(&nonce, &associated(header), &mut *buffer)
            .map_err(|_| {
                locked(
                    "the secrets file cannot be decrypted with this key: the key file is \
                     not the one it was written with, or the file was altered",
                )
            })?;
        decode(&buffer)
    }
}

fn locked(detail: &str) -> SecretError {
    SecretError::Locked {
        detail: detail.to_owned(),
    }
}

fn associated(header: &[u8]) -> Vec<u8> {
    [LABEL, header].concat()
}

/// The plain map, in a buffer sized so that sealing in place never moves it (a move would
/// leave an unwiped copy of the plaintext behind).
fn encode(secrets: &Secrets) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    let size: usize = secrets
        .iter()
        .map(|(name, value)| 8 + name.len() + value.expose_secret().len())
        .sum();
    let mut buffer = Zeroizing::new(Vec::with_capacity(size + TAG_LEN));
    for (name, value) in secrets {
        for part in [name.as_bytes(), value.expose_secret().as_bytes()] {
            let len = u32::try_from(part.len()).map_err(|_| SecretError::Unavailable {
                detail: format!("secret {name} is too large for the local secret file"),
            })?;
            buffer.extend_from_slice(&len.to_le_bytes());
            buffer.extend_from_slice(part);
        }
    }
    Ok(buffer)
}

fn decode(mut plain: &[u8]) -> Result<Secrets, SecretError> {
    let damaged = || locked("the secrets file is damaged inside its seal");
    let take = |plain: &mut &[u8]| -> Result<String, SecretError> {
        let (len, rest) = plain.split_first_chunk::<4>().ok_or_else(damaged)?;
        let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| damaged())?;
        if rest.len() < len {
            return Err(damaged());
        }
        let (text, rest) = rest.split_at(len);
        *plain = rest;
        String::from_utf8(text.to_vec()).map_err(|_| damaged())
    };

    let mut secrets = Secrets::new();
    while !plain.is_empty() {
        let name = take(&mut plain)?;
        let value = SecretString::from(take(&mut plain)?);
        secrets.insert(name, value);
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(pairs: &[(&str, &str)]) -> Secrets {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), SecretString::from((*v).to_owned())))
            .collect()
    }

    fn exposed(secrets: &Secrets) -> Vec<(String, String)> {
        secrets
            .iter()
            .map(|(n, v)| (n.clone(), v.expose_secret().to_owned()))
            .collect()
    }

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let sealer = Sealer::new(&[7; KEY_LEN]);
        let kept = secrets(&[
            ("a", "one"),
            ("tenants/x/client-secret", "ünï 😀"),
            ("empty", ""),
        ]);
        let file = sealer.seal(&kept).unwrap();
        assert_eq!(exposed(&sealer.open(&file).unwrap()), exposed(&kept));

        let other = Sealer::new(&[8; KEY_LEN]);
        assert!(matches!(other.open(&file), Err(SecretError::Locked { .. })));
    }

    #[test]
    fn every_seal_uses_a_new_nonce() {
        let sealer = Sealer::new(&[7; KEY_LEN]);
        let kept = secrets(&[("a", "one")]);
        assert_ne!(sealer.seal(&kept).unwrap(), sealer.seal(&kept).unwrap());
    }

    #[test]
    fn any_changed_byte_locks_the_file() {
        let sealer = Sealer::new(&[7; KEY_LEN]);
        let file = sealer
            .seal(&secrets(&[("a", "one"), ("b", "two")]))
            .unwrap();
        for at in 0..file.len() {
            let mut bent = file.clone();
            bent[at] ^= 0x01;
            assert!(
                matches!(sealer.open(&bent), Err(SecretError::Locked { .. })),
                "byte {at}"
            );
        }
        for len in 0..file.len() {
            assert!(sealer.open(&file[..len]).is_err(), "cut at {len}");
        }
    }

    #[test]
    fn damaged_plaintext_is_refused_not_panicked_on() {
        for plain in [
            &[1_u8][..],
            &[5, 0, 0, 0, b'a'],
            &[1, 0, 0, 0, 0xff, 0, 0, 0, 0],
        ] {
            assert!(decode(plain).is_err());
        }
        assert!(decode(&[]).unwrap().is_empty());
    }
}
