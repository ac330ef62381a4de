//! Join links: the admin side under an org, and the joiner's side by token.
use super::{Problem, TokenBody};
use crate::app::access::Credential;
use crate::app::join_links::{self, CreatedJoinLink, JoinLinkPreview, JoinLinkView, JoinOutcome, Joined, NewJoinLink};
use crate::app::membership_requests::MembershipRequestView;
use crate::app::membership_requests::{self, Decision};
use crate::app::Deps;
use crate::domain::tenant::Tenant;
use crate::http::extract::json;
use crate::http::{Answer, Call, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new join link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJoinLinkBody {
    /// `admin`, `member` or the key of one of the org's custom roles (never
    /// `owner`): the role people join with, one the creator may invite with
    /// (a custom role: holding nothing the creator lacks).
    #[schema(example = "member", pattern = "^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")]
    pub role: String,
    /// Exact email domains (no wildcards; a subdomain is its own domain) the
    /// joiner's verified address must be on; absent or empty: any. At most 20.
    #[serde(default)]
    #[schema(value_type = Option<Vec<super::domains::HostName>>, max_items = 20)]
    pub allowed_domains: Option<Vec<String>>,
    /// At most this many people may join through it (1..10000); absent: no cap.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10000)]
    pub max_uses: Option<i64>,
    /// 1..30 days; 7 when absent.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 30)]
    pub expires_in_days: Option<i64>,
    /// Accepting makes a membership request an admin approves or denies
    /// (the request takes a use); false when absent.
    #[serde(default)]
    pub approval: bool,
}

/// The states a membership request may be listed by.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// Waiting for an admin.
    Pending,
    /// Approved: the person joined.
    Approved,
    /// Denied.
    Denied,
    /// Withdrawn by the person.
    Withdrawn,
}

/// An org's join links, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JoinLinkList {
    /// Up to 100, newest first.
    pub data: Vec<JoinLinkView>,
    /// Always null.
    pub next_cursor: Option<String>,
}

/// `POST /v1/orgs/{org_id}/join-links`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/join-links", summary = "Create a join link", tag = "join-links",
    request_body = CreateJoinLinkBody,
    responses((status = 201, body = CreatedJoinLink, description = "The token and URL are shown this once"),
              (status = 403, body = Problem, description = "forbidden (members), insufficient_scope or scope_exceeds_role (an API key handing out a role beyond its scopes)"),
              (status = 422, body = Problem, description = "validation_failed: an owner role, a bad domain, max_uses or expires_in_days out of range")))]
pub async fn create_join_link(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let body: CreateJoinLinkBody = json(req)?;
    let new = NewJoinLink {
        role: &body.role,
        allowed_domains: body.allowed_domains.as_deref(),
        max_uses: body.max_uses,
        expires_in_days: body.expires_in_days,
        approval: body.approval,
    };
    Ok(Response::json(201, &join_links::create(deps, cred, org.id(), new).await?))
}

/// `GET /v1/orgs/{org_id}/join-links`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/join-links", summary = "List an organization's join links", tag = "join-links",
    responses((status = 200, body = JoinLinkList)))]
pub async fn list_join_links(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    let data = join_links::list(deps, cred, org.id()).await?;
    Ok(Response::json(200, &JoinLinkList { data, next_cursor: None }))
}

/// `DELETE /v1/orgs/{org_id}/join-links/{id}`.
#[utoipa::path(delete, path = "/v1/orgs/{org_id}/join-links/{id}", summary = "Revoke a join link", tag = "join-links",
    responses((status = 204, description = "Revoked; those who joined through it stay"), (status = 404, body = Problem, description = "No such live link")))]
pub async fn revoke_join_link(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    join_links::revoke(deps, cred, org.id(), id).await?;
    Ok(Response::empty(204))
}

/// `POST /v1/join-links/preview`.
#[utoipa::path(post, path = "/v1/join-links/preview", summary = "Preview a join link", tag = "join-links", request_body = TokenBody,
    responses((status = 200, body = JoinLinkPreview, description = "With a bearer token: `eligibility` says whether the caller may join"),
              (status = 404, body = Problem, description = "join_link_not_found"),
              (status = 410, body = Problem, description = "join_link_unavailable: revoked, expired or used up")))]
pub async fn preview_join_link(deps: &Deps, req: &Request, cred: Option<&Credential>) -> Answer {
    let body: TokenBody = json(req)?;
    Ok(Response::json(200, &join_links::preview(deps, cred, &body.token).await?))
}

/// `POST /v1/join-links/accept`.
#[utoipa::path(post, path = "/v1/join-links/accept", summary = "Join an organization through a join link", tag = "join-links", request_body = TokenBody,
    responses((status = 201, body = Joined, description = "A member now"),
              (status = 202, body = MembershipRequestView, description = "A link that needs approval: a pending membership request, which an admin approves or denies"),
              (status = 403, body = Problem, description = "email_not_verified, or join_link_domain_mismatch: the verified address is not on the link's domains"),
              (status = 404, body = Problem, description = "join_link_not_found"),
              (status = 409, body = Problem, description = "already_member, or membership_request_exists: a pending request of yours"),
              (status = 410, body = Problem, description = "join_link_unavailable: revoked, expired or used up (the last use may have just been taken)")))]
pub async fn accept_join_link(Call { deps, req, cred }: Call<'_>) -> Answer {
    let body: TokenBody = json(req)?;
    Ok(match join_links::accept(deps, cred, &body.token).await? {
        JoinOutcome::Joined(joined) => Response::json(201, &joined),
        JoinOutcome::Requested(request) => Response::json(202, &request),
    })
}

/// A page of membership requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipRequestList {
    /// Up to 100, newest first.
    pub data: Vec<MembershipRequestView>,
    /// Always null.
    pub next_cursor: Option<String>,
}

/// Approving a membership request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequestBody {
    /// `admin`, `member` or the key of one of the org's custom roles: one
    /// the approver may invite with (a custom role: holding nothing the
    /// approver lacks).
    #[schema(example = "member", pattern = "^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")]
    pub role: String,
}

/// `GET /v1/orgs/{org_id}/membership-requests`.
#[utoipa::path(get, path = "/v1/orgs/{org_id}/membership-requests", summary = "List an organization's membership requests", tag = "join-links",
    params(("status" = Option<RequestStatus>, Query, description = "Only the requests in this state: pending, approved, denied or withdrawn")),
    responses((status = 200, body = MembershipRequestList)))]
pub async fn list_membership_requests(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>) -> Answer {
    let status = req.query_param("status");
    let data = membership_requests::list(deps, cred, org.id(), status.as_deref()).await?;
    Ok(Response::json(200, &MembershipRequestList { data, next_cursor: None }))
}

/// `POST /v1/orgs/{org_id}/membership-requests/{id}/approve`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/membership-requests/{id}/approve", summary = "Approve a membership request", tag = "join-links",
    request_body = ApproveRequestBody,
    responses((status = 200, body = MembershipRequestView, description = "Approved: the person is a member with the role, and is emailed"),
              (status = 403, body = Problem, description = "forbidden, or scope_exceeds_role: a role beyond the approver's"),
              (status = 409, body = Problem, description = "membership_request_not_pending: decided or withdrawn already"),
              (status = 422, body = Problem, description = "validation_failed: owner or an unknown role")))]
pub async fn approve_membership_request(Call { deps, req, cred }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    let body: ApproveRequestBody = json(req)?;
    let decision = Decision::Approve(&body.role);
    Ok(Response::json(200, &membership_requests::decide(deps, cred, org.id(), id, decision).await?))
}

/// `POST /v1/orgs/{org_id}/membership-requests/{id}/deny`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/membership-requests/{id}/deny", summary = "Deny a membership request", tag = "join-links",
    responses((status = 200, body = MembershipRequestView, description = "Denied; the person is emailed"),
              (status = 409, body = Problem, description = "membership_request_not_pending: decided or withdrawn already")))]
pub async fn deny_membership_request(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>, id: &str) -> Answer {
    Ok(Response::json(200, &membership_requests::decide(deps, cred, org.id(), id, Decision::Deny).await?))
}

/// `POST /v1/orgs/{org_id}/membership-requests`.
#[utoipa::path(post, path = "/v1/orgs/{org_id}/membership-requests", summary = "Ask to join a suggested organization", tag = "join-links",
    responses((status = 201, body = MembershipRequestView, description = "A pending request, with the role the domain gives"),
              (status = 403, body = Problem, description = "email_not_verified"),
              (status = 404, body = Problem, description = "not_found: the org is not suggested to you (GET /v1/me/suggested-orgs), or you are a member"),
              (status = 409, body = Problem, description = "membership_request_exists: a pending request of yours")))]
pub async fn ask_to_join(Call { deps, cred, .. }: Call<'_>, org: Tenant<'_>) -> Answer {
    Ok(Response::json(201, &membership_requests::ask(deps, cred, org.id()).await?))
}

/// `GET /v1/me/membership-requests`.
#[utoipa::path(get, path = "/v1/me/membership-requests", summary = "List my membership requests", tag = "join-links",
    responses((status = 200, body = MembershipRequestList)))]
pub async fn my_membership_requests(Call { deps, cred, .. }: Call<'_>) -> Answer {
    let data = membership_requests::mine(deps, cred).await?;
    Ok(Response::json(200, &MembershipRequestList { data, next_cursor: None }))
}

/// `DELETE /v1/me/membership-requests/{id}`.
#[utoipa::path(delete, path = "/v1/me/membership-requests/{id}", summary = "Withdraw my membership request", tag = "join-links",
    responses((status = 204, description = "Withdrawn"), (status = 404, body = Problem, description = "Not a request of yours"),
              (status = 409, body = Problem, description = "membership_request_not_pending")))]
pub async fn withdraw_membership_request(Call { deps, cred, .. }: Call<'_>, id: &str) -> Answer {
    membership_requests::withdraw(deps, cred, id).await?;
    Ok(Response::empty(204))
}
