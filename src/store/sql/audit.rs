//! The audit log.

use serde::Deserialize;

pub const INSERT_AUDIT: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
/// An audit row written only if the statement before it in the batch changed
/// something: `changes()` is per connection and a D1 batch is one connection.
pub const INSERT_AUDIT_IF_CHANGED: &str = "INSERT INTO audit_events \
       (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at, event_types) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE changes() > 0";
/// Newest first by insertion order (rowid), which also orders events of one second.
pub const LIST_ORG_AUDIT: &str =
    "SELECT rowid AS seq, id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at \
     FROM audit_events WHERE org_id = ?1 AND rowid < COALESCE(?2, 9223372036854775807) \
     ORDER BY rowid DESC LIMIT ?3";
pub const LIST_WORKSPACE_AUDIT: &str =
    "SELECT rowid AS seq, id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at \
     FROM audit_events WHERE workspace_id = ?1 AND rowid < COALESCE(?2, 9223372036854775807) \
     ORDER BY rowid DESC LIMIT ?3";

/// An audit event ([`LIST_ORG_AUDIT`], [`LIST_WORKSPACE_AUDIT`]).
#[derive(Debug, Clone, Deserialize)]
pub struct AuditRow {
    /// `seq`.
    pub seq: i64,
    /// `id`.
    pub id: String,
    /// `actor_kind`.
    pub actor_kind: String,
    /// `actor_id`.
    pub actor_id: String,
    /// `action`.
    pub action: String,
    /// `target_kind`.
    pub target_kind: String,
    /// `target_id`.
    pub target_id: String,
    /// `data`.
    pub data: String,
    /// `occurred_at`.
    pub occurred_at: i64,
}
