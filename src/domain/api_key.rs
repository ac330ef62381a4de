//! API keys in GitHub's token format: a fixed prefix, random base62, and a
//! CRC32 checksum, so leaked keys are recognisable to secret scanners and a
//! typo is refused before any database read.
use super::token::sha256_hex;

/// The key prefix. NEVER change it: scanners and customers' tooling match on it,
/// and every issued key carries it.
pub const PREFIX: &str = "lk_";
/// The prefix of temporary keys (workload identity: traded for a CI job's
/// OIDC token). NEVER change it either; it starts with [`PREFIX`].
pub const TEMP_PREFIX: &str = "lk_tmp_";
/// The prefix of an org's SCIM token (`/scim/v2/{org_id}/…` only). NEVER
/// change it either; it starts with [`PREFIX`], so a SCIM token in a query
/// string is refused like a key.
pub const SCIM_PREFIX: &str = "lk_scim_";
/// Random base62 characters after the prefix (≈190 bits).
pub const RANDOM_CHARS: usize = 32;
/// Base62 characters of the CRC32 checksum (62^6 > 2^32).
pub const CHECKSUM_CHARS: usize = 6;
/// Total length of a key.
pub const KEY_LEN: usize = PREFIX.len() + RANDOM_CHARS + CHECKSUM_CHARS;
/// How much of a key lists show (`start`): the prefix and 6 characters.
const START_CHARS: usize = PREFIX.len() + 6;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn checksum(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes());
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A full API key, shown to its creator once. `Debug` shows only its start.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({}…)", self.start())
    }
}

/// Why a presented key was refused before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormatError {
    /// Wrong prefix, length or alphabet.
    Malformed,
    /// The checksum does not match: a typo or a made-up key.
    BadChecksum,
}

impl ApiKey {
    /// Builds a key from random bytes. Bytes ≥ 248 are skipped so that each
    /// character is uniform over the 62 (rejection sampling); `random` must
    /// hold enough bytes (64 is ample: 32 needed, ~3 % rejected).
    pub fn generate(random: &[u8]) -> Option<Self> {
        Self::generate_with(PREFIX, random)
    }

    /// A temporary key (`lk_tmp_…`), built like [`ApiKey::generate`].
    pub fn generate_temporary(random: &[u8]) -> Option<Self> {
        Self::generate_with(TEMP_PREFIX, random)
    }

    /// An org's SCIM token (`lk_scim_…`), built like [`ApiKey::generate`].
    pub fn generate_scim(random: &[u8]) -> Option<Self> {
        Self::generate_with(SCIM_PREFIX, random)
    }

    fn generate_with(prefix: &str, random: &[u8]) -> Option<Self> {
        let chars: String = random
            .iter()
            .filter(|&&b| b < 248)
            .take(RANDOM_CHARS)
            .map(|&b| ALPHABET[(b % 62) as usize] as char)
            .collect();
        if chars.len() < RANDOM_CHARS {
            return None;
        }
        let body = format!("{prefix}{chars}");
        let sum = checksum(&body);
        Some(Self(body + &sum))
    }

    /// Checks a presented key's shape and checksum (no database read).
    pub fn parse(raw: &str) -> Result<Self, KeyFormatError> {
        let prefix = if raw.starts_with(TEMP_PREFIX) { TEMP_PREFIX } else { PREFIX };
        Self::parse_with(prefix, raw)
    }

    /// Checks a presented SCIM token's shape and checksum (no database read).
    pub fn parse_scim(raw: &str) -> Result<Self, KeyFormatError> {
        Self::parse_with(SCIM_PREFIX, raw)
    }

    fn parse_with(prefix: &str, raw: &str) -> Result<Self, KeyFormatError> {
        let len = prefix.len() + RANDOM_CHARS + CHECKSUM_CHARS;
        if raw.len() != len || !raw.starts_with(prefix) {
            return Err(KeyFormatError::Malformed);
        }
        let rest = &raw[prefix.len()..];
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(KeyFormatError::Malformed);
        }
        let (body, sum) = raw.split_at(len - CHECKSUM_CHARS);
        if !crate::domain::token::ct_eq(&checksum(body), sum) {
            return Err(KeyFormatError::BadChecksum);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key, to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What lists show: the prefix and the first 6 random characters.
    pub fn start(&self) -> &str {
        let prefix = if self.0.starts_with(TEMP_PREFIX) {
            TEMP_PREFIX.len() - PREFIX.len()
        } else if self.0.starts_with(SCIM_PREFIX) {
            SCIM_PREFIX.len() - PREFIX.len()
        } else {
            0
        };
        self.0.get(..START_CHARS + prefix).unwrap_or(PREFIX)
    }

    /// The stored digest (SHA-256 hex).
    pub fn digest(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_have_the_documented_shape() {
        let key = ApiKey::generate(&[7u8; 64]).unwrap();
        assert_eq!(key.expose().len(), KEY_LEN);
        assert!(key.expose().starts_with("lk_"));
        assert_eq!(key.start().len(), 9);
        assert!(!format!("{key:?}").contains(&key.expose()[9..]));
        assert_eq!(ApiKey::parse(key.expose()), Ok(key));
    }

    #[test]
    fn temporary_keys_carry_their_prefix_and_checksum() {
        let key = ApiKey::generate_temporary(&[9u8; 64]).unwrap();
        assert!(key.expose().starts_with("lk_tmp_"));
        assert_eq!(key.expose().len(), KEY_LEN + 4);
        assert_eq!(key.start().len(), 13);
        assert_eq!(ApiKey::parse(key.expose()), Ok(key.clone()));
        let mut typo = key.expose().to_owned();
        typo.replace_range(10..11, if &typo[10..11] == "a" { "b" } else { "a" });
        assert!(ApiKey::parse(&typo).is_err());
    }

    #[test]
    fn scim_tokens_carry_their_prefix_and_are_no_api_key() {
        let token = ApiKey::generate_scim(&[11u8; 64]).unwrap();
        assert!(token.expose().starts_with("lk_scim_"));
        assert_eq!(token.start().len(), SCIM_PREFIX.len() + 6);
        assert_eq!(ApiKey::parse_scim(token.expose()), Ok(token.clone()));
        // Neither kind passes for the other.
        assert!(ApiKey::parse(token.expose()).is_err());
        let key = ApiKey::generate(&[11u8; 64]).unwrap();
        assert!(ApiKey::parse_scim(key.expose()).is_err());
        let mut typo = token.expose().to_owned();
        typo.replace_range(12..13, if &typo[12..13] == "a" { "b" } else { "a" });
        assert_eq!(ApiKey::parse_scim(&typo), Err(KeyFormatError::BadChecksum));
    }

    #[test]
    fn too_few_usable_bytes_make_no_key() {
        assert!(ApiKey::generate(&[255u8; 64]).is_none());
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert_eq!(ApiKey::parse(""), Err(KeyFormatError::Malformed));
        assert_eq!(ApiKey::parse("lk_short"), Err(KeyFormatError::Malformed));
        assert_eq!(ApiKey::parse(&format!("xx_{}", "a".repeat(38))), Err(KeyFormatError::Malformed));
        assert_eq!(ApiKey::parse(&format!("lk_{}-", "a".repeat(37))), Err(KeyFormatError::Malformed));
    }

    proptest! {
        #[test]
        fn every_generated_key_parses(bytes in proptest::collection::vec(0u8..248, 64)) {
            let key = ApiKey::generate(&bytes).unwrap();
            prop_assert!(ApiKey::parse(key.expose()).is_ok());
        }

        #[test]
        fn any_single_character_change_is_refused(bytes in proptest::collection::vec(0u8..248, 64), pos in 3usize..KEY_LEN, c in 0usize..62) {
            let key = ApiKey::generate(&bytes).unwrap();
            let mut chars: Vec<u8> = key.expose().bytes().collect();
            let replacement = ALPHABET[c];
            prop_assume!(chars[pos] != replacement);
            chars[pos] = replacement;
            let altered = String::from_utf8(chars).unwrap();
            prop_assert!(ApiKey::parse(&altered).is_err(), "{} accepted", altered);
        }
    }
}
