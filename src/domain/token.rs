//! Secrets: random and derived tokens, their SHA-256 digests, and comparison.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret shown to its owner once (in an email, or a response) and stored
/// only as its SHA-256. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// A fresh secret from 32 CSPRNG bytes (256 bits), base64url.
    pub fn random(bytes: [u8; 32]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a secret received from a client.
    pub fn from_client(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The secret's text, to hand to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest stored in the database (lowercase hex SHA-256).
    pub fn digest(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Derives the emailed token of a stored row from the server's `key`, a
/// purpose label and the row's random id (128 bits). The queue then carries
/// only the id: the consumer re-derives the token when it renders the email,
/// so no plaintext secret waits in a queue. Without `key` the token cannot be
/// computed from the id; the database keeps only the token's SHA-256.
pub fn derive(key: &[u8], purpose: &str, row_id: &str) -> Secret {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; an
    // empty key is refused by configuration loading before we get here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Secret(String::new()),
    };
    mac.update(purpose.as_bytes());
    mac.update(b"\x00");
    mac.update(row_id.as_bytes());
    Secret(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// Constant-time equality of two digests or secrets.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Whether a client-supplied token has a plausible shape (bounded length,
/// base64url alphabet); anything else is refused before a database read.
pub fn plausible(raw: &str) -> bool {
    (16..=256).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_secrets_carry_256_bits_and_hide_from_debug() {
        let s = Secret::random([1; 32]);
        assert_eq!(s.expose().len(), 43);
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.digest().len(), 64);
        assert_ne!(s.digest(), Secret::random([2; 32]).digest());
    }

    #[test]
    fn derived_tokens_depend_on_key_purpose_and_id() {
        let a = derive(b"k1", "verify_email", "etk_1");
        assert_eq!(a, derive(b"k1", "verify_email", "etk_1"), "deterministic");
        assert_ne!(a, derive(b"k2", "verify_email", "etk_1"));
        assert_ne!(a, derive(b"k1", "password_reset", "etk_1"));
        assert_ne!(a, derive(b"k1", "verify_email", "etk_2"));
        assert!(plausible(a.expose()));
    }

    #[test]
    fn implausible_tokens_are_refused_early() {
        assert!(!plausible(""));
        assert!(!plausible("short"));
        assert!(!plausible(&"a".repeat(300)));
        assert!(!plausible("abc def ghi jkl mno pqr"));
    }
}

/// Purposes of the `email_tokens` rows, as stored and as mixed into derivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Email verification.
    VerifyEmail,
    /// Password reset.
    PasswordReset,
}

impl TokenPurpose {
    /// The stored label.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::PasswordReset => "password_reset",
        }
    }
}

/// The emailed token of an `email_tokens` row (see [`derive`]): the app
/// stores its digest, the queue consumer rebuilds it from the row id.
pub fn email_token(secret: &[u8], purpose: TokenPurpose, row_id: &str) -> Secret {
    derive(secret, purpose.as_str(), row_id)
}

/// The emailed confirmation token of an email channel's address: derived from its row id.
pub fn channel_email_token(secret: &[u8], address_id: &str) -> Secret {
    derive(secret, "channel_email", address_id)
}

/// The emailed token of an invitation: derived from its id and current send nonce.
pub fn invitation_token(secret: &[u8], invitation_id: &str, nonce: &str) -> Secret {
    derive(secret, "invitation", &format!("{invitation_id}:{nonce}"))
}
