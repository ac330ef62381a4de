//! The route table: every route of the service, in one list. Dispatch and the
//! OpenAPI test both read it, so a route cannot exist undocumented.
use super::handlers::{self as h, api_keys as keys, invitations as inv, orgs, totp, workspaces as ws};
use super::{pages, Request, Response};
use crate::app::{AppError, Deps};
use std::sync::OnceLock;

/// Every operation the service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Health,
    OpenApi,
    Jwks,
    PageVerifyEmail,
    PageResetPassword,
    PagesScript,
    Signup,
    VerifyEmail,
    ResendVerification,
    Login,
    RefreshToken,
    Logout,
    PasswordReset,
    PasswordResetConfirm,
    GetMe,
    UpdateMe,
    ChangePassword,
    ListSessions,
    RevokeSession,
    DevEmails,
    PageInvite,
    CreateOrg,
    ListOrgs,
    GetOrg,
    UpdateOrg,
    DeleteOrg,
    ListMembers,
    ChangeRole,
    RemoveMember,
    TransferOwnership,
    OrgAuditLog,
    CreateInvitation,
    ListInvitations,
    RevokeInvitation,
    ResendInvitation,
    PreviewInvitation,
    AcceptInvitation,
    DeclineInvitation,
    CreateApiKey,
    ListApiKeys,
    GetApiKey,
    RevokeApiKey,
    RotateApiKey,
    CurrentApiKey,
    LoginMfa,
    EnrolTotp,
    ConfirmTotp,
    DisableTotp,
    RegenerateRecoveryCodes,
    PageSecurity,
    Authorize,
    CreateWorkspace,
    ListWorkspaces,
    GetWorkspace,
    UpdateWorkspace,
    DeleteWorkspace,
    UpdateBilling,
    ListWsMembers,
    ChangeWsRole,
    RemoveWsMember,
    CreateWsInvitation,
    ListWsInvitations,
    RevokeWsInvitation,
    ResendWsInvitation,
    CreateGrant,
    ListGrants,
    RevokeGrant,
    WsAuditLog,
    CreateInstallLink,
    ListInstallLinks,
    RevokeInstallLink,
    PreviewInstallLink,
    AcceptInstallLink,
    ManagedWorkspaces,
    Relinquish,
    PageInstall,
}

/// (method, path pattern, operation). Patterns use `{param}` as OpenAPI does.
pub const ROUTES: &[(&str, &str, Op)] = &[
    ("GET", "/health", Op::Health),
    ("GET", "/openapi.json", Op::OpenApi),
    ("GET", "/.well-known/jwks.json", Op::Jwks),
    ("GET", "/verify-email", Op::PageVerifyEmail),
    ("GET", "/reset-password", Op::PageResetPassword),
    ("GET", "/assets/pages.js", Op::PagesScript),
    ("POST", "/v1/auth/signup", Op::Signup),
    ("POST", "/v1/auth/verify-email", Op::VerifyEmail),
    ("POST", "/v1/auth/resend-verification", Op::ResendVerification),
    ("POST", "/v1/auth/login", Op::Login),
    ("POST", "/v1/auth/token", Op::RefreshToken),
    ("POST", "/v1/auth/logout", Op::Logout),
    ("POST", "/v1/auth/password-reset", Op::PasswordReset),
    ("POST", "/v1/auth/password-reset/confirm", Op::PasswordResetConfirm),
    ("GET", "/v1/me", Op::GetMe),
    ("PATCH", "/v1/me", Op::UpdateMe),
    ("POST", "/v1/me/password", Op::ChangePassword),
    ("GET", "/v1/me/sessions", Op::ListSessions),
    ("DELETE", "/v1/me/sessions/{id}", Op::RevokeSession),
    ("GET", "/v1/dev/emails", Op::DevEmails),
    ("GET", "/invite", Op::PageInvite),
    ("POST", "/v1/orgs", Op::CreateOrg),
    ("GET", "/v1/orgs", Op::ListOrgs),
    ("GET", "/v1/orgs/{org_id}", Op::GetOrg),
    ("PATCH", "/v1/orgs/{org_id}", Op::UpdateOrg),
    ("DELETE", "/v1/orgs/{org_id}", Op::DeleteOrg),
    ("GET", "/v1/orgs/{org_id}/members", Op::ListMembers),
    ("PATCH", "/v1/orgs/{org_id}/members/{user_id}", Op::ChangeRole),
    ("DELETE", "/v1/orgs/{org_id}/members/{user_id}", Op::RemoveMember),
    ("POST", "/v1/orgs/{org_id}/ownership-transfer", Op::TransferOwnership),
    ("GET", "/v1/orgs/{org_id}/audit-log", Op::OrgAuditLog),
    ("POST", "/v1/orgs/{org_id}/invitations", Op::CreateInvitation),
    ("GET", "/v1/orgs/{org_id}/invitations", Op::ListInvitations),
    ("DELETE", "/v1/orgs/{org_id}/invitations/{id}", Op::RevokeInvitation),
    ("POST", "/v1/orgs/{org_id}/invitations/{id}/resend", Op::ResendInvitation),
    ("POST", "/v1/invitations/preview", Op::PreviewInvitation),
    ("POST", "/v1/invitations/accept", Op::AcceptInvitation),
    ("POST", "/v1/invitations/decline", Op::DeclineInvitation),
    ("POST", "/v1/orgs/{org_id}/api-keys", Op::CreateApiKey),
    ("GET", "/v1/orgs/{org_id}/api-keys", Op::ListApiKeys),
    ("GET", "/v1/orgs/{org_id}/api-keys/{id}", Op::GetApiKey),
    ("DELETE", "/v1/orgs/{org_id}/api-keys/{id}", Op::RevokeApiKey),
    ("POST", "/v1/orgs/{org_id}/api-keys/{id}/rotate", Op::RotateApiKey),
    ("GET", "/v1/api-keys/current", Op::CurrentApiKey),
    ("POST", "/v1/auth/login/mfa", Op::LoginMfa),
    ("POST", "/v1/me/totp", Op::EnrolTotp),
    ("POST", "/v1/me/totp/confirm", Op::ConfirmTotp),
    ("DELETE", "/v1/me/totp", Op::DisableTotp),
    ("POST", "/v1/me/recovery-codes", Op::RegenerateRecoveryCodes),
    ("GET", "/settings/security", Op::PageSecurity),
    ("POST", "/v1/authorize", Op::Authorize),
    ("POST", "/v1/workspaces", Op::CreateWorkspace),
    ("GET", "/v1/workspaces", Op::ListWorkspaces),
    ("GET", "/v1/workspaces/{ws_id}", Op::GetWorkspace),
    ("PATCH", "/v1/workspaces/{ws_id}", Op::UpdateWorkspace),
    ("DELETE", "/v1/workspaces/{ws_id}", Op::DeleteWorkspace),
    ("PUT", "/v1/workspaces/{ws_id}/billing", Op::UpdateBilling),
    ("GET", "/v1/workspaces/{ws_id}/members", Op::ListWsMembers),
    ("PATCH", "/v1/workspaces/{ws_id}/members/{user_id}", Op::ChangeWsRole),
    ("DELETE", "/v1/workspaces/{ws_id}/members/{user_id}", Op::RemoveWsMember),
    ("POST", "/v1/workspaces/{ws_id}/invitations", Op::CreateWsInvitation),
    ("GET", "/v1/workspaces/{ws_id}/invitations", Op::ListWsInvitations),
    ("DELETE", "/v1/workspaces/{ws_id}/invitations/{id}", Op::RevokeWsInvitation),
    ("POST", "/v1/workspaces/{ws_id}/invitations/{id}/resend", Op::ResendWsInvitation),
    ("POST", "/v1/workspaces/{ws_id}/grants", Op::CreateGrant),
    ("GET", "/v1/workspaces/{ws_id}/grants", Op::ListGrants),
    ("DELETE", "/v1/workspaces/{ws_id}/grants/{org_id}", Op::RevokeGrant),
    ("GET", "/v1/workspaces/{ws_id}/audit-log", Op::WsAuditLog),
    ("POST", "/v1/orgs/{org_id}/install-links", Op::CreateInstallLink),
    ("GET", "/v1/orgs/{org_id}/install-links", Op::ListInstallLinks),
    ("DELETE", "/v1/orgs/{org_id}/install-links/{id}", Op::RevokeInstallLink),
    ("POST", "/v1/install-links/preview", Op::PreviewInstallLink),
    ("POST", "/v1/install-links/accept", Op::AcceptInstallLink),
    ("GET", "/v1/orgs/{org_id}/managed-workspaces", Op::ManagedWorkspaces),
    ("DELETE", "/v1/orgs/{org_id}/managed-workspaces/{ws_id}", Op::Relinquish),
    ("GET", "/install", Op::PageInstall),
];

impl Op {
    /// The routes behind the coarse per-client-IP limit: the ones that take a
    /// password, an address or a second factor from anyone.
    pub fn client_limited(self) -> bool {
        matches!(self, Op::Login | Op::Signup | Op::PasswordReset | Op::LoginMfa)
    }
}

/// Routes that are not part of the API document (static assets).
pub const UNDOCUMENTED: &[&str] = &["/assets/pages.js"];

type Methods = Vec<(&'static str, Op)>;

fn router() -> &'static matchit::Router<Methods> {
    static ROUTER: OnceLock<matchit::Router<Methods>> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let mut by_path: Vec<(&str, Methods)> = Vec::new();
        for (method, path, op) in ROUTES {
            match by_path.iter_mut().find(|(p, _)| p == path) {
                Some((_, methods)) => methods.push((method, *op)),
                None => by_path.push((path, vec![(method, *op)])),
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

/// Finds the operation for a method and path.
pub fn resolve(method: &str, path: &str) -> Result<(Op, Params), AppError> {
    let matched = router().at(path).map_err(|_| AppError::NotFound)?;
    let method = if method == "HEAD" { "GET" } else { method };
    let op = matched.value.iter().find(|(m, _)| *m == method).map(|(_, op)| *op).ok_or(AppError::MethodNotAllowed)?;
    let params = Params(matched.params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect());
    Ok((op, params))
}

/// Routes a request to its handler.
pub async fn dispatch(deps: &Deps, req: &Request) -> Result<Response, AppError> {
    let (op, p) = resolve(&req.method, &req.path)?;
    if op.client_limited() {
        crate::app::client_limit::check(deps, super::extract::client_ip(req)).await?;
    }
    match op {
        Op::Health => h::health(deps).await,
        Op::OpenApi => Ok(h::openapi()),
        Op::Jwks => Ok(h::jwks(deps)),
        Op::PageVerifyEmail => Ok(pages::verify_email()),
        Op::PageResetPassword => Ok(pages::reset_password()),
        Op::PagesScript => Ok(pages::script()),
        Op::Signup => h::signup(deps, req).await,
        Op::VerifyEmail => h::verify_email(deps, req).await,
        Op::ResendVerification => h::resend_verification(deps, req).await,
        Op::Login => h::login(deps, req).await,
        Op::RefreshToken => h::refresh_token(deps, req).await,
        Op::Logout => h::logout(deps, req).await,
        Op::PasswordReset => h::request_password_reset(deps, req).await,
        Op::PasswordResetConfirm => h::confirm_password_reset(deps, req).await,
        Op::GetMe => h::get_me(deps, req).await,
        Op::UpdateMe => h::update_me(deps, req).await,
        Op::ChangePassword => h::change_password(deps, req).await,
        Op::ListSessions => h::list_sessions(deps, req).await,
        Op::RevokeSession => h::revoke_session(deps, req, p.get("id")).await,
        Op::DevEmails => h::dev_emails(deps, req).await,
        Op::PageInvite => Ok(pages::invite()),
        Op::CreateOrg => orgs::create_org(deps, req).await,
        Op::ListOrgs => orgs::list_orgs(deps, req).await,
        Op::GetOrg => orgs::get_org(deps, req, p.get("org_id")).await,
        Op::UpdateOrg => orgs::update_org(deps, req, p.get("org_id")).await,
        Op::DeleteOrg => orgs::delete_org(deps, req, p.get("org_id")).await,
        Op::ListMembers => orgs::list_members(deps, req, p.get("org_id")).await,
        Op::ChangeRole => orgs::change_role(deps, req, p.get("org_id"), p.get("user_id")).await,
        Op::RemoveMember => orgs::remove_member(deps, req, p.get("org_id"), p.get("user_id")).await,
        Op::TransferOwnership => orgs::transfer_ownership(deps, req, p.get("org_id")).await,
        Op::OrgAuditLog => orgs::org_audit_log(deps, req, p.get("org_id")).await,
        Op::CreateInvitation => inv::create_invitation(deps, req, p.get("org_id")).await,
        Op::ListInvitations => inv::list_invitations(deps, req, p.get("org_id")).await,
        Op::RevokeInvitation => inv::revoke_invitation(deps, req, p.get("org_id"), p.get("id")).await,
        Op::ResendInvitation => inv::resend_invitation(deps, req, p.get("org_id"), p.get("id")).await,
        Op::PreviewInvitation => inv::preview_invitation(deps, req).await,
        Op::AcceptInvitation => inv::accept_invitation(deps, req).await,
        Op::DeclineInvitation => inv::decline_invitation(deps, req).await,
        Op::CreateApiKey => keys::create_api_key(deps, req, p.get("org_id")).await,
        Op::ListApiKeys => keys::list_api_keys(deps, req, p.get("org_id")).await,
        Op::GetApiKey => keys::get_api_key(deps, req, p.get("org_id"), p.get("id")).await,
        Op::RevokeApiKey => keys::revoke_api_key(deps, req, p.get("org_id"), p.get("id")).await,
        Op::RotateApiKey => keys::rotate_api_key(deps, req, p.get("org_id"), p.get("id")).await,
        Op::CurrentApiKey => keys::current_api_key(deps, req).await,
        Op::LoginMfa => totp::login_mfa(deps, req).await,
        Op::EnrolTotp => totp::enrol(deps, req).await,
        Op::ConfirmTotp => totp::confirm(deps, req).await,
        Op::DisableTotp => totp::disable(deps, req).await,
        Op::RegenerateRecoveryCodes => totp::regenerate_recovery_codes(deps, req).await,
        Op::PageSecurity => Ok(pages::security()),
        Op::Authorize => h::authorize::authorize(deps, req).await,
        Op::CreateWorkspace => ws::create_workspace(deps, req).await,
        Op::ListWorkspaces => ws::list_workspaces(deps, req).await,
        Op::GetWorkspace => ws::get_workspace(deps, req, p.get("ws_id")).await,
        Op::UpdateWorkspace => ws::update_workspace(deps, req, p.get("ws_id")).await,
        Op::DeleteWorkspace => ws::delete_workspace(deps, req, p.get("ws_id")).await,
        Op::UpdateBilling => ws::update_billing(deps, req, p.get("ws_id")).await,
        Op::ListWsMembers => ws::list_members(deps, req, p.get("ws_id")).await,
        Op::ChangeWsRole => ws::change_role(deps, req, p.get("ws_id"), p.get("user_id")).await,
        Op::RemoveWsMember => ws::remove_member(deps, req, p.get("ws_id"), p.get("user_id")).await,
        Op::CreateWsInvitation => inv::create_workspace_invitation(deps, req, p.get("ws_id")).await,
        Op::ListWsInvitations => inv::list_workspace_invitations(deps, req, p.get("ws_id")).await,
        Op::RevokeWsInvitation => inv::revoke_workspace_invitation(deps, req, p.get("ws_id"), p.get("id")).await,
        Op::ResendWsInvitation => inv::resend_workspace_invitation(deps, req, p.get("ws_id"), p.get("id")).await,
        Op::CreateGrant => ws::create_grant(deps, req, p.get("ws_id")).await,
        Op::ListGrants => ws::list_grants(deps, req, p.get("ws_id")).await,
        Op::RevokeGrant => ws::revoke_grant(deps, req, p.get("ws_id"), p.get("org_id")).await,
        Op::WsAuditLog => ws::audit_log(deps, req, p.get("ws_id")).await,
        Op::CreateInstallLink => ws::create_install_link(deps, req, p.get("org_id")).await,
        Op::ListInstallLinks => ws::list_install_links(deps, req, p.get("org_id")).await,
        Op::RevokeInstallLink => ws::revoke_install_link(deps, req, p.get("org_id"), p.get("id")).await,
        Op::PreviewInstallLink => ws::preview_install_link(deps, req).await,
        Op::AcceptInstallLink => ws::accept_install_link(deps, req).await,
        Op::ManagedWorkspaces => ws::managed_workspaces(deps, req, p.get("org_id")).await,
        Op::Relinquish => ws::relinquish(deps, req, p.get("org_id"), p.get("ws_id")).await,
        Op::PageInstall => Ok(pages::install()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_resolves_to_its_operation() {
        for (method, path, op) in ROUTES {
            let concrete =
                path.replace("{id}", "x").replace("{org_id}", "o").replace("{user_id}", "u").replace("{ws_id}", "w");
            let (found, _) = resolve(method, &concrete).unwrap();
            assert_eq!(found, *op, "{method} {path}");
        }
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        assert!(matches!(resolve("GET", "/nope"), Err(AppError::NotFound)));
        assert!(matches!(resolve("DELETE", "/v1/me"), Err(AppError::MethodNotAllowed)));
    }
}
