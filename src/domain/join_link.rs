//! Join links: shareable, multi-use links into an org, with a role, an
//! optional list of exact email domains, an optional cap on uses and a
//! lifetime of at most 30 days. What may be asked of one, and whether it
//! still works, is decided here; the use count is kept by a guarded
//! statement (`store::sql::join_links`).
use super::custom_role::RoleKey;
use super::email::Email;
use super::policy::Role;
use super::FieldError;

/// Longest lifetime, in days.
pub const MAX_DAYS: i64 = 30;
/// Lifetime when none is asked for, in days.
pub const DEFAULT_DAYS: i64 = 7;
/// Most uses one link may be capped at (a cap is optional).
pub const MAX_USES: i64 = 10_000;
/// Most domains one link may be restricted to.
pub const MAX_DOMAINS: usize = 20;
/// Longest domain name (RFC 1035).
const MAX_DOMAIN_LEN: usize = 253;

/// What a new link asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRules {
    /// `admin`, `member` or the key of one of the org's custom roles (the
    /// app layer finds it): a link never makes owners.
    pub role: String,
    /// Exact, lower-case domains; empty: any verified address.
    pub allowed_domains: Vec<String>,
    /// At most this many people may join through it.
    pub max_uses: Option<i64>,
    /// Lifetime in seconds.
    pub lifetime: i64,
}

impl LinkRules {
    /// Checks a request for a new link.
    pub fn parse(
        role: &str,
        allowed_domains: Option<&[String]>,
        max_uses: Option<i64>,
        expires_in_days: Option<i64>,
    ) -> Result<LinkRules, FieldError> {
        match Role::parse(role) {
            Some(Role::Owner) => {
                return Err(FieldError::new("role", "invalid_role", "a join link never makes owners"));
            }
            Some(_) => {}
            None if RoleKey::looks_like(role) => {}
            None => {
                return Err(FieldError::new(
                    "role",
                    "invalid_role",
                    "must be admin, member or one of this organization's roles",
                ))
            }
        }
        let days = expires_in_days.unwrap_or(DEFAULT_DAYS);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(FieldError::new("expires_in_days", "out_of_range", format!("must be 1 to {MAX_DAYS}")));
        }
        if let Some(n) = max_uses {
            if !(1..=MAX_USES).contains(&n) {
                return Err(FieldError::new("max_uses", "out_of_range", format!("must be 1 to {MAX_USES}")));
            }
        }
        let raw = allowed_domains.unwrap_or_default();
        if raw.len() > MAX_DOMAINS {
            return Err(FieldError::new("allowed_domains", "too_many", format!("at most {MAX_DOMAINS} domains")));
        }
        let mut domains: Vec<String> = Vec::with_capacity(raw.len());
        for d in raw {
            let d = parse_domain(d).ok_or_else(|| {
                FieldError::new(
                    "allowed_domains",
                    "invalid_domain",
                    format!("{d:?} is not a domain name (exact names only, e.g. example.com; no wildcards)"),
                )
            })?;
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
        Ok(LinkRules { role: role.to_owned(), allowed_domains: domains, max_uses, lifetime: days * 86_400 })
    }
}

/// Of the roles someone may invite with, those a join link (or an approved
/// membership request) may give: never owner.
pub fn roles_offered(invitable: &[Role]) -> Vec<Role> {
    invitable.iter().copied().filter(|r| *r != Role::Owner).collect()
}

/// An exact domain name, lower-cased: dot-separated labels of letters,
/// digits and inner hyphens, at least two, no wildcard, no trailing dot.
pub fn parse_domain(raw: &str) -> Option<String> {
    let d = raw.trim().to_ascii_lowercase();
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let labels: Vec<&str> = d.split('.').collect();
    let tld_ok = labels.last().is_some_and(|t| !t.bytes().all(|b| b.is_ascii_digit()));
    (d.len() <= MAX_DOMAIN_LEN && labels.len() >= 2 && labels.iter().all(|l| label_ok(l)) && tld_ok).then_some(d)
}

/// The domain of a normalised address (what `allowed_domains` match exactly).
pub fn domain_of(email: &Email) -> &str {
    email.as_str().rsplit_once('@').map_or("", |(_, d)| d)
}

/// Whether a link still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Usable.
    Active,
    /// Past its expiry.
    Expired,
    /// Revoked (those who joined stay).
    Revoked,
    /// Every allowed use is taken.
    UsedUp,
}

/// A link's state at `now`.
pub fn state(revoked_at: Option<i64>, expires_at: i64, uses: i64, max_uses: Option<i64>, now: i64) -> LinkState {
    if revoked_at.is_some() {
        LinkState::Revoked
    } else if expires_at <= now {
        LinkState::Expired
    } else if max_uses.is_some_and(|m| uses >= m) {
        LinkState::UsedUp
    } else {
        LinkState::Active
    }
}

/// Whether an address on `domain` may join through a link restricted to
/// `allowed` (empty: any).
pub fn domain_allowed(allowed: &[String], domain: &str) -> bool {
    allowed.is_empty() || allowed.iter().any(|d| d == domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_never_makes_owners_and_keeps_to_its_bounds() {
        assert!(LinkRules::parse("owner", None, None, None).is_err());
        assert_eq!(LinkRules::parse("Billing Viewer", None, None, None).unwrap_err().code, "invalid_role");
        assert_eq!(LinkRules::parse("billing-viewer", None, None, None).unwrap().role, "billing-viewer");
        let ok = LinkRules::parse("admin", None, None, None).unwrap();
        assert_eq!((ok.lifetime, ok.max_uses), (7 * 86_400, None));
        for days in [0, 31, -1] {
            assert_eq!(LinkRules::parse("member", None, None, Some(days)).unwrap_err().field, "expires_in_days");
        }
        assert!(LinkRules::parse("member", None, None, Some(30)).is_ok());
        for uses in [0, -3, MAX_USES + 1] {
            assert_eq!(LinkRules::parse("member", None, Some(uses), None).unwrap_err().field, "max_uses");
        }
        let many: Vec<String> = (0..21).map(|i| format!("d{i}.example")).collect();
        assert_eq!(LinkRules::parse("member", Some(&many), None, None).unwrap_err().code, "too_many");
    }

    #[test]
    fn domains_are_exact_names_lower_cased_and_deduplicated() {
        let raw = ["Example.COM".to_owned(), "example.com".into(), "eu.example.com".into()];
        let r = LinkRules::parse("member", Some(&raw), None, None).unwrap();
        assert_eq!(r.allowed_domains, ["example.com", "eu.example.com"]);
        for bad in
            ["*.example.com", "example", "exa mple.com", "-a.com", "a-.com", "example.com.", "1.2.3.4", "", "a..b"]
        {
            assert_eq!(parse_domain(bad), None, "{bad}");
        }
        assert_eq!(parse_domain("xn--bcher-kva.example").as_deref(), Some("xn--bcher-kva.example"));
    }

    #[test]
    fn a_restricted_link_matches_the_exact_domain_only() {
        let allowed = vec!["example.com".to_owned()];
        let email = |raw: &str| Email::parse(raw).unwrap();
        assert!(domain_allowed(&allowed, domain_of(&email("Ann@Example.com"))));
        assert!(!domain_allowed(&allowed, domain_of(&email("ann@eu.example.com"))), "a subdomain is its own domain");
        assert!(!domain_allowed(&allowed, domain_of(&email("ann@example.com.evil.test"))));
        assert!(domain_allowed(&[], domain_of(&email("ann@anything.test"))));
    }

    #[test]
    fn the_state_says_why_a_link_no_longer_works() {
        assert_eq!(state(None, 100, 0, None, 50), LinkState::Active);
        assert_eq!(state(None, 100, 2, Some(2), 50), LinkState::UsedUp);
        assert_eq!(state(None, 100, 1, Some(2), 100), LinkState::Expired);
        assert_eq!(state(Some(10), 100, 0, None, 50), LinkState::Revoked);
    }
}
