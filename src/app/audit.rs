//! The audit log: rows built here, written in the same batch as the change.
use super::access::{Credential, TwoFactorPolicy};
use super::page::PageRequest;
use super::{AppError, Deps};
use crate::domain::ids::IdKind;
use crate::domain::policy::Permission;
use crate::domain::tenant::Tenant;
use crate::domain::time::rfc3339;
use crate::domain::webhook;
use crate::stmt;
use crate::store::sql::AuditRow;
use crate::store::{sql, Batch, Stmt};
use serde::Serialize;
use utoipa::ToSchema;

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Actor {
    /// `user`, `api_key`, `system`, `workload` or `scim_token`.
    pub kind: &'static str,
    /// `usr_…` or `key_…`.
    pub id: String,
}

impl Actor {
    /// A person.
    pub fn user(id: &str) -> Self {
        Self { kind: "user", id: id.to_owned() }
    }
}

/// What an event is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Target {
    /// e.g. `member`, `invitation`, `org`.
    pub kind: String,
    /// Its id.
    pub id: String,
}

/// One event to record.
pub struct Event<'a> {
    /// The org whose log it goes to.
    pub org_id: Option<&'a str>,
    /// The workspace whose log it goes to.
    pub workspace_id: Option<&'a str>,
    /// Who.
    pub actor: &'a Actor,
    /// e.g. `member.role_changed`.
    pub action: &'static str,
    /// Target kind.
    pub target_kind: &'static str,
    /// Target id.
    pub target_id: &'a str,
    /// Details (old and new role, email, …).
    pub data: serde_json::Value,
}

impl<'a> Event<'a> {
    /// An event in `tenant`'s log.
    pub fn in_tenant(
        tenant: Tenant<'a>,
        actor: &'a Actor,
        action: &'static str,
        target_kind: &'static str,
        target_id: &'a str,
        data: serde_json::Value,
    ) -> Self {
        Event {
            org_id: tenant.org_id(),
            workspace_id: tenant.workspace_id(),
            actor,
            action,
            target_kind,
            target_id,
            data,
        }
    }

    /// The INSERT, unconditional.
    pub fn stmt(&self, deps: &Deps) -> Result<Stmt, AppError> {
        self.build(deps, sql::INSERT_AUDIT)
    }

    /// The INSERT, written only if the batch statement just before it changed a row.
    pub fn stmt_if_changed(&self, deps: &Deps) -> Result<Stmt, AppError> {
        self.build(deps, sql::INSERT_AUDIT_IF_CHANGED)
    }

    /// The INSERT by a statement of the caller's that binds what
    /// [`sql::INSERT_AUDIT`] binds, in its order (e.g. one that adds to the
    /// data what only the database knows).
    pub fn stmt_by(&self, deps: &Deps, sql: &'static str) -> Result<Stmt, AppError> {
        self.build(deps, sql)
    }

    fn build(&self, deps: &Deps, sql: &'static str) -> Result<Stmt, AppError> {
        let id = deps.new_id(IdKind::Event)?;
        // The notification events this change stands for, fanned out to the
        // org's channels by the audit table's trigger in this same statement
        // (migration 0013); the deliveries are enqueued after the batch.
        let event_types = self.org_id.and_then(|_| webhook::event_types_column(self.action));
        if event_types.is_some() {
            deps.notified.borrow_mut().push(id.clone());
        }
        Ok(stmt!(
            sql,
            id,
            self.org_id,
            self.workspace_id,
            self.actor.kind,
            &self.actor.id,
            self.action,
            self.target_kind,
            self.target_id,
            self.data.to_string(),
            deps.now(),
            event_types
        ))
    }
}

/// An event as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEventView {
    /// `evt_…`
    pub id: String,
    /// e.g. `member.removed`.
    pub action: String,
    /// Who.
    pub actor: ActorView,
    /// What.
    pub target: Target,
    /// Details; open-ended by design: each `action` has its own keys (old and
    /// new role, email, the org and workspace of a grant, …).
    #[schema(value_type = Object)]
    pub data: serde_json::Map<String, serde_json::Value>,
    /// RFC 3339.
    pub occurred_at: String,
}

/// Who did it: `{kind: "user" | "api_key" | "system" | "scim_token", id}`, or a CI job
/// that exchanged its OIDC token: `{kind: "workload", id, issuer, subject}`
/// (`id` is the subject).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActorView {
    /// `user`, `api_key`, `system`, `workload` or `scim_token`.
    pub kind: String,
    /// `usr_…` or `key_…`; a workload's `sub`.
    pub id: String,
    /// A workload's token issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// A workload's token subject (`sub`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// A log, newest first (the caller has checked access).
pub async fn list_events(
    deps: &Deps,
    who: &Credential,
    log: Tenant<'_>,
    permission: Permission,
    page: &PageRequest,
) -> Result<(Vec<AuditEventView>, Option<String>), AppError> {
    let (sql, id) = match log {
        Tenant::Org(id) => (sql::LIST_ORG_AUDIT, id),
        Tenant::Workspace(id) => (sql::LIST_WORKSPACE_AUDIT, id),
    };
    let after = page.after.as_ref().map(|(k, _)| *k);
    // The page rides along with the decision (one round trip); it is read
    // only if the decision allows.
    let mut batch = Batch::new();
    let rows = batch.read::<AuditRow>(stmt!(sql, id, after, page.limit + 1));
    let (_, mut results) = who.require_with(deps, log, permission, TwoFactorPolicy::Enforce, batch).await?;
    let rows = results.all(rows)?;
    let (rows, next) = page.finish(rows, |r| (r.seq, String::new()));
    Ok((rows.into_iter().map(event_view).collect(), next))
}

/// An audit row as the API shows it (every log: org, workspace, a person's own).
pub fn event_view(r: AuditRow) -> AuditEventView {
    let data: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&r.data).unwrap_or_default();
    let workload = r.actor_kind == "workload";
    let text = |k: &str| data.get(k).and_then(serde_json::Value::as_str).map(str::to_owned);
    let (issuer, subject) = if workload { (text("issuer"), Some(r.actor_id.clone())) } else { (None, None) };
    AuditEventView {
        id: r.id,
        action: r.action,
        actor: ActorView { kind: r.actor_kind, id: r.actor_id, issuer, subject },
        target: Target { kind: r.target_kind, id: r.target_id },
        data,
        occurred_at: rfc3339(r.occurred_at),
    }
}
