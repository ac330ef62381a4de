//! Membership requests: a person asks to join an org (through a join link
//! that needs approval, or from an org suggested to them by their verified
//! email domain); an admin approves with a role or denies, and the person is
//! told by email. One pending request per person and org.
//!
//! Deciding is `invitations:write` (who may let people in) and the role
//! given is one the decider may invite with (a custom role: one holding
//! nothing the decider lacks), never owner. The decision and
//! the membership are one batch: a request is decided once, whoever clicks
//! at the same moment.
use super::access::{Credential, Granted, TwoFactorPolicy};
use super::audit::{Actor, Event};
use super::messages::Job;
use super::workspaces::OrgSummary;
use super::{join_links, members};
use super::{AppError, Deps, ErrorCode};
use crate::domain::custom_role::RoleKey;
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::policy::{Permission, Role, RoleValue};
use crate::domain::tenant::Tenant;
use crate::domain::time::rfc3339;
use crate::stmt;
use crate::store::sql::{self, RequestRow};
use crate::store::Batch;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// A membership request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembershipRequestView {
    /// `mrq_…`
    pub id: String,
    /// The org asked to join.
    pub org: OrgSummary,
    /// Who asks.
    pub user: Requester,
    /// `join_link` or `suggestion`.
    pub via: String,
    /// The role asked for, or (approved) the role given: `admin`, `member`
    /// or the key of one of the org's custom roles.
    #[schema(example = "member")]
    pub role: String,
    /// `pending`, `approved`, `denied` or `withdrawn`.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, once decided or withdrawn.
    pub decided_at: Option<String>,
}

/// The person asking.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Requester {
    /// `usr_…`
    pub id: String,
    /// Their verified address.
    pub email: String,
    /// Display name.
    pub name: String,
}

impl MembershipRequestView {
    pub(crate) fn from_row(r: RequestRow) -> Result<Self, AppError> {
        Ok(MembershipRequestView {
            role: r.role,
            org: OrgSummary { id: r.org_id, name: r.org_name, slug: r.org_slug },
            user: Requester { id: r.user_id, email: r.email, name: r.name },
            id: r.id,
            via: r.via,
            status: r.status,
            created_at: rfc3339(r.created_at),
            decided_at: r.decided_at.map(rfc3339),
        })
    }
}

/// What an admin decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Approve, with this role (`admin`, `member` or one of the org's
    /// custom roles).
    Approve(&'a str),
    /// Deny.
    Deny,
}

/// The org's requests, newest first (`status` filters).
pub async fn list(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    status: Option<&str>,
) -> Result<Vec<MembershipRequestView>, AppError> {
    if let Some(s) = status {
        if !["pending", "approved", "denied", "withdrawn"].contains(&s) {
            let why = "must be pending, approved, denied or withdrawn";
            return Err(AppError::field(crate::domain::FieldError::new("status", "invalid_status", why)));
        }
    }
    let mut batch = Batch::new();
    let rows = batch.read::<RequestRow>(stmt!(sql::LIST_ORG_REQUESTS, org_id, status));
    let (_, mut results) = who
        .require_with(deps, Tenant::Org(org_id), Permission::InvitationsWrite, TwoFactorPolicy::Enforce, batch)
        .await?;
    results.all(rows)?.into_iter().map(MembershipRequestView::from_row).collect()
}

/// The signed-in person's own requests, newest first.
pub async fn mine(deps: &Deps, who: &Credential) -> Result<Vec<MembershipRequestView>, AppError> {
    let mut batch = Batch::new();
    let rows = who.user_id().map(|id| batch.read::<RequestRow>(stmt!(sql::LIST_MY_REQUESTS, id)));
    let (_, mut results) = who.person_with(deps, batch).await?;
    results.all_if(rows)?.into_iter().map(MembershipRequestView::from_row).collect()
}

/// Approves (making a member) or denies a pending request, and emails the person.
pub async fn decide(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
    decision: Decision<'_>,
) -> Result<MembershipRequestView, AppError> {
    if !looks_like(IdKind::MembershipRequest, id) {
        who.require_with(
            deps,
            Tenant::Org(org_id),
            Permission::InvitationsWrite,
            TwoFactorPolicy::Enforce,
            Batch::new(),
        )
        .await?;
        return Err(AppError::NotFound);
    }
    let role = match decision {
        Decision::Approve(raw) => Some(match Role::parse(raw) {
            Some(Role::Owner) => {
                let why =
                    "a request is approved as admin, member or a custom role; make someone an owner from the team list";
                return Err(AppError::field(crate::domain::FieldError::new("role", "invalid_role", why)));
            }
            Some(builtin) => RoleValue::Builtin(builtin),
            None if RoleKey::looks_like(raw) => join_links::custom_role_for(deps, who, org_id, raw).await?,
            None => {
                let why = "must be admin, member or one of this organization's roles";
                return Err(AppError::field(crate::domain::FieldError::new("role", "invalid_role", why)));
            }
        }),
        Decision::Deny => None,
    };
    let (status, action) = match decision {
        Decision::Approve(_) => ("approved", "membership_request.approved"),
        Decision::Deny => ("denied", "membership_request.denied"),
    };
    let within = |g: &Granted| match &role {
        Some(RoleValue::Builtin(r)) if !g.invitable_roles().contains(r) => {
            Err(AppError::refused(ErrorCode::ScopeExceedsRole, format!("you may not hand out the {} role", r.as_str())))
        }
        Some(custom @ RoleValue::Custom { .. }) => members::may_hand_out_value(g, custom),
        _ => Ok(()),
    };
    let role = role.as_ref().map(|r| r.name().to_owned());
    let now = deps.now();
    let wrote = who
        .require_write_checked(deps, Tenant::Org(org_id), Permission::InvitationsWrite, &[], &within, |actor, batch| {
            let decided_by = (actor.kind == "user").then_some(actor.id.as_str());
            let decided = batch.write(stmt!(sql::DECIDE_REQUEST, id, org_id, status, role.as_deref(), now, decided_by));
            let event = Event {
                org_id: Some(org_id),
                workspace_id: None,
                actor,
                action,
                target_kind: "membership_request",
                target_id: id,
                data: json!({ "via": "request", "role": role }),
            };
            batch.add(event.stmt_if_changed(deps)?);
            if status == "approved" {
                batch.add(stmt!(sql::MEMBER_FROM_REQUEST, id));
            }
            let row = batch.read::<RequestRow>(stmt!(sql::REQUEST_BY_ID, id));
            Ok((decided, row))
        })
        .await?;
    let (decided, row) = wrote.handles;
    let mut results = wrote.ran?;
    let changed = results.changed(decided);
    let row = results.first(row)?.filter(|r| r.org_id == org_id).ok_or(AppError::NotFound)?;
    if changed == 0 {
        return Err(AppError::refused(
            ErrorCode::MembershipRequestNotPending,
            format!("this request was {} already", row.status),
        ));
    }
    deps.enqueue_logged(&Job::MembershipDecided { job_id: deps.new_id(IdKind::Job)?, request_id: id.to_owned() }).await;
    MembershipRequestView::from_row(row)
}

/// The signed-in person asks to join an org their verified address's
/// domain suggests to them (`GET /v1/me/suggested-orgs`). One round trip:
/// the session guard, the guarded insert, its audit row and the read-back.
pub async fn ask(deps: &Deps, who: &Credential, org_id: &str) -> Result<MembershipRequestView, AppError> {
    let now = deps.now();
    let id = deps.new_id(IdKind::MembershipRequest)?;
    let wrote = who
        .person_write(deps, true, |user_id, batch| {
            batch.add(stmt!(sql::REQUEST_FROM_SUGGESTION, user_id, org_id, &id, now));
            let actor = Actor::user(user_id);
            let event = Event {
                org_id: Some(org_id),
                workspace_id: None,
                actor: &actor,
                action: "membership_request.created",
                target_kind: "membership_request",
                target_id: &id,
                data: json!({ "via": "suggestion" }),
            };
            batch.add(event.stmt_if_changed(deps)?);
            Ok(batch.read::<RequestRow>(stmt!(sql::REQUEST_BY_ID, &id)))
        })
        .await?;
    let mut results = match wrote.ran {
        Ok(results) => results,
        Err(crate::store::DbError::Unique(_)) => {
            return Err(AppError::refused(
                ErrorCode::MembershipRequestExists,
                "you asked to join this organization already; its admins have not answered yet",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let row = results.first(wrote.handles)?.ok_or_else(|| {
        AppError::refused(ErrorCode::NotFound, "this organization is not suggested to you (or you are a member)")
    })?;
    MembershipRequestView::from_row(row)
}

/// The person withdraws their own pending request.
pub async fn withdraw(deps: &Deps, who: &Credential, id: &str) -> Result<(), AppError> {
    let now = deps.now();
    let wrote = who
        .person_write(deps, false, |user_id, batch| {
            let withdrawn = batch.write(stmt!(sql::WITHDRAW_REQUEST, id, user_id, now));
            let row = batch.read::<RequestRow>(stmt!(sql::REQUEST_BY_ID, id));
            Ok((withdrawn, row))
        })
        .await?;
    let (withdrawn, row) = wrote.handles;
    let mut results = wrote.ran?;
    if results.changed(withdrawn) == 1 {
        let r = results.first(row)?.ok_or(AppError::NotFound)?;
        let actor = Actor::user(&r.user_id);
        let event = Event {
            org_id: Some(&r.org_id),
            workspace_id: None,
            actor: &actor,
            action: "membership_request.withdrawn",
            target_kind: "membership_request",
            target_id: id,
            data: json!({}),
        };
        deps.db.run(event.stmt(deps)?).await?;
        return Ok(());
    }
    match results.first(row)? {
        Some(r) if Some(r.user_id.as_str()) == who.user_id() => Err(AppError::refused(
            ErrorCode::MembershipRequestNotPending,
            format!("this request was {} already", r.status),
        )),
        _ => Err(AppError::NotFound),
    }
}
