//! The webhook's secret token: configured, or derived from the bot token so
//! every replica of one bot agrees on it without more config, and nobody
//! without the bot token can forge it.

use ring::hmac;

/// What the derivation signs (a new label would give every bot a new secret).
const LABEL: &[u8] = b"vox-host webhook secret_token v1";

/// `configured` when set, else HMAC-SHA256(bot token, label) in hex (64
/// characters, inside Telegram's `[A-Za-z0-9_-]{1,256}`).
pub fn secret_token(configured: &str, bot_token: &str) -> String {
    if !configured.is_empty() {
        return configured.to_owned();
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, bot_token.as_bytes());
    let tag = hmac::sign(&key, LABEL);
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares in time independent of where the two differ.
pub fn matches(expected: &str, given: &[u8]) -> bool {
    let expected = expected.as_bytes();
    if expected.len() != given.len() {
        return false;
    }
    expected.iter().zip(given).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_secrets_are_stable_per_token_and_valid_for_telegram() {
        let a = secret_token("", "1:abc");
        assert_eq!(a, secret_token("", "1:abc"), "every replica derives the same one");
        assert_ne!(a, secret_token("", "1:abd"));
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(secret_token("mine", "1:abc"), "mine");
    }

    #[test]
    fn only_the_exact_secret_matches() {
        assert!(matches("s3cret", b"s3cret"));
        assert!(!matches("s3cret", b"s3cres"));
        assert!(!matches("s3cret", b"s3cre"));
        assert!(!matches("s3cret", b""));
    }
}
