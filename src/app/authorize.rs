//! The decision endpoint other services call before acting: may this
//! principal do this, here? It answers with the reason (`via`).
use super::orgs::{self, TwoFactorPolicy};
use super::sessions::Principal;
use super::{AppError, Deps};
use crate::domain::policy::{self, Permission};
use crate::domain::FieldError;
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

/// Decides `permission` on an org or a workspace.
pub async fn authorize(
    deps: &Deps,
    who: &Principal,
    raw_permission: &str,
    org_id: Option<&str>,
    workspace_id: Option<&str>,
) -> Result<Decision, AppError> {
    let permission = Permission::parse(raw_permission)
        .ok_or_else(|| AppError::field(FieldError::new("permission", "unknown_permission", "is not a permission")))?;
    let org_id = match (org_id, workspace_id) {
        (Some(o), None) => o,
        (None, Some(ws_id)) => {
            let (allowed, via) = super::workspaces::decide(deps, who, ws_id, permission).await?;
            return Ok(Decision { allowed, via });
        }
        _ => {
            return Err(AppError::field(FieldError::new(
                "org_id",
                "one_target",
                "give exactly one of org_id and workspace_id",
            )))
        }
    };
    // Reuse the access check with a permission everyone in the org has, so
    // the decision for `permission` is made here, from the same row.
    let access = match orgs::access(deps, who, org_id, Permission::OrgRead, TwoFactorPolicy::Enforce).await {
        Ok(a) => a,
        Err(AppError::NotFound) => return Ok(Decision { allowed: false, via: None }),
        // A member of an org that requires 2FA, without it: visible, and refused.
        Err(AppError::Coded { code: "two_factor_required", .. }) => {
            return Ok(Decision {
                allowed: false,
                via: Some(json!({ "kind": "org_role", "org_id": org_id, "requires": "two_factor" })),
            })
        }
        Err(AppError::Coded { code: "insufficient_scope", .. }) => {
            // A key of this org without org:read: visible, decided by its scopes.
            return Ok(key_decision(who, permission));
        }
        Err(e) => return Err(e),
    };
    Ok(match who {
        Principal::ApiKey(_) => key_decision(who, permission),
        Principal::User(_) => {
            let allowed = policy::authorize(Some(access.role), permission) == policy::Decision::Allow;
            Decision {
                allowed,
                via: Some(json!({ "kind": "org_role", "org_id": org_id, "role": access.role.as_str() })),
            }
        }
    })
}

fn key_decision(who: &Principal, permission: Permission) -> Decision {
    match who {
        Principal::ApiKey(k) => Decision {
            allowed: k.scopes.contains(&permission),
            via: Some(json!({ "kind": "api_key", "key_id": k.key_id, "org_id": k.org.id,
                              "scopes": k.scopes.iter().map(|p| p.as_str()).collect::<Vec<_>>() })),
        },
        Principal::User(_) => Decision { allowed: false, via: None },
    }
}
