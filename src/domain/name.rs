//! Display names of people, organizations and workspaces.
use super::FieldError;

/// A trimmed, non-empty display name of at most [`DisplayName::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest name accepted, in Unicode code points.
    pub const MAX_CHARS: usize = 100;

    /// Parses a name given for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(field, "required", "must not be empty"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(field, "too_long", "must be at most 100 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldError::new(field, "invalid_characters", "must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("name", "  Ada ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse("name", "   ").is_err());
        assert!(DisplayName::parse("name", &"é".repeat(100)).is_ok());
        assert!(DisplayName::parse("name", &"é".repeat(101)).is_err());
        assert!(DisplayName::parse("name", "a\u{0}b").is_err());
    }
}
