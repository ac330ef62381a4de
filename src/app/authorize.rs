//! The decision endpoint other services call before acting: may this
//! principal do this, here? It answers with the reason (`via`), in one D1
//! round trip: the target is read in the same batch as the credential.
use super::access::stored_role;
use super::auth::{self, Principal, Verified};
use super::workspaces::{self, WorkspaceRow};
use super::{AppError, Deps};
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::policy::{self, Facts, Permission, Role, Subject, Verdict};
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{self, OrgRow};
use crate::store::Stmt;
use serde::Serialize;
use utoipa::ToSchema;

pub use super::workspaces::OrgRef;

/// The answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Decision {
    /// Whether the principal may.
    pub allowed: bool,
    /// What decided; null when the target is not visible to the caller (as
    /// if it did not exist).
    pub via: Option<Via>,
}

/// What a decision rested on, by `kind`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    /// The person's role in the org.
    OrgRole {
        /// `org_…`
        org_id: String,
        /// Their role.
        role: Role,
        /// Set when the role is held but a requirement is not met (then `allowed` is false).
        #[serde(skip_serializing_if = "Option::is_none")]
        requires: Option<Requirement>,
    },
    /// The person's direct role in the workspace.
    WorkspaceRole {
        /// `ws_…`
        workspace_id: String,
        /// Their role.
        role: Role,
    },
    /// Admin of the workspace through an org's grant.
    WorkspaceGrant {
        /// `ws_…`
        workspace_id: String,
        /// Always `admin`.
        role: Role,
        /// The org whose grant reaches the person.
        org: OrgRef,
        /// Set when that org requires 2FA the person lacks (then `allowed` is false).
        #[serde(skip_serializing_if = "Option::is_none")]
        requires: Option<Requirement>,
    },
    /// An API key's scopes.
    ApiKey {
        /// `key_…`
        key_id: String,
        /// The key's org (org targets).
        #[serde(skip_serializing_if = "Option::is_none")]
        org_id: Option<String>,
        /// The key's scopes (org targets).
        #[serde(skip_serializing_if = "Option::is_none")]
        scopes: Option<Vec<Permission>>,
        /// The workspace (workspace targets).
        #[serde(skip_serializing_if = "Option::is_none")]
        workspace_id: Option<String>,
        /// The key's org, whose grant reaches the workspace (workspace targets).
        #[serde(skip_serializing_if = "Option::is_none")]
        via_org: Option<OrgRef>,
    },
}

/// A requirement the caller does not meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// Two-factor authentication on the caller's account.
    TwoFactor,
}

const HIDDEN: Decision = Decision { allowed: false, via: None };

/// Decides `permission` on an org or a workspace for the bearer credential.
pub async fn authorize(
    deps: &Deps,
    bearer: &str,
    raw_permission: &str,
    org_id: Option<&str>,
    workspace_id: Option<&str>,
) -> Result<Decision, AppError> {
    let parsed = parse(raw_permission, org_id, workspace_id);
    let (permission, target) = match parsed {
        Ok(p) => p,
        Err(e) => {
            // Credentials are checked first: a stranger learns nothing from 422s.
            auth::authenticate(deps, bearer).await?;
            return Err(e);
        }
    };
    // The target's row rides along with the credential check (one batch).
    let extra = |verified: Verified<'_>| -> Option<Stmt> {
        match (target, verified) {
            (Tenant::Org(o), Verified::User(u)) if looks_like(IdKind::Org, o) => Some(stmt!(sql::ORG_FOR_USER, o, u)),
            (Tenant::Workspace(w), Verified::User(u)) if looks_like(IdKind::Workspace, w) => {
                Some(stmt!(sql::WORKSPACE_FOR_USER, w, u))
            }
            (Tenant::Workspace(w), Verified::KeyDigest(d)) if looks_like(IdKind::Workspace, w) => {
                Some(stmt!(sql::GRANT_OF_KEY, w, d))
            }
            _ => None,
        }
    };
    let (who, row) = auth::authenticate_with(deps, bearer, Some(&extra)).await?;
    match (target, &who, row) {
        (Tenant::Org(org_id), Principal::User(u), Some(row)) => {
            let org: Option<OrgRow> = row.first()?;
            let Some(org) = org else { return Ok(HIDDEN) };
            let role = stored_role(&org.role)?;
            let facts = Facts {
                tenant: TenantKind::Org,
                via: policy::Via::Direct,
                require_2fa: org.require_2fa != 0,
                has_2fa: u.user.totp_enabled != 0,
            };
            let verdict = policy::decide(Subject::Role(role), permission, &facts);
            let requires = (verdict == Verdict::TwoFactorRequired).then_some(Requirement::TwoFactor);
            Ok(Decision {
                allowed: verdict == Verdict::Allow,
                via: Some(Via::OrgRole { org_id: org_id.to_owned(), role, requires }),
            })
        }
        (Tenant::Org(org_id), Principal::ApiKey(k), _) => {
            if k.org.id != org_id {
                return Ok(HIDDEN);
            }
            Ok(Decision {
                allowed: policy::decide(k.subject(), permission, &Facts::direct(TenantKind::Org)) == Verdict::Allow,
                via: Some(Via::ApiKey {
                    key_id: k.key_id.clone(),
                    org_id: Some(k.org.id.clone()),
                    scopes: Some(k.scopes.clone()),
                    workspace_id: None,
                    via_org: None,
                }),
            })
        }
        (Tenant::Workspace(ws_id), Principal::User(u), Some(row)) => {
            let row: Option<WorkspaceRow> = row.first()?;
            let (allowed, via) = workspaces::decide_for_user(row, u, ws_id, permission)?;
            Ok(Decision { allowed, via })
        }
        (Tenant::Workspace(ws_id), Principal::ApiKey(k), Some(row)) => {
            let granted: Option<serde_json::Value> = row.first()?;
            let (allowed, via) = workspaces::decide_for_key(granted.is_some(), k, ws_id, permission);
            Ok(Decision { allowed, via })
        }
        // An id that cannot exist: nothing was read for it.
        _ => Ok(HIDDEN),
    }
}

fn parse<'a>(
    raw_permission: &str,
    org_id: Option<&'a str>,
    workspace_id: Option<&'a str>,
) -> Result<(Permission, Tenant<'a>), AppError> {
    let permission = Permission::parse(raw_permission)
        .ok_or_else(|| AppError::field(FieldError::new("permission", "unknown_permission", "is not a permission")))?;
    let target = match (org_id, workspace_id) {
        (Some(o), None) => Tenant::Org(o),
        (None, Some(w)) => Tenant::Workspace(w),
        _ => {
            return Err(AppError::field(FieldError::new(
                "org_id",
                "one_target",
                "give exactly one of org_id and workspace_id",
            )))
        }
    };
    Ok((permission, target))
}
