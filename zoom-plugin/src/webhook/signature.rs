//! Zoom's webhook signatures: HMAC-SHA256 keyed with the event
//! subscription's secret token, written as lower-case hex.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use soar_plugin_sdk::encode;
use subtle::ConstantTimeEq;

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail here.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    encode::hex(&mac.finalize().into_bytes())
}

/// `x-zm-signature` of a delivery: `v0=` + HMAC of `v0:{timestamp}:{raw body}`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut message = format!("v0:{timestamp}:").into_bytes();
    message.extend_from_slice(body);
    format!("v0={}", hmac_hex(secret, &message))
}

/// The `encryptedToken` answering a URL validation.
pub fn encrypted_token(secret: &str, plain_token: &str) -> String {
    hmac_hex(secret, plain_token.as_bytes())
}

/// Whether `given` is the signature of the delivery, compared in constant
/// time so the comparison leaks nothing of the expected value.
pub fn verify(secret: &str, timestamp: &str, body: &[u8], given: &str) -> bool {
    let expected = signature(secret, timestamp, body);
    expected.as_bytes().ct_eq(given.trim().as_bytes()).into()
}
