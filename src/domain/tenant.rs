//! Tenants: organizations and customer workspaces. Members, roles,
//! invitations, the audit log and decisions are the same concepts for both;
//! what differs is named by [`TenantKind`] where it matters.

/// A tenant, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenant<'a> {
    /// An organization (`org_…`).
    Org(&'a str),
    /// A customer workspace (`ws_…`).
    Workspace(&'a str),
}

/// The kind of a tenant, without its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TenantKind {
    /// An organization.
    Org,
    /// A customer workspace: an owner who keeps billing and deletion, and
    /// grants to orgs whose members' access is derived on every request.
    Workspace,
}

impl<'a> Tenant<'a> {
    /// The id.
    pub fn id(self) -> &'a str {
        match self {
            Tenant::Org(id) | Tenant::Workspace(id) => id,
        }
    }

    /// The kind.
    pub fn kind(self) -> TenantKind {
        match self {
            Tenant::Org(_) => TenantKind::Org,
            Tenant::Workspace(_) => TenantKind::Workspace,
        }
    }

    /// The id, if an org.
    pub fn org_id(self) -> Option<&'a str> {
        match self {
            Tenant::Org(id) => Some(id),
            Tenant::Workspace(_) => None,
        }
    }

    /// The id, if a workspace.
    pub fn workspace_id(self) -> Option<&'a str> {
        match self {
            Tenant::Workspace(id) => Some(id),
            Tenant::Org(_) => None,
        }
    }
}
