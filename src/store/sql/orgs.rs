//! Organizations.
use serde::Deserialize;

/// An org row with the caller's role.
#[derive(Debug, Clone, Deserialize)]
pub struct OrgRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// 0/1.
    pub require_2fa: i64,
    /// Creation.
    pub created_at: i64,
    /// The caller's role.
    pub role: String,
    /// How the caller's membership came to be (`ORG_FOR_USER` only; null
    /// for memberships older than the column).
    #[serde(default)]
    pub joined_via: Option<String>,
    /// When the caller's role is one of the org's custom roles, its
    /// permissions (a JSON array), read with the membership
    /// (`ORG_FOR_USER`, `ORGS_OF_USER`); null for a built-in role.
    #[serde(default)]
    pub role_permissions: Option<String>,
}

pub const INSERT_ORG: &str = "INSERT INTO orgs (id, name, slug, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)";
/// The caller's view of one org: the org with the caller's role, or no row.
/// A custom role comes with its permissions (the same row: no second read).
pub const ORG_FOR_USER: &str = "SELECT o.id, o.name, o.slug, o.require_2fa, o.created_at, m.role, m.joined_via, \
       r.permissions AS role_permissions \
     FROM orgs o JOIN org_members m ON m.org_id = o.id AND m.user_id = ?2 \
     LEFT JOIN org_roles r ON r.org_id = m.org_id AND r.key = m.role WHERE o.id = ?1";
pub const ORG_BY_ID: &str = "SELECT id, name, slug, require_2fa, created_at, '' AS role FROM orgs WHERE id = ?1";
pub const ORGS_OF_USER: &str = "SELECT o.id, o.name, o.slug, o.require_2fa, o.created_at, m.role, \
       r.permissions AS role_permissions \
     FROM org_members m JOIN orgs o ON o.id = m.org_id \
     LEFT JOIN org_roles r ON r.org_id = m.org_id AND r.key = m.role WHERE m.user_id = ?1 \
       AND (?2 IS NULL OR o.created_at < ?2 OR (o.created_at = ?2 AND o.id < ?3)) \
     ORDER BY o.created_at DESC, o.id DESC LIMIT ?4";
pub const UPDATE_ORG: &str = "UPDATE orgs SET name = COALESCE(?2, name), slug = COALESCE(?3, slug), \
       require_2fa = COALESCE(?4, require_2fa), updated_at = ?5 WHERE id = ?1";
pub const DELETE_ORG: &str = "DELETE FROM orgs WHERE id = ?1";
pub const ORG_BY_SLUG: &str = "SELECT id, name, slug, require_2fa, created_at, '' AS role FROM orgs WHERE slug = ?1";
