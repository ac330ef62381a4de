//! Secrets sealed at rest: the few secrets we must be able to read back (TOTP
//! secrets, webhook signing secrets: HMAC needs the raw key) are encrypted
//! with AES-256-GCM under a key derived from the Worker secret
//! `TOTP_ENCRYPTION_KEY` (the master key).
//!
//! * One sub-key per [`Purpose`], derived with HKDF-SHA-256 (RFC 5869): a
//!   value of one purpose never opens as another.
//! * Each value is bound to its purpose and its row id through the AEAD's
//!   associated data: copied to another row or another table, it fails to
//!   open (the tag covers the binding).
//! * Stored as `<key id>.<base64url(nonce || ciphertext || tag)>`. The key id
//!   (`k` + 8 hex digits) is a fingerprint of the master key, so a value
//!   names the master it needs: after a rotation, the previous master
//!   (`TOTP_ENCRYPTION_KEY_PREVIOUS`) still opens what it sealed, and
//!   [`Opened::stale`] tells the caller to seal it again under the current one.
//! * Values sealed before this format (bare base64url of `nonce || ciphertext
//!   || tag` under the master itself, no associated data) still open, under
//!   the current or the previous master, and are stale.
//!
//! Pure: the nonce comes in as an argument.
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use sha2::Sha256;

/// Bytes of CSPRNG output for an AES-GCM nonce; a fresh nonce per seal.
pub const NONCE_BYTES: usize = 12;
/// AES-GCM authentication tag length, appended to the ciphertext.
const TAG_BYTES: usize = 16;
/// HKDF salt: fixed and public (RFC 5869 §3.1 allows it); it separates our
/// derivations from any other use of the same master.
const SALT: &[u8] = b"latchkey sealed secrets v1";
/// Separates the key id in a stored value from the sealed bytes. Never
/// appears in base64url, so a value without it is the legacy format.
const SEPARATOR: char = '.';

/// What a sealed value is for. Each purpose has its own sub-key and its own
/// associated data; adding one does not change any other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `totp_credentials.secret_enc`, bound to the user id.
    TotpSecret,
    /// `notification_channels.secret` and `.previous_secret`, bound to the channel id.
    WebhookSigningSecret,
    /// `sso_connections.client_secret_sealed`, bound to the connection id.
    SsoClientSecret,
}

impl Purpose {
    /// The HKDF `info` label and the associated data's purpose. Must never
    /// change: stored values depend on it.
    fn label(self) -> &'static str {
        match self {
            Purpose::TotpSecret => "totp_credentials.secret_enc",
            Purpose::WebhookSigningSecret => "notification_channels.secret",
            Purpose::SsoClientSecret => "sso_connections.client_secret",
        }
    }
}

/// What can go wrong. Neither carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// A master key is not 64 hexadecimal characters.
    #[error("a sealing key must be exactly 64 hexadecimal characters (32 bytes)")]
    InvalidKey,
    /// Malformed, tampered with, moved to another row or purpose, or sealed
    /// under a master we do not hold. One variant for all: callers act the
    /// same way, and the distinction would only help someone probing.
    #[error("sealed value cannot be opened (malformed, tampered with, moved, or another key)")]
    Open,
}

/// A 32-byte master key. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; 32],
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    /// The key from its 32 bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        let mut fingerprint = [0u8; 4];
        expand(&bytes, b"latchkey key id", &mut fingerprint);
        Self { bytes, id: format!("k{}", hex::encode(fingerprint)) }
    }

    /// Parses 64 hexadecimal characters (either case); surrounding
    /// whitespace is ignored (pasted secrets often end in a newline).
    pub fn parse_hex(hex_key: &str) -> Result<Self, SealError> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_key.trim(), &mut key).map_err(|_| SealError::InvalidKey)?;
        Ok(Self::new(key))
    }

    /// The key id stored in front of every value it seals: `k` and 8 hex
    /// digits of an HKDF output (reveals nothing usable about the key).
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self, purpose: Purpose) -> Aes256Gcm {
        let mut sub = [0u8; 32];
        expand(&self.bytes, purpose.label().as_bytes(), &mut sub);
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(sub))
    }

    /// The pre-HKDF format's cipher: the master itself.
    fn legacy_cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.bytes))
    }
}

/// HKDF-SHA-256 of `master` with [`SALT`], expanded for `info`.
fn expand(master: &[u8; 32], info: &[u8], out: &mut [u8]) {
    // `expand` fails only for outputs over 255 × 32 bytes; ours are 4 or 32.
    if Hkdf::<Sha256>::new(Some(SALT), master).expand(info, out).is_err() {
        out.fill(0);
    }
}

/// The associated data: format, key id, purpose and row, each
/// length-prefixed so no two bindings share an encoding.
fn associated_data(key_id: &str, purpose: Purpose, row_id: &str) -> Vec<u8> {
    let mut ad = Vec::with_capacity(64 + row_id.len());
    for part in ["latchkey sealed v1", key_id, purpose.label(), row_id] {
        ad.extend_from_slice(&(part.len() as u32).to_be_bytes());
        ad.extend_from_slice(part.as_bytes());
    }
    ad
}

/// The current master, and the previous one during a rotation.
#[derive(Debug, Clone)]
pub struct SealingKeys {
    current: MasterKey,
    previous: Option<MasterKey>,
}

/// An opened value.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    /// The secret.
    pub plaintext: Vec<u8>,
    /// Not in the current format under the current key (legacy format, or
    /// the previous key): seal it again with [`SealingKeys::seal`].
    pub stale: bool,
}

impl SealingKeys {
    /// Keys from the current master and, during a rotation, the previous one.
    pub fn new(current: MasterKey, previous: Option<MasterKey>) -> Self {
        Self { current, previous }
    }

    /// The current key's id: what every freshly sealed value starts with.
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Whether a previous key is configured (a rotation is under way).
    pub fn rotating(&self) -> bool {
        self.previous.is_some()
    }

    /// Seals `plaintext` for the row `row_id` of `purpose` under the current
    /// key, with the caller's fresh random `nonce` (never reuse one).
    pub fn seal(&self, purpose: Purpose, row_id: &str, nonce: [u8; NONCE_BYTES], plaintext: &[u8]) -> String {
        let key = &self.current;
        let aad = associated_data(key.id(), purpose, row_id);
        match key.cipher(purpose).encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: &aad }) {
            Ok(ciphertext) => {
                let mut blob = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
                blob.extend_from_slice(&nonce);
                blob.extend_from_slice(&ciphertext);
                format!("{}{SEPARATOR}{}", key.id(), URL_SAFE_NO_PAD.encode(blob))
            }
            // AES-GCM refuses only plaintexts over 64 GiB. Were it ever to
            // fail, an empty string never opens, so the failure cannot turn
            // into a usable or guessable secret.
            Err(_) => String::new(),
        }
    }

    /// Opens what [`SealingKeys::seal`] produced for this purpose and row,
    /// under the current or the previous key, or a legacy value (no key
    /// id, no binding) under either.
    pub fn open(&self, purpose: Purpose, row_id: &str, stored: &str) -> Result<Opened, SealError> {
        let Some((key_id, body)) = stored.split_once(SEPARATOR) else {
            return self.open_legacy(stored);
        };
        let (key, stale) = if key_id == self.current.id() {
            (&self.current, false)
        } else {
            match &self.previous {
                Some(previous) if key_id == previous.id() => (previous, true),
                _ => return Err(SealError::Open),
            }
        };
        let (nonce, ciphertext) = split(body)?;
        let aad = associated_data(key.id(), purpose, row_id);
        let plaintext = key
            .cipher(purpose)
            .decrypt(&Nonce::from(nonce), Payload { msg: &ciphertext, aad: &aad })
            .map_err(|_| SealError::Open)?;
        Ok(Opened { plaintext, stale })
    }

    /// The format before key ids: the master itself, no associated data.
    fn open_legacy(&self, stored: &str) -> Result<Opened, SealError> {
        let (nonce, ciphertext) = split(stored)?;
        for key in std::iter::once(&self.current).chain(self.previous.as_ref()) {
            if let Ok(plaintext) = key.legacy_cipher().decrypt(&Nonce::from(nonce), ciphertext.as_slice()) {
                return Ok(Opened { plaintext, stale: true });
            }
        }
        Err(SealError::Open)
    }

    /// Opens a value and, if it is stale, seals it again under the current
    /// key (same purpose and row, fresh `nonce`): `(plaintext, Some(new))`,
    /// or `(plaintext, None)` when it was current already.
    pub fn reseal(
        &self,
        purpose: Purpose,
        row_id: &str,
        stored: &str,
        nonce: [u8; NONCE_BYTES],
    ) -> Result<(Vec<u8>, Option<String>), SealError> {
        let opened = self.open(purpose, row_id, stored)?;
        let fresh = opened.stale.then(|| self.seal(purpose, row_id, nonce, &opened.plaintext));
        Ok((opened.plaintext, fresh))
    }
}

/// `nonce || ciphertext || tag` from base64url without padding.
fn split(body: &str) -> Result<([u8; NONCE_BYTES], Vec<u8>), SealError> {
    let blob = URL_SAFE_NO_PAD.decode(body).map_err(|_| SealError::Open)?;
    if blob.len() < NONCE_BYTES + TAG_BYTES {
        return Err(SealError::Open);
    }
    let (nonce, ciphertext) = blob.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::Open)?;
    Ok((nonce, ciphertext.to_vec()))
}

/// Seals the legacy way (master key, no key id, no associated data): only
/// for tests that prove such values still open.
#[cfg(test)]
pub fn seal_legacy(master: &MasterKey, nonce: [u8; NONCE_BYTES], plaintext: &[u8]) -> String {
    let mut blob = nonce.to_vec();
    blob.extend(master.legacy_cipher().encrypt(&Nonce::from(nonce), plaintext).unwrap_or_default());
    URL_SAFE_NO_PAD.encode(blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> MasterKey {
        MasterKey::new([b; 32])
    }

    fn keys(current: u8, previous: Option<u8>) -> SealingKeys {
        SealingKeys::new(key(current), previous.map(key))
    }

    const SECRET: &[u8] = b"twenty bytes secret!";

    #[test]
    fn a_sealed_value_opens_for_its_purpose_and_row_only() {
        let k = keys(1, None);
        let stored = k.seal(Purpose::TotpSecret, "usr_a", [7; NONCE_BYTES], SECRET);
        assert!(stored.starts_with(&format!("{}.", k.current_id())), "{stored}");
        assert_eq!(
            k.open(Purpose::TotpSecret, "usr_a", &stored),
            Ok(Opened { plaintext: SECRET.to_vec(), stale: false })
        );
        // Moved to another row, or read as the other table's column.
        assert_eq!(k.open(Purpose::TotpSecret, "usr_b", &stored), Err(SealError::Open), "another row");
        assert_eq!(k.open(Purpose::WebhookSigningSecret, "usr_a", &stored), Err(SealError::Open), "another table");
        assert_eq!(k.open(Purpose::TotpSecret, "usr_a2", &stored), Err(SealError::Open), "a longer id");
        assert_eq!(k.open(Purpose::TotpSecret, "", &stored), Err(SealError::Open), "no id");
        // Another key id in front (the header is bound too).
        let other = keys(2, None);
        let swapped = stored.replacen(k.current_id(), other.current_id(), 1);
        assert_eq!(keys(1, Some(2)).open(Purpose::TotpSecret, "usr_a", &swapped), Err(SealError::Open));
    }

    #[test]
    fn purposes_use_different_sub_keys() {
        // The same nonce, row and secret under two purposes: different bytes.
        let k = keys(1, None);
        let a = k.seal(Purpose::TotpSecret, "x", [0; NONCE_BYTES], SECRET);
        let b = k.seal(Purpose::WebhookSigningSecret, "x", [0; NONCE_BYTES], SECRET);
        assert_ne!(a, b);
    }

    #[test]
    fn every_flipped_byte_and_malformation_is_refused() {
        let k = keys(3, None);
        let stored = k.seal(Purpose::WebhookSigningSecret, "nch_1", [9; NONCE_BYTES], SECRET);
        let (id, body) = stored.split_once('.').unwrap();
        let blob = URL_SAFE_NO_PAD.decode(body).unwrap();
        assert_eq!(blob.len(), NONCE_BYTES + SECRET.len() + TAG_BYTES);
        for i in 0..blob.len() {
            let mut t = blob.clone();
            t[i] ^= 1;
            let t = format!("{id}.{}", URL_SAFE_NO_PAD.encode(t));
            assert_eq!(k.open(Purpose::WebhookSigningSecret, "nch_1", &t), Err(SealError::Open), "byte {i}");
        }
        for bad in ["", ".", &format!("{id}."), &format!("{id}.!!!!"), &stored[..stored.len() - 2], "k00000000.AAAA"] {
            assert_eq!(k.open(Purpose::WebhookSigningSecret, "nch_1", bad), Err(SealError::Open), "{bad:?}");
        }
    }

    #[test]
    fn a_previous_key_still_opens_and_reseal_moves_values_to_the_current_key() {
        let old = keys(1, None);
        let stored = old.seal(Purpose::TotpSecret, "usr_a", [1; NONCE_BYTES], SECRET);
        // Rotated: key 2 is current, key 1 previous.
        let rotated = keys(2, Some(1));
        assert_eq!(
            rotated.open(Purpose::TotpSecret, "usr_a", &stored),
            Ok(Opened { plaintext: SECRET.to_vec(), stale: true })
        );
        assert_eq!(rotated.open(Purpose::TotpSecret, "usr_b", &stored), Err(SealError::Open), "still bound");
        let (plain, fresh) = rotated.reseal(Purpose::TotpSecret, "usr_a", &stored, [2; NONCE_BYTES]).unwrap();
        assert_eq!(plain, SECRET);
        let fresh = fresh.expect("stale values are sealed again");
        assert!(fresh.starts_with(&format!("{}.", rotated.current_id())));
        assert_eq!(
            rotated.open(Purpose::TotpSecret, "usr_a", &fresh),
            Ok(Opened { plaintext: SECRET.to_vec(), stale: false })
        );
        // A current value needs nothing.
        assert_eq!(rotated.reseal(Purpose::TotpSecret, "usr_a", &fresh, [3; NONCE_BYTES]).unwrap().1, None);
        // Once the previous key is dropped, only re-sealed values open.
        let done = keys(2, None);
        assert_eq!(done.open(Purpose::TotpSecret, "usr_a", &stored), Err(SealError::Open));
        assert!(done.open(Purpose::TotpSecret, "usr_a", &fresh).is_ok());
    }

    #[test]
    fn values_sealed_before_key_ids_still_open_under_the_current_or_previous_key() {
        let legacy = seal_legacy(&key(1), [5; NONCE_BYTES], SECRET);
        assert!(!legacy.contains('.'));
        for k in [keys(1, None), keys(2, Some(1))] {
            assert_eq!(
                k.open(Purpose::TotpSecret, "any", &legacy),
                Ok(Opened { plaintext: SECRET.to_vec(), stale: true })
            );
            let fresh = k.reseal(Purpose::TotpSecret, "usr_a", &legacy, [6; NONCE_BYTES]).unwrap().1.unwrap();
            assert!(k.open(Purpose::TotpSecret, "usr_a", &fresh).is_ok_and(|o| !o.stale));
        }
        assert_eq!(keys(2, None).open(Purpose::TotpSecret, "any", &legacy), Err(SealError::Open));
    }

    #[test]
    fn key_ids_are_stable_fingerprints_and_parse_hex() {
        let hex_key = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let k = MasterKey::parse_hex(&format!("{hex_key}\n")).unwrap();
        assert_eq!(k.id(), MasterKey::parse_hex(hex_key).unwrap().id());
        assert_eq!(k.id().len(), 9);
        assert!(k.id().starts_with('k'));
        assert_ne!(key(1).id(), key(2).id());
        for bad in ["", &hex_key[..62], &format!("{hex_key}00"), &hex_key.replacen('0', "g", 1)] {
            assert_eq!(MasterKey::parse_hex(bad).map(|_| ()), Err(SealError::InvalidKey), "{bad:?}");
        }
        assert!(!format!("{k:?}").contains("0011"), "Debug shows the id only");
    }
}
