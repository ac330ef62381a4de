//! Verified domains: an org claims a DNS name, proves it with a TXT record
//! read over DNS-over-HTTPS, and may then suggest itself to, or auto-join,
//! people whose verified email is on it.
//!
//! Managing domains needs `org:write` (owners and admins; keys with that
//! scope): domains are the org's settings. Having one auto-join people as
//! admin is an owner's alone ([`policy::may_auto_join_as`]).
//!
//! Auto-join rides along with every new session ([`auto_join`], added by
//! `sessions::NewSession::rows`): email verification, password and OAuth
//! sign-in, the second factor. It reads the person's address from the
//! database in the same statement, so only an address verified here (an
//! OAuth account holds only a provider-verified one) ever counts, and it
//! happens once per person and domain (`domain_joins`).
use super::access::{Credential, Granted, TwoFactorPolicy};
use super::audit::Actor;
use super::oauth::{HttpClient, OutgoingRequest, USER_AGENT};
use super::roles;
use super::{log_error, random, AppError, Deps, ErrorCode, Rng};
use crate::domain::custom_role::RoleKey;
use crate::domain::ids::{looks_like, new_id, IdKind};
use crate::domain::org_domain::{self, DomainName, Enrollment, Recheck, TxtAnswer};
use crate::domain::policy::{self, Permission, Role};
use crate::domain::tenant::Tenant;
use crate::domain::time::rfc3339;
use crate::domain::webhook;
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{self, ClaimedRow, DomainRow, DueDomainRow, RoleRow, SuggestedOrgRow};
use crate::store::{Batch, Db, DbError, Stmt};
use serde::Serialize;
use utoipa::ToSchema;

/// Domains one org may have.
pub const MAX_DOMAINS_PER_ORG: i64 = 50;
/// Domains one scheduled run looks up.
const RECHECK_BATCH: i64 = 25;
/// After a look-up that failed, the re-check tries again this much later
/// (or after the configured interval, if shorter).
const RETRY_FAILED_LOOKUP_SECONDS: i64 = 3_600;

/// A domain as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DomainView {
    /// `dom_…`
    pub id: String,
    /// The exact name, lower-case.
    pub domain: String,
    /// `pending` (not verified yet), `verified`, or `lapsed` (the daily
    /// re-check found the record gone: it grants nothing until verified again).
    pub state: String,
    /// Where to publish the TXT record: `_latchkey-verification.<domain>`.
    pub txt_name: String,
    /// The TXT record's value.
    pub txt_value: String,
    /// `none`, `suggest` or `auto_join` (acts only while verified).
    pub enrollment: String,
    /// The role auto-join gives: `member` or `admin`.
    pub role: String,
    /// RFC 3339.
    pub created_at: String,
    /// When it was (last) verified, RFC 3339.
    pub verified_at: Option<String>,
    /// The last look-up that found the record, RFC 3339.
    pub checked_at: Option<String>,
    /// When it lapsed, RFC 3339 (lapsed only).
    pub lapsed_at: Option<String>,
}

fn view(r: &DomainRow) -> DomainView {
    DomainView {
        id: r.id.clone(),
        domain: r.domain.clone(),
        state: r.state.clone(),
        txt_name: org_domain::txt_name(&r.domain),
        txt_value: r.txt_value.clone(),
        enrollment: r.enrollment.clone(),
        role: r.join_role.clone(),
        created_at: rfc3339(r.created_at),
        verified_at: r.verified_at.map(rfc3339),
        checked_at: r.checked_at.map(rfc3339),
        lapsed_at: r.lapsed_at.filter(|_| r.state == "lapsed").map(rfc3339),
    }
}

/// An org a person may join through their address's domain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuggestedOrgView {
    /// `org_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// The verified domain their address is on.
    pub domain: String,
}

fn claimed() -> AppError {
    AppError::refused(ErrorCode::DomainClaimed, "another organization has verified this domain")
}

/// The caller and one domain of the org (another org's is 404), in one round trip.
async fn manager_and_domain(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
) -> Result<(Granted, DomainRow), AppError> {
    who.require_row(deps, Tenant::Org(org_id), Permission::OrgWrite, (IdKind::Domain, id, sql::DOMAIN_IN_ORG)).await
}

/// A domain's audit row, its data read from the row: unconditional (before
/// a removal) or only if the statement before it changed something.
#[allow(clippy::too_many_arguments)]
fn event(
    id_bytes: [u8; 16],
    actor: &Actor,
    action: &'static str,
    domain_id: &str,
    org_id: &str,
    found: Option<&str>,
    now: i64,
    if_changed: bool,
) -> (String, Stmt) {
    let audit_id = new_id(IdKind::Event, id_bytes);
    let types = webhook::event_types_column(action);
    let sql = if if_changed { sql::AUDIT_DOMAIN_IF_CHANGED } else { sql::AUDIT_DOMAIN };
    let stmt = stmt!(sql, &audit_id, actor.kind, &actor.id, action, now, types, domain_id, org_id, found);
    (audit_id, stmt)
}

/// [`event`] in a request: its notifications are enqueued after the answer.
fn request_event(
    deps: &Deps,
    actor: &Actor,
    action: &'static str,
    domain_id: &str,
    org_id: &str,
    if_changed: bool,
) -> Result<Stmt, AppError> {
    let (audit_id, stmt) =
        event(random(deps.rng.as_ref())?, actor, action, domain_id, org_id, None, deps.now(), if_changed);
    deps.notified.borrow_mut().push(audit_id);
    Ok(stmt)
}

/// A name an org may claim: valid (422 `validation_failed`) and not a
/// consumer mail domain (422 `public_email_domain`).
fn claimable(raw: &str) -> Result<DomainName, AppError> {
    let name = DomainName::parse(raw)?;
    if name.is_public_email_domain() {
        return Err(AppError::refused(
            ErrorCode::PublicEmailDomain,
            format!("{} is a public email domain: anyone can get an address there", name.as_str()),
        ));
    }
    Ok(name)
}

/// Adds a pending domain and the TXT record that will verify it.
pub async fn add_domain(deps: &Deps, who: &Credential, org_id: &str, raw_domain: &str) -> Result<DomainView, AppError> {
    let name = match claimable(raw_domain) {
        Ok(name) => name,
        Err(e) => {
            // Access first: a caller who may not learns nothing from a 422.
            who.require_in_org(deps, org_id, Permission::OrgWrite, Batch::new()).await?;
            return Err(e);
        }
    };
    let id = deps.new_id(IdKind::Domain)?;
    let txt_value = org_domain::txt_value(random(deps.rng.as_ref())?);
    let now = deps.now();
    let wrote = who
        .require_write(deps, Tenant::Org(org_id), Permission::OrgWrite, TwoFactorPolicy::Enforce, |actor, batch| {
            let elsewhere = batch.read::<ClaimedRow>(stmt!(sql::DOMAIN_CLAIMED_ELSEWHERE, name.as_str(), org_id));
            batch.add(stmt!(sql::INSERT_DOMAIN, &id, org_id, name.as_str(), &txt_value, now, MAX_DOMAINS_PER_ORG));
            batch.add(request_event(deps, actor, "domain.added", &id, org_id, true)?);
            let row = batch.read::<DomainRow>(stmt!(sql::DOMAIN_IN_ORG, &id, org_id));
            Ok((elsewhere, row))
        })
        .await?;
    let (elsewhere, row) = wrote.handles;
    let mut results = match wrote.ran {
        Ok(results) => results,
        Err(DbError::Unique(_)) => {
            return Err(AppError::refused(ErrorCode::DomainExists, "this organization has added this domain already"))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(row) = results.first(row)? {
        return Ok(view(&row));
    }
    if results.first(elsewhere)?.is_some_and(|c| c.claimed != 0) {
        return Err(claimed());
    }
    Err(AppError::refused(
        ErrorCode::Conflict,
        format!("an organization has at most {MAX_DOMAINS_PER_ORG} domains; remove one first"),
    ))
}

/// The org's domains, by name.
pub async fn list_domains(deps: &Deps, who: &Credential, org_id: &str) -> Result<Vec<DomainView>, AppError> {
    let mut batch = Batch::new();
    let rows = batch.read::<DomainRow>(stmt!(sql::LIST_DOMAINS, org_id));
    let (_, mut results) = who.require_in_org(deps, org_id, Permission::OrgWrite, batch).await?;
    Ok(results.all(rows)?.iter().map(view).collect())
}

/// One domain.
pub async fn get_domain(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<DomainView, AppError> {
    Ok(view(&manager_and_domain(deps, who, org_id, id).await?.1))
}

/// Asks the resolver for `name`'s TXT records.
pub async fn lookup_txt(http: &dyn HttpClient, resolver: &str, name: &str) -> TxtAnswer {
    // A claimable name and our label are letters, digits, `-`, `_` and dots:
    // nothing to escape in a query string.
    let sep = if resolver.contains('?') { '&' } else { '?' };
    let req = OutgoingRequest {
        method: "GET",
        url: format!("{resolver}{sep}name={name}&type=TXT"),
        headers: vec![("accept", "application/dns-json".into()), ("user-agent", USER_AGENT.into())],
        body: None,
    };
    match http.send(req).await {
        Ok(response) => org_domain::parse_txt_answer(response.status, &response.body),
        Err(e) => TxtAnswer::Unknown(format!("the resolver could not be reached: {e}")),
    }
}

/// Looks the TXT record up and, if it holds the value, verifies the domain.
/// A verified domain answers as it is. Not found: 422 `domain_not_verified`
/// with what was found; another org holds it: 409 `domain_claimed`.
pub async fn verify_domain(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<DomainView, AppError> {
    let (me, row) = manager_and_domain(deps, who, org_id, id).await?;
    if row.state == "verified" {
        return Ok(view(&row));
    }
    let txt_name = org_domain::txt_name(&row.domain);
    match lookup_txt(deps.http.as_ref(), &deps.config.dns_over_https_url, &txt_name).await {
        TxtAnswer::Unknown(why) => {
            log_error(&format!("verifying {}: {why}", row.domain));
            return Err(AppError::refused(
                ErrorCode::DomainNotVerified,
                format!("the DNS look-up of {txt_name} failed; nothing changed, try again later"),
            ));
        }
        TxtAnswer::Records(records) if !org_domain::holds(&records, &row.txt_value) => {
            return Err(AppError::refused(
                ErrorCode::DomainNotVerified,
                format!(
                    "{txt_name} has no TXT record {:?}; found: {} (DNS changes can take a while to be seen)",
                    row.txt_value,
                    org_domain::describe(&records)
                ),
            ));
        }
        TxtAnswer::Records(_) => {}
    }
    let now = deps.now();
    let mut batch = Batch::new();
    let elsewhere = batch.read::<ClaimedRow>(stmt!(sql::DOMAIN_CLAIMED_ELSEWHERE, &row.domain, org_id));
    let verified =
        batch.write(stmt!(sql::VERIFY_DOMAIN, id, org_id, now, &row.txt_value, deps.config.domain_recheck_seconds));
    batch.add(request_event(deps, me.actor(), "domain.verified", id, org_id, true)?);
    let after = batch.read::<DomainRow>(stmt!(sql::DOMAIN_IN_ORG, id, org_id));
    let mut results = match batch.run(deps.db.as_ref()).await {
        Ok(results) => results,
        // The unique partial index: another org verified it at the same moment.
        Err(DbError::Unique(_)) => return Err(claimed()),
        Err(e) => return Err(e.into()),
    };
    let changed = results.changed(verified) > 0;
    let after = results.first(after)?.ok_or(AppError::NotFound)?;
    if !changed && after.state != "verified" && results.first(elsewhere)?.is_some_and(|c| c.claimed != 0) {
        return Err(claimed());
    }
    Ok(view(&after))
}

/// A change of enrollment or role; absent fields keep their value.
#[derive(Debug, Clone, Copy, Default)]
pub struct DomainChange<'a> {
    /// `none`, `suggest` or `auto_join`.
    pub enrollment: Option<&'a str>,
    /// `member`, `admin` or the key of one of the org's custom roles.
    pub role: Option<&'a str>,
}

fn parsed_change(change: DomainChange<'_>) -> Result<(Option<Enrollment>, Option<&str>), AppError> {
    if change.enrollment.is_none() && change.role.is_none() {
        return Err(AppError::field(FieldError::new("enrollment", "required", "give enrollment, role or both")));
    }
    let enrollment = change
        .enrollment
        .map(|raw| {
            Enrollment::parse(raw).ok_or_else(|| {
                AppError::field(FieldError::new(
                    "enrollment",
                    "invalid_enrollment",
                    "must be none, suggest or auto_join",
                ))
            })
        })
        .transpose()?;
    let role = change
        .role
        .map(|raw| match Role::parse(raw) {
            Some(Role::Member | Role::Admin) => Ok(raw),
            None if RoleKey::looks_like(raw) => Ok(raw),
            _ => Err(AppError::field(FieldError::new(
                "role",
                "invalid_role",
                "must be member, admin or one of this organization's roles",
            ))),
        })
        .transpose()?;
    Ok((enrollment, role))
}

/// Changes what a domain does for people on it. Auto-joining as admin is
/// for owners to set (403 otherwise, judged again by the statement against
/// the row as it is when written).
pub async fn update_domain(
    deps: &Deps,
    who: &Credential,
    org_id: &str,
    id: &str,
    change: DomainChange<'_>,
) -> Result<DomainView, AppError> {
    let (enrollment, role) = parsed_change(change)?;
    // A custom role named rides along with the decision and the domain.
    let mut batch = Batch::new();
    let domain = looks_like(IdKind::Domain, id).then(|| batch.read::<DomainRow>(stmt!(sql::DOMAIN_IN_ORG, id, org_id)));
    let custom = role.and_then(|r| roles::role_read(org_id, r)).map(|s| batch.read::<RoleRow>(s));
    let (me, mut results) =
        who.require_with(deps, Tenant::Org(org_id), Permission::OrgWrite, TwoFactorPolicy::Enforce, batch).await?;
    let row = results.first_if(domain)?.ok_or(AppError::NotFound)?;
    let custom = results.first_if(custom)?;
    if let Some(raw) = role {
        roles::role_in_org(raw, custom)?;
    }
    // Auto-joining with more than member (admin, or a custom role) hands it
    // to everyone who can get an address on the domain: owners only.
    let may_elevate = policy::may_auto_join_as(me.role(), Role::Admin);
    let auto_join = enrollment.map_or(row.enrollment == Enrollment::AutoJoin.as_str(), |e| e == Enrollment::AutoJoin);
    let elevated = role.unwrap_or(&row.join_role) != Role::Member.as_str();
    let forbidden = || {
        AppError::refused(
            ErrorCode::Forbidden,
            "only an owner may have a domain auto-join people as admin or with a custom role",
        )
    };
    if auto_join && elevated && !may_elevate {
        return Err(forbidden());
    }
    let now = deps.now();
    let mut batch = Batch::new();
    let updated =
        batch.write(stmt!(sql::UPDATE_DOMAIN, id, org_id, enrollment.map(Enrollment::as_str), role, now, may_elevate));
    batch.add(request_event(deps, me.actor(), "domain.updated", id, org_id, true)?);
    let after = batch.read::<DomainRow>(stmt!(sql::DOMAIN_IN_ORG, id, org_id));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let changed = results.changed(updated) > 0;
    let after = results.first(after)?.ok_or(AppError::NotFound)?;
    if !changed {
        // Someone made it auto-join as admin meanwhile, or the custom role
        // named was deleted meanwhile.
        if let Some(raw) = role.filter(|r| Role::parse(r).is_none()) {
            return Err(roles::role_in_org(raw, None).err().unwrap_or_else(forbidden));
        }
        return Err(forbidden());
    }
    Ok(view(&after))
}

/// Removes a domain. Who joined through it stays a member; were it added
/// again, they would not be auto-joined a second time.
pub async fn delete_domain(deps: &Deps, who: &Credential, org_id: &str, id: &str) -> Result<(), AppError> {
    if !looks_like(IdKind::Domain, id) {
        who.require_in_org(deps, org_id, Permission::OrgWrite, Batch::new()).await?;
        return Err(AppError::NotFound);
    }
    let wrote = who
        .require_write(deps, Tenant::Org(org_id), Permission::OrgWrite, TwoFactorPolicy::Enforce, |actor, batch| {
            // The audit row reads the domain's name from the row, so before it goes.
            batch.add(request_event(deps, actor, "domain.removed", id, org_id, false)?);
            Ok(batch.write(stmt!(sql::DELETE_DOMAIN, id, org_id)))
        })
        .await?;
    if wrote.ran?.changed(wrote.handles) == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Orgs whose verified `suggest` domain the caller's verified address is
/// on, where they are not a member.
pub async fn suggested_orgs(deps: &Deps, who: &Credential) -> Result<Vec<SuggestedOrgView>, AppError> {
    let mut batch = Batch::new();
    // The caller's id is only trusted once the session is confirmed, which
    // happens in this same batch; the rows are read only then.
    let user_id = who.user_id().unwrap_or_default();
    let rows = batch.read::<SuggestedOrgRow>(stmt!(sql::SUGGESTED_ORGS, user_id));
    let (_, mut results) = who.person_with(deps, batch).await?;
    Ok(results
        .all(rows)?
        .into_iter()
        .map(|r| SuggestedOrgView { id: r.id, name: r.name, slug: r.slug, domain: r.domain })
        .collect())
}

/// The statements that auto-join `user_id`, for the batch that opens their
/// session: a `member.joined` row, the membership (the domain's role,
/// `joined_via` 'domain') and the record that it happened, for a verified
/// address on a verified auto-join domain, once per person and domain.
/// Nothing, when no domain applies.
pub fn auto_join(deps: &Deps, user_id: &str) -> Result<[Stmt; 3], AppError> {
    let now = deps.now();
    let audit_id = deps.new_id(IdKind::Event)?;
    let types = webhook::event_types_column("member.joined");
    // Enqueued after the answer if a row was written (none: nothing found).
    deps.notified.borrow_mut().push(audit_id.clone());
    Ok([
        stmt!(sql::AUTO_JOIN_AUDIT, user_id, now, audit_id, types),
        stmt!(sql::AUTO_JOIN_MEMBER, user_id, now),
        stmt!(sql::AUTO_JOIN_RECORD, user_id, now),
    ])
}

/// What one scheduled re-check did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rechecked {
    /// Record found: checked again after the interval.
    pub held: usize,
    /// Record gone: lapsed.
    pub lapsed: usize,
    /// No answer: tried again later.
    pub unknown: usize,
}

/// The scheduled re-check: looks up verified domains whose check is due
/// and lapses those whose record is gone (one clear answer; a failed
/// look-up changes nothing). Each lapse is audited (`domain.lapsed`, by
/// `system`) in the same batch; the sweep enqueues its notifications.
pub async fn recheck_domains(
    db: &dyn Db,
    http: &dyn HttpClient,
    rng: &dyn Rng,
    config: &super::Config,
    now: i64,
) -> Result<Rechecked, AppError> {
    let due: Vec<DueDomainRow> = db.run(stmt!(sql::DOMAINS_DUE, now, RECHECK_BATCH)).await?.decode()?;
    let mut done = Rechecked::default();
    let interval = config.domain_recheck_seconds;
    for d in due {
        let answer = lookup_txt(http, &config.dns_over_https_url, &org_domain::txt_name(&d.domain)).await;
        let (id, txt, was) = (&d.id, &d.txt_value, d.next_check_at);
        match org_domain::recheck(&answer, txt) {
            Recheck::Holds => {
                done.held += 1;
                db.run(stmt!(sql::RECHECKED_DOMAIN, id, txt, was, now, now + interval)).await?;
            }
            Recheck::Unknown(why) => {
                done.unknown += 1;
                log_error(&format!("re-checking {}: {why}", d.domain));
                let later = now + interval.min(RETRY_FAILED_LOOKUP_SECONDS);
                db.run(stmt!(sql::RECHECKED_DOMAIN, id, txt, was, None::<i64>, later)).await?;
            }
            Recheck::Lapsed { found } => {
                done.lapsed += 1;
                let system = Actor { kind: "system", id: "system".into() };
                let (_, audit) = event(random(rng)?, &system, "domain.lapsed", id, &d.org_id, Some(&found), now, true);
                db.batch(vec![stmt!(sql::LAPSE_DOMAIN, id, txt, was, now), audit]).await?;
            }
        }
    }
    Ok(done)
}
