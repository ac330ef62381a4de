//! Email addresses: trimmed, lowercased, syntactically valid.
use super::FieldError;

/// A normalised email address (trimmed, lowercased). Construct with [`Email::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// Longest address we accept (RFC 5321 path limit).
const MAX_LEN: usize = 254;

impl Email {
    /// Parses and normalises `raw` as it would be typed into a sign-up form.
    pub fn parse(raw: &str) -> Result<Email, FieldError> {
        let normalised = raw.trim().to_lowercase();
        let bad = || FieldError::new("email", "invalid_email", "must be a valid email address");
        if normalised.is_empty() || normalised.len() > MAX_LEN {
            return Err(bad());
        }
        // The crate parses RFC 5322 addr-spec; we also want a dotted domain
        // (a deliverable address on the public internet) and no display name.
        let parsed = email_address::EmailAddress::parse_with_options(
            &normalised,
            email_address::Options::default().without_display_text(),
        )
        .map_err(|_| bad())?;
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('[') || domain.ends_with('.') {
            return Err(bad());
        }
        Ok(Email(normalised))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for (raw, why) in [
            ("", "empty"),
            ("ada", "no at sign"),
            ("ada@", "no domain"),
            ("@example.com", "no local part"),
            ("ada@localhost", "undotted domain"),
            ("ada@@example.com", "two at signs"),
            ("Ada <ada@example.com>", "display name"),
            ("ada @example.com", "space"),
        ] {
            assert!(Email::parse(raw).is_err(), "{why}: {raw:?} should be refused");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err(), "over 254 characters");
    }
}
