//! Tokens at rest: each sealed with XChaCha20-Poly1305 (a random 24-byte
//! nonce per seal) under a key that is not in the store: `$SOAR_HOST_TOKEN_KEY`
//! (64 hex digits, for a service whose secrets come from its platform), else
//! `token.key` beside the store, created 0600 with a random key on first use.
//! The resource's key is the associated data: a sealed token copied to
//! another resource's row does not open.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

/// The environment variable that holds the key, as 64 hex digits.
pub const KEY_VAR: &str = "SOAR_HOST_TOKEN_KEY";
/// The key file beside the store.
pub const KEY_FILE: &str = "token.key";
const NONCE_BYTES: usize = 24;

pub struct Vault {
    cipher: XChaCha20Poly1305,
}

impl Vault {
    /// The key from [`KEY_VAR`], else from `dir`'s key file (made if absent).
    pub fn open(dir: &Path) -> Result<Self, String> {
        let key = match std::env::var(KEY_VAR) {
            Ok(hex) if !hex.trim().is_empty() => parse_hex(hex.trim()).ok_or_else(|| {
                format!(
                    "{KEY_VAR} must be 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`"
                )
            })?,
            _ => key_file(dir)?,
        };
        Ok(Self::with_key(&key))
    }

    pub fn with_key(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// `plaintext` sealed, bound to `label`: base64 of nonce and ciphertext.
    pub fn seal(&self, plaintext: &[u8], label: &str) -> String {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: label.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any message of this size");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        STANDARD_NO_PAD.encode(out)
    }

    /// What [`Vault::seal`] sealed with this key and `label`.
    pub fn open_sealed(&self, sealed: &str, label: &str) -> Result<Vec<u8>, String> {
        let bytes = STANDARD_NO_PAD
            .decode(sealed)
            .map_err(|_| "a stored token is not in the vault's form".to_owned())?;
        if bytes.len() < NONCE_BYTES {
            return Err("a stored token is too short".into());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| {
                format!(
                    "a stored token does not open with this key (was {KEY_VAR} or {KEY_FILE} changed?); run `soar-host auth login` again"
                )
            })
    }
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

/// `dir/token.key`: read, or created 0600 (exclusively: two processes
/// creating it at once agree on one key) with 32 random bytes as hex.
fn key_file(dir: &Path) -> Result<[u8; 32], String> {
    crate::private_dir::prepare(dir)
        .map_err(|e| format!("state directory {}: {e}", dir.display()))?;
    let path = dir.join(KEY_FILE);
    let mut create = fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(&path) {
        Ok(mut file) => {
            let key: [u8; 32] = rand::random();
            file.write_all(crate::hex(&key).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(format!(
                        "{} can be read by others; `chmod 600` it",
                        path.display()
                    ));
                }
            }
            // A file another process is writing this instant: wait for its 64 digits.
            for _ in 0..50 {
                let text =
                    fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                if let Some(key) = parse_hex(text.trim()) {
                    return Ok(key);
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(format!(
                "{} does not hold a key (64 hex digits); remove it to make a new one (stored tokens are then lost)",
                path.display()
            ))
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_open_only_with_their_key_and_label() {
        let vault = Vault::with_key(&[7; 32]);
        let sealed = vault.seal(b"refresh-token-value", "zoom-a");
        assert!(!sealed.contains("refresh-token-value"));
        assert_eq!(
            vault.open_sealed(&sealed, "zoom-a").unwrap(),
            b"refresh-token-value"
        );
        assert!(
            vault.open_sealed(&sealed, "zoom-b").is_err(),
            "bound to its label"
        );
        assert!(
            Vault::with_key(&[8; 32])
                .open_sealed(&sealed, "zoom-a")
                .is_err()
        );
        assert_ne!(
            sealed,
            vault.seal(b"refresh-token-value", "zoom-a"),
            "a nonce per seal"
        );
    }

    #[test]
    fn the_key_file_is_made_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let first = key_file(&state).unwrap();
        assert_eq!(key_file(&state).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(state.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
