//! Passwords: length rules, the common-password list, and argon2id hashing.
use super::FieldError;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

/// The field code of a common password; the whole answer then carries the
/// problem code `password_too_common` instead of `validation_failed`.
pub const TOO_COMMON: &str = "password_too_common";
/// Fewest code points accepted (NIST SP 800-63B-4 §3.1.1.2).
pub const MIN_CHARS: usize = 8;
/// Most code points accepted; longer input is refused, never truncated.
pub const MAX_CHARS: usize = 128;

/// OWASP minimum for argon2id: 19 MiB, 2 passes, 1 lane.
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
/// Hashes that do not start with this were made with other parameters and are
/// rehashed at the next successful login.
const CURRENT_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// Passwords of 8+ characters from the 20,000 most common ones (the list Django
/// ships, from Royce Williams' analysis of breach corpora), lowercased and sorted.
const COMMON: &str = include_str!("common_passwords.txt");

/// A candidate password that passed the length and common-list rules.
/// Its `Debug` never shows the password.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// Checks a new password given for `field` (no composition rules, no truncation).
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(FieldError::new(field, "too_short", "must be at least 8 characters"));
        }
        if chars > MAX_CHARS {
            return Err(FieldError::new(field, "too_long", "must be at most 128 characters"));
        }
        if is_common(raw) {
            return Err(FieldError::new(field, TOO_COMMON, "is one of the most common passwords; choose another"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Whether `raw` (compared case-insensitively) is on the common-password list.
pub fn is_common(raw: &str) -> bool {
    static LIST: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let list = LIST.get_or_init(|| COMMON.lines().collect());
    list.binary_search(&raw.to_lowercase().as_str()).is_ok()
}

fn hasher() -> Result<Argon2<'static>, HashError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashing failed (never expected with fixed parameters; reported, never panics).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes `password` with argon2id and the given 16-byte salt into a PHC string.
pub fn hash(password: &str, salt: &[u8; 16]) -> Result<String, HashError> {
    let phc = hasher()?.hash_password_with_salt(password.as_bytes(), salt).map_err(|e| HashError(e.to_string()))?;
    Ok(phc.to_string())
}

/// Verifies `password` against a stored PHC string. A malformed hash verifies nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    match hasher() {
        Ok(h) => h.verify_password(password.as_bytes(), phc).is_ok(),
        Err(_) => false,
    }
}

/// Whether a stored hash was made with parameters other than today's.
pub fn needs_rehash(phc: &str) -> bool {
    !phc.starts_with(CURRENT_PREFIX)
}

/// A real argon2id hash (of a random string nobody knows) with today's
/// parameters. Logins for unknown emails verify against it, so they cost the
/// same time as a wrong password (ASVS 5.0 6.3.8).
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$3Dg1fVNbp6Bc+6sxKtz5Ww$J8Qeq1xVKvdR+fJ3cFGKSJq6OE7b7lFZ4YCcB7R/AP8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_code_points_not_bytes() {
        assert!(Password::parse("password", "ééééééé").is_err(), "7 code points");
        assert!(Password::parse("password", "éàüöçñßø").is_ok(), "8 code points, 16 bytes");
        assert!(Password::parse("password", &"x".repeat(128).replace("xx", "xy")).is_ok());
        let long = "ab".repeat(64) + "c";
        assert_eq!(Password::parse("password", &long).unwrap_err().code, "too_long");
    }

    #[test]
    fn common_passwords_are_refused_case_insensitively() {
        for common in ["password", "12345678", "Password1", "QWERTYUIOP", "iloveyou"] {
            let err = Password::parse("password", common).unwrap_err();
            assert_eq!(err.code, "password_too_common", "{common}");
        }
        assert!(Password::parse("password", "correct horse battery staple").is_ok());
    }

    #[test]
    fn the_list_is_sorted_for_binary_search_and_large_enough() {
        let list: Vec<&str> = COMMON.lines().collect();
        assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        // ASVS 5.0 6.2.4 asks for at least the top 3000; every entry is 8+ long.
        assert!(list.len() >= 3000);
        assert!(list.iter().all(|p| p.chars().count() >= MIN_CHARS));
    }

    #[test]
    fn hashes_verify_and_use_owasp_parameters() {
        let phc = hash("correct horse battery staple", &[7u8; 16]).unwrap();
        assert!(phc.starts_with(CURRENT_PREFIX), "{phc}");
        assert!(verify("correct horse battery staple", &phc));
        assert!(!verify("correct horse battery stapler", &phc));
        assert!(!needs_rehash(&phc));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn weaker_hashes_are_flagged_for_rehash() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(4096, 1, 1, None).unwrap())
            .hash_password_with_salt(b"pw", &[1u8; 16])
            .unwrap()
            .to_string();
        assert!(needs_rehash(&weak));
        assert!(verify("pw", &weak), "old hashes still verify");
    }

    #[test]
    fn the_dummy_hash_is_a_current_argon2id_hash() {
        assert!(!needs_rehash(DUMMY_HASH));
        assert!(!verify("password", DUMMY_HASH));
        // It parses: verifying costs a full argon2 computation.
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
