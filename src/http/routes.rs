//! The route table: every route of the service, one entry each (method,
//! path, who may call it, handler, and the tenant it acts in: `Org(org_id)`
//! hands the handler the org named by the path as a [`Tenant`], so no handler
//! builds one from a string). The one list drives dispatch, the OpenAPI
//! document (each entry's `#[utoipa::path]` operation, plus the answers every
//! route shares) and the completeness tests: a route cannot exist undocumented,
//! nor be documented without existing.
use super::handlers::{
    self as h, admin, api_keys as keys, device as dev, domains as dom, invitations as inv, join_links as join,
    notifications as notify, oauth, orgs, roles, scim, sso, totp, workload as wl, workspaces as ws,
};
use super::{Call, Request, Response};
use crate::app::access::Credential;
use crate::app::{AppError, Deps, ErrorCode};
use crate::domain::tenant::{Tenant, TenantKind};
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

/// Who may call a route. Dispatch reads the credential of every route but
/// the public ones ([`Credential::from_bearer`]: no database) and hands it
/// to the handler; the use case confirms it in its first D1 batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone; tokens, if any, travel in the body.
    Public,
    /// A signed-in person (an access token); an API key gets 403 `user_required`.
    Person,
    /// A signed-in person or an API key.
    Principal,
    /// An API key; a person's session gets 400 `api_key_required`.
    ApiKey,
    /// A signed-in person, or (browser sign-out) the refresh cookie alone:
    /// the handler gets the credential if one verified.
    PersonOrRefreshCookie,
    /// Anyone; a signed-in person's credential, if one verified, is handed
    /// on (a link code is redeemed for the person who asked for it).
    PublicOrPerson,
    /// An org's SCIM token (`lk_scim_…`), on that org's `/scim/v2/{org_id}/…`;
    /// any other credential is 401 `invalid_scim_token`, as is a SCIM token
    /// on any other route.
    Scim,
}

impl Auth {
    /// Whether the route needs credentials at all.
    pub fn required(self) -> bool {
        !matches!(self, Auth::Public | Auth::PublicOrPerson)
    }

    /// Whether the handler takes a credential that may be missing.
    fn lenient(self) -> bool {
        matches!(self, Auth::PersonOrRefreshCookie | Auth::PublicOrPerson)
    }
}

/// Limits applied before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// None beyond what the handler does.
    None,
    /// The coarse per-client-IP limit: routes that take a password, an
    /// address or a second factor from anyone.
    Client,
}

/// A handler's future (D1 futures are `!Send`, so no `Send` bound).
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Response, AppError>> + 'a>>;

/// A handler, with its path parameters (in path order) taken from
/// [`Params`], and (on routes that take credentials) the caller's
/// [`Credential`], read by dispatch.
pub type Handler = for<'a> fn(&'a Deps, &'a Request, &'a Context) -> HandlerFuture<'a>;

/// What dispatch hands a handler besides the request.
#[derive(Debug, Default)]
pub struct Context {
    /// The path parameters.
    pub params: Params,
    /// The bearer credential (routes that take one).
    pub credential: Option<Credential>,
}

impl Context {
    /// The credential dispatch read (every route but the public ones).
    pub fn credential(&self) -> Result<&Credential, AppError> {
        self.credential.as_ref().ok_or(AppError::Unauthenticated)
    }
}

/// A route that cannot run: its error, as a handler's future.
fn refused<'a>(e: AppError) -> HandlerFuture<'a> {
    Box::pin(std::future::ready(Err(e)))
}

/// Calls a handler: a public route's with the request alone, a route's that
/// may go without a credential with the credential if one verified, any
/// other's with one [`Call`] (with the credential dispatch read); then the
/// path parameters, in the table's order (the tenant's as a [`Tenant`]).
macro_rules! call {
    (Public, [$($f:tt)+], $deps:ident, $req:ident, $cx:ident, $($arg:expr),*) => {{
        let _ = $cx;
        Box::pin($($f)+($deps, $req $(, $arg)*))
    }};
    (PersonOrRefreshCookie, [$($f:tt)+], $deps:ident, $req:ident, $cx:ident, $($arg:expr),*) => {
        Box::pin($($f)+($deps, $req, $cx.credential.as_ref() $(, $arg)*))
    };
    (PublicOrPerson, [$($f:tt)+], $deps:ident, $req:ident, $cx:ident, $($arg:expr),*) => {
        Box::pin($($f)+($deps, $req, $cx.credential.as_ref() $(, $arg)*))
    };
    // The handler's own future is the boxed one: no wrapping `async` block,
    // whose state machine would hold (and inline) the handler's, one copy
    // per route.
    ($auth:ident, [$($f:tt)+], $deps:ident, $req:ident, $cx:ident, $($arg:expr),*) => {
        match $cx.credential() {
            Ok(cred) => Box::pin($($f)+(Call { deps: $deps, req: $req, cred } $(, $arg)*)),
            Err(e) => refused(e),
        }
    };
}

/// A path parameter as the handler takes it: `name` as the string the path
/// held, `Org(name)` / `Workspace(name)` as the route's tenant.
macro_rules! param {
    ($cx:ident, $name:ident) => {
        $cx.params.get(stringify!($name))
    };
    ($cx:ident, $kind:ident($name:ident)) => {
        Tenant::$kind($cx.params.get(stringify!($name)))
    };
}

/// The tenant a route's parameters name (`Org(org_id)`), if any.
macro_rules! tenant {
    () => {
        None
    };
    ($kind:ident($name:ident) $(, $($rest:tt)*)?) => {
        Some(TenantParam { kind: TenantKind::$kind, param: stringify!($name) })
    };
    ($name:ident $(, $($rest:tt)*)?) => {
        tenant!($($($rest)*)?)
    };
}

/// The tenant of a route: which kind, and which path parameter holds its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantParam {
    /// An org or a workspace.
    pub kind: TenantKind,
    /// The path parameter (`org_id`, `ws_id`).
    pub param: &'static str,
}

/// One route.
#[derive(Clone, Copy)]
pub struct Route {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// Pattern, with `{param}` as OpenAPI writes it.
    pub path: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// The tenant it acts in (the handler gets it as a [`Tenant`]), if any.
    pub tenant: Option<TenantParam>,
    /// Limits before the handler.
    pub limit: Limit,
    /// A session route with a browser (cookie) mode: `X-Latchkey-Client:
    /// browser` is CSRF-checked before the handler, and the answer may set
    /// the refresh cookie.
    pub browser: bool,
    /// Served by the edge Worker itself (`edge` in the table); the
    /// management Worker serves every route. See [`served_elsewhere`].
    pub edge: bool,
    /// The handler.
    pub handler: Handler,
    /// The operation its `#[utoipa::path]` annotation documents (native builds
    /// only: the generator stays out of the wasm bundle).
    #[cfg(not(target_arch = "wasm32"))]
    pub doc: fn() -> utoipa::openapi::OpenApi,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

macro_rules! limit {
    () => {
        Limit::None
    };
    (client_limit $($rest:ident)*) => {
        Limit::Client
    };
    ($other:ident $($rest:ident)*) => {
        limit!($($rest)*)
    };
}

macro_rules! edge {
    () => {
        false
    };
    (edge $($rest:ident)*) => {
        true
    };
    ($other:ident $($rest:ident)*) => {
        edge!($($rest)*)
    };
}

/// A route's handler in this build. The edge Worker (feature `edge`)
/// compiles the handlers of its own routes only: the platform hands every
/// other route to the management Worker before dispatch
/// ([`served_elsewhere`]), so their entries here only refuse.
macro_rules! served {
    ([edge $($rest:ident)*] $handler:expr) => {
        $handler
    };
    ([$other:ident $($rest:ident)*] $handler:expr) => {
        served!([$($rest)*] $handler)
    };
    ([] $handler:expr) => {{
        #[cfg(feature = "edge")]
        let handler: Handler = |_, _, _| refused(AppError::NotFound);
        #[cfg(not(feature = "edge"))]
        let handler: Handler = $handler;
        handler
    }};
}

macro_rules! browser {
    () => {
        false
    };
    (browser_session $($rest:ident)*) => {
        true
    };
    ($other:ident $($rest:ident)*) => {
        browser!($($rest)*)
    };
}

macro_rules! routes {
    ($( $method:ident $path:literal [$auth:ident $(, $flag:ident)*] => $($seg:ident)::+ ( $($pk:ident $(($pv:ident))?),* ); )*) => {
        /// Every route of the service.
        pub static ROUTES: &[Route] = &[$(
            Route {
                method: stringify!($method),
                path: $path,
                auth: Auth::$auth,
                tenant: tenant!($($pk $(($pv))?),*),
                limit: limit!($($flag)*),
                browser: browser!($($flag)*),
                edge: edge!($($flag)*),
                handler: served!([$($flag)*] |deps, req, cx| call!($auth, [$($seg)::+], deps, req, cx, $(param!(cx, $pk $(($pv))?)),*)),
                #[cfg(not(target_arch = "wasm32"))]
                doc: || {
                    #[derive(utoipa::OpenApi)]
                    #[openapi(paths($($seg)::+))]
                    struct Doc;
                    <Doc as utoipa::OpenApi>::openapi()
                },
            },
        )*];
    };
}

routes! {
    GET "/health" [Public, edge] => h::health();
    GET "/openapi.json" [Public, edge] => h::openapi();
    GET "/.well-known/jwks.json" [Public, edge] => h::jwks();
    POST "/v1/auth/signup" [Public, client_limit, browser_session, edge] => h::signup();
    POST "/v1/auth/verify-email" [Public, browser_session, edge] => h::verify_email();
    POST "/v1/auth/resend-verification" [Public, edge] => h::resend_verification();
    POST "/v1/auth/login" [Public, client_limit, browser_session, edge] => h::login();
    POST "/v1/auth/token" [Public, browser_session, edge] => h::refresh_token();
    POST "/v1/auth/logout" [PersonOrRefreshCookie, browser_session, edge] => h::logout();
    POST "/v1/auth/password-reset" [Public, client_limit, edge] => h::request_password_reset();
    POST "/v1/auth/password-reset/confirm" [Public, edge] => h::confirm_password_reset();
    POST "/v1/auth/password-reset/preview" [Public, client_limit, edge] => h::preview_password_reset();
    POST "/v1/auth/device" [Public, client_limit] => dev::request_device_authorization();
    POST "/v1/auth/device/token" [Public] => dev::poll_device_authorization();
    POST "/v1/auth/device/preview" [Person, client_limit] => dev::preview_device_authorization();
    POST "/v1/auth/device/approve" [Person, client_limit] => dev::approve_device_authorization();
    POST "/v1/auth/device/deny" [Person, client_limit] => dev::deny_device_authorization();
    GET "/v1/me" [Person, edge] => h::get_me();
    PATCH "/v1/me" [Person] => h::update_me();
    POST "/v1/me/password" [Person] => h::change_password();
    GET "/v1/me/sessions" [Person] => h::list_sessions();
    DELETE "/v1/me/sessions/{id}" [Person] => h::revoke_session(id);
    GET "/v1/dev/emails" [Public, edge] => h::dev_emails();
    POST "/v1/orgs" [Person] => orgs::create_org();
    GET "/v1/orgs" [Person, edge] => orgs::list_orgs();
    GET "/v1/orgs/{org_id}" [Principal, edge] => orgs::get_org(Org(org_id));
    PATCH "/v1/orgs/{org_id}" [Principal] => orgs::update_org(Org(org_id));
    DELETE "/v1/orgs/{org_id}" [Principal] => orgs::delete_org(Org(org_id));
    GET "/v1/orgs/{org_id}/members" [Principal] => orgs::list_members(Org(org_id));
    PATCH "/v1/orgs/{org_id}/members/{user_id}" [Principal] => orgs::change_role(Org(org_id), user_id);
    DELETE "/v1/orgs/{org_id}/members/{user_id}" [Principal] => orgs::remove_member(Org(org_id), user_id);
    POST "/v1/orgs/{org_id}/ownership-transfer" [Principal] => orgs::transfer_ownership(Org(org_id));
    GET "/v1/permissions" [Person] => roles::list_permissions();
    GET "/v1/orgs/{org_id}/roles" [Person] => roles::list_roles(Org(org_id));
    POST "/v1/orgs/{org_id}/roles" [Person] => roles::create_role(Org(org_id));
    GET "/v1/orgs/{org_id}/roles/{key}" [Person] => roles::get_role(Org(org_id), key);
    PATCH "/v1/orgs/{org_id}/roles/{key}" [Person] => roles::update_role(Org(org_id), key);
    DELETE "/v1/orgs/{org_id}/roles/{key}" [Person] => roles::delete_role(Org(org_id), key);
    GET "/v1/orgs/{org_id}/audit-log" [Principal] => orgs::org_audit_log(Org(org_id));
    GET "/v1/orgs/{org_id}/access-review" [Person] => orgs::export_access_review(Org(org_id));
    POST "/v1/orgs/{org_id}/invitations" [Principal] => inv::create_invitation(Org(org_id));
    GET "/v1/orgs/{org_id}/invitations" [Principal] => inv::list_invitations(Org(org_id));
    DELETE "/v1/orgs/{org_id}/invitations/{id}" [Principal] => inv::revoke_invitation(Org(org_id), id);
    POST "/v1/orgs/{org_id}/invitations/{id}/resend" [Principal] => inv::resend_invitation(Org(org_id), id);
    POST "/v1/invitations/preview" [Public] => inv::preview_invitation();
    POST "/v1/invitations/accept" [Person] => inv::accept_invitation();
    POST "/v1/invitations/decline" [Public] => inv::decline_invitation();
    POST "/v1/orgs/{org_id}/join-links" [Principal] => join::create_join_link(Org(org_id));
    GET "/v1/orgs/{org_id}/join-links" [Principal] => join::list_join_links(Org(org_id));
    DELETE "/v1/orgs/{org_id}/join-links/{id}" [Principal] => join::revoke_join_link(Org(org_id), id);
    POST "/v1/join-links/preview" [PublicOrPerson] => join::preview_join_link();
    POST "/v1/join-links/accept" [Person] => join::accept_join_link();
    POST "/v1/orgs/{org_id}/membership-requests" [Person] => join::ask_to_join(Org(org_id));
    GET "/v1/orgs/{org_id}/membership-requests" [Principal] => join::list_membership_requests(Org(org_id));
    POST "/v1/orgs/{org_id}/membership-requests/{id}/approve" [Principal] => join::approve_membership_request(Org(org_id), id);
    POST "/v1/orgs/{org_id}/membership-requests/{id}/deny" [Principal] => join::deny_membership_request(Org(org_id), id);
    GET "/v1/me/membership-requests" [Person] => join::my_membership_requests();
    DELETE "/v1/me/membership-requests/{id}" [Person] => join::withdraw_membership_request(id);
    POST "/v1/orgs/{org_id}/api-keys" [Principal] => keys::create_api_key(Org(org_id));
    GET "/v1/orgs/{org_id}/api-keys" [Principal] => keys::list_api_keys(Org(org_id));
    GET "/v1/orgs/{org_id}/api-keys/{id}" [Principal] => keys::get_api_key(Org(org_id), id);
    DELETE "/v1/orgs/{org_id}/api-keys/{id}" [Principal] => keys::revoke_api_key(Org(org_id), id);
    POST "/v1/orgs/{org_id}/api-keys/{id}/rotate" [Principal] => keys::rotate_api_key(Org(org_id), id);
    GET "/v1/api-keys/current" [ApiKey, edge] => keys::current_api_key();
    DELETE "/v1/api-keys/current" [ApiKey] => keys::revoke_current_api_key();
    GET "/v1/orgs/{org_id}/api-key-policy" [Principal] => keys::get_api_key_policy(Org(org_id));
    PUT "/v1/orgs/{org_id}/api-key-policy" [Person] => keys::set_api_key_policy(Org(org_id));
    POST "/v1/orgs/{org_id}/trust-policies" [Person] => wl::create_trust_policy(Org(org_id));
    GET "/v1/orgs/{org_id}/trust-policies" [Person] => wl::list_trust_policies(Org(org_id));
    PATCH "/v1/orgs/{org_id}/trust-policies/{id}" [Person] => wl::update_trust_policy(Org(org_id), id);
    DELETE "/v1/orgs/{org_id}/trust-policies/{id}" [Person] => wl::delete_trust_policy(Org(org_id), id);
    POST "/v1/oidc/exchange" [Public] => wl::exchange();
    POST "/v1/orgs/{org_id}/sso-connections" [Person] => sso::create_sso_connection(Org(org_id));
    GET "/v1/orgs/{org_id}/sso-connections" [Person] => sso::list_sso_connections(Org(org_id));
    GET "/v1/orgs/{org_id}/sso-connections/{id}" [Person] => sso::get_sso_connection(Org(org_id), id);
    PATCH "/v1/orgs/{org_id}/sso-connections/{id}" [Person] => sso::update_sso_connection(Org(org_id), id);
    DELETE "/v1/orgs/{org_id}/sso-connections/{id}" [Person] => sso::delete_sso_connection(Org(org_id), id);
    PUT "/v1/orgs/{org_id}/sso-required" [Person] => sso::set_sso_required(Org(org_id));
    POST "/v1/auth/sso/lookup" [Public, client_limit] => sso::sso_lookup();
    GET "/v1/auth/sso/{connection_id}/authorize" [Public, client_limit] => sso::sso_authorize(connection_id);
    GET "/v1/auth/sso/{connection_id}/callback" [Public, client_limit] => sso::sso_callback(connection_id);
    GET "/v1/sso/{connection_id}/metadata" [Public] => sso::saml_metadata(connection_id);
    POST "/v1/sso/{connection_id}/acs" [Public, client_limit] => sso::saml_acs(connection_id);
    POST "/v1/auth/login/mfa" [Public, client_limit, browser_session, edge] => totp::login_mfa();
    POST "/v1/me/totp" [Person] => totp::enrol();
    POST "/v1/me/totp/confirm" [Person] => totp::confirm();
    DELETE "/v1/me/totp" [Person] => totp::disable();
    POST "/v1/me/recovery-codes" [Person] => totp::regenerate_recovery_codes();
    POST "/v1/authorize" [Principal, edge] => h::authorize::authorize();
    POST "/v1/admin/users/lookup" [Person] => admin::admin_lookup();
    POST "/v1/admin/users/{user_id}/suspend" [Person] => admin::admin_suspend(user_id);
    POST "/v1/admin/users/{user_id}/unsuspend" [Person] => admin::admin_unsuspend(user_id);
    POST "/v1/admin/users/{user_id}/reset-2fa" [Person] => admin::admin_reset_two_factor(user_id);
    GET "/v1/admin/audit-log" [Person] => admin::admin_audit_log();
    POST "/v1/workspaces" [Person] => ws::create_workspace();
    GET "/v1/workspaces" [Person] => ws::list_workspaces();
    GET "/v1/workspaces/{ws_id}" [Person] => ws::get_workspace(Workspace(ws_id));
    PATCH "/v1/workspaces/{ws_id}" [Person] => ws::update_workspace(Workspace(ws_id));
    DELETE "/v1/workspaces/{ws_id}" [Person] => ws::delete_workspace(Workspace(ws_id));
    PUT "/v1/workspaces/{ws_id}/billing" [Person] => ws::update_billing(Workspace(ws_id));
    GET "/v1/workspaces/{ws_id}/members" [Person] => ws::list_members(Workspace(ws_id));
    PATCH "/v1/workspaces/{ws_id}/members/{user_id}" [Person] => ws::change_role(Workspace(ws_id), user_id);
    DELETE "/v1/workspaces/{ws_id}/members/{user_id}" [Person] => ws::remove_member(Workspace(ws_id), user_id);
    POST "/v1/workspaces/{ws_id}/invitations" [Principal] => inv::create_workspace_invitation(Workspace(ws_id));
    GET "/v1/workspaces/{ws_id}/invitations" [Principal] => inv::list_workspace_invitations(Workspace(ws_id));
    DELETE "/v1/workspaces/{ws_id}/invitations/{id}" [Principal] => inv::revoke_workspace_invitation(Workspace(ws_id), id);
    POST "/v1/workspaces/{ws_id}/invitations/{id}/resend" [Principal] => inv::resend_workspace_invitation(Workspace(ws_id), id);
    POST "/v1/workspaces/{ws_id}/grants" [Person] => ws::create_grant(Workspace(ws_id));
    GET "/v1/workspaces/{ws_id}/grants" [Person] => ws::list_grants(Workspace(ws_id));
    DELETE "/v1/workspaces/{ws_id}/grants/{org_id}" [Person] => ws::revoke_grant(Workspace(ws_id), org_id);
    GET "/v1/workspaces/{ws_id}/audit-log" [Person] => ws::audit_log(Workspace(ws_id));
    POST "/v1/orgs/{org_id}/install-links" [Principal] => ws::create_install_link(Org(org_id));
    GET "/v1/orgs/{org_id}/install-links" [Principal] => ws::list_install_links(Org(org_id));
    DELETE "/v1/orgs/{org_id}/install-links/{id}" [Principal] => ws::revoke_install_link(Org(org_id), id);
    POST "/v1/install-links/preview" [Public] => ws::preview_install_link();
    POST "/v1/install-links/accept" [Person] => ws::accept_install_link();
    GET "/v1/orgs/{org_id}/managed-workspaces" [Principal] => ws::managed_workspaces(Org(org_id));
    DELETE "/v1/orgs/{org_id}/managed-workspaces/{ws_id}" [Principal] => ws::relinquish(Org(org_id), ws_id);
    GET "/v1/auth/oauth/providers" [Public, edge] => oauth::list_providers();
    GET "/v1/auth/oauth/{provider}/authorize" [Public, client_limit, edge] => oauth::authorize(provider);
    GET "/v1/auth/oauth/{provider}/callback" [Public, client_limit, edge] => oauth::callback(provider);
    POST "/v1/auth/oauth/complete" [PublicOrPerson, browser_session, edge] => oauth::complete();
    POST "/v1/auth/oauth/inspect" [Public, edge] => oauth::inspect();
    GET "/v1/me/identities" [Person] => oauth::list_identities();
    POST "/v1/me/identities/{provider}" [Person] => oauth::link_identity(provider);
    DELETE "/v1/me/identities/{provider}" [Person] => oauth::unlink_identity(provider);
    GET "/v1/me/audit-log" [Person] => oauth::user_audit_log();
    GET "/v1/notification-event-types" [Principal] => notify::list_event_types();
    POST "/v1/orgs/{org_id}/notification-channels" [Principal] => notify::create_channel(Org(org_id));
    GET "/v1/orgs/{org_id}/notification-channels" [Principal] => notify::list_channels(Org(org_id));
    GET "/v1/orgs/{org_id}/notification-channels/{id}" [Principal] => notify::get_channel(Org(org_id), id);
    PATCH "/v1/orgs/{org_id}/notification-channels/{id}" [Principal] => notify::update_channel(Org(org_id), id);
    DELETE "/v1/orgs/{org_id}/notification-channels/{id}" [Principal] => notify::delete_channel(Org(org_id), id);
    POST "/v1/orgs/{org_id}/notification-channels/{id}/rotate-secret" [Principal] => notify::rotate_secret(Org(org_id), id);
    POST "/v1/orgs/{org_id}/notification-channels/{id}/test" [Principal] => notify::test_channel(Org(org_id), id);
    GET "/v1/orgs/{org_id}/notification-channels/{id}/deliveries" [Principal] => notify::list_deliveries(Org(org_id), id);
    POST "/v1/orgs/{org_id}/notification-channels/deliveries/{id}/retry" [Principal] => notify::retry_delivery(Org(org_id), id);
    POST "/v1/notification-channels/confirm-email" [Public] => notify::confirm_channel_email();
    POST "/v1/orgs/{org_id}/domains" [Principal] => dom::add_domain(Org(org_id));
    GET "/v1/orgs/{org_id}/domains" [Principal] => dom::list_domains(Org(org_id));
    GET "/v1/orgs/{org_id}/domains/{id}" [Principal] => dom::get_domain(Org(org_id), id);
    PATCH "/v1/orgs/{org_id}/domains/{id}" [Principal] => dom::update_domain(Org(org_id), id);
    DELETE "/v1/orgs/{org_id}/domains/{id}" [Principal] => dom::delete_domain(Org(org_id), id);
    POST "/v1/orgs/{org_id}/domains/{id}/verify" [Principal] => dom::verify_domain(Org(org_id), id);
    GET "/v1/me/suggested-orgs" [Person] => dom::suggested_orgs();
    POST "/v1/orgs/{org_id}/scim-tokens" [Person] => scim::create_scim_token(Org(org_id));
    GET "/v1/orgs/{org_id}/scim-tokens" [Person] => scim::list_scim_tokens(Org(org_id));
    DELETE "/v1/orgs/{org_id}/scim-tokens/{id}" [Person] => scim::revoke_scim_token(Org(org_id), id);
    GET "/scim/v2/{org_id}/Users" [Scim] => scim::scim_list_users(org_id);
    POST "/scim/v2/{org_id}/Users" [Scim] => scim::scim_create_user(org_id);
    GET "/scim/v2/{org_id}/Users/{id}" [Scim] => scim::scim_get_user(org_id, id);
    PUT "/scim/v2/{org_id}/Users/{id}" [Scim] => scim::scim_replace_user(org_id, id);
    PATCH "/scim/v2/{org_id}/Users/{id}" [Scim] => scim::scim_patch_user(org_id, id);
    DELETE "/scim/v2/{org_id}/Users/{id}" [Scim] => scim::scim_delete_user(org_id, id);
    GET "/scim/v2/{org_id}/Groups" [Scim] => scim::scim_list_groups(org_id);
    POST "/scim/v2/{org_id}/Groups" [Scim] => scim::scim_create_group(org_id);
    GET "/scim/v2/{org_id}/Groups/{id}" [Scim] => scim::scim_get_group(org_id, id);
    PUT "/scim/v2/{org_id}/Groups/{id}" [Scim] => scim::scim_replace_group(org_id, id);
    PATCH "/scim/v2/{org_id}/Groups/{id}" [Scim] => scim::scim_patch_group(org_id, id);
    DELETE "/scim/v2/{org_id}/Groups/{id}" [Scim] => scim::scim_delete_group(org_id, id);
    GET "/scim/v2/{org_id}/ServiceProviderConfig" [Scim] => scim::scim_service_provider_config(org_id);
    GET "/scim/v2/{org_id}/ResourceTypes" [Scim] => scim::scim_resource_types(org_id);
    GET "/scim/v2/{org_id}/Schemas" [Scim] => scim::scim_schemas(org_id);
}

type Methods = Vec<&'static Route>;

fn router() -> &'static matchit::Router<Methods> {
    static ROUTER: OnceLock<matchit::Router<Methods>> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let mut by_path: Vec<(&str, Methods)> = Vec::new();
        for route in ROUTES {
            match by_path.iter_mut().find(|(p, _)| *p == route.path) {
                Some((_, methods)) => methods.push(route),
                None => by_path.push((route.path, vec![route])),
            }
        }
        let mut router = matchit::Router::new();
        for (path, methods) in by_path {
            // The table is a constant checked by a unit test; a clash cannot reach production.
            let _ = router.insert(path, methods);
        }
        router
    })
}
/// Path parameters of the matched route.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// A parameter by name ("" when absent, which matches no row).
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
}

/// Finds the route for a method and path.
pub fn resolve(method: &str, path: &str) -> Result<(&'static Route, Params), AppError> {
    let matched = router().at(path).map_err(|_| AppError::NotFound)?;
    let method = if method == "HEAD" { "GET" } else { method };
    let route = matched.value.iter().find(|r| r.method == method).copied().ok_or(AppError::MethodNotAllowed)?;
    let params = Params(matched.params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect());
    Ok((route, params))
}

/// Whether this build hands the request to the management Worker: the edge
/// build (feature `edge`) does for every route of the table not marked
/// `edge`. A path or method that matches no route is answered here (404,
/// 405), as is everything in the full build.
pub fn served_elsewhere(method: &str, path: &str) -> bool {
    cfg!(feature = "edge") && resolve(method, path).is_ok_and(|(route, _)| !route.edge)
}

/// A key's last use: where this request came from.
fn seen(credential: Credential, req: &Request) -> Credential {
    credential.seen_from(super::extract::client_ip(req), super::extract::user_agent(req))
}

/// Routes a request to its handler.
pub async fn dispatch(deps: &Deps, req: &Request) -> Result<Response, AppError> {
    let (route, params) = resolve(&req.method, &req.path)?;
    // CSRF first: a refused cross-site request does nothing, not even count.
    if route.browser {
        super::extract::delivery(deps, req)?;
    }
    if route.limit == Limit::Client {
        crate::app::client_limit::check(deps, super::extract::client_ip(req)).await?;
    }
    let bearer = super::extract::bearer(req);
    let credential = if route.auth.lenient() {
        // A SCIM token speaks for nobody here.
        bearer
            .and_then(|b| Credential::from_bearer(deps, Some(b)).ok())
            .filter(|c| c.scim_digest().is_none())
            .map(|c| seen(c, req))
    } else if route.auth.required() {
        let credential = seen(Credential::from_bearer(deps, bearer)?, req);
        // The table names the kind of credential: the other kind is refused
        // here, before the body is read or the database asked.
        match (route.auth, &credential) {
            (Auth::Scim, Credential::Scim { .. }) => {}
            (Auth::Scim, _) | (_, Credential::Scim { .. }) => return Err(crate::app::access::invalid_scim_token()),
            (Auth::Person, Credential::Key { .. }) => return Err(AppError::UserRequired),
            (Auth::ApiKey, Credential::Session(_)) => {
                return Err(AppError::refused(ErrorCode::ApiKeyRequired, "call this with an API key"))
            }
            _ => {}
        }
        Some(credential)
    } else {
        None
    };
    (route.handler)(deps, req, &Context { params, credential }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_resolves_to_itself_with_its_parameters() {
        for route in ROUTES {
            let concrete = route
                .path
                .replace("{id}", "x")
                .replace("{org_id}", "o")
                .replace("{user_id}", "u")
                .replace("{ws_id}", "w")
                .replace("{provider}", "github");
            let (found, params) = resolve(route.method, &concrete).unwrap();
            assert!(std::ptr::eq(found, route), "{route:?} resolved to {found:?}");
            for (name, value) in
                [("id", "x"), ("org_id", "o"), ("user_id", "u"), ("ws_id", "w"), ("provider", "github")]
            {
                if route.path.contains(&format!("{{{name}}}")) {
                    assert_eq!(params.get(name), value, "{route:?}");
                }
            }
        }
    }

    #[test]
    fn the_hot_routes_are_served_by_the_edge_worker_itself() {
        // docs/PERFORMANCE goals: these answer in one D1 round trip at the
        // floor's speed; a hop to the management Worker would add to each.
        let hot = [
            ("GET", "/health"),
            ("GET", "/v1/me"),
            ("GET", "/v1/orgs/{org_id}"),
            ("POST", "/v1/authorize"),
            ("GET", "/v1/api-keys/current"),
            ("POST", "/v1/auth/login"),
            ("POST", "/v1/auth/login/mfa"),
            ("POST", "/v1/auth/token"),
            ("POST", "/v1/auth/oauth/complete"),
        ];
        for (method, path) in hot {
            let route = ROUTES.iter().find(|r| r.method == method && r.path == path);
            assert!(route.is_some_and(|r| r.edge), "{method} {path} is not an edge route");
        }
        // The full build (every test but the edge's wasm) hands nothing on.
        assert!(ROUTES.iter().all(|r| !served_elsewhere(r.method, r.path)));
        // Writes stay with the management Worker, but for sign-in's own.
        for route in ROUTES.iter().filter(|r| r.edge && r.method != "GET") {
            assert!(
                route.path.starts_with("/v1/auth/") || route.path == "/v1/authorize",
                "{route:?}: an edge route that writes outside sign-in"
            );
        }
    }

    #[test]
    fn every_route_under_a_tenant_names_it_in_the_table() {
        for route in ROUTES {
            let expected = if route.path.starts_with("/v1/orgs/{org_id}") {
                Some(TenantParam { kind: TenantKind::Org, param: "org_id" })
            } else if route.path.starts_with("/v1/workspaces/{ws_id}") {
                Some(TenantParam { kind: TenantKind::Workspace, param: "ws_id" })
            } else {
                None
            };
            assert_eq!(route.tenant, expected, "{route:?}");
            if let Some(t) = route.tenant {
                assert!(route.auth.required(), "{route:?}: a tenant's route takes a credential");
                assert!(route.path.contains(&format!("{{{}}}", t.param)), "{route:?}");
            }
        }
    }

    #[test]
    fn the_cookie_mode_is_on_the_session_routes_only() {
        let browser: Vec<String> = ROUTES.iter().filter(|r| r.browser).map(|r| format!("{r:?}")).collect();
        assert_eq!(
            browser,
            [
                "POST /v1/auth/signup",
                "POST /v1/auth/verify-email",
                "POST /v1/auth/login",
                "POST /v1/auth/token",
                "POST /v1/auth/logout",
                "POST /v1/auth/login/mfa",
                "POST /v1/auth/oauth/complete",
            ]
        );
    }

    #[test]
    fn no_route_is_listed_twice() {
        for (i, a) in ROUTES.iter().enumerate() {
            assert!(!ROUTES[i + 1..].iter().any(|b| a.method == b.method && a.path == b.path), "{a:?} twice");
        }
    }

    #[test]
    fn each_route_documents_its_own_operation_and_no_other() {
        for route in ROUTES {
            let doc = (route.doc)();
            let paths: Vec<&String> = doc.paths.paths.keys().collect();
            assert_eq!(paths, [route.path], "{route:?}: the annotation documents another path");
            let mut item = doc.paths.paths[route.path].clone();
            assert!(crate::http::openapi::operation_of(&mut item, route.method).is_some(), "{route:?}: another method");
            let operations =
                [&item.get, &item.post, &item.put, &item.patch, &item.delete].iter().filter(|o| o.is_some()).count();
            assert_eq!(operations, 1, "{route:?}");
        }
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        assert!(matches!(resolve("GET", "/nope"), Err(AppError::NotFound)));
        assert!(matches!(resolve("DELETE", "/v1/me"), Err(AppError::MethodNotAllowed)));
    }
}
