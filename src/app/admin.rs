//! Platform administrators: the people who help someone locked out of their
//! account. An administrator is an address in `PLATFORM_ADMINS` with 2FA on;
//! every action takes a fresh code of theirs (a step-up: attempt-limited,
//! single-use, accepted in the same batch as the action, so a replayed code
//! changes nothing), is written to the platform audit log and emails the
//! person it concerned. They see a person's account and their orgs and
//! roles; nothing of the orgs' data beyond that.
//!
//! Suspension stops the account's sessions and the API keys it created at
//! once (403 `account_suspended`, decided by the resolver and the write
//! guards); unsuspending restores them. A 2FA reset turns it off, deletes
//! its credential and recovery codes and ends every session: the person
//! signs in with their password and is asked to enrol again.
use super::access::Credential;
use super::messages::Job;
use super::sessions::UserView;
use super::{AppError, Deps, ErrorCode};
use crate::domain::email::Email;
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::time::rfc3339;
use crate::stmt;
use crate::store::sql::{self, AdminOrgRow, PlatformAuditRow, UserRow};
use crate::store::{Batch, Stmt};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// Whether `email` is a platform administrator's address (2FA apart).
pub fn is_admin(deps: &Deps, email: &str) -> bool {
    deps.config.platform_admins.iter().any(|a| a == email)
}

/// A person as an administrator sees them: the account as the person sees
/// it, its suspension and 2FA reset, and (lookups) their orgs and roles.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminUserView {
    /// The account.
    #[serde(flatten)]
    pub account: UserView,
    /// RFC 3339, while suspended.
    pub suspended_at: Option<String>,
    /// RFC 3339 of the last 2FA reset, until they enrol again.
    pub two_factor_reset_at: Option<String>,
    /// Their orgs and roles (lookups only; empty after an action).
    pub orgs: Vec<AdminOrgView>,
}

/// An org of the person, and their role there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminOrgView {
    /// `org_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Their role.
    pub role: String,
    /// RFC 3339.
    pub joined_at: String,
}

/// One entry of the platform audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlatformAuditView {
    /// `evt_…`
    pub id: String,
    /// The administrator.
    pub admin: AdminRef,
    /// `user.looked_up`, `user.suspended`, `user.unsuspended` or `user.two_factor_reset`.
    pub action: String,
    /// The person it concerned.
    pub user: AdminRef,
    /// The action's details (a suspension's reason).
    #[schema(value_type = Object)]
    pub data: Value,
    /// RFC 3339.
    pub occurred_at: String,
}

/// A person named in the platform audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminRef {
    /// `usr_…`
    pub id: String,
    /// Their address at the time.
    pub email: String,
}

/// What an administrator does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Suspend it.
    Suspend,
    /// Lift a suspension.
    Unsuspend,
    /// Reset its 2FA.
    ResetTwoFactor,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Suspend => "user.suspended",
            Action::Unsuspend => "user.unsuspended",
            Action::ResetTwoFactor => "user.two_factor_reset",
        }
    }
}

/// The signed-in administrator (with 2FA on), with `batch` read in the same
/// round trip; anyone else is refused before anything else happens.
async fn administrator(
    deps: &Deps,
    who: &Credential,
    batch: Batch,
) -> Result<(UserRow, crate::store::Results), AppError> {
    let (me, results) = who.person_with(deps, batch).await?;
    if !is_admin(deps, &me.user.email) {
        return Err(AppError::refused(ErrorCode::PlatformAdminRequired, "this is for platform administrators"));
    }
    if me.user.totp_enabled == 0 {
        return Err(AppError::refused(
            ErrorCode::TwoFactorRequired,
            "platform administrators act only with two-factor authentication on: turn it on first",
        ));
    }
    Ok((me.user, results))
}

fn audit_row(deps: &Deps, admin: &UserRow, action: &str, user: &UserRow, data: Value) -> Result<Stmt, AppError> {
    let id = deps.new_id(IdKind::Event)?;
    Ok(stmt!(
        sql::INSERT_PLATFORM_AUDIT,
        id,
        &admin.id,
        &admin.email,
        action,
        &user.id,
        &user.email,
        data.to_string(),
        deps.now()
    ))
}

async fn tell(deps: &Deps, user_id: &str, action: &str) -> Result<(), AppError> {
    let job =
        Job::AdminNotice { job_id: deps.new_id(IdKind::Job)?, user_id: user_id.to_owned(), action: action.to_owned() };
    deps.enqueue_logged(&job).await;
    Ok(())
}

/// Finds a person by address: their account and their orgs and roles.
pub async fn lookup(deps: &Deps, who: &Credential, raw_email: &str, code: &str) -> Result<AdminUserView, AppError> {
    let email = Email::parse(raw_email).map_err(AppError::field)?;
    let mut batch = Batch::new();
    let user = batch.read::<UserRow>(stmt!(sql::ADMIN_USER_BY_EMAIL, email.as_str()));
    let orgs = batch.read::<AdminOrgRow>(stmt!(sql::ADMIN_ORGS_OF_EMAIL, email.as_str()));
    let (admin, mut results) = administrator(deps, who, batch).await?;
    let user = results.first(user)?;
    let orgs = results.all(orgs)?;
    let user = user.ok_or_else(|| AppError::refused(ErrorCode::NotFound, "no account has this address"))?;
    super::totp::step_up(deps, who, code, |_| Ok(vec![audit_row(deps, &admin, "user.looked_up", &user, json!({}))?]))
        .await?;
    tell(deps, &user.id, "user.looked_up").await?;
    Ok(view(&user, orgs))
}

/// Suspends, unsuspends or resets the 2FA of the person `user_id`.
pub async fn act(
    deps: &Deps,
    who: &Credential,
    user_id: &str,
    action: Action,
    code: &str,
    reason: Option<&str>,
) -> Result<AdminUserView, AppError> {
    let mut batch = Batch::new();
    let user = looks_like(IdKind::User, user_id).then(|| batch.read::<UserRow>(stmt!(sql::ADMIN_USER_BY_ID, user_id)));
    let (admin, mut results) = administrator(deps, who, batch).await?;
    let mut user = results.first_if(user)?.ok_or(AppError::NotFound)?;
    if user.id == admin.id {
        return Err(AppError::refused(ErrorCode::Forbidden, "an administrator does not act on their own account"));
    }
    let now = deps.now();
    let data = reason.map_or_else(|| json!({}), |r| json!({ "reason": r }));
    let mut then = match action {
        Action::Suspend => vec![stmt!(sql::SUSPEND_USER, &user.id, now)],
        Action::Unsuspend => vec![stmt!(sql::UNSUSPEND_USER, &user.id)],
        Action::ResetTwoFactor => vec![
            stmt!(sql::DELETE_RECOVERY_CODES, &user.id),
            stmt!(sql::DELETE_TOTP, &user.id),
            stmt!(sql::RESET_USER_TOTP, &user.id, now),
            stmt!(sql::REVOKE_ALL_SESSIONS, &user.id, now),
        ],
    };
    then.push(audit_row(deps, &admin, action.name(), &user, data)?);
    super::totp::step_up(deps, who, code, |_| Ok(then)).await?;
    match action {
        Action::Suspend => user.suspended_at = user.suspended_at.or(Some(now)),
        Action::Unsuspend => user.suspended_at = None,
        Action::ResetTwoFactor => {
            user.totp_enabled = 0;
            user.totp_reset_at = Some(now);
        }
    }
    tell(deps, &user.id, action.name()).await?;
    Ok(view(&user, Vec::new()))
}

/// The platform audit log, newest first (the last 100).
pub async fn audit_log(deps: &Deps, who: &Credential) -> Result<Vec<PlatformAuditView>, AppError> {
    let mut batch = Batch::new();
    let rows = batch.read::<PlatformAuditRow>(stmt!(sql::LIST_PLATFORM_AUDIT));
    let (_, mut results) = administrator(deps, who, batch).await?;
    Ok(results
        .all(rows)?
        .into_iter()
        .map(|r| PlatformAuditView {
            admin: AdminRef { id: r.admin_id, email: r.admin_email },
            user: AdminRef { id: r.user_id, email: r.user_email },
            data: serde_json::from_str(&r.data).unwrap_or_else(|_| json!({})),
            id: r.id,
            action: r.action,
            occurred_at: rfc3339(r.occurred_at),
        })
        .collect())
}

fn view(user: &UserRow, orgs: Vec<AdminOrgRow>) -> AdminUserView {
    AdminUserView {
        account: user.view(),
        suspended_at: user.suspended_at.map(rfc3339),
        two_factor_reset_at: user.totp_reset_at.filter(|_| user.totp_enabled == 0).map(rfc3339),
        orgs: orgs
            .into_iter()
            .map(|o| AdminOrgView {
                id: o.id,
                name: o.name,
                slug: o.slug,
                role: o.role,
                joined_at: rfc3339(o.joined_at),
            })
            .collect(),
    }
}
