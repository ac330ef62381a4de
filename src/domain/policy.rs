//! Roles, permissions and the one table between them. Every authorization
//! decision of the service goes through [`decide`]; nothing else compares
//! roles or looks at scopes.
use super::tenant::TenantKind;
use serde::{Deserialize, Serialize};

/// A role in an organization or a workspace. Ordered: owner > admin > member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including deletion, billing and other owners.
    Owner,
    /// Everything but deletion and billing; never touches owners.
    Admin,
    /// Reads, and deploys.
    Member,
}

impl Role {
    /// Parses the wire/database name.
    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    /// The wire/database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Member => 1,
        }
    }

    /// Whether `self` is strictly above `other`.
    pub fn outranks(self, other: Role) -> bool {
        self.rank() > other.rank()
    }
}

/// Everything a principal may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[allow(missing_docs)]
pub enum Permission {
    #[serde(rename = "org:read")]
    OrgRead,
    #[serde(rename = "org:write")]
    OrgWrite,
    #[serde(rename = "org:delete")]
    OrgDelete,
    #[serde(rename = "billing:manage")]
    BillingManage,
    #[serde(rename = "members:read")]
    MembersRead,
    #[serde(rename = "members:write")]
    MembersWrite,
    #[serde(rename = "invitations:write")]
    InvitationsWrite,
    #[serde(rename = "api_keys:write")]
    ApiKeysWrite,
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "workspaces:read")]
    WorkspacesRead,
    #[serde(rename = "workspaces:write")]
    WorkspacesWrite,
    #[serde(rename = "projects:read")]
    ProjectsRead,
    #[serde(rename = "projects:write")]
    ProjectsWrite,
    #[serde(rename = "apps:read")]
    AppsRead,
    #[serde(rename = "apps:deploy")]
    AppsDeploy,
    #[serde(rename = "databases:read")]
    DatabasesRead,
    #[serde(rename = "databases:write")]
    DatabasesWrite,
    #[serde(rename = "notifications:write")]
    NotificationsWrite,
}

impl Permission {
    /// Every permission, in contract order.
    pub const ALL: [Permission; 18] = [
        Permission::OrgRead,
        Permission::OrgWrite,
        Permission::OrgDelete,
        Permission::BillingManage,
        Permission::MembersRead,
        Permission::MembersWrite,
        Permission::InvitationsWrite,
        Permission::ApiKeysWrite,
        Permission::AuditRead,
        Permission::WorkspacesRead,
        Permission::WorkspacesWrite,
        Permission::ProjectsRead,
        Permission::ProjectsWrite,
        Permission::AppsRead,
        Permission::AppsDeploy,
        Permission::DatabasesRead,
        Permission::DatabasesWrite,
        Permission::NotificationsWrite,
    ];

    /// The wire name, e.g. `members:write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::OrgRead => "org:read",
            Permission::OrgWrite => "org:write",
            Permission::OrgDelete => "org:delete",
            Permission::BillingManage => "billing:manage",
            Permission::MembersRead => "members:read",
            Permission::MembersWrite => "members:write",
            Permission::InvitationsWrite => "invitations:write",
            Permission::ApiKeysWrite => "api_keys:write",
            Permission::AuditRead => "audit:read",
            Permission::WorkspacesRead => "workspaces:read",
            Permission::WorkspacesWrite => "workspaces:write",
            Permission::ProjectsRead => "projects:read",
            Permission::ProjectsWrite => "projects:write",
            Permission::AppsRead => "apps:read",
            Permission::AppsDeploy => "apps:deploy",
            Permission::DatabasesRead => "databases:read",
            Permission::DatabasesWrite => "databases:write",
            Permission::NotificationsWrite => "notifications:write",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// What it allows, for the catalog (`GET /v1/permissions`).
    pub fn description(self) -> &'static str {
        match self {
            Permission::OrgRead => "See the organization",
            Permission::OrgWrite => "Rename the organization, change its settings and domains",
            Permission::OrgDelete => "Delete the organization, transfer ownership, set key policies (owner only)",
            Permission::BillingManage => "Manage the plan and billing (owner only)",
            Permission::MembersRead => "List members",
            Permission::MembersWrite => "Change members' roles and remove members",
            Permission::InvitationsWrite => "Invite people; manage invitations, join links and requests",
            Permission::ApiKeysWrite => "Create, rotate and revoke API keys",
            Permission::AuditRead => "Read the audit log",
            Permission::WorkspacesRead => "See customer workspaces granted to the organization",
            Permission::WorkspacesWrite => "Manage workspaces",
            Permission::ProjectsRead => "Read projects",
            Permission::ProjectsWrite => "Change projects",
            Permission::AppsRead => "Read apps",
            Permission::AppsDeploy => "Deploy apps",
            Permission::DatabasesRead => "Read databases",
            Permission::DatabasesWrite => "Change databases",
            Permission::NotificationsWrite => "Manage notification channels",
        }
    }
}

/// THE table. An exhaustive match: a new permission does not compile until
/// every role answers it.
pub fn role_grants(role: Role, permission: Permission) -> bool {
    use Permission::*;
    match permission {
        OrgDelete | BillingManage => matches!(role, Role::Owner),
        OrgWrite | MembersWrite | InvitationsWrite | ApiKeysWrite | AuditRead | WorkspacesWrite | ProjectsWrite
        | DatabasesWrite | NotificationsWrite => matches!(role, Role::Owner | Role::Admin),
        OrgRead | MembersRead | WorkspacesRead | ProjectsRead | AppsRead | AppsDeploy | DatabasesRead => true,
    }
}

/// Person-only permissions: deleting an org (or a workspace, and everything
/// else a tenant's owner alone decides, ownership transfer included) and
/// billing. An API key never holds them (refused at creation and rotation)
/// and never exercises them, whatever scopes it carries. An exhaustive match:
/// a new permission does not compile until it answers this too.
pub fn person_only(permission: Permission) -> bool {
    use Permission::*;
    match permission {
        OrgDelete | BillingManage => true,
        OrgRead | OrgWrite | MembersRead | MembersWrite | InvitationsWrite | ApiKeysWrite | AuditRead
        | WorkspacesRead | WorkspacesWrite | ProjectsRead | ProjectsWrite | AppsRead | AppsDeploy | DatabasesRead
        | DatabasesWrite | NotificationsWrite => false,
    }
}

/// Whether an API key may be given `permission` as a scope.
pub fn key_may_hold(permission: Permission) -> bool {
    !person_only(permission)
}

/// Who is asking: a member with a role (effective, in a workspace), or an
/// API key with its scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A person, by their role in the tenant.
    Role(Role),
    /// A person whose org role is one of its custom roles, by that role's
    /// permission set (only what [`custom_may_hold`] admits counts).
    Custom(&'a [Permission]),
    /// An API key, by its scopes (it acts in its own org, and in the
    /// workspaces granted to that org).
    Key(&'a [Permission]),
}

/// How the subject's access to the tenant was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Their own membership of the tenant (or a key in its own org).
    Direct,
    /// A workspace's grant to an org the person belongs to (or the key's org).
    Grant,
}

/// What else the decision depends on, read from the current rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Org or workspace.
    pub tenant: TenantKind,
    /// How access was obtained.
    pub via: Via,
    /// 2FA is required of this person here: the 2FA rule of the org whose
    /// membership is the source of access binds them
    /// ([`TwoFactorRule::binds`] over their role in that org; also on the
    /// workspaces it reaches through a grant), or the action needs 2FA of
    /// its own (such as setting the rule).
    pub require_2fa: bool,
    /// The person has 2FA on.
    pub has_2fa: bool,
}

impl Facts {
    /// Direct access, no 2FA requirement.
    pub fn direct(tenant: TenantKind) -> Self {
        Facts { tenant, via: Via::Direct, require_2fa: false, has_2fa: false }
    }
}

/// An org's two-factor rule (`orgs.require_2fa`): whom it binds. Stored as
/// 0 (off), 1 (everyone: what `true` always meant) and 2 (admins and owners).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum TwoFactorRule {
    /// Nobody is held to it.
    #[serde(rename = "off")]
    Off,
    /// Owners and admins only: a member without 2FA keeps their access.
    #[serde(rename = "admins_and_owners")]
    AdminsAndOwners,
    /// Every member.
    #[serde(rename = "all")]
    Everyone,
}

impl TwoFactorRule {
    /// Every rule.
    pub const ALL: [TwoFactorRule; 3] = [TwoFactorRule::Off, TwoFactorRule::AdminsAndOwners, TwoFactorRule::Everyone];

    /// The rule a stored value stands for. An unknown value binds everyone:
    /// a rule we cannot read never opens access.
    pub fn from_stored(raw: i64) -> Self {
        match raw {
            0 => TwoFactorRule::Off,
            2 => TwoFactorRule::AdminsAndOwners,
            _ => TwoFactorRule::Everyone,
        }
    }

    /// The stored value (the SQL statements read the same numbers).
    pub fn stored(self) -> i64 {
        match self {
            TwoFactorRule::Off => 0,
            TwoFactorRule::Everyone => 1,
            TwoFactorRule::AdminsAndOwners => 2,
        }
    }

    /// The wire name: `off`, `admins_and_owners`, `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            TwoFactorRule::Off => "off",
            TwoFactorRule::AdminsAndOwners => "admins_and_owners",
            TwoFactorRule::Everyone => "all",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        TwoFactorRule::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// Whether the rule binds a person whose role in the org (the org whose
    /// membership is the source of their access: in a workspace reached
    /// through a grant, their role in the granted org, never the derived
    /// `admin`) is `org_role`. An exhaustive match: a new role must answer.
    pub fn binds(self, org_role: Role) -> bool {
        match (self, org_role) {
            (TwoFactorRule::Off, _) => false,
            (TwoFactorRule::Everyone, _) => true,
            (TwoFactorRule::AdminsAndOwners, Role::Owner | Role::Admin) => true,
            (TwoFactorRule::AdminsAndOwners, Role::Member) => false,
        }
    }
}

/// The answer of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Not with this role, or not through a grant (403 `forbidden`).
    Forbidden,
    /// The org requires 2FA and the person has none (403 `two_factor_required`).
    TwoFactorRequired,
    /// Only a signed-in person may do this (403 `user_required`).
    UserRequired,
    /// The key lacks the scope (403 `insufficient_scope`).
    MissingScope,
}

/// THE decision: may `subject` do `permission` in a tenant, given `facts`?
/// Tenancy (whether the subject can see the tenant at all: 404) is settled
/// before, by the query that finds the subject's role.
///
/// - People: the org's `require_2fa` first (where its membership is the
///   source of access), then access through a grant never manages direct
///   seats ([`needs_direct_workspace_role`]), then the role table
///   ([`role_grants`]; owner-only permissions are the owner's alone).
/// - Keys: person-only permissions never ([`person_only`]), whatever the
///   scopes; through a grant, never direct seats and at most what an admin
///   may; otherwise exactly their scopes. An org's 2FA rule binds people, not keys.
pub fn decide(subject: Subject<'_>, permission: Permission, facts: &Facts) -> Verdict {
    let through_grant = facts.via == Via::Grant;
    let seats = through_grant && facts.tenant == TenantKind::Workspace && needs_direct_workspace_role(permission);
    match subject {
        Subject::Role(role) => {
            if facts.require_2fa && !facts.has_2fa {
                Verdict::TwoFactorRequired
            } else if seats || !role_grants(role, permission) {
                Verdict::Forbidden
            } else {
                Verdict::Allow
            }
        }
        Subject::Custom(set) => {
            if facts.require_2fa && !facts.has_2fa {
                Verdict::TwoFactorRequired
            } else if seats || !custom_may_hold(permission) || !set.contains(&permission) {
                Verdict::Forbidden
            } else {
                Verdict::Allow
            }
        }
        Subject::Key(scopes) => {
            if person_only(permission) {
                Verdict::UserRequired
            } else if seats || (through_grant && !role_grants(Role::Admin, permission)) {
                Verdict::Forbidden
            } else if scopes.contains(&permission) {
                Verdict::Allow
            } else {
                Verdict::MissingScope
            }
        }
    }
}

/// Every role, highest first.
pub const ROLES: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

/// Every permission [`decide`] allows `subject` given `facts`, in contract
/// order: what the org and workspace views tell the caller (the console shows
/// and hides by it, and keeps no rules of its own).
pub fn permissions_of(subject: Subject<'_>, facts: &Facts) -> Vec<Permission> {
    Permission::ALL.into_iter().filter(|p| decide(subject, *p, facts) == Verdict::Allow).collect()
}

/// The roles `subject` (acting as `role`: an API key counts as `admin`) may
/// invite someone with here: none without `invitations:write`, then
/// [`may_invite`] and [`may_hand_out`]. Highest first.
pub fn invitable_roles(subject: Subject<'_>, role: Role, facts: &Facts) -> Vec<Role> {
    if decide(subject, Permission::InvitationsWrite, facts) != Verdict::Allow {
        return Vec::new();
    }
    ROLES.into_iter().filter(|r| may_invite(role, *r) && may_hand_out(subject, *r)).collect()
}

/// The roles `subject` (acting as `role`) may set a member whose role is
/// `target` to, its current role included when anything may be changed; none
/// unless `manages` (`members:write` was allowed). [`may_change_role`] and
/// [`may_hand_out`]. Highest first.
pub fn assignable_roles(subject: Subject<'_>, role: Role, manages: bool, is_self: bool, target: Role) -> Vec<Role> {
    if !manages {
        return Vec::new();
    }
    let roles: Vec<Role> = ROLES
        .into_iter()
        .filter(|r| may_change_role(role, is_self, target, *r).is_ok() && may_hand_out(subject, *r))
        .collect();
    // Only the current role left means nothing can change.
    if roles.iter().all(|r| *r == target) {
        Vec::new()
    } else {
        roles
    }
}

/// Whether `subject` may hand `role` to someone (by invitation or role
/// change), as far as its own powers go: a person within the membership
/// rules ([`may_invite`], [`may_change_role`]); a key only a role it could
/// act as itself (every permission of `role` among its scopes).
pub fn may_hand_out(subject: Subject<'_>, role: Role) -> bool {
    match subject {
        Subject::Role(_) => true,
        Subject::Custom(_) => {
            held_within(&permissions_of_role(role), &permissions_of(subject, &Facts::direct(TenantKind::Org)))
        }
        Subject::Key(scopes) => role_within(role, scopes),
    }
}

/// Whether a permission may be part of a custom role: what an admin holds
/// and a person-only permission is not. Owner-only powers (deleting the org,
/// billing, ownership transfer, which rides on `org:delete`) stay the
/// owner's; so a custom role never manages owners nor hands out more than
/// an admin could. An exhaustive answer through the table.
pub fn custom_may_hold(permission: Permission) -> bool {
    role_grants(Role::Admin, permission) && !person_only(permission)
}

/// Every permission of a built-in role, in contract order.
pub fn permissions_of_role(role: Role) -> Vec<Permission> {
    Permission::ALL.into_iter().filter(|p| role_grants(role, *p)).collect()
}

/// Whether every permission of `wanted` is among `held`.
fn held_within(wanted: &[Permission], held: &[Permission]) -> bool {
    wanted.iter().all(|p| held.contains(p))
}

/// A member's org role as a value: built in, or one of the org's custom
/// roles with its permission set (read with the membership, in the same
/// D1 batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleValue {
    /// owner, admin or member.
    Builtin(Role),
    /// A custom role.
    Custom {
        /// Its key (`billing-viewer`).
        key: String,
        /// Its permissions (only those [`custom_may_hold`] admits count).
        permissions: Vec<Permission>,
    },
}

impl RoleValue {
    /// The wire/database name.
    pub fn name(&self) -> &str {
        match self {
            RoleValue::Builtin(r) => r.as_str(),
            RoleValue::Custom { key, .. } => key,
        }
    }

    /// The subject decisions about its holder are made with.
    pub fn subject(&self) -> Subject<'_> {
        match self {
            RoleValue::Builtin(r) => Subject::Role(*r),
            RoleValue::Custom { permissions, .. } => Subject::Custom(permissions),
        }
    }

    /// Where it stands for the membership rules ([`may_change_role`],
    /// [`may_remove`], [`may_invite`]) as the one acted on: a custom role
    /// is below admin, as a member is.
    pub fn rank(&self) -> Role {
        match self {
            RoleValue::Builtin(r) => *r,
            RoleValue::Custom { .. } => Role::Member,
        }
    }

    /// What its holder may do in the org (directly, without a 2FA question).
    pub fn permissions(&self) -> Vec<Permission> {
        permissions_of(self.subject(), &Facts::direct(TenantKind::Org))
    }

    /// Whether the org's 2FA rule binds its holder: a custom role is held
    /// to `admins_and_owners` (only the built-in member is exempt there),
    /// as the SQL statements read it (`m.role = 'member'`).
    pub fn bound_by(&self, rule: TwoFactorRule) -> bool {
        match self {
            RoleValue::Builtin(r) => rule.binds(*r),
            RoleValue::Custom { .. } => rule != TwoFactorRule::Off,
        }
    }
}

/// Whether `subject` (acting in the org) may give someone `role`: its
/// powers cover every permission of the role (never beyond yourself), and
/// for a built-in role [`may_hand_out`].
pub fn may_hand_out_value(subject: Subject<'_>, role: &RoleValue) -> bool {
    match role {
        RoleValue::Builtin(r) => may_hand_out(subject, *r),
        RoleValue::Custom { .. } => {
            let held = permissions_of(subject, &Facts::direct(TenantKind::Org));
            held_within(&role.permissions(), &held)
        }
    }
}

/// Whether `subject` may act on (change or remove) a member holding
/// `target`: a person with a custom role never acts on someone holding
/// anything they lack (an admin or owner above them); built-in roles and
/// keys follow the membership rules alone.
pub fn may_act_on(subject: Subject<'_>, target: &RoleValue) -> bool {
    match subject {
        Subject::Custom(set) => {
            held_within(&target.permissions(), &permissions_of(Subject::Custom(set), &Facts::direct(TenantKind::Org)))
        }
        Subject::Role(_) | Subject::Key(_) => true,
    }
}

/// Why a membership change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 403 `forbidden`.
    Forbidden,
    /// 409 `cannot_remove_owner`: an owner is demoted before removal.
    CannotRemoveOwner,
}

/// Whether `actor` (changing `target_current`, possibly themself) may set `new`.
/// Owners change anything; admins move people between admin and member and
/// never touch an owner; nobody raises their own role.
pub fn may_change_role(actor: Role, is_self: bool, target_current: Role, new: Role) -> Result<(), Refusal> {
    if is_self && new.outranks(target_current) {
        return Err(Refusal::Forbidden);
    }
    match actor {
        Role::Owner => Ok(()),
        Role::Admin if target_current != Role::Owner && new != Role::Owner => Ok(()),
        _ => Err(Refusal::Forbidden),
    }
}

/// Whether `actor` may remove a member whose role is `target` (not themself: that is leaving).
pub fn may_remove(actor: Role, target: Role) -> Result<(), Refusal> {
    match (actor, target) {
        (Role::Owner, Role::Owner) => Err(Refusal::CannotRemoveOwner),
        (Role::Owner, _) => Ok(()),
        (Role::Admin, Role::Owner) => Err(Refusal::Forbidden),
        (Role::Admin, _) => Ok(()),
        (Role::Member, _) => Err(Refusal::Forbidden),
    }
}

/// Whether every permission of `role` is among `scopes`: an API key may hand
/// out (by invitation or role change) only a role it could act as itself.
pub fn role_within(role: Role, scopes: &[Permission]) -> bool {
    Permission::ALL.iter().all(|p| !role_grants(role, *p) || scopes.contains(p))
}

/// Whether `actor` may invite someone with `role`: only owners create owners.
pub fn may_invite(actor: Role, role: Role) -> bool {
    role_grants(actor, Permission::InvitationsWrite) && (role != Role::Owner || actor == Role::Owner)
}

/// Whether `actor` may have a verified domain auto-join people as `role`.
/// Auto-joining as admin hands admin to everyone who can get an address on
/// the domain, which is more than inviting one person: only owners set it
/// (an API key acts as admin, so never). Auto-joining as member, suggesting,
/// and turning enrollment off need only what managing domains needs.
pub fn may_auto_join_as(actor: Role, role: Role) -> bool {
    role != Role::Admin || actor == Role::Owner
}

/// The effective workspace role of a person: their direct role, raised to
/// `admin` while a grant to one of their orgs lasts. Derived on every
/// request from the current rows; nothing is copied.
pub fn effective_workspace_role(direct: Option<Role>, via_grant: bool) -> Option<(Role, Via)> {
    match (direct, via_grant) {
        (Some(Role::Owner), _) => Some((Role::Owner, Via::Direct)),
        (Some(Role::Admin), _) => Some((Role::Admin, Via::Direct)),
        (Some(Role::Member), true) | (None, true) => Some((Role::Admin, Via::Grant)),
        (Some(Role::Member), false) => Some((Role::Member, Via::Direct)),
        (None, false) => None,
    }
}

/// What can be done to a workspace, mapped onto the one permission table.
/// The customer's prerogatives (deleting the workspace, granting and revoking
/// access, reading its audit log) are `org:delete`, the tenant-owner
/// permission; billing is `billing:manage`: both owner-only in the table, so
/// grant admins (admin) never have them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceAction {
    /// Read the workspace and its members.
    Read,
    /// Rename.
    Update,
    /// Manage members.
    ManageMembers,
    /// Invite.
    Invite,
    /// List grants.
    ReadGrants,
    /// Delete, grant, revoke grants, read the audit log.
    Own,
    /// Plan and billing email.
    Billing,
}

impl WorkspaceAction {
    /// The permission this action needs.
    pub fn permission(self) -> Permission {
        match self {
            WorkspaceAction::Read => Permission::WorkspacesRead,
            WorkspaceAction::Update => Permission::WorkspacesWrite,
            WorkspaceAction::ManageMembers => Permission::MembersWrite,
            WorkspaceAction::Invite => Permission::InvitationsWrite,
            WorkspaceAction::ReadGrants => Permission::WorkspacesWrite,
            WorkspaceAction::Own => Permission::OrgDelete,
            WorkspaceAction::Billing => Permission::BillingManage,
        }
    }
}

/// Whether `permission` on a workspace needs a role of the caller's own there.
/// Managing direct members and invitations creates or changes seats that
/// would outlive a grant, so access through a grant never suffices: the
/// customer adds their own team, and nothing a grant admin (or an org's API
/// key) does outlives the grant.
pub fn needs_direct_workspace_role(permission: Permission) -> bool {
    matches!(permission, Permission::MembersWrite | Permission::InvitationsWrite)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    /// The documented rules (API.md "Permissions and decisions", SECURITY.md
    /// "Authorization", docs/security.md), one row a permission:
    /// which roles have it, whether only a person may exercise it, and
    /// whether on a workspace it needs a direct role (it manages seats that
    /// would outlive a grant). Written out by hand: the matrix test below
    /// derives its expectations from this table, never from `decide`.
    const DOCUMENTED: [(Permission, [bool; 3], bool, bool); 18] = [
        //  permission          member admin  owner   person-only  direct seat only
        (OrgRead, [true, true, true], false, false),
        (OrgWrite, [false, true, true], false, false),
        (OrgDelete, [false, false, true], true, false),
        (BillingManage, [false, false, true], true, false),
        (MembersRead, [true, true, true], false, false),
        (MembersWrite, [false, true, true], false, true),
        (InvitationsWrite, [false, true, true], false, true),
        (ApiKeysWrite, [false, true, true], false, false),
        (AuditRead, [false, true, true], false, false),
        (WorkspacesRead, [true, true, true], false, false),
        (WorkspacesWrite, [false, true, true], false, false),
        (ProjectsRead, [true, true, true], false, false),
        (ProjectsWrite, [false, true, true], false, false),
        (AppsRead, [true, true, true], false, false),
        (AppsDeploy, [true, true, true], false, false),
        (DatabasesRead, [true, true, true], false, false),
        (DatabasesWrite, [false, true, true], false, false),
        (NotificationsWrite, [false, true, true], false, false),
    ];

    fn documented(p: Permission) -> ([bool; 3], bool, bool) {
        DOCUMENTED
            .iter()
            .find(|row| row.0 == p)
            .map(|row| (row.1, row.2, row.3))
            .expect("every permission is documented")
    }

    fn role_column(role: Role) -> usize {
        match role {
            Role::Member => 0,
            Role::Admin => 1,
            Role::Owner => 2,
        }
    }

    /// The expected answer, rule by rule, as the documents state them.
    fn expected(subject: Subject<'_>, p: Permission, facts: &Facts) -> Verdict {
        let (roles, person_only, direct_seat_only) = documented(p);
        let through_grant = facts.tenant == TenantKind::Workspace && facts.via == Via::Grant;
        match subject {
            Subject::Role(role) => {
                // "An org's require_2fa holds wherever its membership is the source of access."
                if facts.require_2fa && !facts.has_2fa {
                    return Verdict::TwoFactorRequired;
                }
                // "Managing a workspace's direct members and invitations needs a direct role."
                if through_grant && direct_seat_only {
                    return Verdict::Forbidden;
                }
                if roles[role_column(role)] {
                    Verdict::Allow
                } else {
                    Verdict::Forbidden
                }
            }
            Subject::Custom(set) => {
                // A custom role: 2FA and direct seats as for any person; then
                // its own set, of which only what an admin holds and no
                // person-only permission counts (written out, not derived).
                if facts.require_2fa && !facts.has_2fa {
                    return Verdict::TwoFactorRequired;
                }
                if through_grant && direct_seat_only {
                    return Verdict::Forbidden;
                }
                if set.contains(&p) && roles[role_column(Role::Admin)] && !person_only {
                    Verdict::Allow
                } else {
                    Verdict::Forbidden
                }
            }
            Subject::Key(scopes) => {
                // "API keys never perform person-only actions", whatever their scopes.
                if person_only {
                    return Verdict::UserRequired;
                }
                // Keys reach workspaces only through their org's grant: as an
                // admin at most, never managing seats.
                if through_grant && (direct_seat_only || !roles[role_column(Role::Admin)]) {
                    return Verdict::Forbidden;
                }
                // "An API key acts with its scopes"; an org's 2FA rule binds people.
                if scopes.contains(&p) {
                    Verdict::Allow
                } else {
                    Verdict::MissingScope
                }
            }
        }
    }

    /// Calls `f` with every subject of the matrix (each role; keys with all,
    /// some and no scopes) and every set of facts: orgs reached directly,
    /// workspaces directly or through a grant, each 2FA combination.
    fn each_subject_and_facts(mut f: impl FnMut(Subject<'_>, Facts)) {
        let all = Permission::ALL;
        let some: &[Permission] = &[OrgRead, MembersWrite, AppsDeploy, OrgDelete];
        let subjects = [
            Subject::Role(Role::Owner),
            Subject::Role(Role::Admin),
            Subject::Role(Role::Member),
            Subject::Key(&all),
            Subject::Key(some),
            Subject::Key(&[]),
            // Custom roles: one naming everything (owner-only and
            // person-only names count for nothing), one narrow.
            Subject::Custom(&all),
            Subject::Custom(some),
        ];
        let ways =
            [(TenantKind::Org, Via::Direct), (TenantKind::Workspace, Via::Direct), (TenantKind::Workspace, Via::Grant)];
        for subject in subjects {
            for (tenant, via) in ways {
                for (require_2fa, has_2fa) in [(false, false), (false, true), (true, false), (true, true)] {
                    f(subject, Facts { tenant, via, require_2fa, has_2fa });
                }
            }
        }
    }

    #[test]
    fn the_decision_matrix_subject_permission_facts_tenant() {
        let mut cases = 0;
        let mut seen = std::collections::HashSet::new();
        each_subject_and_facts(|subject, facts| {
            for p in Permission::ALL {
                let want = expected(subject, p, &facts);
                assert_eq!(decide(subject, p, &facts), want, "{subject:?} {} {facts:?}", p.as_str());
                seen.insert(format!("{want:?}"));
                cases += 1;
            }
        });
        assert_eq!(cases, 8 * 18 * 3 * 4);
        // The matrix reaches every answer, so no rule is untested.
        assert_eq!(seen.len(), 5, "{seen:?}");
    }

    #[test]
    fn the_documented_table_is_the_role_table() {
        for (p, roles, person, _) in DOCUMENTED {
            for role in [Role::Member, Role::Admin, Role::Owner] {
                assert_eq!(role_grants(role, p), roles[role_column(role)], "{role:?} {}", p.as_str());
            }
            assert_eq!(person_only(p), person, "{}", p.as_str());
            assert_eq!(needs_direct_workspace_role(p), DOCUMENTED.iter().any(|r| r.0 == p && r.3));
        }
    }

    #[test]
    fn decisions_attacked_from_other_angles() {
        let ws = |via, require_2fa, has_2fa| Facts { tenant: TenantKind::Workspace, via, require_2fa, has_2fa };
        let cases: [(Subject<'_>, Permission, Facts, Verdict, &str); 8] = [
            (
                Subject::Role(Role::Admin),
                MembersWrite,
                ws(Via::Grant, false, true),
                Verdict::Forbidden,
                "a grant admin never changes seats",
            ),
            (
                Subject::Role(Role::Admin),
                InvitationsWrite,
                ws(Via::Grant, false, true),
                Verdict::Forbidden,
                "a grant admin never invites",
            ),
            (
                Subject::Role(Role::Admin),
                WorkspacesWrite,
                ws(Via::Grant, false, false),
                Verdict::Allow,
                "a grant admin renames",
            ),
            (
                Subject::Role(Role::Owner),
                MembersRead,
                ws(Via::Grant, true, false),
                Verdict::TwoFactorRequired,
                "2FA is checked before anything else",
            ),
            (
                Subject::Role(Role::Owner),
                OrgDelete,
                Facts { require_2fa: true, has_2fa: false, ..Facts::direct(TenantKind::Org) },
                Verdict::TwoFactorRequired,
                "even the owner needs 2FA where the org requires it",
            ),
            (
                Subject::Key(&Permission::ALL),
                BillingManage,
                ws(Via::Grant, false, false),
                Verdict::UserRequired,
                "a key never bills, even naming the scope",
            ),
            (
                Subject::Key(&Permission::ALL),
                MembersWrite,
                ws(Via::Grant, false, false),
                Verdict::Forbidden,
                "an org's key never changes a workspace's seats",
            ),
            (
                Subject::Key(&[OrgRead]),
                OrgRead,
                Facts { require_2fa: true, has_2fa: false, ..Facts::direct(TenantKind::Org) },
                Verdict::Allow,
                "a key is not held to a person's 2FA",
            ),
        ];
        for (subject, p, facts, want, why) in cases {
            assert_eq!(decide(subject, p, &facts), want, "{why}");
        }
    }

    #[test]
    fn the_two_factor_rule_binds_by_the_role_in_the_org() {
        use Role::*;
        use TwoFactorRule::*;
        let cases = [
            (Off, Owner, false, "off binds nobody"),
            (Off, Member, false, "off binds nobody"),
            (Everyone, Owner, true, "everyone"),
            (Everyone, Admin, true, "everyone"),
            (Everyone, Member, true, "everyone, members too"),
            (AdminsAndOwners, Owner, true, "owners"),
            (AdminsAndOwners, Admin, true, "admins"),
            (AdminsAndOwners, Member, false, "a member keeps access without 2FA"),
        ];
        for (rule, role, binds, why) in cases {
            assert_eq!(rule.binds(role), binds, "{why}");
        }
        // Stored values: `true` (1) stays "everyone"; anything unknown binds everyone.
        for rule in TwoFactorRule::ALL {
            assert_eq!(TwoFactorRule::from_stored(rule.stored()), rule);
            assert_eq!(TwoFactorRule::parse(rule.as_str()), Some(rule));
            assert_eq!(serde_json::to_value(rule).unwrap(), rule.as_str());
        }
        assert_eq!(TwoFactorRule::from_stored(1), Everyone);
        assert_eq!(TwoFactorRule::from_stored(7), Everyone, "fails closed");
        assert_eq!(TwoFactorRule::parse("admins"), None);
        // Through the table: under admins_and_owners an admin without 2FA is
        // refused, a member without it is not.
        let org = |role: Role, has_2fa| Facts {
            require_2fa: AdminsAndOwners.binds(role),
            has_2fa,
            ..Facts::direct(TenantKind::Org)
        };
        assert_eq!(decide(Subject::Role(Admin), OrgRead, &org(Admin, false)), Verdict::TwoFactorRequired);
        assert_eq!(decide(Subject::Role(Owner), OrgRead, &org(Owner, false)), Verdict::TwoFactorRequired);
        assert_eq!(decide(Subject::Role(Member), OrgRead, &org(Member, false)), Verdict::Allow);
        assert_eq!(decide(Subject::Role(Admin), OrgRead, &org(Admin, true)), Verdict::Allow);
    }

    #[test]
    fn effective_workspace_roles_as_a_table() {
        use Role::*;
        let cases = [
            (Some(Owner), true, Some((Owner, Via::Direct)), "the customer stays owner"),
            (Some(Owner), false, Some((Owner, Via::Direct)), "owner"),
            (Some(Admin), true, Some((Admin, Via::Direct)), "direct admin"),
            (Some(Member), true, Some((Admin, Via::Grant)), "a grant raises a member to admin"),
            (Some(Member), false, Some((Member, Via::Direct)), "member"),
            (None, true, Some((Admin, Via::Grant)), "org member through a grant"),
            (None, false, None, "stranger: hidden"),
        ];
        for (direct, grant, expected, why) in cases {
            assert_eq!(effective_workspace_role(direct, grant), expected, "{why}");
        }
    }

    fn ws(via: Via) -> Facts {
        Facts { tenant: TenantKind::Workspace, via, require_2fa: false, has_2fa: false }
    }

    #[test]
    fn grant_admins_never_manage_direct_seats() {
        use WorkspaceAction::*;
        let all = [Read, Update, ManageMembers, Invite, ReadGrants, Own, Billing];
        for action in all {
            let p = action.permission();
            let through_grant = decide(Subject::Role(Role::Admin), p, &ws(Via::Grant));
            let direct_admin = decide(Subject::Role(Role::Admin), p, &ws(Via::Direct));
            let expected_grant =
                if matches!(action, Read | Update | ReadGrants) { Verdict::Allow } else { Verdict::Forbidden };
            assert_eq!(through_grant, expected_grant, "grant admin, {action:?}");
            let expected_direct = if matches!(action, Own | Billing) { Verdict::Forbidden } else { Verdict::Allow };
            assert_eq!(direct_admin, expected_direct, "direct admin, {action:?}");
            assert_eq!(decide(Subject::Role(Role::Owner), p, &ws(Via::Direct)), Verdict::Allow, "owner, {action:?}");
        }
    }

    #[test]
    fn grant_admins_never_own_or_bill() {
        for action in [WorkspaceAction::Own, WorkspaceAction::Billing] {
            assert!(!role_grants(Role::Admin, action.permission()));
            assert!(role_grants(Role::Owner, action.permission()));
        }
        for action in [
            WorkspaceAction::Update,
            WorkspaceAction::ManageMembers,
            WorkspaceAction::Invite,
            WorkspaceAction::ReadGrants,
        ] {
            assert!(role_grants(Role::Admin, action.permission()));
            assert!(!role_grants(Role::Member, action.permission()));
        }
        assert!(role_grants(Role::Member, WorkspaceAction::Read.permission()));
    }

    #[test]
    fn the_role_permission_matrix_is_the_contract() {
        let member: &[Permission] =
            &[OrgRead, MembersRead, WorkspacesRead, ProjectsRead, AppsRead, AppsDeploy, DatabasesRead];
        for p in Permission::ALL {
            assert!(role_grants(Role::Owner, p), "owner has {}", p.as_str());
            assert_eq!(role_grants(Role::Admin, p), !matches!(p, OrgDelete | BillingManage), "admin {}", p.as_str());
            assert_eq!(role_grants(Role::Member, p), member.contains(&p), "member {}", p.as_str());
        }
    }

    #[test]
    fn only_people_delete_bill_or_transfer_ownership() {
        // Exactly the owner-only permissions of the table are person-only.
        for p in Permission::ALL {
            let owner_only = role_grants(Role::Owner, p) && !role_grants(Role::Admin, p);
            assert_eq!(person_only(p), owner_only, "{}", p.as_str());
            assert_eq!(key_may_hold(p), !owner_only, "{}", p.as_str());
        }
        // Ownership transfer and the workspace owner's prerogatives ride on `org:delete`.
        assert!(person_only(WorkspaceAction::Own.permission()));
        assert!(person_only(WorkspaceAction::Billing.permission()));
    }

    #[test]
    fn a_key_never_acts_as_a_person_whatever_its_scopes() {
        let all = Permission::ALL;
        let org = Facts::direct(TenantKind::Org);
        let cases = [
            (&all[..], OrgDelete, Verdict::UserRequired, "a legacy key naming org:delete"),
            (&all[..], BillingManage, Verdict::UserRequired, "a legacy key naming billing:manage"),
            (&[][..], OrgDelete, Verdict::UserRequired, "person-only before scope"),
            (&all[..], MembersWrite, Verdict::Allow, "an ordinary scope"),
            (&[OrgRead][..], MembersWrite, Verdict::MissingScope, "a missing scope"),
        ];
        for (scopes, permission, expected, why) in cases {
            assert_eq!(decide(Subject::Key(scopes), permission, &org), expected, "{why}");
        }
    }

    #[test]
    fn members_are_denied_what_their_role_lacks() {
        let org = Facts::direct(TenantKind::Org);
        assert_eq!(decide(Subject::Role(Role::Member), OrgWrite, &org), Verdict::Forbidden);
        assert_eq!(decide(Subject::Role(Role::Member), AuditRead, &org), Verdict::Forbidden);
        assert_eq!(decide(Subject::Role(Role::Admin), AuditRead, &org), Verdict::Allow);
    }

    #[test]
    fn permission_names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert_eq!(Permission::parse("org:everything"), None);
    }

    #[test]
    fn role_change_rules() {
        use Role::*;
        let cases = [
            (Owner, false, Owner, Admin, Ok(()), "owner demotes another owner"),
            (Owner, false, Member, Owner, Ok(()), "owner promotes to owner"),
            (Owner, true, Owner, Member, Ok(()), "owner demotes themself (last-owner guard is in SQL)"),
            (Admin, false, Member, Admin, Ok(()), "admin promotes member to admin"),
            (Admin, false, Admin, Member, Ok(()), "admin demotes admin"),
            (Admin, false, Member, Owner, Err(Refusal::Forbidden), "admin cannot create owners"),
            (Admin, false, Owner, Admin, Err(Refusal::Forbidden), "admin never touches owners"),
            (Admin, true, Admin, Owner, Err(Refusal::Forbidden), "nobody raises their own role"),
            (Member, true, Member, Admin, Err(Refusal::Forbidden), "members change nothing"),
            (Member, false, Member, Member, Err(Refusal::Forbidden), "members change nothing"),
        ];
        for (actor, is_self, current, new, expected, why) in cases {
            assert_eq!(may_change_role(actor, is_self, current, new), expected, "{why}");
        }
    }

    #[test]
    fn removal_and_invitation_rules() {
        use Role::*;
        assert_eq!(may_remove(Owner, Owner), Err(Refusal::CannotRemoveOwner));
        assert_eq!(may_remove(Owner, Admin), Ok(()));
        assert_eq!(may_remove(Admin, Owner), Err(Refusal::Forbidden));
        assert_eq!(may_remove(Admin, Admin), Ok(()));
        assert_eq!(may_remove(Member, Member), Err(Refusal::Forbidden));
        assert!(may_invite(Owner, Owner));
        assert!(!may_invite(Admin, Owner));
        assert!(may_invite(Admin, Admin));
        assert!(!may_invite(Member, Member));
    }
    #[test]
    fn permissions_of_is_exactly_what_decide_allows() {
        let all = Permission::ALL;
        each_subject_and_facts(|subject, facts| {
            let want: Vec<Permission> =
                all.into_iter().filter(|p| decide(subject, *p, &facts) == Verdict::Allow).collect();
            assert_eq!(permissions_of(subject, &facts), want, "{subject:?} {facts:?}");
        });
        // Spot checks against the documented table.
        let org = Facts::direct(TenantKind::Org);
        assert_eq!(permissions_of(Subject::Role(Role::Owner), &org), all.to_vec());
        assert!(!permissions_of(Subject::Role(Role::Admin), &org).contains(&OrgDelete));
        let locked = Facts { require_2fa: true, has_2fa: false, ..org };
        assert!(permissions_of(Subject::Role(Role::Owner), &locked).is_empty());
    }

    #[test]
    fn invitable_and_assignable_roles_follow_the_membership_rules() {
        use Role::*;
        let org = Facts::direct(TenantKind::Org);
        let grant = Facts { tenant: TenantKind::Workspace, via: Via::Grant, require_2fa: false, has_2fa: true };
        for actor in ROLES {
            let invitable = invitable_roles(Subject::Role(actor), actor, &org);
            let want: Vec<Role> = if role_grants(actor, InvitationsWrite) {
                ROLES.into_iter().filter(|r| may_invite(actor, *r)).collect()
            } else {
                vec![]
            };
            assert_eq!(invitable, want, "{actor:?}");
            for target in ROLES {
                for is_self in [false, true] {
                    let got = assignable_roles(Subject::Role(actor), actor, true, is_self, target);
                    for r in ROLES {
                        if r != target {
                            assert_eq!(
                                got.contains(&r),
                                may_change_role(actor, is_self, target, r).is_ok(),
                                "{actor:?} {target:?} -> {r:?} self {is_self}"
                            );
                        }
                    }
                }
            }
        }
        assert_eq!(invitable_roles(Subject::Role(Owner), Owner, &org), vec![Owner, Admin, Member]);
        assert_eq!(invitable_roles(Subject::Role(Admin), Admin, &org), vec![Admin, Member]);
        assert!(invitable_roles(Subject::Role(Admin), Admin, &grant).is_empty(), "a grant admin never invites");
        assert!(
            assignable_roles(Subject::Role(Admin), Admin, true, false, Owner).is_empty(),
            "admins never touch owners"
        );
        assert_eq!(assignable_roles(Subject::Role(Admin), Admin, true, false, Member), vec![Admin, Member]);
        assert!(
            assignable_roles(Subject::Role(Owner), Owner, false, false, Member).is_empty(),
            "without members:write"
        );
        let reader: &[Permission] = &[InvitationsWrite, OrgRead, MembersRead];
        assert!(
            invitable_roles(Subject::Key(reader), Admin, &org).is_empty(),
            "a key hands out only roles within its scopes"
        );
    }
}
