//! Custom roles: an org's own named sets of permissions, beside the
//! built-in owner, admin and member. What a role may hold is the policy
//! table's answer ([`policy::custom_may_hold`]); this file parses what a
//! client sends.
use super::policy::{self, Permission, Role};
use super::FieldError;

/// At most this many custom roles per org (the insert is guarded in SQL).
pub const MAX_PER_ORG: i64 = 25;

/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 500;

/// The pattern of a role key, as the OpenAPI document states it.
pub const KEY_PATTERN: &str = "^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$";

/// A custom role's key: 3-40 of `a-z 0-9 -`, not starting or ending with a
/// hyphen, never a built-in role's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleKey(String);

impl RoleKey {
    /// Parses a key given by a client (field `key`).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if Role::parse(raw).is_some() {
            return Err(FieldError::new("key", "reserved_role", "owner, admin and member are built in"));
        }
        if Self::looks_like(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                "key",
                "invalid_role_key",
                "must be 3-40 characters of a-z, 0-9 and hyphens, not starting or ending with a hyphen",
            ))
        }
    }

    /// Whether `raw` has a custom role key's shape (a built-in name has it too).
    pub fn looks_like(raw: &str) -> bool {
        (3..=40).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-')
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A role's description: trimmed, at most [`MAX_DESCRIPTION`] characters, no
/// control characters but newlines.
pub fn description(raw: &str) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_DESCRIPTION {
        return Err(FieldError::new("description", "too_long", "must be at most 500 characters"));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new("description", "invalid_characters", "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// A role's permissions: known names, each one a custom role may hold
/// (never a person-only or owner-only one), in contract order, no repeats.
pub fn permissions(raw: &[String]) -> Result<Vec<Permission>, FieldError> {
    let mut out = Vec::new();
    for name in raw {
        let Some(p) = Permission::parse(name) else {
            return Err(FieldError::new("permissions", "invalid_permission", format!("unknown permission: {name}")));
        };
        if !policy::custom_may_hold(p) {
            return Err(FieldError::new(
                "permissions",
                "permission_not_allowed_for_roles",
                format!(
                    "{name} stays with the owner (a custom role never holds person-only or owner-only permissions)"
                ),
            ));
        }
        out.push(p);
    }
    Ok(Permission::ALL.into_iter().filter(|p| out.contains(p)).collect())
}

/// The stored form of a permission set: a JSON array of names.
pub fn stored(permissions: &[Permission]) -> String {
    serde_json::Value::from(permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>()).to_string()
}

/// Reads a stored permission set. Names we no longer know, or that a custom
/// role may not hold, count for nothing (never more than was written).
pub fn from_stored(raw: &str) -> Vec<Permission> {
    let names: Vec<String> = serde_json::from_str(raw).unwrap_or_default();
    Permission::ALL
        .into_iter()
        .filter(|p| policy::custom_may_hold(*p) && names.iter().any(|n| n == p.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_slugs_and_never_built_in() {
        for ok in ["billing-viewer", "ops", "a-b-c", "x9z", "deploy-bot-2"] {
            assert_eq!(RoleKey::parse(ok).map(|k| k.0), Ok(ok.to_owned()), "{ok}");
        }
        for bad in ["ab", "-ops", "ops-", "Ops", "op s", "ops_1", "é-ops", &"a".repeat(41), ""] {
            assert_eq!(RoleKey::parse(bad).unwrap_err().code, "invalid_role_key", "{bad:?}");
        }
        for builtin in ["owner", "admin", "member"] {
            assert_eq!(RoleKey::parse(builtin).unwrap_err().code, "reserved_role");
        }
    }

    #[test]
    fn permissions_refuse_owner_only_and_person_only_and_are_ordered() {
        let got = permissions(&["members:read".into(), "org:read".into(), "org:read".into()]).unwrap();
        assert_eq!(got, vec![Permission::OrgRead, Permission::MembersRead]);
        for refused in ["org:delete", "billing:manage"] {
            assert_eq!(permissions(&[refused.into()]).unwrap_err().code, "permission_not_allowed_for_roles");
        }
        assert_eq!(permissions(&["org:everything".into()]).unwrap_err().code, "invalid_permission");
        // Every permission a custom role may hold is one an admin has and no
        // person-only one.
        for p in Permission::ALL {
            assert_eq!(
                policy::custom_may_hold(p),
                policy::role_grants(Role::Admin, p) && !policy::person_only(p),
                "{}",
                p.as_str()
            );
        }
    }

    #[test]
    fn stored_sets_round_trip_and_never_widen() {
        let set = vec![Permission::OrgRead, Permission::AppsDeploy];
        assert_eq!(from_stored(&stored(&set)), set);
        assert_eq!(from_stored(r#"["org:delete","org:read","nonsense"]"#), vec![Permission::OrgRead]);
        assert!(from_stored("not json").is_empty());
    }
}
