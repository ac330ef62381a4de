//! Workload identity: CI jobs (GitHub Actions, GitLab CI) trade their
//! provider-signed OIDC token for a short-lived API key, under an org's trust
//! policy. Pure rules here: which issuers, what a policy's conditions may
//! name, how claims match, the time window, the fork rule, the key's lifetime.
use super::FieldError;
use std::collections::BTreeMap;

/// GitHub Actions' issuer.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// Leeway on `exp`, `nbf` and `iat` (clock skew between the CI runner's
/// issuer and us).
pub const LEEWAY_SECONDS: i64 = 60;
/// A temporary key may outlive its token by this much, never its policy's
/// `max_ttl_seconds`.
pub const EXPIRY_MARGIN_SECONDS: i64 = 300;
/// The longest `max_ttl_seconds`.
pub const MAX_TTL_SECONDS: i64 = 3600;
/// At most this many conditions a policy.
const MAX_CONDITIONS: usize = 8;
/// Longest condition value.
const MAX_VALUE_CHARS: usize = 255;

/// The immutable ids of GitHub Actions tokens: names can be re-registered
/// by someone else after a rename, ids never are.
pub const GITHUB_ID_CLAIMS: &[&str] = &["repository_id", "repository_owner_id"];
/// The immutable ids of GitLab CI tokens.
pub const GITLAB_ID_CLAIMS: &[&str] = &["project_id", "namespace_id"];
/// Claims a condition may also name (never alone).
pub const OPTIONAL_CLAIMS: &[&str] = &["ref", "environment", "workflow_ref"];

/// Which family an issuer's tokens belong to (what its claims are called).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerKind {
    /// GitHub Actions.
    GitHub,
    /// GitLab CI (gitlab.com or the configured instance).
    GitLab,
    /// A development-only issuer (`OIDC_EXTRA_ISSUERS`): either family's ids.
    Extra,
}

impl IssuerKind {
    /// The id claims a policy for this issuer must name at least one of.
    pub fn id_claims(self) -> &'static [&'static str] {
        match self {
            IssuerKind::GitHub => GITHUB_ID_CLAIMS,
            IssuerKind::GitLab => GITLAB_ID_CLAIMS,
            IssuerKind::Extra => &["repository_id", "repository_owner_id", "project_id", "namespace_id"],
        }
    }
}

/// The issuers policies may name: GitHub, the GitLab base URL, and (development) extras.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuers {
    /// GitLab's issuer (its base URL, no trailing slash).
    pub gitlab: String,
    /// Development-only extra issuers.
    pub extra: Vec<String>,
}

impl Issuers {
    /// What kind of issuer `iss` is, if it is one we trust at all (exact string).
    pub fn kind(&self, iss: &str) -> Option<IssuerKind> {
        if iss == GITHUB_ISSUER {
            Some(IssuerKind::GitHub)
        } else if iss == self.gitlab {
            Some(IssuerKind::GitLab)
        } else if self.extra.iter().any(|e| e == iss) {
            Some(IssuerKind::Extra)
        } else {
            None
        }
    }
}

/// A policy's conditions: claim name → the exact value it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditions(BTreeMap<String, String>);

impl Conditions {
    /// Parses conditions for `kind`: only known claims, string (or integer)
    /// values, and at least one immutable id.
    pub fn parse(kind: IssuerKind, raw: &serde_json::Map<String, serde_json::Value>) -> Result<Self, FieldError> {
        let bad = |code: &'static str, msg: String| FieldError::new("conditions", code, msg);
        if raw.len() > MAX_CONDITIONS {
            return Err(bad("too_many_conditions", format!("at most {MAX_CONDITIONS} conditions")));
        }
        let mut out = BTreeMap::new();
        for (name, value) in raw {
            if !kind.id_claims().contains(&name.as_str()) && !OPTIONAL_CLAIMS.contains(&name.as_str()) {
                return Err(bad("unknown_claim", format!("{name} is not a claim a condition may name")));
            }
            let value = claim_text(value)
                .filter(|v| !v.is_empty() && v.chars().count() <= MAX_VALUE_CHARS)
                .ok_or_else(|| bad("invalid_condition", format!("{name} must be a non-empty string")))?;
            out.insert(name.clone(), value);
        }
        if !out.keys().any(|k| kind.id_claims().contains(&k.as_str())) {
            return Err(bad("immutable_id_required", format!("name at least one of {}", kind.id_claims().join(", "))));
        }
        Ok(Self(out))
    }

    /// Stored conditions (written by [`Conditions::to_json`]).
    pub fn stored(json: &str) -> Self {
        Self(serde_json::from_str(json).unwrap_or_default())
    }

    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }

    /// The map, for views.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The first condition `claims` do not meet (its claim name), if any.
    pub fn first_mismatch<'a>(&'a self, claims: &serde_json::Map<String, serde_json::Value>) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(name, want)| claims.get(name.as_str()).and_then(claim_text).as_deref() != Some(want.as_str()))
            .map(|(name, _)| name.as_str())
    }
}

/// A claim as text: strings as they are, integers in decimal (GitLab and
/// GitHub send ids as strings, but an integer means the same id).
fn claim_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Why a token's times are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// No `exp`, or `exp` more than the leeway ago.
    Expired,
    /// `nbf` or `iat` more than the leeway ahead.
    NotYetValid,
}

/// `exp` (required), `nbf` and `iat` within [`LEEWAY_SECONDS`] of `now`.
pub fn check_times(exp: Option<i64>, nbf: Option<i64>, iat: Option<i64>, now: i64) -> Result<(), TimeError> {
    match exp {
        Some(exp) if exp + LEEWAY_SECONDS >= now => {}
        _ => return Err(TimeError::Expired),
    }
    if nbf.into_iter().chain(iat).any(|t| t > now + LEEWAY_SECONDS) {
        return Err(TimeError::NotYetValid);
    }
    Ok(())
}

/// The fork rule (GitHub Actions): a run that may execute code from a fork
/// never gets a key. Refused: `event_name` `pull_request_target` (it runs
/// in the base repository's context on a fork's pull request), and
/// `pull_request` whose `head_repository_id` (when present) differs from
/// `repository_id`. GitLab runs a fork's merge-request pipeline in the fork's
/// project, whose `project_id` no policy of the parent names.
pub fn from_fork(claims: &serde_json::Map<String, serde_json::Value>) -> bool {
    let text = |k: &str| claims.get(k).and_then(claim_text);
    match text("event_name").as_deref() {
        Some("pull_request_target") => true,
        Some("pull_request") => text("head_repository_id").is_some_and(|h| Some(h) != text("repository_id")),
        _ => false,
    }
}

/// When a temporary key ends: its policy's TTL from now, or shortly after
/// the token it was traded for expires, whichever comes first.
pub fn key_expiry(now: i64, max_ttl_seconds: i64, token_exp: i64) -> i64 {
    (now + max_ttl_seconds).min(token_exp + EXPIRY_MARGIN_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn conditions_need_an_immutable_id() {
        let err = Conditions::parse(IssuerKind::GitHub, &map(json!({"ref": "refs/heads/main"}))).unwrap_err();
        assert_eq!(err.code, "immutable_id_required");
        let err = Conditions::parse(IssuerKind::GitHub, &map(json!({"project_id": "1"}))).unwrap_err();
        assert_eq!(err.code, "unknown_claim", "GitLab ids are not GitHub's");
        assert!(Conditions::parse(IssuerKind::GitLab, &map(json!({"project_id": 42, "ref": "main"}))).is_ok());
    }

    #[test]
    fn claims_match_exactly() {
        let c = Conditions::parse(IssuerKind::GitHub, &map(json!({"repository_id": "7", "ref": "refs/heads/main"})))
            .unwrap();
        assert_eq!(c.first_mismatch(&map(json!({"repository_id": 7, "ref": "refs/heads/main"}))), None);
        assert_eq!(c.first_mismatch(&map(json!({"repository_id": "7", "ref": "refs/heads/main2"}))), Some("ref"));
        assert_eq!(c.first_mismatch(&map(json!({"ref": "refs/heads/main"}))), Some("repository_id"));
        assert_eq!(Conditions::stored(&c.to_json()), c);
    }

    #[test]
    fn times_have_a_minute_of_leeway() {
        assert_eq!(check_times(Some(1000), None, Some(900), 1060), Ok(()));
        assert_eq!(check_times(Some(1000), None, None, 1061), Err(TimeError::Expired));
        assert_eq!(check_times(None, None, None, 0), Err(TimeError::Expired));
        assert_eq!(check_times(Some(2000), Some(1061), None, 1000), Err(TimeError::NotYetValid));
        assert_eq!(check_times(Some(2000), None, Some(1061), 1000), Err(TimeError::NotYetValid));
    }

    #[test]
    fn fork_pull_requests_are_refused() {
        assert!(from_fork(&map(json!({"event_name": "pull_request_target"}))));
        assert!(from_fork(&map(
            json!({"event_name": "pull_request", "repository_id": "1", "head_repository_id": "2"})
        )));
        assert!(!from_fork(&map(
            json!({"event_name": "pull_request", "repository_id": "1", "head_repository_id": "1"})
        )));
        assert!(!from_fork(&map(json!({"event_name": "push", "repository_id": "1"}))));
    }

    #[test]
    fn keys_end_at_the_ttl_or_after_the_token() {
        assert_eq!(key_expiry(1000, 3600, 1600), 1900);
        assert_eq!(key_expiry(1000, 600, 5000), 1600);
    }
}
