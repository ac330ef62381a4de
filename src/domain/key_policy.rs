//! An org's API key policy (how long keys may live, whether they must
//! expire, when their people are warned), what a key's expiry owes it, which
//! warnings are due, and the coarse network a key was last used from.
use super::time::DAY;
use super::FieldError;
use std::net::IpAddr;

/// Warnings before expiry when the org set none: 14 and 3 days.
pub const DEFAULT_WARN_BEFORE_DAYS: [i64; 2] = [14, 3];
/// The longest `max_lifetime_days` (ten years, like a key's own expiry).
pub const MAX_LIFETIME_DAYS: i64 = 3650;
/// The field code (and the 422's `code`) of a key refused by the policy.
pub const POLICY_VIOLATION: &str = "api_key_policy_violation";
/// How many characters of a user agent a key keeps.
pub const MAX_AGENT_CHARS: usize = 200;

/// An org's key policy, parsed: private fields, so a value always holds the
/// rules (lifetime 1..3650 days; 1 to 5 distinct warnings of 1..365 days,
/// largest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPolicy {
    max_lifetime_days: Option<i64>,
    require_expiry: bool,
    warn_before_days: Vec<i64>,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        Self { max_lifetime_days: None, require_expiry: false, warn_before_days: DEFAULT_WARN_BEFORE_DAYS.to_vec() }
    }
}

/// Why a key breaks the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// The policy requires an expiry and the key has none.
    NoExpiry,
    /// The key lives longer than the policy's `max_lifetime_days`.
    TooLong {
        /// The policy's limit.
        max_days: i64,
    },
}

impl Violation {
    /// Said to people (the 422's field message, a key view's `non_compliant_reason`).
    pub fn reason(self) -> String {
        match self {
            Violation::NoExpiry => "the organization's key policy requires an expiry".to_owned(),
            Violation::TooLong { max_days } => {
                format!("the organization's key policy allows keys to live at most {max_days} days")
            }
        }
    }

    /// The 422 for a new key: on `expires_in_days`, code [`POLICY_VIOLATION`].
    pub fn field_error(self) -> FieldError {
        FieldError::new("expires_in_days", POLICY_VIOLATION, self.reason())
    }
}

impl KeyPolicy {
    /// Parses a policy as given (`warn_before_days` absent: 14 and 3).
    pub fn parse(
        max_lifetime_days: Option<i64>,
        require_expiry: bool,
        warn_before_days: Option<&[i64]>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if max_lifetime_days.is_some_and(|d| !(1..=MAX_LIFETIME_DAYS).contains(&d)) {
            errors.push(FieldError::new("max_lifetime_days", "out_of_range", "must be 1 to 3650"));
        }
        let mut warn = warn_before_days.map_or(DEFAULT_WARN_BEFORE_DAYS.to_vec(), <[i64]>::to_vec);
        warn.sort_unstable_by(|a, b| b.cmp(a));
        let distinct = warn.windows(2).all(|w| w[0] != w[1]);
        if warn.is_empty() || warn.len() > 5 || !distinct || warn.iter().any(|d| !(1..=365).contains(d)) {
            errors.push(FieldError::new(
                "warn_before_days",
                "invalid_thresholds",
                "give 1 to 5 distinct numbers of days, each 1 to 365",
            ));
        }
        if errors.is_empty() {
            Ok(Self { max_lifetime_days, require_expiry, warn_before_days: warn })
        } else {
            Err(errors)
        }
    }

    /// A stored policy (written through [`KeyPolicy::parse`]); a warning list
    /// that no longer reads falls back to the default rather than failing.
    pub fn stored(max_lifetime_days: Option<i64>, require_expiry: bool, warn_before_days: &str) -> Self {
        let warn: Option<Vec<i64>> = serde_json::from_str(warn_before_days).ok();
        Self::parse(max_lifetime_days, require_expiry, warn.as_deref())
            .or_else(|_| Self::parse(max_lifetime_days, require_expiry, None))
            .unwrap_or_default()
    }

    /// The longest lifetime, in days.
    pub fn max_lifetime_days(&self) -> Option<i64> {
        self.max_lifetime_days
    }

    /// Whether every key must expire.
    pub fn require_expiry(&self) -> bool {
        self.require_expiry
    }

    /// Days before expiry at which people are warned, largest first.
    pub fn warn_before_days(&self) -> &[i64] {
        &self.warn_before_days
    }

    /// The warning list as stored (a JSON array).
    pub fn warn_column(&self) -> String {
        serde_json::Value::from(self.warn_before_days.clone()).to_string()
    }

    /// Whether a key created at `created_at` that expires at `expires_at`
    /// breaks the policy. The SQL guard of key creation and rotation
    /// (`sql::INSERT_API_KEY`, `sql::ROTATE_API_KEY`) says the same.
    pub fn violation(&self, created_at: i64, expires_at: Option<i64>) -> Option<Violation> {
        match (expires_at, self.max_lifetime_days) {
            (None, _) if self.require_expiry => Some(Violation::NoExpiry),
            (None, Some(max_days)) => Some(Violation::TooLong { max_days }),
            (Some(end), Some(max_days)) if end - created_at > max_days * DAY => Some(Violation::TooLong { max_days }),
            _ => None,
        }
    }

    /// The warning a live key expiring at `expires_at` is due at `now`, given
    /// the thresholds already `sent` (0 stands for "expired"): the most
    /// urgent threshold crossed and not sent, and every crossed threshold,
    /// which are all marked sent with it (a key created 2 days before its
    /// end is warned once, at 3 days, not also at 14).
    pub fn due_warning(&self, expires_at: i64, now: i64, sent: &[i64]) -> Option<(i64, Vec<i64>)> {
        let crossed = self.crossed(expires_at, now);
        let most_urgent = *crossed.last()?;
        (!sent.contains(&most_urgent)).then_some((most_urgent, crossed))
    }

    /// Every threshold a key expiring at `expires_at` has crossed at `now`,
    /// largest first; 0 last once it expired.
    pub fn crossed(&self, expires_at: i64, now: i64) -> Vec<i64> {
        let left = expires_at - now;
        if left <= 0 {
            self.warn_before_days.iter().copied().chain([0]).collect()
        } else {
            self.warn_before_days.iter().copied().filter(|t| left <= t * DAY).collect()
        }
    }
}

/// Whole days left before `expires_at` (rounded up; 0 once expired).
pub fn days_left(expires_at: i64, now: i64) -> i64 {
    let left = expires_at - now;
    if left <= 0 {
        0
    } else {
        (left + DAY - 1) / DAY
    }
}

/// The network a request came from, coarsened: the /24 of an IPv4 address,
/// the /48 of an IPv6 one (an IPv4-mapped IPv6 address counts as IPv4), as
/// CIDR text. Enough to tell "our CI" from "somewhere else" without keeping
/// anyone's address. `None` for anything that is not an IP address.
pub fn coarse_ip(raw: &str) -> Option<String> {
    let ip: IpAddr = raw.trim().parse().ok()?;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    Some(match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{net}/48")
        }
    })
}

/// A user agent as a key keeps it: trimmed, control characters dropped,
/// at most [`MAX_AGENT_CHARS`] characters; `None` when nothing is left.
pub fn agent(raw: &str) -> Option<String> {
    let kept: String = raw.trim().chars().filter(|c| !c.is_control()).take(MAX_AGENT_CHARS).collect();
    (!kept.is_empty()).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_kept_to_its_slash_24() {
        for (raw, want, why) in [
            ("203.0.113.77", Some("203.0.113.0/24"), "plain IPv4"),
            (" 10.1.2.3 ", Some("10.1.2.0/24"), "surrounding space"),
            ("::ffff:198.51.100.9", Some("198.51.100.0/24"), "IPv4-mapped IPv6 counts as IPv4"),
            ("2001:db8:abcd:12:1:2:3:4", Some("2001:db8:abcd::/48"), "IPv6 to its /48"),
            ("2001:db8::1", Some("2001:db8::/48"), "short IPv6"),
            ("::1", Some("::/48"), "loopback"),
            ("", None, "empty"),
            ("not-an-ip", None, "garbage"),
            ("203.0.113.77:443", None, "with a port is not an address"),
        ] {
            assert_eq!(coarse_ip(raw).as_deref(), want, "{why}");
        }
    }

    #[test]
    fn user_agents_are_trimmed_and_cut_at_200_characters() {
        assert_eq!(agent("  curl/8.5 ").as_deref(), Some("curl/8.5"));
        assert_eq!(agent("a\u{0}b\nc").as_deref(), Some("abc"));
        assert_eq!(agent(&"x".repeat(500)).map(|a| a.chars().count()), Some(200));
        assert_eq!(agent("   "), None);
    }

    #[test]
    fn a_policy_is_parsed_with_its_limits() {
        let ok = KeyPolicy::parse(Some(90), true, Some(&[3, 30, 7])).expect("valid");
        assert_eq!(ok.warn_before_days(), [30, 7, 3], "largest first");
        assert_eq!(KeyPolicy::parse(None, false, None).expect("valid").warn_before_days(), [14, 3]);
        for (max, warn, field, why) in [
            (Some(0), vec![14], "max_lifetime_days", "lifetime below 1"),
            (Some(3651), vec![14], "max_lifetime_days", "lifetime above ten years"),
            (None, vec![], "warn_before_days", "no warning"),
            (None, vec![1, 2, 3, 4, 5, 6], "warn_before_days", "more than 5"),
            (None, vec![3, 3], "warn_before_days", "repeated"),
            (None, vec![0], "warn_before_days", "zero days"),
            (None, vec![366], "warn_before_days", "more than a year"),
        ] {
            let errors = KeyPolicy::parse(max, false, Some(&warn)).expect_err(why);
            assert_eq!(errors.iter().map(|e| e.field).collect::<Vec<_>>(), [field], "{why}");
        }
    }

    #[test]
    fn a_key_breaks_the_policy_by_having_no_expiry_or_living_too_long() {
        let policy = KeyPolicy::parse(Some(90), true, None).expect("valid");
        assert_eq!(policy.violation(0, None), Some(Violation::NoExpiry));
        assert_eq!(policy.violation(0, Some(90 * DAY)), None, "exactly the limit");
        assert_eq!(policy.violation(0, Some(90 * DAY + 1)), Some(Violation::TooLong { max_days: 90 }));
        let lifetime_only = KeyPolicy::parse(Some(30), false, None).expect("valid");
        assert_eq!(
            lifetime_only.violation(0, None),
            Some(Violation::TooLong { max_days: 30 }),
            "no expiry lives forever"
        );
        assert_eq!(KeyPolicy::default().violation(0, None), None, "no policy, no limit");
    }

    #[test]
    fn each_threshold_is_due_once_and_crossing_several_warns_once() {
        let p = KeyPolicy::default();
        let end = 100 * DAY;
        assert_eq!(p.due_warning(end, end - 15 * DAY, &[]), None, "not yet");
        assert_eq!(p.due_warning(end, end - 14 * DAY, &[]), Some((14, vec![14])));
        assert_eq!(p.due_warning(end, end - 10 * DAY, &[14]), None, "14 sent");
        assert_eq!(p.due_warning(end, end - 2 * DAY, &[14]), Some((3, vec![14, 3])));
        assert_eq!(p.due_warning(end, end - 2 * DAY, &[]), Some((3, vec![14, 3])), "created late: one warning");
        assert_eq!(p.due_warning(end, end - DAY, &[14, 3]), None);
        assert_eq!(p.due_warning(end, end, &[14, 3]), Some((0, vec![14, 3, 0])), "expired");
        assert_eq!(p.due_warning(end, end + DAY, &[14, 3, 0]), None);
        assert_eq!(days_left(end, end - 2 * DAY - 1), 3);
        assert_eq!(days_left(end, end + 5), 0);
    }
}
