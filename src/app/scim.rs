//! SCIM 2.0 provisioning: an org's directory (Okta, Entra ID, …) creates,
//! changes and ends memberships through `/scim/v2/{org_id}/…` with a SCIM
//! token of that org (`domain::scim` reads the requests).
//!
//! - Tokens (owner, a person): shown once, stored as SHA-256, listed by
//!   their start, revoked by deletion; each audited. A token works only on
//!   its own org's `/scim/v2/{org_id}/…`; it is read without the database
//!   (`Credential::Scim`, by its prefix and checksum) and confirmed in the
//!   first D1 batch of the operation; every write batch opens with a guard
//!   that the token is still the org's.
//! - A User is a membership of the org with its account (the resource id is
//!   the user id). Creating one is only for an address on one of the org's
//!   verified domains: the account is made (or an unverified one claimed, as
//!   single sign-on does) and joins as `member`. `active: false` (or DELETE)
//!   removes the membership: access ends on the next request. The last owner
//!   is never deprovisioned (409 `last_owner`, nothing changes).
//! - A Group stands for the role its name spells (`admin`, `member` or a
//!   custom role's key, case-insensitively); other names give nothing, and
//!   no group makes an owner. A SCIM-managed member's role is `admin` if a
//!   group of theirs is `admin`, else the custom role of the group they
//!   joined last, else `member`; owners keep theirs.
//! - SCIM-managed members are read-only through `/v1/orgs/{org_id}/members`
//!   (409 `managed_by_scim`).
//! - Every change is audited with the token as the actor (`scim_token`).
use super::access::{Credential, TwoFactorPolicy};
use super::audit::{Actor, Event};
use super::{random, AppError, Deps, ErrorCode};
use crate::domain::api_key::ApiKey;
use crate::domain::email::Email;
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::name::DisplayName;
use crate::domain::policy::Permission;
use crate::domain::scim::{self, Bad, BadKind, UserAttrs, Write};
use crate::domain::sso::email_domain;
use crate::domain::tenant::Tenant;
use crate::domain::time::rfc3339;
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{
    self, CountRow, LiveScimTokenRow, ScimGroupMemberRow, ScimGroupRow, ScimHolderRow, ScimTokenRow, ScimUserRow,
    VerifiedDomainRow,
};
use crate::store::{Batch, DbError, Read, Results};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

// ---- tokens (owners) ----

/// A SCIM token as lists show it (never the token itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScimTokenView {
    /// `sct_…`
    pub id: String,
    /// A label.
    pub name: String,
    /// `lk_scim_` and its first 6 characters.
    pub start: String,
    /// Who created it (`usr_…`).
    pub created_by: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339 (to the minute); null: never used.
    pub last_used_at: Option<String>,
    /// The SCIM base URL to give the directory.
    pub base_url: String,
}

/// A new SCIM token: the listed view and, this once, the token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NewScimTokenView {
    /// The token as lists show it.
    #[serde(flatten)]
    pub scim_token: ScimTokenView,
    /// The token (`lk_scim_…`): the directory's bearer token. Shown once.
    pub token: String,
}

fn base_url(deps: &Deps, org_id: &str) -> String {
    format!("{}/scim/v2/{org_id}", deps.config.app_url)
}

impl ScimTokenRow {
    fn view(&self, deps: &Deps) -> ScimTokenView {
        ScimTokenView {
            id: self.id.clone(),
            name: self.name.clone(),
            start: self.start.clone(),
            created_by: self.created_by.clone(),
            created_at: rfc3339(self.created_at),
            last_used_at: self.last_used_at.map(rfc3339),
            base_url: base_url(deps, &self.org_id),
        }
    }
}

/// Creates a token (owner, a person), audited, in one round trip.
pub async fn create_token(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    name: Option<&str>,
) -> Result<NewScimTokenView, AppError> {
    let name = match name {
        Some(n) => DisplayName::parse("name", n).map_err(AppError::field)?.as_str().to_owned(),
        None => "SCIM".to_owned(),
    };
    let bytes: [u8; 64] = random(deps.rng.as_ref())?;
    let token = ApiKey::generate_scim(&bytes)
        .ok_or_else(|| AppError::internal("token generation drew too few usable bytes"))?;
    let id = deps.new_id(IdKind::ScimToken)?;
    let now = deps.now();
    let tenant = Tenant::Org(org_id);
    let wrote = who
        .require_write(deps, tenant, Permission::OrgDelete, TwoFactorPolicy::Enforce, |actor, batch| {
            let inserted = batch.write(stmt!(
                sql::INSERT_SCIM_TOKEN,
                &id,
                org_id,
                &name,
                token.digest(),
                token.start(),
                &actor.id,
                now,
                scim::MAX_TOKENS_PER_ORG
            ));
            let data = json!({ "name": &name, "start": token.start() });
            batch.add(
                Event::in_tenant(tenant, actor, "scim_token.created", "scim_token", &id, data).stmt_if_changed(deps)?,
            );
            let row = batch.read::<ScimTokenRow>(stmt!(sql::SCIM_TOKEN_IN_ORG, &id, org_id));
            Ok((inserted, row))
        })
        .await?;
    let (inserted, row) = wrote.handles;
    let mut results = wrote.ran?;
    if results.changed(inserted) == 0 {
        return Err(AppError::field(FieldError::new(
            "name",
            "too_many_tokens",
            format!("an org holds at most {} SCIM tokens: revoke one first", scim::MAX_TOKENS_PER_ORG),
        )));
    }
    let scim_token =
        results.first(row)?.ok_or_else(|| AppError::internal("the new SCIM token was not read back"))?.view(deps);
    Ok(NewScimTokenView { scim_token, token: token.expose().to_owned() })
}

/// The org's tokens, newest first (owner).
pub async fn list_tokens(deps: &Deps, who: &Credential, org_id: &str) -> Result<Vec<ScimTokenView>, AppError> {
    let mut batch = Batch::new();
    let rows = batch.read::<ScimTokenRow>(stmt!(sql::LIST_SCIM_TOKENS, org_id));
    let (_, mut results) =
        who.require_with(deps, Tenant::Org(org_id), Permission::OrgDelete, TwoFactorPolicy::Enforce, batch).await?;
    Ok(results.all(rows)?.iter().map(|r| r.view(deps)).collect())
}

/// Revokes a token (owner): it is deleted, and unknown from the next request.
pub async fn revoke_token(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let (kind, sql) = (IdKind::ScimToken, sql::DELETE_SCIM_TOKEN);
    who.delete_org_row(deps, org_id, Permission::OrgDelete, kind, id, sql, "scim_token.revoked", "scim_token").await
}

// ---- the directory's caller ----

fn invalid_token() -> AppError {
    AppError::refused(
        ErrorCode::InvalidScimToken,
        "the SCIM token is malformed, unknown, revoked, or another organization's",
    )
}

/// A refused SCIM request, with its `scimType`'s code.
pub fn refused(b: Bad) -> AppError {
    let code = match b.kind {
        BadKind::InvalidFilter => ErrorCode::ScimInvalidFilter,
        BadKind::InvalidValue => ErrorCode::ScimInvalidValue,
        BadKind::InvalidSyntax => ErrorCode::ScimInvalidSyntax,
        BadKind::InvalidPath => ErrorCode::ScimInvalidPath,
        BadKind::Mutability => ErrorCode::ScimMutability,
    };
    AppError::refused(code, b.detail)
}

fn invalid_value(detail: impl Into<String>) -> AppError {
    AppError::refused(ErrorCode::ScimInvalidValue, detail.into())
}

fn last_owner() -> AppError {
    AppError::refused(
        ErrorCode::LastOwner,
        "this User is the organization's last owner: make someone else an owner before deprovisioning them",
    )
}

/// The org's directory, its token confirmed in the first batch.
struct Directory<'a> {
    org_id: &'a str,
    digest: &'a str,
    actor: Actor,
}

/// Confirms the SCIM token for `org_id` in one batch with `batch` (the
/// operation's reads, looked at only once the token is confirmed).
async fn directory<'a>(
    deps: &Deps,
    who: &'a Credential,
    org_id: &'a str,
    mut batch: Batch,
) -> Result<(Directory<'a>, Results), AppError> {
    let digest = who.scim_digest().ok_or_else(invalid_token)?;
    if !looks_like(IdKind::Org, org_id) {
        return Err(invalid_token());
    }
    let live = batch.read::<LiveScimTokenRow>(stmt!(sql::LIVE_SCIM_TOKEN, digest, org_id));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let row = results.first(live)?.ok_or_else(invalid_token)?;
    let now = deps.now();
    if row.last_used_at.is_none_or(|t| t <= now - 60) {
        deps.after_response(stmt!(sql::TOUCH_SCIM_TOKEN, &row.id, now));
    }
    Ok((Directory { org_id, digest, actor: Actor { kind: "scim_token", id: row.id } }, results))
}

impl Directory<'_> {
    /// A write batch, opened by the guard that the token is still the org's.
    fn batch(&self) -> Batch {
        let mut batch = Batch::new();
        batch.add(stmt!(sql::GUARD_SCIM_TOKEN, self.digest, self.org_id));
        batch
    }

    /// [`Directory::run`] for a batch that removes a member behind
    /// `GUARD_NOT_A_MEMBER` (when `removing`): with the token still the
    /// org's, the guard that stopped it is the membership's, so the answer
    /// is 409 `last_owner`.
    async fn run_removing(&self, deps: &Deps, batch: Batch, removing: bool) -> Result<Results, AppError> {
        match self.run(deps, batch).await {
            Err(e) if removing && e.code() == ErrorCode::Conflict => Err(last_owner()),
            run => run,
        }
    }

    /// Runs a write batch: a token revoked meanwhile is 401, another guard
    /// that rolled back 409 `conflict`, a name taken 409 `scim_uniqueness`.
    async fn run(&self, deps: &Deps, batch: Batch) -> Result<Results, AppError> {
        match batch.run(deps.db.as_ref()).await {
            Ok(results) => Ok(results),
            Err(DbError::Guard(_)) => {
                let live: Option<LiveScimTokenRow> =
                    deps.db.run(stmt!(sql::LIVE_SCIM_TOKEN, self.digest, self.org_id)).await?.first()?;
                Err(match live {
                    None => invalid_token(),
                    Some(_) => AppError::refused(ErrorCode::Conflict, "the resource changed meanwhile; try again"),
                })
            }
            Err(DbError::Unique(_)) => Err(AppError::refused(
                ErrorCode::ScimUniqueness,
                "a resource with this userName or displayName exists already",
            )),
            Err(e) => Err(e.into()),
        }
    }

    fn event<'e>(&'e self, action: &'static str, kind: &'static str, id: &'e str, data: Value) -> Event<'e> {
        Event::in_tenant(Tenant::Org(self.org_id), &self.actor, action, kind, id, data)
    }

    /// Sets a member's role from their groups, with a `member.role_changed`
    /// row (`from`, `to`) when it changes.
    fn set_role(&self, deps: &Deps, batch: &mut Batch, user_id: &str) -> Result<(), AppError> {
        let data = json!({ "via": "scim", "reason": "groups" });
        batch.add(self.event("member.role_changed", "user", user_id, data).stmt_by(deps, sql::SCIM_ROLE_CHANGE_AUDIT)?);
        batch.add(stmt!(sql::SCIM_SET_ROLE, self.org_id, user_id));
        Ok(())
    }
}

/// A SCIM list answer.
fn list_response(resources: Vec<Value>, total: i64, start: i64) -> Value {
    json!({
        "schemas": [scim::LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// A request refused before its use case could run (a body that is not a
/// JSON object): the token is confirmed first, so a bad token is 401
/// whatever came with it, as in [`checked`].
pub async fn refused_after_the_token(deps: &Deps, who: &Credential, org_id: &str, refusal: AppError) -> AppError {
    match directory(deps, who, org_id, Batch::new()).await {
        Ok(_) => refusal,
        Err(token) => token,
    }
}

/// Reads that depend on a filter or page, checked before the token so a
/// refusal of the token comes first.
async fn checked<'a, T>(
    deps: &Deps,
    who: &'a Credential,
    org_id: &'a str,
    parsed: Result<T, Bad>,
) -> Result<T, AppError> {
    match parsed {
        Ok(t) => Ok(t),
        Err(bad) => {
            directory(deps, who, org_id, Batch::new()).await?;
            Err(refused(bad))
        }
    }
}

// ---- users ----

fn user_view(deps: &Deps, org_id: &str, r: &ScimUserRow) -> Value {
    let mut name = Map::new();
    if let Some(g) = &r.given_name {
        name.insert("givenName".into(), g.clone().into());
    }
    if let Some(f) = &r.family_name {
        name.insert("familyName".into(), f.clone().into());
    }
    name.insert("formatted".into(), r.name.clone().into());
    let mut v = json!({
        "schemas": [scim::USER_SCHEMA],
        "id": r.user_id,
        "userName": r.user_name,
        "name": name,
        "displayName": r.name,
        "emails": [{ "value": r.email, "type": "work", "primary": true }],
        "active": r.active != 0,
        "meta": {
            "resourceType": "User",
            "created": rfc3339(r.created_at),
            "lastModified": rfc3339(r.updated_at),
            "location": format!("{}/Users/{}", base_url(deps, org_id), r.user_id),
        },
    });
    if let Some(e) = &r.external_id {
        v["externalId"] = e.clone().into();
    }
    if let Some(role) = &r.role {
        v["roles"] = json!([{ "value": role, "primary": true }]);
    }
    v
}

/// A list request's query: SCIM's `filter`, `startIndex` and `count`, as sent.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `attribute eq "value"`.
    pub filter: Option<String>,
    /// The 1-based index of the first result.
    pub start_index: Option<String>,
    /// Results per answer.
    pub count: Option<String>,
}

/// `GET /Users`: with `filter` (`userName eq "…"`, `externalId eq "…"`)
/// and `startIndex`/`count`.
pub async fn list_users(deps: &Deps, who: &Credential, org_id: &str, query: ListQuery) -> Result<Value, AppError> {
    const USERS: Listing = Listing {
        name_attribute: "userName",
        name_key: |n| n.trim().to_lowercase(),
        by_name: sql::SCIM_USER_BY_NAME,
        by_external_id: sql::SCIM_USERS_BY_EXTERNAL_ID,
        page: sql::LIST_SCIM_USERS,
        count: sql::COUNT_SCIM_USERS,
    };
    list(deps, who, org_id, &USERS, query, |r: &ScimUserRow| user_view(deps, org_id, r)).await
}

/// What a resource type's list reads: the attribute its name filter is on,
/// how a name is keyed, and its statements (by that key, by `externalId`,
/// a page, and the count).
struct Listing {
    name_attribute: &'static str,
    name_key: fn(&str) -> String,
    by_name: &'static str,
    by_external_id: &'static str,
    page: &'static str,
    count: &'static str,
}

/// A list of Users or Groups: `filter` (`{name_attribute} eq "…"`,
/// `externalId eq "…"`) or a page by `startIndex`/`count` with the total,
/// the reads in the token's batch.
async fn list<R: DeserializeOwned>(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    listing: &Listing,
    query: ListQuery,
    view: impl Fn(&R) -> Value,
) -> Result<Value, AppError> {
    let parsed = scim::page(query.start_index.as_deref(), query.count.as_deref()).and_then(|page| {
        let filter = query.filter.as_deref().map(|f| scim::parse_filter(f, &[listing.name_attribute, "externalId"]));
        let filter = filter.transpose()?;
        Ok((page, filter))
    });
    let ((start, count), filter) = checked(deps, who, org_id, parsed).await?;
    let mut batch = Batch::new();
    let (rows, total) = match &filter {
        Some(f) if f.attribute == listing.name_attribute => {
            (batch.read::<R>(stmt!(listing.by_name, org_id, (listing.name_key)(&f.value))), None)
        }
        Some(f) => (batch.read(stmt!(listing.by_external_id, org_id, f.value.as_str(), scim::MAX_COUNT)), None),
        None => (
            batch.read(stmt!(listing.page, org_id, count, start - 1)),
            Some(batch.read::<CountRow>(stmt!(listing.count, org_id))),
        ),
    };
    let (_, mut results) = directory(deps, who, org_id, batch).await?;
    let rows = results.all(rows)?;
    let (total, page): (i64, Vec<&R>) = match total {
        Some(t) => (results.first(t)?.map_or(0, |c| c.n), rows.iter().collect()),
        None => (rows.len() as i64, rows.iter().skip((start - 1) as usize).take(count as usize).collect()),
    };
    Ok(list_response(page.into_iter().map(view).collect(), total, start))
}

fn user_read(batch: &mut Batch, org_id: &str, id: &str) -> Option<Read<ScimUserRow>> {
    looks_like(IdKind::User, id).then(|| batch.read(stmt!(sql::SCIM_USER, org_id, id)))
}

/// `GET /Users/{id}`.
pub async fn get_user(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<Value, AppError> {
    let mut batch = Batch::new();
    let row = user_read(&mut batch, org_id, id);
    let (_, mut results) = directory(deps, who, org_id, batch).await?;
    let row = results.first_if(row)?.ok_or(AppError::NotFound)?;
    Ok(user_view(deps, org_id, &row))
}

/// The address of a new User: an email address.
fn user_name(attrs: &UserAttrs) -> Result<String, Bad> {
    let raw = attrs.user_name.as_deref().unwrap_or_default();
    Email::parse(raw)
        .map(|e| e.as_str().to_owned())
        .map_err(|_| Bad { kind: BadKind::InvalidValue, detail: "userName must be the person's email address".into() })
}

/// The account's name for a new User: `displayName` or `name.formatted`,
/// else the given and family names, else the address's local part.
fn account_name(attrs: &UserAttrs, email: &str) -> String {
    let parts: Vec<&str> =
        [&attrs.given_name, &attrs.family_name].iter().filter_map(|p| p.as_ref().and_then(|v| v.as_deref())).collect();
    let name = attrs
        .display_name
        .clone()
        .or_else(|| (!parts.is_empty()).then(|| parts.join(" ")))
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    name.chars().take(DisplayName::MAX_CHARS).collect()
}

fn on_verified_domain(email: &str, verified: &[VerifiedDomainRow]) -> bool {
    email_domain(email).is_some_and(|d| verified.iter().any(|v| v.domain == d))
}

fn off_domain(email: &str) -> AppError {
    invalid_value(format!(
        "{email} is not on a verified domain of this organization: SCIM provisions only the addresses of its verified domains"
    ))
}

/// `POST /Users`: provisions the address (on a verified domain of the org
/// only): the account is made, or claimed if unverified, and joins the org
/// as `member` (a member already keeps their role) unless `active` is false.
pub async fn create_user(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    body: &Map<String, Value>,
) -> Result<Value, AppError> {
    let parsed = scim::user_resource(body).and_then(|attrs| Ok((user_name(&attrs)?, attrs)));
    let (email, attrs) = checked(deps, who, org_id, parsed).await?;
    let mut batch = Batch::new();
    let verified = batch.read::<VerifiedDomainRow>(stmt!(sql::VERIFIED_DOMAINS_OF_ORG, org_id));
    let holder = batch.read::<ScimHolderRow>(stmt!(sql::SCIM_HOLDER, org_id, &email));
    let existing = batch.read::<ScimUserRow>(stmt!(sql::SCIM_USER_BY_NAME, org_id, &email));
    let (dir, mut results) = directory(deps, who, org_id, batch).await?;
    if !on_verified_domain(&email, &results.all(verified)?) {
        return Err(off_domain(&email));
    }
    if results.first(existing)?.is_some() {
        return Err(AppError::refused(
            ErrorCode::ScimUniqueness,
            format!("a User with userName {email} exists already"),
        ));
    }
    let holder = results.first(holder)?;
    if holder.as_ref().is_some_and(|h| h.suspended_at.is_some()) {
        return Err(invalid_value("the account of this address is suspended by a platform administrator"));
    }
    let now = deps.now();
    let active = attrs.active.unwrap_or(true);
    let name = account_name(&attrs, &email);
    let mut batch = dir.batch();
    let user_id = match holder {
        Some(h) if h.email_verified_at.is_some() => h.id,
        // The org's directory speaks for its verified domain: an unverified
        // account holding the address is claimed, as single sign-on does
        // (its pending password, sessions and second factor end).
        Some(h) => {
            let why = json!({ "org_id": org_id, "reason": "scim_provisioned" });
            for claim in super::oauth::claim_unverified_account(deps, &h.id, Some(name.clone()), now, why)? {
                batch.add(claim);
            }
            h.id
        }
        None => {
            let id = deps.new_id(IdKind::User)?;
            batch.add(stmt!(sql::INSERT_OAUTH_USER, &id, &email, &name, now));
            id
        }
    };
    let flat = |v: &Option<Option<String>>| v.clone().flatten();
    batch.add(stmt!(
        sql::INSERT_SCIM_USER,
        org_id,
        &user_id,
        &email,
        flat(&attrs.external_id),
        flat(&attrs.given_name),
        flat(&attrs.family_name),
        active,
        now
    ));
    let data = json!({ "user_name": &email, "external_id": flat(&attrs.external_id), "active": active });
    batch.add(dir.event("scim_user.created", "user", &user_id, data).stmt(deps)?);
    batch.add(stmt!(sql::SCIM_JOIN, org_id, &user_id, now));
    let data = json!({ "via": "scim", "email": &email, "role": "member" });
    batch.add(dir.event("member.joined", "user", &user_id, data).stmt_if_changed(deps)?);
    if !active {
        // Provisioned as inactive: someone who is a member already (by an
        // invitation, a link) is not left in by the directory that says no.
        batch.add(stmt!(sql::SCIM_REMOVE_MEMBER, org_id, &user_id));
        let data = json!({ "via": "scim", "email": &email });
        batch.add(dir.event("member.removed", "user", &user_id, data).stmt_if_changed(deps)?);
        // The org's last owner stays: then nothing is provisioned.
        batch.add(stmt!(sql::GUARD_NOT_A_MEMBER, org_id, &user_id));
    }
    let row = batch.read::<ScimUserRow>(stmt!(sql::SCIM_USER, org_id, &user_id));
    let mut results = dir.run_removing(deps, batch, !active).await?;
    let row = results.first(row)?.ok_or_else(|| AppError::internal("the new SCIM User was not read back"))?;
    Ok(user_view(deps, org_id, &row))
}

/// A `PUT` or `PATCH` of one User or Group, as the request sent it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The resource's `id`.
    pub id: &'a str,
    /// Replace the resource whole, or apply RFC 7644 operations.
    pub how: Write,
    /// The request's JSON object.
    pub body: &'a Map<String, Value>,
}

/// `PUT /Users/{id}` (the whole User; attributes left out are cleared,
/// `active` left out stays; `userName` cannot change) or
/// `PATCH /Users/{id}` (RFC 7644 operations, in Okta's and Entra ID's forms):
/// applies the User's new attributes and `active` (two round trips: the
/// resource with the token, then the guarded writes with their audit rows
/// and the read-back). Two deactivations at once: one removes the
/// membership, both answer the inactive User; the last owner stays.
pub async fn change_user(deps: &Deps, who: &Credential, org_id: &str, change: Change<'_>) -> Result<Value, AppError> {
    let Change { id, how, body } = change;
    let attrs = checked(deps, who, org_id, scim::user_change(how, body)).await?;
    let mut batch = Batch::new();
    let row = user_read(&mut batch, org_id, id);
    let verified = batch.read::<VerifiedDomainRow>(stmt!(sql::VERIFIED_DOMAINS_OF_ORG, org_id));
    let (dir, mut results) = directory(deps, who, org_id, batch).await?;
    let row = results.first_if(row)?.ok_or(AppError::NotFound)?;
    if attrs.user_name.as_deref().is_some_and(|n| n.trim().to_lowercase() != row.user_name) {
        return Err(refused(Bad {
            kind: BadKind::Mutability,
            detail: "userName cannot change: deprovision this User and provision the new address".into(),
        }));
    }
    let now = deps.now();
    let mut batch = dir.batch();
    let changes: Vec<(&str, &Option<Option<String>>)> =
        [("external_id", &attrs.external_id), ("given_name", &attrs.given_name), ("family_name", &attrs.family_name)]
            .into_iter()
            .filter(|(_, v)| v.is_some())
            .collect();
    if !changes.is_empty() {
        let set = |v: &Option<Option<String>>| (v.is_some(), v.clone().flatten());
        let (e, g, f) = (set(&attrs.external_id), set(&attrs.given_name), set(&attrs.family_name));
        batch.add(stmt!(sql::UPDATE_SCIM_USER, org_id, id, e.0, e.1, g.0, g.1, f.0, f.1, now));
        let data: Map<String, Value> = changes.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        batch.add(dir.event("scim_user.updated", "user", id, Value::Object(data)).stmt_if_changed(deps)?);
    }
    // By the membership, not the resource: an inactive User who got back in
    // some other way (a join link, an invitation) is removed again.
    let deactivate = attrs.active == Some(false) && (row.active != 0 || row.role.is_some());
    if deactivate {
        batch.add(stmt!(sql::SCIM_REMOVE_MEMBER, org_id, id));
        let data = json!({ "via": "scim", "email": &row.email, "role": &row.role });
        batch.add(dir.event("member.removed", "user", id, data).stmt_if_changed(deps)?);
        // The org's last owner stays: then nothing of this request is kept,
        // the attributes it changed included.
        batch.add(stmt!(sql::GUARD_NOT_A_MEMBER, org_id, id));
        batch.add(stmt!(sql::SCIM_DEACTIVATE, org_id, id, now));
        batch.add(dir.event("scim_user.deactivated", "user", id, json!({})).stmt_if_changed(deps)?);
    }
    // By the membership too: an active User who is no member (removed by an
    // owner while the org had no SCIM token) is let back in.
    if attrs.active == Some(true) && (row.active == 0 || row.role.is_none()) {
        if !on_verified_domain(&row.email, &results.all(verified)?) {
            return Err(off_domain(&row.email));
        }
        batch.add(stmt!(sql::SCIM_ACTIVATE, org_id, id, now));
        batch.add(dir.event("scim_user.reactivated", "user", id, json!({})).stmt_if_changed(deps)?);
        batch.add(stmt!(sql::SCIM_JOIN, org_id, id, now));
        let data = json!({ "via": "scim", "email": &row.email, "role": "member" });
        batch.add(dir.event("member.joined", "user", id, data).stmt_if_changed(deps)?);
        dir.set_role(deps, &mut batch, id)?;
    }
    let after = batch.read::<ScimUserRow>(stmt!(sql::SCIM_USER, org_id, id));
    let mut results = dir.run_removing(deps, batch, deactivate).await?;
    let after = results.first(after)?.ok_or(AppError::NotFound)?;
    Ok(user_view(deps, org_id, &after))
}

/// `DELETE /Users/{id}`: the membership ends and the resource goes (the
/// account stays: it is the person's). The last owner stays (409).
pub async fn delete_user(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let mut batch = Batch::new();
    let row = user_read(&mut batch, org_id, id);
    let (dir, mut results) = directory(deps, who, org_id, batch).await?;
    let row = results.first_if(row)?.ok_or(AppError::NotFound)?;
    let mut batch = dir.batch();
    batch.add(stmt!(sql::SCIM_REMOVE_MEMBER, org_id, id));
    let data = json!({ "via": "scim", "email": &row.email, "role": &row.role });
    batch.add(dir.event("member.removed", "user", id, data).stmt_if_changed(deps)?);
    let deleted = batch.write(stmt!(sql::DELETE_SCIM_USER, org_id, id));
    let data = json!({ "user_name": &row.user_name });
    batch.add(dir.event("scim_user.deleted", "user", id, data).stmt_if_changed(deps)?);
    batch.add(stmt!(sql::DELETE_SCIM_USER_GROUPS, org_id, id));
    let after = batch.read::<ScimUserRow>(stmt!(sql::SCIM_USER, org_id, id));
    let mut results = dir.run(deps, batch).await?;
    if results.changed(deleted) == 0 && results.first(after)?.is_some() {
        return Err(last_owner());
    }
    Ok(())
}

// ---- groups ----

fn group_view(deps: &Deps, org_id: &str, g: &ScimGroupRow, members: Option<&[ScimGroupMemberRow]>) -> Value {
    let base = base_url(deps, org_id);
    let mut v = json!({
        "schemas": [scim::GROUP_SCHEMA],
        "id": g.id,
        "displayName": g.display_name,
        "meta": {
            "resourceType": "Group",
            "created": rfc3339(g.created_at),
            "lastModified": rfc3339(g.updated_at),
            "location": format!("{base}/Groups/{}", g.id),
        },
    });
    if let Some(e) = &g.external_id {
        v["externalId"] = e.clone().into();
    }
    if let Some(members) = members {
        v["members"] = members
            .iter()
            .map(|m| json!({ "value": m.user_id, "display": m.email, "$ref": format!("{base}/Users/{}", m.user_id) }))
            .collect();
    }
    v
}

/// `GET /Groups`: with `filter` (`displayName eq "…"`, `externalId eq
/// "…"`) and paging; lists leave `members` out (a Group's own GET has them).
pub async fn list_groups(deps: &Deps, who: &Credential, org_id: &str, query: ListQuery) -> Result<Value, AppError> {
    const GROUPS: Listing = Listing {
        name_attribute: "displayName",
        name_key: scim::role_key,
        by_name: sql::SCIM_GROUP_BY_NAME,
        by_external_id: sql::SCIM_GROUPS_BY_EXTERNAL_ID,
        page: sql::LIST_SCIM_GROUPS,
        count: sql::COUNT_SCIM_GROUPS,
    };
    list(deps, who, org_id, &GROUPS, query, |g: &ScimGroupRow| group_view(deps, org_id, g, None)).await
}

/// A group with its members, read in `batch`.
fn group_read(batch: &mut Batch, org_id: &str, id: &str) -> Option<(Read<ScimGroupRow>, Read<ScimGroupMemberRow>)> {
    looks_like(IdKind::ScimGroup, id)
        .then(|| (batch.read(stmt!(sql::SCIM_GROUP, id, org_id)), batch.read(stmt!(sql::SCIM_GROUP_MEMBERS, id))))
}

fn group_of(
    results: &mut Results,
    read: Option<(Read<ScimGroupRow>, Read<ScimGroupMemberRow>)>,
) -> Result<(ScimGroupRow, Vec<ScimGroupMemberRow>), AppError> {
    let (g, m) = read.ok_or(AppError::NotFound)?;
    let group = results.first(g)?.ok_or(AppError::NotFound)?;
    Ok((group, results.all(m)?))
}

/// `GET /Groups/{id}`, with its members.
pub async fn get_group(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<Value, AppError> {
    let mut batch = Batch::new();
    let read = group_read(&mut batch, org_id, id);
    let (_, mut results) = directory(deps, who, org_id, batch).await?;
    let (group, members) = group_of(&mut results, read)?;
    Ok(group_view(deps, org_id, &group, Some(&members)))
}

/// Member changes one request may make: each is a few statements of one D1
/// batch, and a Worker invocation may run at most 1 000 queries. A directory
/// sends a larger group in several requests (Okta and Entra ID page their
/// member updates).
pub const MAX_MEMBER_CHANGES: usize = 200;

fn too_many_changes(n: usize) -> Result<(), AppError> {
    if n > MAX_MEMBER_CHANGES {
        return Err(invalid_value(format!(
            "at most {MAX_MEMBER_CHANGES} member changes in one request ({n} asked); send the rest in another PATCH"
        )));
    }
    Ok(())
}

/// `POST /Groups`: a group (its name unique in the org, case-insensitively)
/// with its members (Users of this org; other ids are ignored), whose roles
/// follow.
pub async fn create_group(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    body: &Map<String, Value>,
) -> Result<Value, AppError> {
    let attrs = checked(deps, who, org_id, scim::group_resource(body)).await?;
    let (dir, _) = directory(deps, who, org_id, Batch::new()).await?;
    let id = deps.new_id(IdKind::ScimGroup)?;
    let name = attrs.display_name.clone().unwrap_or_default();
    let now = deps.now();
    let members = scim::apply_members(&[], &attrs.members);
    too_many_changes(members.len())?;
    let mut batch = dir.batch();
    batch.add(stmt!(
        sql::INSERT_SCIM_GROUP,
        &id,
        org_id,
        &name,
        scim::role_key(&name),
        attrs.external_id.clone().flatten(),
        now
    ));
    let data = json!({ "display_name": &name, "members": &members });
    batch.add(dir.event("scim_group.created", "scim_group", &id, data).stmt(deps)?);
    for user in &members {
        batch.add(stmt!(sql::ADD_SCIM_GROUP_MEMBER, &id, org_id, user, now));
        dir.set_role(deps, &mut batch, user)?;
    }
    let group = batch.read::<ScimGroupRow>(stmt!(sql::SCIM_GROUP, &id, org_id));
    let listed = batch.read::<ScimGroupMemberRow>(stmt!(sql::SCIM_GROUP_MEMBERS, &id));
    let mut results = dir.run(deps, batch).await?;
    let group = results.first(group)?.ok_or_else(|| AppError::internal("the new SCIM Group was not read back"))?;
    Ok(group_view(deps, org_id, &group, Some(&results.all(listed)?)))
}

/// `PUT /Groups/{id}` (the whole group; `members` left out means none) or
/// `PATCH /Groups/{id}` (rename, and add, remove or replace members): the
/// members that joined or left (and, when the name changes, all of them) get
/// their role from their groups again.
pub async fn change_group(deps: &Deps, who: &Credential, org_id: &str, change: Change<'_>) -> Result<Value, AppError> {
    let Change { id, how, body } = change;
    let attrs = checked(deps, who, org_id, scim::group_change(how, body)).await?;
    let mut batch = Batch::new();
    let read = group_read(&mut batch, org_id, id);
    let (dir, mut results) = directory(deps, who, org_id, batch).await?;
    let (group, current) = group_of(&mut results, read)?;
    let current: Vec<String> = current.into_iter().map(|m| m.user_id).collect();
    let after = scim::apply_members(&current, &attrs.members);
    let added: Vec<&String> = after.iter().filter(|u| !current.contains(u)).collect();
    let removed: Vec<&String> = current.iter().filter(|u| !after.contains(u)).collect();
    let renamed = attrs.display_name.as_deref().filter(|n| scim::role_key(n) != scim::role_key(&group.display_name));
    too_many_changes(added.len() + removed.len() + if renamed.is_some() { after.len() } else { 0 })?;
    let now = deps.now();
    let mut batch = dir.batch();
    let (set_ext, ext) = (attrs.external_id.is_some(), attrs.external_id.clone().flatten());
    batch.add(stmt!(
        sql::UPDATE_SCIM_GROUP,
        id,
        org_id,
        attrs.display_name.as_deref(),
        attrs.display_name.as_deref().map(scim::role_key),
        set_ext,
        ext,
        now
    ));
    let mut data = json!({ "added": &added, "removed": &removed });
    if let Some(n) = &attrs.display_name {
        data["display_name"] = n.clone().into();
    }
    batch.add(dir.event("scim_group.updated", "scim_group", id, data).stmt_if_changed(deps)?);
    for user in &removed {
        batch.add(stmt!(sql::REMOVE_SCIM_GROUP_MEMBER, id, org_id, *user));
    }
    for user in &added {
        batch.add(stmt!(sql::ADD_SCIM_GROUP_MEMBER, id, org_id, *user, now));
    }
    let touched: Vec<&String> = if renamed.is_some() {
        current.iter().chain(added.iter().copied()).collect()
    } else {
        added.iter().chain(removed.iter()).copied().collect()
    };
    for user in touched {
        dir.set_role(deps, &mut batch, user)?;
    }
    let g = batch.read::<ScimGroupRow>(stmt!(sql::SCIM_GROUP, id, org_id));
    let listed = batch.read::<ScimGroupMemberRow>(stmt!(sql::SCIM_GROUP_MEMBERS, id));
    let mut results = dir.run(deps, batch).await?;
    let g = results.first(g)?.ok_or(AppError::NotFound)?;
    Ok(group_view(deps, org_id, &g, Some(&results.all(listed)?)))
}

/// `DELETE /Groups/{id}`: its members get their role from their other groups.
pub async fn delete_group(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    let mut batch = Batch::new();
    let read = group_read(&mut batch, org_id, id);
    let (dir, mut results) = directory(deps, who, org_id, batch).await?;
    let (group, members) = group_of(&mut results, read)?;
    let mut batch = dir.batch();
    batch.add(stmt!(sql::DELETE_SCIM_GROUP_MEMBERS, id, org_id));
    let deleted = batch.write(stmt!(sql::DELETE_SCIM_GROUP, id, org_id));
    let data = json!({ "display_name": &group.display_name });
    batch.add(dir.event("scim_group.deleted", "scim_group", id, data).stmt_if_changed(deps)?);
    for m in &members {
        dir.set_role(deps, &mut batch, &m.user_id)?;
    }
    if dir.run(deps, batch).await?.changed(deleted) == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

// ---- discovery ----

/// `GET /ServiceProviderConfig` (RFC 7643 §5).
pub async fn service_provider_config(deps: &Deps, who: &Credential, org_id: &str) -> Result<Value, AppError> {
    directory(deps, who, org_id, Batch::new()).await?;
    Ok(json!({
        "schemas": [scim::SPC_SCHEMA],
        "documentationUri": format!("{}/docs", deps.config.app_url),
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": scim::MAX_COUNT },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "SCIM token",
            "description": "The organization's SCIM token (lk_scim_…) as a bearer token",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{}/ServiceProviderConfig", base_url(deps, org_id)) },
    }))
}

/// `GET /ResourceTypes` (RFC 7643 §6).
pub async fn resource_types(deps: &Deps, who: &Credential, org_id: &str) -> Result<Value, AppError> {
    directory(deps, who, org_id, Batch::new()).await?;
    let base = base_url(deps, org_id);
    let types = vec![
        json!({ "schemas": [scim::RESOURCE_TYPE_SCHEMA], "id": "User", "name": "User", "endpoint": "/Users",
                "schema": scim::USER_SCHEMA, "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") } }),
        json!({ "schemas": [scim::RESOURCE_TYPE_SCHEMA], "id": "Group", "name": "Group", "endpoint": "/Groups",
                "schema": scim::GROUP_SCHEMA, "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") } }),
    ];
    Ok(list_response(types, 2, 1))
}

fn attribute(name: &str, kind: &str, required: bool, mutability: &str, uniqueness: &str) -> Value {
    json!({ "name": name, "type": kind, "multiValued": false, "required": required, "caseExact": false,
            "mutability": mutability, "returned": "default", "uniqueness": uniqueness })
}

/// `GET /Schemas` (RFC 7643 §7): the attributes this service keeps.
pub async fn schemas(deps: &Deps, who: &Credential, org_id: &str) -> Result<Value, AppError> {
    directory(deps, who, org_id, Batch::new()).await?;
    let base = base_url(deps, org_id);
    let mut members = attribute("members", "complex", false, "readWrite", "none");
    members["multiValued"] = true.into();
    let user = json!({
        "schemas": [scim::SCHEMA_SCHEMA], "id": scim::USER_SCHEMA, "name": "User", "description": "A member of the organization",
        "attributes": [
            attribute("userName", "string", true, "immutable", "server"),
            attribute("externalId", "string", false, "readWrite", "none"),
            attribute("name", "complex", false, "readWrite", "none"),
            attribute("active", "boolean", false, "readWrite", "none"),
            attribute("emails", "complex", false, "readOnly", "none"),
            attribute("roles", "complex", false, "readOnly", "none"),
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{}", scim::USER_SCHEMA) },
    });
    let group = json!({
        "schemas": [scim::SCHEMA_SCHEMA], "id": scim::GROUP_SCHEMA, "name": "Group",
        "description": "A group named like a role (admin, member or a custom role's key) gives its members that role",
        "attributes": [
            attribute("displayName", "string", true, "readWrite", "server"),
            attribute("externalId", "string", false, "readWrite", "none"),
            members,
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{}", scim::GROUP_SCHEMA) },
    });
    Ok(list_response(vec![user, group], 2, 1))
}
