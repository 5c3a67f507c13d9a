//! The Server-to-Server OAuth token, kept in the host's per-resource store so
//! that calls and runs share it until shortly before it expires.
//!
//! The entry is keyed by the credentials that fetched it (token URL, client
//! id, a SHA-256 of the secret, account id): change any of them and the old
//! token is never used. Refreshes are single-flight through
//! compare-and-swap: whoever writes first wins and the others use the
//! winner's token, because each new token request may invalidate the tokens
//! other callers hold.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use soar_plugin_sdk::{encode, log, store};

use crate::config::ZoomConfig;

/// Refresh this long before Zoom says the token expires, so a token never
/// dies in flight.
pub const MARGIN_SECS: u64 = 120;

/// A token in use.
#[derive(Debug, Clone)]
pub struct Token {
    pub access_token: String,
    pub scopes: Vec<String>,
}

/// A token as Zoom granted it.
pub struct Granted {
    pub token: Token,
    pub expires_in: u64,
}

/// What the store keeps.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    access_token: String,
    /// Space-separated, as Zoom writes it.
    scope: String,
    /// Seconds since the epoch.
    expires_at: u64,
}

/// The store key of the token `config` fetches.
pub fn key(config: &ZoomConfig) -> String {
    let secret = Sha256::digest(config.client_secret.as_bytes());
    let mut credentials = Sha256::new();
    // Length-prefixed, so no two different credential sets hash alike.
    for part in [
        config.oauth_token_url.as_bytes(),
        config.client_id.as_bytes(),
        encode::hex(&secret).as_bytes(),
        config.account_id.as_bytes(),
    ] {
        credentials.update((part.len() as u64).to_be_bytes());
        credentials.update(part);
    }
    format!("zoom-token:v1:{}", encode::hex(&credentials.finalize()))
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The stored entry: its version (for compare-and-swap) and its token if it
/// is still good. A store that cannot be read is treated as empty: the token
/// is an optimisation, the call must still work.
pub fn read(key: &str) -> (Option<u64>, Option<Token>) {
    match store::get(key) {
        Ok(Some(entry)) => {
            let token = serde_json::from_str::<Stored>(&entry.value)
                .ok()
                .filter(|s| s.expires_at > now_secs() + MARGIN_SECS / 2)
                .map(|s| Token {
                    scopes: scopes_of(&s.scope),
                    access_token: s.access_token,
                });
            (Some(entry.version), token)
        }
        Ok(None) => (None, None),
        Err(e) => {
            log::warn(&format!("cannot read the stored Zoom token: {}", e.message));
            (None, None)
        }
    }
}

fn entry(granted: &Granted) -> Option<(String, u32)> {
    let ttl = granted.expires_in.saturating_sub(MARGIN_SECS);
    if ttl == 0 {
        return None;
    }
    let stored = Stored {
        access_token: granted.token.access_token.clone(),
        scope: granted.token.scopes.join(" "),
        expires_at: now_secs() + granted.expires_in,
    };
    let text = serde_json::to_string(&stored).ok()?;
    Some((text, u32::try_from(ttl).unwrap_or(u32::MAX)))
}

/// Offers a fresh token to the store, replacing the entry at `expected`
/// (`None`: only if there is none). If another caller wrote first, its token
/// is the one to use.
pub fn publish(key: &str, expected: Option<u64>, granted: Granted) -> Token {
    let Some((value, ttl)) = entry(&granted) else {
        return granted.token;
    };
    match store::compare_and_swap(key, expected, &value, ttl) {
        Ok(Some(_)) => granted.token,
        Ok(None) => match read(key) {
            (_, Some(winner)) => {
                log::debug("another call refreshed the Zoom token first; using its token");
                winner
            }
            (_, None) => granted.token,
        },
        Err(e) => {
            log::warn(&format!("cannot store the Zoom token: {}", e.message));
            granted.token
        }
    }
}

/// Stores a token unconditionally (the connectivity test's fresh one).
/// Answers why not, if the store refused.
pub fn replace(key: &str, granted: &Granted) -> Result<(), String> {
    let Some((value, ttl)) = entry(granted) else {
        return Err("Zoom's token expires too soon to keep".into());
    };
    store::set(key, &value, ttl)
        .map(|_| ())
        .map_err(|e| e.message)
}

/// Forgets the stored token (Zoom refused it).
pub fn forget(key: &str) {
    if let Err(e) = store::delete(key) {
        log::warn(&format!(
            "cannot delete the stored Zoom token: {}",
            e.message
        ));
    }
}

pub fn scopes_of(scope: &str) -> Vec<String> {
    scope.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secret: &str) -> ZoomConfig {
        ZoomConfig {
            oauth_token_url: "https://zoom.us/".into(),
            api_url: "https://api.zoom.us/".into(),
            client_id: "id".into(),
            client_secret: secret.into(),
            account_id: "acct".into(),
            user: false,
            call_api_methods: vec!["GET".into()],
        }
    }

    #[test]
    fn the_key_follows_the_credentials_and_hides_the_secret() {
        let a = key(&config("secret-one"));
        assert!(a.starts_with("zoom-token:v1:") && a.len() == 14 + 64, "{a}");
        assert!(!a.contains("secret-one"));
        assert_eq!(a, key(&config("secret-one")));
        assert_ne!(a, key(&config("secret-two")));
    }
}
