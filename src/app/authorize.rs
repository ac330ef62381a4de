//! The decision endpoint other services call before acting: may this
//! principal do this, here? It answers with the reason (`via`), in one D1
//! round trip: the target is read in the same batch as the credential.
use super::access::stored_role;
use super::auth::{self, Principal, Verified};
use super::workspaces::{self, WorkspaceRow};
use super::{AppError, Deps};
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::policy::{self, Facts, Permission, Subject, Verdict, Via};
use crate::domain::tenant::{Tenant, TenantKind};
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{self, OrgRow};
use crate::store::Stmt;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// The answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Decision {
    /// Whether the principal may.
    pub allowed: bool,
    /// What decided: `{kind: "org_role", org_id, role}`, `{kind: "workspace_role", workspace_id, role}`,
    /// `{kind: "workspace_grant", workspace_id, role, org}` or `{kind: "api_key", key_id, …}`;
    /// null when the target is not visible to the caller (as if it did not exist).
    pub via: Option<Value>,
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
                via: Via::Direct,
                require_2fa: org.require_2fa != 0,
                has_2fa: u.user.totp_enabled != 0,
            };
            let verdict = policy::decide(Subject::Role(role), permission, &facts);
            let mut via = json!({ "kind": "org_role", "org_id": org_id, "role": role.as_str() });
            if verdict == Verdict::TwoFactorRequired {
                via["requires"] = json!("two_factor");
            }
            Ok(Decision { allowed: verdict == Verdict::Allow, via: Some(via) })
        }
        (Tenant::Org(org_id), Principal::ApiKey(k), _) => {
            if k.org.id != org_id {
                return Ok(HIDDEN);
            }
            Ok(Decision {
                allowed: policy::decide(k.subject(), permission, &Facts::direct(TenantKind::Org)) == Verdict::Allow,
                via: Some(json!({ "kind": "api_key", "key_id": k.key_id, "org_id": k.org.id,
                                  "scopes": k.scopes.iter().map(|p| p.as_str()).collect::<Vec<_>>() })),
            })
        }
        (Tenant::Workspace(ws_id), Principal::User(u), Some(row)) => {
            let row: Option<WorkspaceRow> = row.first()?;
            let (allowed, via) = workspaces::decide_for_user(row, u, ws_id, permission)?;
            Ok(Decision { allowed, via })
        }
        (Tenant::Workspace(ws_id), Principal::ApiKey(k), Some(row)) => {
            let granted: Option<Value> = row.first()?;
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
