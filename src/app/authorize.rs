//! The decision endpoint other services call before acting: may this
//! principal do this, here? It answers with the reason (`via`), in one D1
//! round trip: the target is read in the same batch as the credential.
use super::access::{Credential, Judgement};
use super::{AppError, Deps};
use crate::domain::policy::{Permission, Role, Verdict};
use crate::domain::tenant::Tenant;
use crate::domain::FieldError;
use crate::store::Batch;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::workspaces::OrgRef;

/// The answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    /// Whether the principal may.
    pub allowed: bool,
    /// What decided; null when the target is not visible to the caller (as
    /// if it did not exist).
    pub via: Option<Via>,
}

/// What a decision rested on, by `kind`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    /// The person's role in the org.
    OrgRole {
        /// `org_…`
        org_id: String,
        /// Their role: `owner`, `admin`, `member`, or the key of one of
        /// the org's custom roles (`billing-viewer`).
        #[schema(example = "billing-viewer")]
        role: String,
        /// Set when the role is held but a requirement is not met (then `allowed` is false).
        #[serde(skip_serializing_if = "Option::is_none")]
        requires: Option<Requirement>,
        /// How the membership came to be: `created`, `invitation`,
        /// `join_link`, `domain` or `request` (absent for memberships made
        /// before this was recorded).
        #[serde(skip_serializing_if = "Option::is_none")]
        joined_via: Option<String>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// Two-factor authentication on the caller's account.
    TwoFactor,
}

const HIDDEN: Decision = Decision { allowed: false, via: None };

/// Decides `permission` on an org or a workspace for the caller: the
/// resolver (the target read in the same batch as the credential), its
/// judgement, and a view of what it rested on.
pub async fn authorize(
    deps: &Deps,
    who: &Credential,
    raw_permission: &str,
    org_id: Option<&str>,
    workspace_id: Option<&str>,
) -> Result<Decision, AppError> {
    let (permission, target) = match parse(raw_permission, org_id, workspace_id) {
        Ok(p) => p,
        Err(e) => {
            // Credentials are checked first: a stranger learns nothing from 422s.
            who.principal(deps).await?;
            return Err(e);
        }
    };
    let (caller, _) = who.resolve(deps, Some(target), Batch::new()).await?;
    Ok(match caller.judge(permission)? {
        Judgement::Hidden => HIDDEN,
        Judgement::Role { verdict, role, via_org, joined_via } => {
            let requires = (verdict == Verdict::TwoFactorRequired).then_some(Requirement::TwoFactor);
            let via = match (target, via_org) {
                (Tenant::Org(org_id), _) => {
                    Via::OrgRole { org_id: org_id.to_owned(), role: role.name().to_owned(), requires, joined_via }
                }
                (Tenant::Workspace(ws_id), None) => {
                    Via::WorkspaceRole { workspace_id: ws_id.to_owned(), role: role.rank() }
                }
                (Tenant::Workspace(ws_id), Some(org)) => {
                    Via::WorkspaceGrant { workspace_id: ws_id.to_owned(), role: role.rank(), org, requires }
                }
            };
            Decision { allowed: verdict == Verdict::Allow, via: Some(via) }
        }
        Judgement::Key { verdict, key } => {
            let via = match target {
                Tenant::Org(_) => Via::ApiKey {
                    key_id: key.key_id,
                    org_id: Some(key.org.id),
                    scopes: Some(key.scopes),
                    workspace_id: None,
                    via_org: None,
                },
                Tenant::Workspace(ws_id) => Via::ApiKey {
                    key_id: key.key_id,
                    org_id: None,
                    scopes: None,
                    workspace_id: Some(ws_id.to_owned()),
                    via_org: Some(OrgRef { id: key.org.id, name: key.org.name }),
                },
            };
            Decision { allowed: verdict == Verdict::Allow, via: Some(via) }
        }
    })
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
