//! Join links: an org admin shares one link; people with a verified address
//! (on the link's domains, when it names some) join with its role, until it
//! expires, runs out of uses or is revoked. Revoking keeps those who joined.
//!
//! Creating, listing and revoking are org writes like invitations
//! (`invitations:write`; a link's role is one the creator may invite with,
//! never owner). Joining is the person's own act: [`accept`] when signed in,
//! or [`join_after_signup`] when a sign-up made through a link is verified
//! (a link never vouches for an address). Both end in [`join`], whose one
//! guarded statement re-checks everything the link promises.
use super::access::{Credential, Granted, TwoFactorPolicy};
use super::audit::{Actor, Event};
use super::membership_requests::MembershipRequestView;
use super::workspaces::{OrgName, OrgSummary};
use super::{members, roles};
use super::{AppError, Deps, ErrorCode};
use crate::domain::ids::IdKind;
use crate::domain::join_link::{self, LinkRules, LinkState};
use crate::domain::policy::{Permission, Role, RoleValue};
use crate::domain::tenant::Tenant;
use crate::domain::time::rfc3339;
use crate::domain::token::{self, Secret};
use crate::stmt;
use crate::store::sql::{self, JoinLinkListRow, JoinLinkRow, RequestRow, RoleRow, UserRow};
use crate::store::{Batch, DbError, Stmt};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// What a new link asks for (the request body, parsed by the handler).
#[derive(Debug, Clone, Copy)]
pub struct NewJoinLink<'a> {
    /// `admin`, `member` or the key of one of the org's custom roles.
    pub role: &'a str,
    /// Exact email domains; none: any verified address.
    pub allowed_domains: Option<&'a [String]>,
    /// A cap on how many may join through it.
    pub max_uses: Option<i64>,
    /// 1..30; 7 when absent.
    pub expires_in_days: Option<i64>,
    /// Accepting makes a membership request an admin approves or denies.
    pub approval: bool,
}

/// A join link as listed (never its token).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JoinLinkView {
    /// `jnl_…`
    pub id: String,
    /// The role people join with: `admin`, `member` or the key of one of
    /// the org's custom roles.
    #[schema(example = "member")]
    pub role: String,
    /// Exact email domains; empty: any verified address.
    pub allowed_domains: Vec<String>,
    /// Null: no cap.
    pub max_uses: Option<i64>,
    /// How many joined (or, needing approval, asked to) through it.
    pub uses: i64,
    /// Whether joining needs an admin's approval (a membership request).
    pub approval: bool,
    /// The user who created it (null for an API key's, or once they are gone).
    pub created_by: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// RFC 3339, or null.
    pub revoked_at: Option<String>,
    /// `active`, `expired`, `revoked` or `used_up`.
    pub state: LinkState,
}

/// A new join link: the link as a list shows it right after creation and,
/// this once, its token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedJoinLink {
    /// The link (no uses yet, `active`).
    #[serde(flatten)]
    pub link: JoinLinkView,
    /// Shown once; stored only as its SHA-256.
    pub token: String,
    /// `{APP_URL}/join#token=…`: the token stays in the fragment, out of logs.
    pub url: String,
}

impl JoinLinkListRow {
    fn view(self, now: i64) -> Result<JoinLinkView, AppError> {
        Ok(JoinLinkView {
            state: join_link::state(self.revoked_at, self.expires_at, self.uses, self.max_uses, now),
            allowed_domains: domains(self.allowed_domains.as_deref())?,
            id: self.id,
            role: self.role,
            max_uses: self.max_uses,
            uses: self.uses,
            approval: self.approval != 0,
            created_by: self.created_by,
            created_at: rfc3339(self.created_at),
            expires_at: rfc3339(self.expires_at),
            revoked_at: self.revoked_at.map(rfc3339),
        })
    }
}

/// Whether the signed-in person may join through a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// Accepting will make them a member.
    Eligible,
    /// They are a member already.
    AlreadyMember,
    /// Their address is not verified yet.
    EmailNotVerified,
    /// Their address is not on one of the link's domains.
    DomainNotAllowed,
    /// They asked to join already; an admin has not answered yet.
    RequestPending,
}

/// What a join link offers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JoinLinkPreview {
    /// The org.
    pub org: OrgName,
    /// The role people join with: `admin`, `member` or the key of one of
    /// the org's custom roles.
    #[schema(example = "member")]
    pub role: String,
    /// Exact email domains; empty: any verified address.
    pub allowed_domains: Vec<String>,
    /// Whether joining needs an admin's approval (accepting makes a request).
    pub approval: bool,
    /// RFC 3339.
    pub expires_at: String,
    /// For a signed-in caller: whether they may join, or why not. Null when
    /// anonymous (sign up or sign in first).
    pub eligibility: Option<Eligibility>,
}

/// What accepting a link did: a membership, or (a link that needs approval)
/// a pending membership request.
#[derive(Debug, Clone)]
pub enum JoinOutcome {
    /// A member now.
    Joined(Joined),
    /// Asked to join; an admin decides.
    Requested(MembershipRequestView),
}

/// A membership made through a link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Joined {
    /// The org joined.
    pub org: OrgSummary,
    /// The role joined with (a built-in name or the org's custom role key).
    #[schema(example = "member")]
    pub role: String,
}

/// Creates a join link (`invitations:write`; one round trip for a person).
pub async fn create(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    new: NewJoinLink<'_>,
) -> Result<CreatedJoinLink, AppError> {
    let rules =
        LinkRules::parse(new.role, new.allowed_domains, new.max_uses, new.expires_in_days).map_err(AppError::field)?;
    let now = deps.now();
    let expires_at = now + rules.lifetime;
    let id = deps.new_id(IdKind::JoinLink)?;
    let secret = Secret::random(super::random(deps.rng.as_ref())?);
    let domains =
        (!rules.allowed_domains.is_empty()).then(|| serde_json::Value::from(rules.allowed_domains.clone()).to_string());
    // A custom role is read with a first trip (the capability, and what the
    // role holds: nobody hands out more than they hold); a built-in one is
    // judged where the write waits for the resolution.
    let role = match Role::parse(&rules.role) {
        Some(builtin) => RoleValue::Builtin(builtin),
        None => custom_role_for(deps, who, org_id, &rules.role).await?,
    };
    let within = |g: &Granted| match &role {
        RoleValue::Builtin(r) if !g.invitable_roles().contains(r) => {
            Err(AppError::refused(ErrorCode::ScopeExceedsRole, format!("you may not hand out the {} role", r.as_str())))
        }
        RoleValue::Builtin(_) => Ok(()),
        custom => members::may_hand_out_value(g, custom),
    };
    let role = rules.role.as_str();
    let wrote = who
        .require_write_checked(deps, Tenant::Org(org_id), Permission::InvitationsWrite, &[], &within, |actor, batch| {
            let created_by = (actor.kind == "user").then(|| actor.id.clone());
            batch.add(stmt!(
                sql::INSERT_JOIN_LINK,
                &id,
                org_id,
                secret.digest(),
                role,
                domains.as_deref(),
                rules.max_uses,
                created_by.as_deref(),
                now,
                expires_at,
                new.approval
            ));
            let data = json!({ "role": role, "allowed_domains": rules.allowed_domains, "max_uses": rules.max_uses,
                               "approval": new.approval, "expires_at": rfc3339(expires_at) });
            batch.add(
                Event::in_tenant(Tenant::Org(org_id), actor, "join_link.created", "join_link", &id, data).stmt(deps)?,
            );
            Ok(created_by)
        })
        .await?;
    wrote.ran?;
    // The row as written, shown as a list would show it now.
    let row = JoinLinkListRow {
        id,
        role: role.to_owned(),
        allowed_domains: domains,
        max_uses: rules.max_uses,
        uses: 0,
        approval: new.approval.into(),
        created_by: wrote.handles,
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    Ok(CreatedJoinLink {
        url: format!("{}/join#token={}", deps.config.app_url, secret.expose()),
        token: secret.expose().to_owned(),
        link: row.view(now)?,
    })
}

/// The org's join links, newest first (never their tokens).
pub async fn list(deps: &Deps, who: &Credential, org_id: &str) -> Result<Vec<JoinLinkView>, AppError> {
    let mut batch = Batch::new();
    let rows = batch.read::<JoinLinkListRow>(stmt!(sql::LIST_JOIN_LINKS, org_id));
    let (_, mut results) = who
        .require_with(deps, Tenant::Org(org_id), Permission::InvitationsWrite, TwoFactorPolicy::Enforce, batch)
        .await?;
    let now = deps.now();
    results.all(rows)?.into_iter().map(|r| r.view(now)).collect()
}

/// Revokes a join link; those who joined through it stay.
pub async fn revoke(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let now = deps.now();
    let wrote = who
        .require_write(
            deps,
            Tenant::Org(org_id),
            Permission::InvitationsWrite,
            TwoFactorPolicy::Enforce,
            |actor, batch| {
                let revoked = batch.write(stmt!(sql::REVOKE_JOIN_LINK, id, org_id, now));
                batch.add(
                    Event::in_tenant(Tenant::Org(org_id), actor, "join_link.revoked", "join_link", id, json!({}))
                        .stmt_if_changed(deps)?,
                );
                Ok(revoked)
            },
        )
        .await?;
    if wrote.ran?.changed(wrote.handles) == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// What a link offers, and (signed in) whether the caller may join.
pub async fn preview(deps: &Deps, who: Option<&Credential>, raw_token: &str) -> Result<JoinLinkPreview, AppError> {
    let (link, person) = match who {
        Some(who) => {
            let mut batch = Batch::new();
            let read = link_read(&mut batch, raw_token, who.user_id());
            let (person, mut results) = who.person_with(deps, batch).await?;
            (results.first_if(read)?, Some(person.user))
        }
        None => {
            let mut batch = Batch::new();
            let read = link_read(&mut batch, raw_token, None);
            (batch.run(deps.db.as_ref()).await?.first_if(read)?, None)
        }
    };
    let link = usable(deps, link)?;
    let allowed = domains(link.allowed_domains.as_deref())?;
    let eligibility = person.map(|user| match eligibility(&user, &link, &allowed) {
        Ok(()) => Eligibility::Eligible,
        Err(why) => why,
    });
    Ok(JoinLinkPreview {
        org: OrgName { name: link.org_name, slug: link.org_slug },
        role: link.role,
        allowed_domains: allowed,
        approval: link.approval != 0,
        expires_at: rfc3339(link.expires_at),
        eligibility,
    })
}

/// The signed-in person joins through a link (two round trips: the link
/// rides with the session check, then the guarded join).
pub async fn accept(deps: &Deps, who: &Credential, raw_token: &str) -> Result<JoinOutcome, AppError> {
    let mut batch = Batch::new();
    let read = link_read(&mut batch, raw_token, who.user_id());
    let (person, mut results) = who.person_with(deps, batch).await?;
    let link = usable(deps, results.first_if(read)?)?;
    let again = stmt!(sql::JOIN_LINK_BY_TOKEN, Secret::from_client(raw_token).digest(), &person.user.id);
    join(deps, &person.user, link, again).await
}

/// The statement that binds a sign-up's verification link (`email_token_id`)
/// to the join link a sign-up came through (nothing for a token that cannot
/// be one; an unknown token binds nothing, and the sign-up goes on).
pub(crate) fn intent_stmt(email_token_id: &str, raw_join_token: &str, now: i64) -> Option<Stmt> {
    token::plausible(raw_join_token)
        .then(|| stmt!(sql::INSERT_JOIN_INTENT, email_token_id, Secret::from_client(raw_join_token).digest(), now))
}

/// After a sign-up made through a join link is verified: joins if the link
/// still works and the address qualifies. Verification stands either way;
/// a link that no longer admits them is logged, not an error.
pub(crate) async fn join_after_signup(deps: &Deps, user: &UserRow, email_token_id: &str, link: JoinLinkRow) {
    let again = stmt!(sql::JOIN_LINK_OF_SIGNUP, email_token_id, &user.id);
    let outcome = match usable(deps, Some(link)) {
        Ok(link) => join(deps, user, link, again).await.map(drop),
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        super::log_error(&format!("join after sign-up through {}: {e:?}", user.id));
    }
}

/// The read of a link by its token, with `person`'s role in its org
/// (nothing for a token that cannot be one).
fn link_read(batch: &mut Batch, raw_token: &str, person: Option<&str>) -> Option<crate::store::Read<JoinLinkRow>> {
    token::plausible(raw_token).then(|| {
        batch.read::<JoinLinkRow>(stmt!(sql::JOIN_LINK_BY_TOKEN, Secret::from_client(raw_token).digest(), person))
    })
}

/// The link, if there is one and it still works.
fn usable(deps: &Deps, row: Option<JoinLinkRow>) -> Result<JoinLinkRow, AppError> {
    let row = row.ok_or_else(|| AppError::refused(ErrorCode::JoinLinkNotFound, "no join link has this token"))?;
    let why = match join_link::state(row.revoked_at, row.expires_at, row.uses, row.max_uses, deps.now()) {
        LinkState::Active => return Ok(row),
        LinkState::Revoked => "this join link was revoked",
        LinkState::Expired => "this join link has expired",
        LinkState::UsedUp => "this join link has no use left",
    };
    Err(AppError::refused(ErrorCode::JoinLinkUnavailable, why))
}

/// Whether `user` may join through `link` (its state apart), or why not.
fn eligibility(user: &UserRow, link: &JoinLinkRow, allowed: &[String]) -> Result<(), Eligibility> {
    if link.member_role.is_some() {
        Err(Eligibility::AlreadyMember)
    } else if link.pending_request.is_some() {
        Err(Eligibility::RequestPending)
    } else if user.email_verified_at.is_none() {
        Err(Eligibility::EmailNotVerified)
    } else if !join_link::domain_allowed(allowed, user.email.rsplit_once('@').map_or("", |(_, d)| d)) {
        Err(Eligibility::DomainNotAllowed)
    } else {
        Ok(())
    }
}

/// The guarded join: the member (or, for a link that needs approval, the
/// membership request), the use and the audit row in one batch. When the
/// statement adds nothing (a parallel request took the last use, or made
/// them a member), `again` re-reads the link to say why.
async fn join(deps: &Deps, user: &UserRow, link: JoinLinkRow, again: Stmt) -> Result<JoinOutcome, AppError> {
    let allowed = domains(link.allowed_domains.as_deref())?;
    eligibility(user, &link, &allowed).map_err(|why| refusal(why, &allowed))?;
    let now = deps.now();
    let role = link.role.clone();
    let actor = Actor::user(&user.id);
    let approval = link.approval != 0;
    let request_id = if approval { Some(deps.new_id(IdKind::MembershipRequest)?) } else { None };
    let (action, target_kind, target_id) = match &request_id {
        Some(id) => ("membership_request.created", "membership_request", id.as_str()),
        None => ("member.joined", "user", user.id.as_str()),
    };
    let data = json!({ "via": "join_link", "join_link_id": link.id, "email": user.email, "role": role });
    let event =
        Event { org_id: Some(&link.org_id), workspace_id: None, actor: &actor, action, target_kind, target_id, data };
    let mut batch = Batch::new();
    match &request_id {
        Some(id) => batch.add(stmt!(sql::REQUEST_FROM_JOIN_LINK, &link.id, &user.id, now, id)),
        None => batch.add(stmt!(sql::MEMBER_FROM_JOIN_LINK, &link.id, &user.id, now)),
    }
    let counted = batch.write(stmt!(sql::COUNT_JOIN_LINK_USE, &link.id));
    batch.add(event.stmt_if_changed(deps)?);
    let request = request_id.as_ref().map(|id| batch.read::<RequestRow>(stmt!(sql::REQUEST_BY_ID, id)));
    let mut results = match batch.run(deps.db.as_ref()).await {
        Ok(results) => results,
        Err(DbError::Unique(_)) => return Err(refusal(Eligibility::RequestPending, &allowed)),
        Err(e) => return Err(e.into()),
    };
    if results.changed(counted) == 0 {
        let now_row = deps.db.run(again).await?.first::<JoinLinkRow>()?;
        let now_row = usable(deps, now_row)?;
        if now_row.member_role.is_some() {
            return Err(refusal(Eligibility::AlreadyMember, &allowed));
        }
        return Err(AppError::refused(ErrorCode::Conflict, "the join link changed meanwhile; try again"));
    }
    match results.first_if(request)? {
        Some(row) => Ok(JoinOutcome::Requested(MembershipRequestView::from_row(row)?)),
        None => Ok(JoinOutcome::Joined(Joined {
            org: OrgSummary { id: link.org_id, name: link.org_name, slug: link.org_slug },
            role,
        })),
    }
}

fn refusal(why: Eligibility, allowed: &[String]) -> AppError {
    match why {
        Eligibility::AlreadyMember => {
            AppError::refused(ErrorCode::AlreadyMember, "you are a member of this organization already")
        }
        Eligibility::EmailNotVerified => AppError::EmailNotVerified,
        Eligibility::RequestPending => AppError::refused(
            ErrorCode::MembershipRequestExists,
            "you asked to join this organization already; its admins have not answered yet",
        ),
        Eligibility::DomainNotAllowed => AppError::refused(
            ErrorCode::JoinLinkDomainMismatch,
            format!("this join link is for addresses on {} only", allowed.join(", ")),
        ),
        Eligibility::Eligible => AppError::internal("an eligible person refused"),
    }
}

/// The stored JSON array of domains.
fn domains(stored: Option<&str>) -> Result<Vec<String>, AppError> {
    stored.map_or(Ok(Vec::new()), |raw| {
        serde_json::from_str(raw).map_err(|e| AppError::internal(format!("join_links.allowed_domains: {e}")))
    })
}

/// One of the org's custom roles named for a link or an approval, with the
/// caller's capability read in the same trip: 422 for a role the org does
/// not have, 403 for one holding more than the caller holds.
pub(crate) async fn custom_role_for(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    raw: &str,
) -> Result<RoleValue, AppError> {
    let mut batch = Batch::new();
    let read = roles::role_read(org_id, raw).map(|s| batch.read::<RoleRow>(s));
    let (me, mut results) = who.require_in_org(deps, org_id, Permission::InvitationsWrite, batch).await?;
    let role = roles::role_in_org(raw, results.first_if(read)?)?;
    members::may_hand_out_value(&me, &role)?;
    Ok(role)
}
