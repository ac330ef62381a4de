//! Organization slugs: 3-40 of `a-z 0-9 -`, no leading, trailing or double hyphen.
use super::FieldError;

/// A valid slug. Construct with [`Slug::parse`] or [`Slug::derive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

const MIN: usize = 3;
const MAX: usize = 40;

fn valid(s: &str) -> bool {
    (MIN..=MAX).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

impl Slug {
    /// Parses a slug given by a client.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if valid(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                "slug",
                "invalid_slug",
                "must be 3-40 characters of a-z, 0-9 and single hyphens, not starting or ending with a hyphen",
            ))
        }
    }

    /// Derives a slug from a display name (`"Acme, Inc."` → `acme-inc`), with
    /// `suffix` appended (used when the plain one is taken) and padding for
    /// names too short or without ASCII letters.
    pub fn derive(name: &str, suffix: Option<&str>) -> Self {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let mut base: String = out.trim_matches('-').chars().take(MAX - 7).collect();
        base = base.trim_end_matches('-').to_owned();
        if base.len() < MIN {
            base = if base.is_empty() { "org".to_owned() } else { format!("{base}-org") };
        }
        let slug = match suffix {
            Some(s) => format!("{base}-{s}"),
            None => base,
        };
        Self(slug)
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slug_rules() {
        for ok in ["abc", "acme-inc", "a1-b2-c3", &"a".repeat(40)] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "-abc", "abc-", "a--b", "ABC", "a_b", "a b", &"a".repeat(41), "émile"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn derived_from_names() {
        assert_eq!(Slug::derive("Acme, Inc.", None).as_str(), "acme-inc");
        assert_eq!(Slug::derive("  X ", None).as_str(), "x-org");
        assert_eq!(Slug::derive("日本", None).as_str(), "org");
        assert_eq!(Slug::derive("Acme", Some("k3x9")).as_str(), "acme-k3x9");
    }

    proptest! {
        #[test]
        fn every_derived_slug_is_valid(name in "\\PC{0,80}", suffix in proptest::option::of("[a-z0-9]{4}")) {
            let slug = Slug::derive(&name, suffix.as_deref());
            prop_assert!(Slug::parse(slug.as_str()).is_ok(), "{:?} -> {:?}", name, slug);
        }
    }
}
