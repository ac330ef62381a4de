//! The one place the use cases ask `policy::decide`, and the one mapping of
//! its refusals to errors. Finding the subject (the caller's role in the
//! tenant, or an API key's scopes) and the facts is the tenants' business
//! (`orgs::access`, `workspaces::access`, `authorize`); deciding is here.
use super::AppError;
use crate::domain::policy::{self, Facts, Permission, Subject, Verdict};
use crate::domain::tenant::TenantKind;

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
        Verdict::MissingScope => {
            AppError::coded(403, "insufficient_scope", format!("this API key lacks the {} scope", permission.as_str()))
        }
        Verdict::TwoFactorRequired => AppError::coded(
            403,
            "two_factor_required",
            match tenant {
                TenantKind::Org => "this organization requires two-factor authentication: turn it on first",
                TenantKind::Workspace => {
                    "your access comes through an organization that requires two-factor authentication"
                }
            },
        ),
    }
}
