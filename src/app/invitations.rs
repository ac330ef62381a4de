//! Invitations by email: create, list, revoke, resend, preview, accept,
//! decline, and sign-up with an invitation. One mechanism for org and
//! workspace targets (`invitations.org_id` or `.workspace_id`).
use super::access::{stored_role, Credential, Granted, TwoFactorPolicy};
use super::audit::{Actor, Event};
use super::auth::Principal;
use super::members;
use super::messages::Job;
use super::page::PageRequest;
use super::roles;
use super::sessions::{create_session, SessionIssued};
use super::ErrorCode;
use super::{AppError, Deps};
use crate::domain::custom_role::{self, RoleKey};
use crate::domain::email::Email;
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::name::DisplayName;
use crate::domain::password::{self, Password};
use crate::domain::policy::{self, Permission, Role, RoleValue};
use crate::domain::tenant::Tenant;
use crate::domain::time::{rfc3339, DAY};
use crate::domain::token::{self, Secret};
use crate::stmt;
pub use crate::store::sql::Delivery;
use crate::store::sql::{
    self, invitation_sql, InvitationLimits, InvitationRow, NewInvitation, Resend, RoleRow, UserRow,
};
use crate::store::{Batch, DbError, Results};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// Invitations live 7 days.
pub const INVITATION_SECONDS: i64 = 7 * DAY;
/// Pending invitations an org may have at once.
pub const MAX_PENDING: i64 = 100;
/// Invitation emails (sends and resends) an org may send in 24 hours.
pub const DAILY_SENDS: i64 = 200;

pub use crate::domain::token::invitation_token;

/// Who invited, as shown to the invitee and to admins.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Inviter {
    /// `usr_…` (null if that account is gone).
    pub id: Option<String>,
    /// Their name.
    pub name: Option<String>,
}

/// An invitation as admins see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    /// `inv_…`
    pub id: String,
    /// The invited address.
    pub email: String,
    /// The role it grants: `owner`, `admin`, `member`, or (orgs) the key of
    /// one of the org's custom roles.
    #[schema(example = "member")]
    pub role: String,
    /// `pending`, `accepted`, `revoked`, `declined` or `expired`.
    pub status: String,
    /// RFC 3339.
    pub expires_at: String,
    /// Who sent it.
    pub invited_by: Inviter,
    /// Whether its email got out: `pending`, `sent` or `failed`. A `failed`
    /// invitation can be resent; it shows `sent` once a resend is delivered.
    pub delivery: Delivery,
}

/// A stored invitation role: built in, or (orgs) a custom role's key (the
/// triggers of migration 0026 keep it one of the org's). Anything else is our bug.
fn stored_name(raw: &str) -> Result<String, AppError> {
    if RoleKey::looks_like(raw) {
        Ok(raw.to_owned())
    } else {
        stored_role(raw).map(|r| r.as_str().to_owned())
    }
}

impl InvitationRow {
    /// The role it gives as a value (built in, or the org's custom role with
    /// its permissions, when the row was read with them).
    fn role_value(&self) -> Result<RoleValue, AppError> {
        if let Some(role) = Role::parse(&self.role) {
            return Ok(RoleValue::Builtin(role));
        }
        match &self.role_permissions {
            Some(raw) => Ok(RoleValue::Custom { key: self.role.clone(), permissions: custom_role::from_stored(raw) }),
            None => Err(AppError::internal(format!("unknown role in database: {}", self.role))),
        }
    }

    /// The view (its role parsed strictly).
    pub fn view(&self) -> Result<InvitationView, AppError> {
        Ok(InvitationView {
            id: self.id.clone(),
            email: self.email.clone(),
            role: stored_name(&self.role)?,
            status: self.status.clone(),
            expires_at: rfc3339(self.expires_at),
            invited_by: Inviter { id: self.invited_by.clone(), name: self.inviter_name.clone() },
            delivery: self.delivery,
        })
    }
}

fn rate_limited(retry_after: i64, what: &str) -> AppError {
    AppError::RateLimited { retry_after: retry_after.max(1), detail: what.to_owned() }
}

/// The caller where they manage invitations (admin+). Workspace
/// invitations need a direct role (`policy::decide`: grant admins never
/// manage seats); an API key sees no workspace (404).
/// `batch` rides along with the resolution (one round trip).
async fn inviter(
    deps: &Deps,
    who: &Credential,
    tenant: Tenant<'_>,
    batch: Batch,
) -> Result<(Granted, Results), AppError> {
    if matches!((tenant, who), (Tenant::Workspace(_), Credential::Key { .. })) {
        return Err(AppError::NotFound);
    }
    who.require_with(deps, tenant, Permission::InvitationsWrite, TwoFactorPolicy::Enforce, batch).await
}

fn event<'a>(
    tenant: Tenant<'a>,
    actor: &'a Actor,
    action: &'static str,
    id: &'a str,
    data: serde_json::Value,
) -> Event<'a> {
    Event::in_tenant(tenant, actor, action, "invitation", id, data)
}

/// Invites `email` with `role` to the tenant and emails the link through the queue.
pub async fn create_invitation(
    deps: &Deps,
    who: &Credential,
    tenant: Tenant<'_>,
    raw_email: &str,
    raw_role: &str,
) -> Result<InvitationView, AppError> {
    let email = Email::parse(raw_email)?;
    // An org's custom role named by the client rides along with the resolution.
    let mut batch = Batch::new();
    let custom = match tenant {
        Tenant::Org(org_id) => roles::role_read(org_id, raw_role).map(|s| batch.read::<RoleRow>(s)),
        Tenant::Workspace(_) => None,
    };
    let (me, mut results) = inviter(deps, who, tenant, batch).await?;
    let role = match tenant {
        Tenant::Org(_) => roles::role_in_org(raw_role, results.first_if(custom)?)?,
        Tenant::Workspace(_) => RoleValue::Builtin(members::role_field(raw_role)?),
    };
    // Nobody invites themself: an invitation must never be a way to a seat
    // or a role the inviter does not already have.
    if me.person().is_some_and(|u| u.user.email == email.as_str()) {
        return Err(AppError::refused(ErrorCode::CannotInviteSelf, "you cannot invite yourself"));
    }
    if !policy::may_invite(me.acting_role(), role.rank()) {
        return Err(AppError::Forbidden);
    }
    members::may_hand_out_value(&me, &role)?;
    let q = invitation_sql(tenant.kind());
    let now = deps.now();
    let id = deps.new_id(IdKind::Invitation)?;
    let nonce = deps.new_id(IdKind::Job)?;
    let digest = invitation_token(&deps.config.token_secret, &id, &nonce).digest();
    let actor = me.actor().clone();
    let event =
        event(tenant, &actor, "invitation.created", &id, json!({ "email": email.as_str(), "role": role.name() }));
    let mut batch = Batch::new();
    batch.add(q.expire_stale(tenant.id(), email.as_str(), now));
    let inserted = batch.write(q.insert(&NewInvitation {
        id: &id,
        tenant_id: tenant.id(),
        email: email.as_str(),
        role: role.name(),
        token_hash: &digest,
        nonce: &nonce,
        invited_by: me.person_id(),
        now,
        expires_at: now + INVITATION_SECONDS,
        max_pending: MAX_PENDING,
        daily_sends: DAILY_SENDS,
    }));
    batch.add(event.stmt_if_changed(deps)?);
    batch.add(sql::record_invitation_send(&id, now));
    let results = match batch.run(deps.db.as_ref()).await {
        Ok(results) => results,
        Err(DbError::Unique(_)) => {
            return Err(AppError::refused(ErrorCode::InvitationExists, "a pending invitation for this address exists"))
        }
        Err(e) => return Err(e.into()),
    };
    if results.changed(inserted) == 0 {
        return Err(refused_invitation(deps, tenant, email.as_str(), now).await);
    }
    deps.enqueue_logged(&Job::Invitation { job_id: deps.new_id(IdKind::Job)?, invitation_id: id.clone(), nonce }).await;
    Ok(InvitationView {
        id,
        email: email.as_str().to_owned(),
        role: role.name().to_owned(),
        status: "pending".into(),
        expires_at: rfc3339(now + INVITATION_SECONDS),
        invited_by: match me.principal() {
            Principal::User(u) => Inviter { id: Some(u.user.id.clone()), name: Some(u.user.name.clone()) },
            Principal::ApiKey(k) => Inviter { id: None, name: Some(k.name.clone()) },
        },
        delivery: Delivery::Pending,
    })
}

/// Why the guarded insert wrote nothing: a member already, or a limit.
async fn refused_invitation(deps: &Deps, tenant: Tenant<'_>, email: &str, now: i64) -> AppError {
    let q = invitation_sql(tenant.kind());
    let limits: Result<Option<InvitationLimits>, AppError> =
        async { Ok(deps.db.run(q.limits(tenant.id(), email, now, DAILY_SENDS)).await?.first()?) }.await;
    match limits {
        Ok(Some(l)) if l.members > 0 => AppError::refused(ErrorCode::AlreadyMember, "that address is already a member"),
        Ok(Some(l)) if l.pending >= MAX_PENDING => {
            rate_limited(3600, "the organization has 100 pending invitations; revoke some first")
        }
        Ok(Some(l)) if l.sent_today >= DAILY_SENDS => rate_limited(
            l.oldest_counted.map_or(3600, |t| t + DAY - now),
            "the organization sent its daily allowance of invitation emails",
        ),
        Ok(_) => AppError::refused(ErrorCode::Conflict, "the invitation could not be created; try again"),
        Err(e) => e,
    }
}

/// The tenant's invitations, newest first, optionally by status.
pub async fn list_invitations(
    deps: &Deps,
    who: &Credential,
    tenant: Tenant<'_>,
    status: Option<&str>,
    page: &PageRequest,
) -> Result<(Vec<InvitationView>, Option<String>), AppError> {
    if let Some(s) = status {
        if !["pending", "accepted", "revoked", "declined", "expired"].contains(&s) {
            return Err(AppError::field(crate::domain::FieldError::new(
                "status",
                "invalid_status",
                "must be pending, accepted, revoked, declined or expired",
            )));
        }
    }
    let (k, id, limit) = page.sql_params();
    let mut batch = Batch::new();
    let rows =
        batch.read::<InvitationRow>(invitation_sql(tenant.kind()).list(tenant.id(), deps.now(), status, k, id, limit));
    let (_, mut results) = inviter(deps, who, tenant, batch).await?;
    let rows = results.all(rows)?;
    let (rows, next) = page.finish(rows, |r| (r.created_at, r.id.clone()));
    Ok((rows.iter().map(InvitationRow::view).collect::<Result<_, _>>()?, next))
}

/// The caller's standing and the invitation, if the caller may manage an
/// invitation of that role (only owners touch invitations to owner).
async fn managed(
    deps: &Deps,
    who: &Credential,
    tenant: Tenant<'_>,
    id: &str,
) -> Result<(Granted, InvitationRow), AppError> {
    // The invitation rides along with the resolution; another tenant's is 404.
    let mut batch = Batch::new();
    let row = looks_like(IdKind::Invitation, id)
        .then(|| batch.read::<InvitationRow>(stmt!(sql::INVITATION_VIEW, id, deps.now())));
    let (me, mut results) = inviter(deps, who, tenant, batch).await?;
    let row = results.first_if(row)?;
    let row = row.filter(|r| r.is_in(tenant)).ok_or(AppError::NotFound)?;
    let role = row.role_value()?;
    if !policy::may_invite(me.acting_role(), role.rank()) || !policy::may_hand_out_value(me.subject(), &role) {
        return Err(AppError::Forbidden);
    }
    Ok((me, row))
}

/// Revokes a pending invitation: its link stops working.
pub async fn revoke_invitation(deps: &Deps, who: &Credential, tenant: Tenant<'_>, id: &str) -> Result<(), AppError> {
    let (me, row) = managed(deps, who, tenant, id).await?;
    let actor = me.actor().clone();
    let event = event(tenant, &actor, "invitation.revoked", id, json!({ "email": row.email }));
    let mut batch = Batch::new();
    let revoked = batch.write(invitation_sql(tenant.kind()).revoke(id, tenant.id(), deps.now()));
    batch.add(event.stmt_if_changed(deps)?);
    if batch.run(deps.db.as_ref()).await?.changed(revoked) == 0 {
        return Err(AppError::refused(ErrorCode::InvitationNotPending, "only a pending invitation can be revoked"));
    }
    Ok(())
}

/// Sends the invitation again with a new token and expiry; the old link dies.
pub async fn resend_invitation(deps: &Deps, who: &Credential, tenant: Tenant<'_>, id: &str) -> Result<(), AppError> {
    let (me, row) = managed(deps, who, tenant, id).await?;
    if !matches!(row.status.as_str(), "pending" | "expired") {
        return Err(AppError::refused(
            ErrorCode::InvitationNotPending,
            "only a pending or expired invitation can be resent",
        ));
    }
    let now = deps.now();
    let nonce = deps.new_id(IdKind::Job)?;
    let digest = invitation_token(&deps.config.token_secret, id, &nonce).digest();
    let actor = me.actor().clone();
    let event = event(tenant, &actor, "invitation.resent", id, json!({ "email": row.email }));
    let mut batch = Batch::new();
    let resent = batch.write(invitation_sql(tenant.kind()).resend(&Resend {
        id,
        tenant_id: tenant.id(),
        token_hash: &digest,
        nonce: &nonce,
        expires_at: now + INVITATION_SECONDS,
        now,
        daily_sends: DAILY_SENDS,
    }));
    batch.add(event.stmt_if_changed(deps)?);
    batch.add(sql::record_invitation_send(id, now));
    if batch.run(deps.db.as_ref()).await?.changed(resent) == 0 {
        return Err(refused_invitation(deps, tenant, "", now).await);
    }
    deps.enqueue_logged(&Job::Invitation { job_id: deps.new_id(IdKind::Job)?, invitation_id: id.to_owned(), nonce })
        .await;
    Ok(())
}

/// Something shown by its name alone (an inviter, a workspace).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NameOnly {
    /// Name (null once an inviter's account is gone).
    pub name: Option<String>,
}

/// What the holder of a link sees before accepting.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitationPreview {
    /// The org (null for a workspace invitation).
    pub org: Option<super::workspaces::OrgName>,
    /// The workspace (absent for an org invitation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<NameOnly>,
    /// The role it grants (a built-in name or the org's custom role key).
    #[schema(example = "member")]
    pub role: String,
    /// The invited address.
    pub email: String,
    /// The inviter.
    pub invited_by: NameOnly,
    /// RFC 3339.
    pub expires_at: String,
}

async fn by_token(deps: &Deps, raw_token: &str) -> Result<InvitationRow, AppError> {
    if !token::plausible(raw_token) {
        return Err(not_found());
    }
    let digest = Secret::from_client(raw_token).digest();
    let row: Option<InvitationRow> = deps.db.run(stmt!(sql::INVITATION_BY_TOKEN, digest, deps.now())).await?.first()?;
    row.ok_or_else(not_found)
}

fn not_found() -> AppError {
    AppError::refused(ErrorCode::InvitationNotFound, "no invitation has this link; it may have been resent")
}

/// The error for an invitation that is not pending.
fn unavailable(status: &str) -> AppError {
    match status {
        "accepted" => AppError::refused(ErrorCode::InvitationAlreadyAccepted, "this invitation was already accepted"),
        "revoked" => AppError::refused(ErrorCode::InvitationRevoked, "this invitation was revoked"),
        "declined" => AppError::refused(ErrorCode::InvitationDeclined, "this invitation was declined"),
        _ => AppError::refused(ErrorCode::InvitationExpired, "this invitation has expired; ask for a new one"),
    }
}

/// Shows a pending invitation to the holder of its link.
pub async fn preview(deps: &Deps, raw_token: &str) -> Result<InvitationPreview, AppError> {
    let row = by_token(deps, raw_token).await?;
    if row.status != "pending" {
        return Err(unavailable(&row.status));
    }
    Ok(InvitationPreview {
        org: row.org_id.as_ref().map(|_| super::workspaces::OrgName {
            name: row.org_name.clone().unwrap_or_default(),
            slug: row.org_slug.clone().unwrap_or_default(),
        }),
        workspace: row.workspace_id.as_ref().map(|_| NameOnly { name: row.workspace_name.clone() }),
        role: stored_name(&row.role)?,
        email: row.email.clone(),
        invited_by: NameOnly { name: row.inviter_name.clone() },
        expires_at: rfc3339(row.expires_at),
    })
}

/// What accepting gives.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Accepted {
    /// The org joined (null for a workspace invitation).
    pub org: Option<super::workspaces::OrgSummary>,
    /// The workspace joined (absent for an org invitation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<WorkspaceRef>,
    /// The role (a built-in name or the org's custom role key).
    #[schema(example = "member")]
    pub role: String,
}

/// A workspace, by id and name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkspaceRef {
    /// `ws_…`
    pub id: String,
    /// Name.
    pub name: Option<String>,
}

/// Accepts an invitation for the signed-in person whose verified email it names.
pub async fn accept(deps: &Deps, who: &Credential, raw_token: &str) -> Result<Accepted, AppError> {
    // The invitation rides along with the session check.
    let mut batch = Batch::new();
    let row = token::plausible(raw_token).then(|| {
        batch.read::<InvitationRow>(stmt!(
            sql::INVITATION_BY_TOKEN,
            Secret::from_client(raw_token).digest(),
            deps.now()
        ))
    });
    let (who, mut results) = who.person_with(deps, batch).await?;
    if who.user.email_verified_at.is_none() {
        return Err(AppError::EmailNotVerified);
    }
    let row = results.first_if(row)?;
    let row = row.ok_or_else(not_found)?;
    if row.email != who.user.email {
        return Err(mismatch());
    }
    if row.status != "pending" {
        return Err(unavailable(&row.status));
    }
    let now = deps.now();
    let digest = Secret::from_client(raw_token).digest();
    let actor = Actor::user(&who.user.id);
    let event = event(
        row.tenant()?,
        &actor,
        "invitation.accepted",
        &row.id,
        json!({ "email": row.email, "role": row.role, "via": "invitation" }),
    );
    let mut batch = Batch::new();
    let accepted = batch.write(stmt!(sql::ACCEPT_INVITATION, &digest, now, &who.user.id, &who.user.email));
    batch.add(event.stmt_if_changed(deps)?);
    batch.add(stmt!(sql::MEMBER_FROM_INVITATION, &digest, &who.user.id, now));
    batch.add(stmt!(sql::WS_MEMBER_FROM_INVITATION, &digest, &who.user.id, now));
    if batch.run(deps.db.as_ref()).await?.changed(accepted) == 0 {
        // Someone (perhaps a parallel request of ours) got there first, or it just expired.
        let again = by_token(deps, raw_token).await?;
        return Err(unavailable(if again.status == "pending" { "expired" } else { &again.status }));
    }
    Ok(Accepted {
        org: row.org_id.as_ref().map(|id| super::workspaces::OrgSummary {
            id: id.clone(),
            name: row.org_name.clone().unwrap_or_default(),
            slug: row.org_slug.clone().unwrap_or_default(),
        }),
        workspace: row
            .workspace_id
            .as_ref()
            .map(|id| WorkspaceRef { id: id.clone(), name: row.workspace_name.clone() }),
        role: stored_name(&row.role)?,
    })
}

fn mismatch() -> AppError {
    AppError::refused(ErrorCode::InvitationEmailMismatch, "this invitation is for another email address")
}

/// Declines an invitation (anyone holding the link).
pub async fn decline(deps: &Deps, raw_token: &str) -> Result<(), AppError> {
    let row = by_token(deps, raw_token).await?;
    if row.status != "pending" {
        return Err(unavailable(&row.status));
    }
    let digest = Secret::from_client(raw_token).digest();
    let actor = Actor { kind: "user", id: "anonymous".into() };
    let event = event(row.tenant()?, &actor, "invitation.declined", &row.id, json!({ "email": row.email }));
    let mut batch = Batch::new();
    let declined = batch.write(stmt!(sql::DECLINE_INVITATION, &digest, deps.now()));
    batch.add(event.stmt_if_changed(deps)?);
    if batch.run(deps.db.as_ref()).await?.changed(declined) == 0 {
        return Err(unavailable("expired"));
    }
    Ok(())
}

/// Sign-up through an invitation: the account is created already verified
/// (the invitation proves the address) together with the membership, in one batch.
pub async fn signup_with_invitation(
    deps: &Deps,
    raw_email: &str,
    raw_password: &str,
    raw_name: &str,
    raw_token: &str,
    user_agent: Option<&str>,
) -> Result<SessionIssued, AppError> {
    let email = Email::parse(raw_email);
    let password = Password::parse("password", raw_password);
    let name = DisplayName::parse("name", raw_name);
    super::error::collect_fields([
        email.as_ref().err().cloned(),
        password.as_ref().err().cloned(),
        name.as_ref().err().cloned(),
    ])?;
    let (Ok(email), Ok(password), Ok(name)) = (email, password, name) else {
        return Err(AppError::internal("unreachable: fields checked above"));
    };
    let row = by_token(deps, raw_token).await?;
    if row.email != email.as_str() {
        return Err(mismatch());
    }
    if row.status != "pending" {
        return Err(unavailable(&row.status));
    }
    let salt: [u8; 16] = super::random(deps.rng.as_ref())?;
    let phc = password::hash(password.expose(), &salt).map_err(|e| AppError::internal_from("hashing a password", e))?;
    let now = deps.now();
    let user_id = deps.new_id(IdKind::User)?;
    let digest = Secret::from_client(raw_token).digest();
    let actor = Actor::user(&user_id);
    let event = event(
        row.tenant()?,
        &actor,
        "invitation.accepted",
        &row.id,
        json!({ "email": row.email, "role": row.role, "signup": true }),
    );
    let mut batch = Batch::new();
    batch.add(stmt!(sql::INSERT_USER_FROM_INVITATION, &user_id, email.as_str(), name.as_str(), phc, now, &digest));
    batch.add(stmt!(sql::ACCEPT_INVITATION, &digest, now, &user_id, email.as_str()));
    batch.add(event.stmt_if_changed(deps)?);
    batch.add(stmt!(sql::MEMBER_FROM_INVITATION, &digest, &user_id, now));
    batch.add(stmt!(sql::WS_MEMBER_FROM_INVITATION, &digest, &user_id, now));
    let user = batch.read::<UserRow>(stmt!(sql::USER_BY_ID, &user_id));
    let mut results = match batch.run(deps.db.as_ref()).await {
        Ok(results) => results,
        Err(DbError::Unique(_)) => {
            return Err(AppError::refused(
                ErrorCode::AccountExists,
                "an account with this email exists; sign in to accept the invitation",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let Some(user) = results.first(user)? else {
        return Err(unavailable("expired"));
    };
    create_session(deps, user, user_agent).await
}
