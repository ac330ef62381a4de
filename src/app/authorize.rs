//! The decision endpoint other services call before acting: may this
//! principal do this, here? It answers with the reason (`via`), in one D1
//! round trip: the target is read in the same batch as the credential.
use super::orgs::OrgRow;
use super::sessions::{self, Principal, Subject};
use super::{AppError, Deps};
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::policy::{self, Permission, Role};
use crate::domain::FieldError;
use crate::stmt;
use crate::store::{sql, Stmt};
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

#[derive(Clone, Copy)]
enum Target<'a> {
    Org(&'a str),
    Workspace(&'a str),
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
            sessions::authenticate(deps, bearer).await?;
            return Err(e);
        }
    };
    // The target's row rides along with the credential check (one batch).
    let extra = |subject: Subject<'_>| -> Option<Stmt> {
        match (target, subject) {
            (Target::Org(o), Subject::User(u)) if looks_like(IdKind::Org, o) => Some(stmt!(sql::ORG_FOR_USER, o, u)),
            (Target::Workspace(w), Subject::User(u)) if looks_like(IdKind::Workspace, w) => {
                Some(stmt!(sql::WORKSPACE_FOR_USER, w, u))
            }
            (Target::Workspace(w), Subject::KeyDigest(d)) if looks_like(IdKind::Workspace, w) => {
                Some(stmt!(sql::GRANT_OF_KEY, w, d))
            }
            _ => None,
        }
    };
    let (who, row) = sessions::authenticate_with(deps, bearer, Some(&extra)).await?;
    match (target, &who, row) {
        (Target::Org(org_id), Principal::User(u), Some(row)) => {
            let org: Option<OrgRow> = row.first()?;
            let Some(org) = org else { return Ok(HIDDEN) };
            let Some(role) = Role::parse(&org.role) else { return Ok(HIDDEN) };
            if org.require_2fa != 0 && u.user.totp_enabled == 0 {
                return Ok(Decision {
                    allowed: false,
                    via: Some(
                        json!({ "kind": "org_role", "org_id": org_id, "role": role.as_str(), "requires": "two_factor" }),
                    ),
                });
            }
            let allowed = policy::authorize(Some(role), permission) == policy::Decision::Allow;
            Ok(Decision { allowed, via: Some(json!({ "kind": "org_role", "org_id": org_id, "role": role.as_str() })) })
        }
        (Target::Org(org_id), Principal::ApiKey(k), _) => {
            if k.org.id != org_id {
                return Ok(HIDDEN);
            }
            Ok(Decision {
                allowed: policy::authorize_key(&k.scopes, permission) == policy::KeyDecision::Allow,
                via: Some(json!({ "kind": "api_key", "key_id": k.key_id, "org_id": k.org.id,
                                  "scopes": k.scopes.iter().map(|p| p.as_str()).collect::<Vec<_>>() })),
            })
        }
        (Target::Workspace(ws_id), Principal::User(_), Some(row)) => {
            let (allowed, via) = super::workspaces::decide_for_user(row, ws_id, permission)?;
            Ok(Decision { allowed, via })
        }
        (Target::Workspace(ws_id), Principal::ApiKey(k), Some(row)) => {
            let (allowed, via) = super::workspaces::decide_for_key(row, k, ws_id, permission)?;
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
) -> Result<(Permission, Target<'a>), AppError> {
    let permission = Permission::parse(raw_permission)
        .ok_or_else(|| AppError::field(FieldError::new("permission", "unknown_permission", "is not a permission")))?;
    let target = match (org_id, workspace_id) {
        (Some(o), None) => Target::Org(o),
        (None, Some(w)) => Target::Workspace(w),
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
