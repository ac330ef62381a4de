//! The one place the use cases ask `policy::decide`, the one mapping of its
//! refusals to errors, and the one strict parse of roles. Finding the subject (the caller's role in the
//! tenant, or an API key's scopes) and the facts is the tenants' business
//! (`orgs::access`, `workspaces::access`, `authorize`); deciding is here.
use super::AppError;
use super::ErrorCode;
use crate::domain::policy::{self, Facts, Permission, Role, Subject, Verdict};
use crate::domain::tenant::TenantKind;
use crate::domain::FieldError;

/// Whether an org's `require_2fa` applies to this operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoFactorPolicy {
    /// Enforce the org's `require_2fa`.
    Enforce,
    /// Allow regardless (leaving the org).
    Exempt,
}

impl TwoFactorPolicy {
    /// Whether 2FA is required, given the org's setting.
    pub fn requires(self, org_requires: bool) -> bool {
        match self {
            TwoFactorPolicy::Enforce => org_requires,
            TwoFactorPolicy::Exempt => false,
        }
    }
}

/// Decides, and maps a refusal to its error.
pub fn check(subject: Subject<'_>, permission: Permission, facts: &Facts) -> Result<(), AppError> {
    match policy::decide(subject, permission, facts) {
        Verdict::Allow => Ok(()),
        refused => Err(refusal(refused, permission, facts.tenant)),
    }
}

fn refusal(verdict: Verdict, permission: Permission, tenant: TenantKind) -> AppError {
    match verdict {
        Verdict::Allow | Verdict::Forbidden => AppError::Forbidden,
        Verdict::UserRequired => AppError::UserRequired,
        Verdict::MissingScope => AppError::refused(
            ErrorCode::InsufficientScope,
            format!("this API key lacks the {} scope", permission.as_str()),
        ),
        Verdict::TwoFactorRequired => AppError::refused(
            ErrorCode::TwoFactorRequired,
            match tenant {
                TenantKind::Org => "this organization requires two-factor authentication: turn it on first",
                TenantKind::Workspace => {
                    "your access comes through an organization that requires two-factor authentication"
                }
            },
        ),
    }
}

/// A role read from the database. An unknown one is our bug: an internal
/// error, never a guess.
pub fn stored_role(raw: &str) -> Result<Role, AppError> {
    Role::parse(raw).ok_or_else(|| AppError::internal(format!("unknown role in database: {raw}")))
}

/// A role given by a client: an unknown one is 422 (field `role`).
pub fn role_field(raw: &str) -> Result<Role, AppError> {
    Role::parse(raw)
        .ok_or_else(|| AppError::field(FieldError::new("role", "invalid_role", "must be owner, admin or member")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_strict_role_parse_internal_for_rows_422_for_input() {
        for raw in ["owner", "admin", "member"] {
            assert_eq!(stored_role(raw).ok().map(Role::as_str), Some(raw));
            assert_eq!(role_field(raw).ok().map(Role::as_str), Some(raw));
        }
        // A row with a role we do not know is our bug, never quietly a member.
        for raw in ["superuser", "Member", "", "owner "] {
            assert!(matches!(stored_role(raw), Err(AppError::Internal(_))), "{raw:?}");
            assert!(
                matches!(role_field(raw), Err(AppError::Validation(ref e)) if e[0].field == "role" && e[0].code == "invalid_role"),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn refusals_map_to_their_codes() {
        let org = Facts { require_2fa: true, has_2fa: false, ..Facts::direct(TenantKind::Org) };
        let err = check(Subject::Role(Role::Owner), Permission::OrgRead, &org);
        assert!(matches!(err, Err(AppError::Refused { code: ErrorCode::TwoFactorRequired, .. })), "{err:?}");
        let err = check(Subject::Key(&[]), Permission::OrgRead, &Facts::direct(TenantKind::Org));
        assert!(matches!(err, Err(AppError::Refused { code: ErrorCode::InsufficientScope, .. })), "{err:?}");
        let err = check(Subject::Key(&Permission::ALL), Permission::OrgDelete, &Facts::direct(TenantKind::Org));
        assert!(matches!(err, Err(AppError::UserRequired)), "{err:?}");
        let err = check(Subject::Role(Role::Member), Permission::OrgWrite, &Facts::direct(TenantKind::Org));
        assert!(matches!(err, Err(AppError::Forbidden)), "{err:?}");
    }
}
