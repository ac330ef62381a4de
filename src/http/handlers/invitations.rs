//! Invitations: the admin side under an org, and the invitee side by token.
use super::{Problem, TokenBody};
use crate::app::access::Credential;
use crate::app::invitations::{self, Accepted, InvitationPreview, InvitationView};
use crate::app::Deps;
use crate::domain::tenant::Tenant;
use crate::http::extract::{self, json};
use crate::http::{Answer, Call, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// New invitation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationBody {
    /// The address to invite (surrounding spaces are trimmed, and it is lowercased).
    #[schema(format = Email)]
    pub email: String,
    /// `owner` (owners only), `admin`, `member`, or (organizations) the key
    /// of one of the org's custom roles (one holding only permissions the
    /// inviter holds); a role unknown to the org is 422, field `role`.
    #[schema(example = "member", pattern = "^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")]
    pub role: String,
}

/// The statuses an invitation list may be filtered on.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    /// Sent, not yet answered nor expired.
    Pending,
    /// Accepted.
    Accepted,
    /// Revoked by the org or workspace.
    Revoked,
    /// Declined by the invitee.
    Declined,
    /// Not answered in time.
    Expired,
}

/// A page of invitations.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationList {
    /// Newest first.
    pub data: Vec<InvitationView>,
    /// Next page.
    pub next_cursor: Option<String>,
}

/// `POST /v1/orgs/{org_id}/invitations`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/invitations", summary = "Invite someone to an organization", tag = "invitations",
    request_body = CreateInvitationBody,
    responses((status = 201, body = InvitationView, description = "The email goes out through the queue"),
              (status = 403, body = Problem, description = "forbidden, or cannot_invite_self"),
              (status = 409, body = Problem, description = "already_member or invitation_exists"),
              (status = 429, body = Problem, description = "rate_limited: 100 pending, or the daily send allowance")))]
pub async fn create_invitation(call: Call<'_>, org: Tenant<'_>) -> Answer {
    create(call, org).await
}

async fn create(Call { deps, req, cred }: Call<'_>, tenant: Tenant<'_>) -> Answer {
    let body: CreateInvitationBody = json(req)?;
    match tenant {
        Tenant::Org(_) => crate::app::roles::org_role_field(&body.role)?,
        Tenant::Workspace(_) => {
            crate::app::members::role_field(&body.role)?;
        }
    }
    Ok(Response::json(201, &invitations::create_invitation(deps, cred, tenant, &body.email, &body.role).await?))
}

/// `GET /v1/orgs/{org_id}/invitations`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/invitations", summary = "List an organization's invitations", tag = "invitations",
    params(("status" = Option<InvitationStatus>, Query, description = "pending, accepted, revoked, declined or expired"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = InvitationList)))]
pub async fn list_invitations(call: Call<'_>, org: Tenant<'_>) -> Answer {
    list(call, org).await
}

async fn list(Call { deps, req, cred }: Call<'_>, tenant: Tenant<'_>) -> Answer {
    let page = extract::page(req)?;
    let status = req.query_param("status");
    let (data, next_cursor) = invitations::list_invitations(deps, cred, tenant, status.as_deref(), &page).await?;
    Ok(Response::json(200, &InvitationList { data, next_cursor }))
}

/// `DELETE /v1/orgs/{org_id}/invitations/{id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/invitations/{id}", summary = "Revoke an organization invitation", tag = "invitations",
    responses((status = 204, description = "Revoked"), (status = 404, body = Problem), (status = 409, body = Problem, description = "invitation_not_pending: only a pending invitation can be revoked")))]
pub async fn revoke_invitation(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    revoke(deps, cred, org, id).await
}

async fn revoke(deps: &Deps, cred: &Credential, tenant: Tenant<'_>, id: &str) -> Answer {
    invitations::revoke_invitation(deps, cred, tenant, id).await?;
    Ok(Response::empty(204))
}

/// `POST /v1/orgs/{org_id}/invitations/{id}/resend`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/invitations/{id}/resend", summary = "Resend an organization invitation", tag = "invitations",
    responses((status = 202, description = "New token and expiry; the old link dies"), (status = 409, body = Problem, description = "invitation_not_pending: only a pending or expired invitation can be resent"), (status = 429, body = Problem, description = "rate_limited: the daily send allowance or the API key's request limit, with Retry-After")))]
pub async fn resend_invitation(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    resend(deps, cred, org, id).await
}

async fn resend(deps: &Deps, cred: &Credential, tenant: Tenant<'_>, id: &str) -> Answer {
    invitations::resend_invitation(deps, cred, tenant, id).await?;
    Ok(Response::json(202, &super::StatusBody { status: "accepted" }))
}

/// `POST /v1/workspaces/{ws_id}/invitations`.
#[utoipa::path(post, path = "/v1/workspaces/{ws_id}/invitations", summary = "Invite someone to a workspace", tag = "workspaces",
    request_body = CreateInvitationBody,
    responses((status = 201, body = InvitationView),
              (status = 403, body = Problem, description = "forbidden: needs a direct owner or admin role (grant admins never invite); cannot_invite_self"),
              (status = 409, body = Problem, description = "already_member or invitation_exists")))]
pub async fn create_workspace_invitation(call: Call<'_>, ws: Tenant<'_>) -> Answer {
    create(call, ws).await
}

/// `GET /v1/workspaces/{ws_id}/invitations`.
#[utoipa::path(get, path = "/v1/workspaces/{ws_id}/invitations", summary = "List a workspace's invitations", tag = "workspaces",
    params(("status" = Option<InvitationStatus>, Query), ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "1..100, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = InvitationList)))]
pub async fn list_workspace_invitations(call: Call<'_>, ws: Tenant<'_>) -> Answer {
    list(call, ws).await
}

/// `DELETE /v1/workspaces/{ws_id}/invitations/{id}`.
#[utoipa::path(delete, path = "/v1/workspaces/{ws_id}/invitations/{id}", summary = "Revoke a workspace invitation", tag = "workspaces",
    responses((status = 204, description = "Revoked"), (status = 409, body = Problem, description = "invitation_not_pending: only a pending invitation can be revoked")))]
pub async fn revoke_workspace_invitation(Call { deps, cred, .. }: Call<'_>, ws: Tenant<'_>, id: &str) -> Answer {
    revoke(deps, cred, ws, id).await
}

/// `POST /v1/workspaces/{ws_id}/invitations/{id}/resend`.
#[utoipa::path(post, path = "/v1/workspaces/{ws_id}/invitations/{id}/resend", summary = "Resend a workspace invitation", tag = "workspaces",
    responses((status = 202, description = "New token and expiry"), (status = 409, body = Problem, description = "invitation_not_pending: only a pending or expired invitation can be resent"), (status = 429, body = Problem, description = "rate_limited: the daily send allowance or the API key's request limit, with Retry-After")))]
pub async fn resend_workspace_invitation(Call { deps, cred, .. }: Call<'_>, ws: Tenant<'_>, id: &str) -> Answer {
    resend(deps, cred, ws, id).await
}

/// `POST /v1/invitations/preview`.
#[utoipa::path(post, path = "/v1/invitations/preview", summary = "Preview an invitation", tag = "invitations", request_body = TokenBody,
    responses((status = 200, body = InvitationPreview), (status = 404, body = Problem, description = "invitation_not_found"),
              (status = 410, body = Problem, description = "invitation_expired, invitation_revoked or invitation_declined"),
              (status = 409, body = Problem, description = "invitation_already_accepted")))]
pub async fn preview_invitation(deps: &Deps, req: &Request) -> Answer {
    let body: TokenBody = json(req)?;
    Ok(Response::json(200, &invitations::preview(deps, &body.token).await?))
}

/// `POST /v1/invitations/accept`.
#[utoipa::path(post, path = "/v1/invitations/accept", summary = "Accept an invitation", tag = "invitations", request_body = TokenBody,
    responses((status = 200, body = Accepted), (status = 403, body = Problem, description = "invitation_email_mismatch"),
              (status = 404, body = Problem, description = "invitation_not_found"),
              (status = 409, body = Problem, description = "invitation_already_accepted"),
              (status = 410, body = Problem, description = "invitation_expired, invitation_revoked or invitation_declined")))]
pub async fn accept_invitation(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: TokenBody = json(req)?;
    Ok(Response::json(200, &invitations::accept(deps, cred, &body.token).await?))
}

/// `POST /v1/invitations/decline`.
#[utoipa::path(post, path = "/v1/invitations/decline", summary = "Decline an invitation", tag = "invitations", request_body = TokenBody,
    responses((status = 204, description = "Declined"), (status = 404, body = Problem, description = "invitation_not_found"),
              (status = 409, body = Problem, description = "invitation_already_accepted"),
              (status = 410, body = Problem, description = "invitation_expired, invitation_revoked or invitation_declined")))]
pub async fn decline_invitation(deps: &Deps, req: &Request) -> Answer {
    let body: TokenBody = json(req)?;
    invitations::decline(deps, &body.token).await?;
    Ok(Response::empty(204))
}
