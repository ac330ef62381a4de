//! Access reviews: who has access to an org, how they sign in, when they
//! were last active, and which API keys act in it, exported for a periodic
//! review (JSON or CSV). Reading it is audited (`access_review.exported`),
//! in the same round trip as the decision and the reads.
//!
//! Who may export: a person with `audit:read`, `members:read` and
//! `api_keys:write` (in the table: owners and admins). `audit:read` because
//! the review is a record of the org kept for an auditor; `api_keys:write`
//! because it shows every key's scopes and last use, which only those who
//! manage keys see (`GET …/api-keys`); and never an API key (the route is
//! for people: keys never read keys).
use super::access::{stored_role, Credential, Granted};
use super::audit::{Actor, Event};
use super::{AppError, Deps, ErrorCode};
use crate::domain::access_review::{csv, day};
use crate::domain::policy::{Permission, TwoFactorRule};
use crate::domain::tenant::Tenant;
use crate::domain::time::rfc3339;
use crate::stmt;
use crate::store::sql::{self, ApiKeyRow, ReviewMemberRow, REVIEW_LIMIT};
use crate::store::Batch;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// How the review is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Format {
    /// `application/json`.
    Json,
    /// `text/csv`: one table, a `kind` column telling members from keys.
    Csv,
}

impl Format {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

/// The org under review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewedOrg {
    /// `org_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Whether 2FA is required of anyone.
    pub require_2fa: bool,
    /// Whom: `all`, `admins_and_owners`, or null.
    pub require_2fa_for: Option<TwoFactorRule>,
}

/// A member, as reviewed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewedMember {
    /// `usr_…`
    pub user_id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role: `owner`, `admin`, `member`, or the key of one of the org's custom roles.
    #[schema(example = "admin")]
    pub role: String,
    /// Whether they have 2FA on.
    pub two_factor: bool,
    /// UTC day of their last sign-in, session refresh or key use; null: never.
    pub last_active_on: Option<String>,
    /// RFC 3339.
    pub joined_at: String,
    /// `created`, `invitation`, `join_link`, `domain`, `request`; null for
    /// memberships older than the column.
    pub joined_via: Option<String>,
}

/// A key that works now, as reviewed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewedKey {
    /// `key_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// `lk_` and the first characters.
    pub prefix: String,
    /// Its scopes.
    pub scopes: Vec<Permission>,
    /// Creator's `usr_…` (null once that account is gone).
    pub created_by: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339 or null.
    pub expires_at: Option<String>,
    /// RFC 3339 or null (written at most once a minute).
    pub last_used_at: Option<String>,
}

/// An org's access review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessReview {
    /// RFC 3339.
    pub generated_at: String,
    /// The org.
    pub org: ReviewedOrg,
    /// Every member, oldest first.
    pub members: Vec<ReviewedMember>,
    /// Every key that works now (not revoked, or in a rotation's grace
    /// period; not expired), oldest first.
    pub api_keys: Vec<ReviewedKey>,
    /// More than 5000 members or keys: the lists stop there.
    pub truncated: bool,
}

/// The CSV's columns: one table for members and keys (`kind`), so it opens
/// and filters as one sheet; a column a kind lacks is empty.
pub const CSV_COLUMNS: [&str; 15] = [
    "kind",
    "id",
    "email",
    "name",
    "role",
    "two_factor",
    "last_active_on",
    "joined_at",
    "joined_via",
    "prefix",
    "scopes",
    "created_by",
    "created_at",
    "expires_at",
    "last_used_at",
];

impl AccessReview {
    /// The review as CSV ([`CSV_COLUMNS`]; RFC 4180, cells a spreadsheet
    /// would run as formulas defused).
    pub fn csv(&self) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut rows: Vec<Vec<String>> = Vec::with_capacity(self.members.len() + self.api_keys.len());
        for m in &self.members {
            rows.push(vec![
                "member".into(),
                m.user_id.clone(),
                m.email.clone(),
                m.name.clone(),
                m.role.clone(),
                m.two_factor.to_string(),
                opt(&m.last_active_on),
                m.joined_at.clone(),
                opt(&m.joined_via),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        for k in &self.api_keys {
            let scopes: Vec<&str> = k.scopes.iter().map(|p| p.as_str()).collect();
            rows.push(vec![
                "api_key".into(),
                k.id.clone(),
                String::new(),
                k.name.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                k.prefix.clone(),
                scopes.join(" "),
                opt(&k.created_by),
                k.created_at.clone(),
                opt(&k.expires_at),
                opt(&k.last_used_at),
            ]);
        }
        csv(&CSV_COLUMNS, &rows)
    }
}

/// The org's access review, audited: one round trip for a person (the
/// guard, the audit row and the reads in one batch).
pub async fn export_access_review(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    format: Format,
) -> Result<AccessReview, AppError> {
    let now = deps.now();
    let also = [Permission::MembersRead, Permission::ApiKeysWrite];
    let people_only = |granted: &Granted| match granted.person() {
        Some(_) => Ok(()),
        None => Err(AppError::refused(ErrorCode::Forbidden, "API keys cannot read the access review")),
    };
    let write = |actor: &Actor, batch: &mut Batch| {
        let event = Event {
            org_id: Some(org_id),
            workspace_id: None,
            actor,
            action: "access_review.exported",
            target_kind: "org",
            target_id: org_id,
            data: json!({ "format": format.as_str() }),
        };
        batch.add(event.stmt(deps)?);
        let members = batch.read::<ReviewMemberRow>(stmt!(sql::REVIEW_MEMBERS, org_id, REVIEW_LIMIT + 1));
        let keys = batch.read::<ApiKeyRow>(stmt!(sql::REVIEW_API_KEYS, org_id, now, REVIEW_LIMIT + 1));
        Ok((members, keys))
    };
    let wrote =
        who.require_write_checked(deps, Tenant::Org(org_id), Permission::AuditRead, &also, &people_only, write).await?;
    let mut results = wrote.ran?;
    let (members, keys) = wrote.handles;
    let (mut members, mut keys) = (results.all(members)?, results.all(keys)?);
    let limit = usize::try_from(REVIEW_LIMIT).unwrap_or(usize::MAX);
    let truncated = members.len() > limit || keys.len() > limit;
    members.truncate(limit);
    keys.truncate(limit);
    let org = wrote.who.org().ok_or_else(|| AppError::internal("an org capability without its org"))?;
    let rule = TwoFactorRule::from_stored(org.require_2fa);
    Ok(AccessReview {
        generated_at: rfc3339(now),
        org: ReviewedOrg {
            id: org.id.clone(),
            name: org.name.clone(),
            slug: org.slug.clone(),
            require_2fa: rule != TwoFactorRule::Off,
            require_2fa_for: Some(rule).filter(|r| *r != TwoFactorRule::Off),
        },
        members: members
            .into_iter()
            .map(|m| {
                Ok(ReviewedMember {
                    role: known_role(&m.role)?,
                    user_id: m.user_id,
                    email: m.email,
                    name: m.name,
                    two_factor: m.totp_enabled != 0,
                    last_active_on: m.last_active_at.map(day),
                    joined_at: rfc3339(m.joined_at),
                    joined_via: m.joined_via,
                })
            })
            .collect::<Result<_, AppError>>()?,
        api_keys: keys
            .into_iter()
            .map(|k| ReviewedKey {
                scopes: super::auth::scopes_of(&k.scopes),
                id: k.id,
                name: k.name,
                prefix: k.start,
                created_by: k.created_by,
                created_at: rfc3339(k.created_at),
                expires_at: k.expires_at.map(rfc3339),
                last_used_at: k.last_used_at.map(rfc3339),
            })
            .collect(),
        truncated,
    })
}

/// A stored org role: built in, or a custom role's key (its row is the
/// org's; the triggers of migration 0026 keep it so). Anything else is our bug.
fn known_role(raw: &str) -> Result<String, AppError> {
    if crate::domain::custom_role::RoleKey::looks_like(raw) {
        Ok(raw.to_owned())
    } else {
        stored_role(raw).map(|r| r.as_str().to_owned())
    }
}
