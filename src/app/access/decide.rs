//! The decision: [`Caller::require`] asks the policy table and hands out the
//! [`Granted`] capability; [`Caller::judge`] is `POST /v1/authorize`'s.
use super::*;
use crate::domain::webhook;

/// The caller, confirmed live, and where they stand in the tenant the
/// route names. Decisions come from [`Caller::require`] only.
#[derive(Debug, Clone)]
pub struct Caller {
    pub(super) principal: Principal,
    pub(super) place: Place,
    /// The kind of tenant the route named, if any.
    pub(super) asked: Option<TenantKind>,
}

/// A decision `POST /v1/authorize` shows, with what it rested on.
#[derive(Debug, Clone)]
pub enum Judgement {
    /// The tenant is not visible to the caller.
    Hidden,
    /// A person, by their role here.
    Role {
        /// The verdict.
        verdict: Verdict,
        /// Their (effective) role: built in, or the org's custom role.
        role: RoleValue,
        /// Through a grant: the org (the one whose 2FA rule they miss, when
        /// that is the verdict).
        via_org: Option<OrgRef>,
        /// How their org membership came to be (org targets).
        joined_via: Option<String>,
    },
    /// An API key, by its scopes.
    Key {
        /// The verdict.
        verdict: Verdict,
        /// The key.
        key: KeyPrincipal,
    },
}

impl Caller {
    /// Who is calling.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The signed-in person; an API key gets 403 `user_required`.
    pub fn into_user(self) -> Result<UserPrincipal, AppError> {
        match self.principal {
            Principal::User(u) => Ok(u),
            Principal::ApiKey(_) => Err(AppError::UserRequired),
        }
    }

    /// Asks the policy table whether the caller may do `permission` in the
    /// tenant resolved for them: not visible is 404, visible without the
    /// permission 403 (or the refusal's own code). Workspaces are for
    /// people: an API key gets 403 `user_required` there.
    pub fn require(&self, permission: Permission, two_factor: TwoFactorPolicy) -> Result<Granted, AppError> {
        let (subject_role, facts, place) = self.standing(two_factor)?;
        let subject = match &self.principal {
            Principal::ApiKey(k) => k.subject(),
            Principal::User(_) => subject_role.subject(),
        };
        match verdict(subject, permission, &facts) {
            Verdict::Allow => Ok(Granted {
                actor: self.principal.actor(),
                principal: self.principal.clone(),
                role: subject_role,
                facts,
                place,
            }),
            refused => Err(refusal(refused, permission, facts.tenant)),
        }
    }

    /// The role the decisions here are made with, their facts and the place;
    /// or why there is none.
    fn standing(&self, two_factor: TwoFactorPolicy) -> Result<(RoleValue, Facts, GrantedPlace), AppError> {
        match (&self.principal, &self.place) {
            (_, Place::None) => Err(AppError::internal("a tenant decision without a tenant")),
            (Principal::ApiKey(_), Place::Workspace(_) | Place::GrantedToKey) => Err(AppError::UserRequired),
            (Principal::ApiKey(_), Place::Hidden) if self.workspace_asked() => Err(AppError::UserRequired),
            (_, Place::Hidden) => Err(AppError::NotFound),
            // An API key counts as `admin` for the membership rules (it never
            // creates, demotes or removes owners); its scopes decide what it
            // may do at all.
            (Principal::ApiKey(_), Place::Org(org)) => {
                Ok((RoleValue::Builtin(Role::Admin), Facts::direct(TenantKind::Org), GrantedPlace::Org(org.clone())))
            }
            (Principal::User(u), Place::Org(org)) => {
                let role = stored_org_role(org)?;
                let facts = person_in_org(u, org, &role, two_factor);
                Ok((role, facts, GrantedPlace::Org(org.clone())))
            }
            (Principal::User(u), Place::Workspace(row)) => {
                let (role, facts) = row.standing(u.user.totp_enabled != 0)?.ok_or(AppError::NotFound)?;
                Ok((RoleValue::Builtin(role), facts, GrantedPlace::Workspace(row.clone())))
            }
            (Principal::User(_), Place::GrantedToKey) => Err(AppError::internal("a key's grant for a person")),
        }
    }

    /// Whether the route named a workspace (for a key there: `user_required`,
    /// whether or not the workspace is granted to its org).
    fn workspace_asked(&self) -> bool {
        self.asked == Some(TenantKind::Workspace)
    }

    /// The decision, with what it rested on, for `POST /v1/authorize`
    /// (where an API key may ask about a workspace granted to its org).
    pub fn judge(&self, permission: Permission) -> Result<Judgement, AppError> {
        Ok(match (&self.principal, &self.place) {
            (_, Place::None | Place::Hidden) => Judgement::Hidden,
            (Principal::ApiKey(k), Place::Org(_)) => Judgement::Key {
                verdict: verdict(k.subject(), permission, &Facts::direct(TenantKind::Org)),
                key: k.clone(),
            },
            (Principal::ApiKey(k), Place::GrantedToKey) => {
                let facts =
                    Facts { tenant: TenantKind::Workspace, via: Via::Grant, require_2fa: false, has_2fa: false };
                Judgement::Key { verdict: verdict(k.subject(), permission, &facts), key: k.clone() }
            }
            (Principal::ApiKey(_), Place::Workspace(_)) | (Principal::User(_), Place::GrantedToKey) => {
                return Err(AppError::internal("a place read for another credential"))
            }
            (Principal::User(_), Place::Org(org)) => {
                let (role, facts, _) = self.standing(TwoFactorPolicy::Enforce)?;
                let verdict = verdict(role.subject(), permission, &facts);
                Judgement::Role { verdict, role, via_org: None, joined_via: org.joined_via.clone() }
            }
            (Principal::User(u), Place::Workspace(row)) => {
                let Some((role, facts)) = row.standing(u.user.totp_enabled != 0)? else { return Ok(Judgement::Hidden) };
                let verdict = verdict(Subject::Role(role), permission, &facts);
                let role = RoleValue::Builtin(role);
                let via_org = match (verdict, facts.via) {
                    (Verdict::TwoFactorRequired, _) => Some(row.needs_2fa_org()?),
                    (_, Via::Grant) => Some(row.via_org()),
                    (_, Via::Direct) => None,
                };
                Judgement::Role { verdict, role, via_org, joined_via: None }
            }
        })
    }
}

/// Where a [`Granted`] capability holds.
#[derive(Debug, Clone)]
enum GrantedPlace {
    Org(OrgRow),
    Workspace(WorkspaceRow),
}

/// The capability [`Caller::require`] hands out: the policy table allowed
/// this caller a permission in this tenant. Its fields are private; the
/// tenant use cases take it, so none can run without a decision.
#[derive(Debug, Clone)]
pub struct Granted {
    principal: Principal,
    actor: Actor,
    role: RoleValue,
    facts: Facts,
    place: GrantedPlace,
}

impl Granted {
    /// The built-in role decisions here are made with (an API key: `admin`,
    /// within its scopes). A custom role answers `member` here, so a rule
    /// that compares built-in roles never reads more into it; the rules
    /// that know custom roles ask [`Granted::acting_role`] and cap it by
    /// [`Granted::subject`].
    pub fn role(&self) -> Role {
        match &self.role {
            RoleValue::Builtin(r) => *r,
            RoleValue::Custom { .. } => Role::Member,
        }
    }

    /// The caller's role as a value (built in or custom).
    pub fn role_value(&self) -> &RoleValue {
        &self.role
    }

    /// The role the membership rules see: a custom role acts as an admin
    /// (as an API key does), capped by its own permissions.
    pub fn acting_role(&self) -> Role {
        acting_role(&self.role)
    }

    /// How the caller is here, and what else decisions here depend on.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The acting person (None: an API key).
    pub fn person(&self) -> Option<&UserPrincipal> {
        match &self.principal {
            Principal::User(u) => Some(u),
            Principal::ApiKey(_) => None,
        }
    }

    /// The acting person's id.
    pub fn person_id(&self) -> Option<&str> {
        self.person().map(|u| u.user.id.as_str())
    }

    /// Who to record in the audit log.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The subject of decisions here: the role, or a key's scopes.
    pub fn subject(&self) -> Subject<'_> {
        match &self.principal {
            Principal::ApiKey(k) => k.subject(),
            Principal::User(_) => self.role.subject(),
        }
    }

    /// The caller's own membership role (None: a key, or here only through a grant).
    pub fn direct(&self) -> Result<Option<Role>, AppError> {
        match (&self.principal, &self.place) {
            (Principal::ApiKey(_), _) => Ok(None),
            (Principal::User(_), GrantedPlace::Org(_)) => Ok(Some(self.role())),
            (Principal::User(_), GrantedPlace::Workspace(w)) => w.direct(),
        }
    }

    /// Every permission the caller has here (the same facts as the check).
    pub fn permissions(&self) -> Vec<Permission> {
        policy::permissions_of(self.subject(), &self.facts)
    }

    /// Whether the caller has `permission` here too.
    pub fn allows(&self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// The roles the caller may invite someone with here.
    pub fn invitable_roles(&self) -> Vec<Role> {
        policy::invitable_roles(self.subject(), self.acting_role(), &self.facts)
    }

    /// Whether the caller may read `event_type`'s data, by the one policy
    /// table (SECURITY.md: a channel receives only what its creator may
    /// read), in the org itself: its 2FA rule was applied by the check
    /// that granted this.
    pub fn may_read(&self, event_type: &str) -> Verdict {
        let subject = self.subject();
        match webhook::read_requirement(subject, event_type) {
            Ok(None) => Verdict::Allow,
            Ok(Some(p)) => verdict(subject, p, &Facts::direct(TenantKind::Org)),
            Err(refused) => refused,
        }
    }

    /// Requires `permission` as if the org required two-factor
    /// authentication: what setting that rule needs of the one who sets it.
    pub fn require_with_two_factor(&self, permission: Permission) -> Result<(), AppError> {
        let facts = Facts { require_2fa: true, ..self.facts };
        match verdict(self.subject(), permission, &facts) {
            Verdict::Allow => Ok(()),
            refused => Err(refusal(refused, permission, facts.tenant)),
        }
    }

    /// The org (org tenants).
    pub fn org(&self) -> Option<&OrgRow> {
        match &self.place {
            GrantedPlace::Org(o) => Some(o),
            GrantedPlace::Workspace(_) => None,
        }
    }

    /// The workspace as the caller sees it (workspace tenants).
    pub fn workspace(&self) -> Option<&WorkspaceRow> {
        match &self.place {
            GrantedPlace::Workspace(w) => Some(w),
            GrantedPlace::Org(_) => None,
        }
    }
}

/// The one call of `policy::decide` outside the domain: every decision of
/// the resolver (what [`Caller::require`] and [`Caller::judge`] decide, the
/// write guards' rule, a capability's second check) goes through here.
pub(super) fn verdict(subject: Subject<'_>, permission: Permission, facts: &Facts) -> Verdict {
    policy::decide(subject, permission, facts)
}

pub(super) fn refusal(verdict: Verdict, permission: Permission, tenant: TenantKind) -> AppError {
    match verdict {
        Verdict::Allow | Verdict::Forbidden => AppError::Forbidden,
        Verdict::UserRequired => AppError::UserRequired,
        Verdict::MissingScope => AppError::refused(
            ErrorCode::InsufficientScope,
            format!("this API key lacks the {} scope", permission.as_str()),
        ),
        Verdict::TwoFactorRequired => AppError::refused(
            ErrorCode::TwoFactorRequired,
            match tenant {
                TenantKind::Org => "this organization requires two-factor authentication: turn it on first",
                TenantKind::Workspace => {
                    "your access comes through an organization that requires two-factor authentication"
                }
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(totp: bool) -> Principal {
        // The columns `LIVE_SESSION_USER` reads.
        let row = serde_json::json!({"id": "usr_1", "email": "a@example.com", "name": "A",
            "email_verified_at": 1, "totp_enabled": i64::from(totp), "created_at": 1});
        Principal::User(UserPrincipal { user: serde_json::from_value(row).unwrap(), session_id: "ses_1".into() })
    }

    fn org(role: &str, require_2fa: bool) -> OrgRow {
        OrgRow {
            id: "org_1".into(),
            name: "Acme".into(),
            slug: "acme".into(),
            require_2fa: i64::from(require_2fa),
            created_at: 1,
            role: role.into(),
            joined_via: None,
            role_permissions: None,
        }
    }

    #[test]
    fn refusals_map_to_their_codes() {
        let caller = |principal, place| Caller { principal, place, asked: Some(TenantKind::Org) };
        let two_factor = caller(person(false), Place::Org(org("owner", true)));
        let err = two_factor.require(Permission::OrgRead, TwoFactorPolicy::Enforce);
        assert!(matches!(err, Err(AppError::Refused { code: ErrorCode::TwoFactorRequired, .. })), "{err:?}");
        assert!(two_factor.require(Permission::OrgRead, TwoFactorPolicy::Exempt).is_ok(), "leaving is exempt");
        let member = caller(person(false), Place::Org(org("member", false)));
        assert!(matches!(member.require(Permission::OrgWrite, TwoFactorPolicy::Enforce), Err(AppError::Forbidden)));
        let hidden = caller(person(false), Place::Hidden);
        assert!(matches!(hidden.require(Permission::OrgRead, TwoFactorPolicy::Enforce), Err(AppError::NotFound)));
        let key = |scopes: Vec<Permission>| KeyPrincipal {
            key_id: "key_1".into(),
            name: "ci".into(),
            org: org("", false),
            scopes,
            expires_at: None,
        };
        let bare = caller(Principal::ApiKey(key(vec![])), Place::Org(org("", false)));
        let err = bare.require(Permission::OrgRead, TwoFactorPolicy::Enforce);
        assert!(matches!(err, Err(AppError::Refused { code: ErrorCode::InsufficientScope, .. })), "{err:?}");
        let all = caller(Principal::ApiKey(key(Permission::ALL.to_vec())), Place::Org(org("", false)));
        assert!(matches!(all.require(Permission::OrgDelete, TwoFactorPolicy::Enforce), Err(AppError::UserRequired)));
        // Workspaces are for people, granted to the key's org or not.
        for place in [Place::GrantedToKey, Place::Hidden] {
            let ws = Caller {
                principal: Principal::ApiKey(key(Permission::ALL.to_vec())),
                place,
                asked: Some(TenantKind::Workspace),
            };
            assert!(matches!(ws.require(Permission::OrgRead, TwoFactorPolicy::Enforce), Err(AppError::UserRequired)));
        }
    }

    #[test]
    fn a_channel_reads_only_what_its_creator_may_and_a_notifications_only_key_reads_nothing_but_ping() {
        use crate::domain::policy::Permission as P;
        let key = |scopes: &[Permission]| KeyPrincipal {
            key_id: "key_1".into(),
            name: "ci".into(),
            org: org("", false),
            scopes: scopes.to_vec(),
            expires_at: None,
        };
        let granted = |principal: Principal, role: &str| {
            Caller { principal, place: Place::Org(org(role, false)), asked: Some(TenantKind::Org) }
                .require(P::OrgRead, TwoFactorPolicy::Enforce)
                .unwrap()
        };
        let only_notifications = granted(Principal::ApiKey(key(&[P::NotificationsWrite, P::OrgRead])), "");
        let (owner, admin, member) =
            (granted(person(false), "owner"), granted(person(false), "admin"), granted(person(false), "member"));
        for (t, _, _) in webhook::EVENT_TYPES {
            let want = match *t {
                "ping" | "org.updated" | "org.deleted" => Verdict::Allow,
                t if t.starts_with("api_key.") => Verdict::UserRequired,
                _ => Verdict::MissingScope,
            };
            assert_eq!(only_notifications.may_read(t), want, "{t}");
            // Owners and admins (who manage channels) read them all.
            assert_eq!(owner.may_read(t), Verdict::Allow, "{t}");
            assert_eq!(admin.may_read(t), Verdict::Allow, "{t}");
        }
        let scoped = |scopes: &[Permission]| granted(Principal::ApiKey(key(&[&[P::OrgRead][..], scopes].concat())), "");
        assert_eq!(scoped(&[P::MembersRead]).may_read("member.added"), Verdict::Allow);
        assert_eq!(scoped(&[P::MembersRead]).may_read("invitation.created"), Verdict::MissingScope);
        assert_eq!(scoped(&[P::InvitationsWrite]).may_read("invitation.created"), Verdict::Allow);
        assert_eq!(scoped(&P::ALL).may_read("api_key.created"), Verdict::UserRequired, "keys never read keys");
        assert_eq!(scoped(&[P::WorkspacesRead]).may_read("grant.created"), Verdict::Allow);
        // A member (who cannot manage channels anyway) would not read invitations or keys.
        assert_eq!(member.may_read("invitation.created"), Verdict::Forbidden);
        assert_eq!(member.may_read("api_key.created"), Verdict::Forbidden);
        assert_eq!(owner.may_read("no.such.type"), Verdict::Forbidden);
    }
}
