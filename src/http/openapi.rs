//! The OpenAPI 3.1 document, generated from the handlers' annotations by
//! utoipa. The Worker serves the generated JSON, committed as
//! `openapi.json` beside this file, so the generator's code stays out of the
//! wasm bundle (about a fifth of it); the native test
//! `openapi_json_is_generated_from_the_code` fails when the file differs from
//! what the code generates (regenerate with `UPDATE_OPENAPI=1 cargo test`).

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(not(target_arch = "wasm32"))]
pub use generate::document;

#[cfg(not(target_arch = "wasm32"))]
mod generate {
    use super::super::handlers as h;
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    use utoipa::{Modify, OpenApi};

    #[derive(OpenApi)]
    #[openapi(
    info(title = "Latchkey", version = "1.0.0",
         description = "Organizations and access: accounts, sessions, organizations, workspaces, API keys and authorization decisions. Errors are RFC 9457 problem+json with a stable `code`."),
    paths(
        h::health, h::openapi, h::jwks,
        super::super::pages::verify_email, super::super::pages::reset_password,
        h::signup, h::verify_email, h::resend_verification, h::login, h::refresh_token, h::logout,
        h::request_password_reset, h::confirm_password_reset,
        h::get_me, h::update_me, h::change_password, h::list_sessions, h::revoke_session,
        h::dev_emails, super::super::pages::invite,
        h::orgs::create_org, h::orgs::list_orgs, h::orgs::get_org, h::orgs::update_org, h::orgs::delete_org,
        h::orgs::list_members, h::orgs::change_role, h::orgs::remove_member, h::orgs::transfer_ownership,
        h::orgs::org_audit_log,
        h::invitations::create_invitation, h::invitations::list_invitations, h::invitations::revoke_invitation,
        h::invitations::resend_invitation, h::invitations::preview_invitation, h::invitations::accept_invitation,
        h::invitations::decline_invitation,
        h::api_keys::create_api_key, h::api_keys::list_api_keys, h::api_keys::get_api_key, h::api_keys::revoke_api_key,
        h::api_keys::rotate_api_key, h::api_keys::current_api_key,
        h::totp::login_mfa, h::totp::enrol, h::totp::confirm, h::totp::disable, h::totp::regenerate_recovery_codes,
        super::super::pages::security, h::authorize::authorize,
        h::workspaces::create_workspace, h::workspaces::list_workspaces, h::workspaces::get_workspace,
        h::workspaces::update_workspace, h::workspaces::delete_workspace, h::workspaces::update_billing,
        h::workspaces::list_members, h::workspaces::change_role, h::workspaces::remove_member,
        h::invitations::create_workspace_invitation, h::invitations::list_workspace_invitations,
        h::invitations::revoke_workspace_invitation, h::invitations::resend_workspace_invitation,
        h::workspaces::create_grant, h::workspaces::list_grants, h::workspaces::revoke_grant, h::workspaces::audit_log,
        h::workspaces::create_install_link, h::workspaces::list_install_links, h::workspaces::revoke_install_link,
        h::workspaces::preview_install_link, h::workspaces::accept_install_link,
        h::workspaces::managed_workspaces, h::workspaces::relinquish, super::super::pages::install,
    ),
    components(schemas(h::Problem, h::StatusBody, crate::domain::policy::Role, crate::domain::policy::Permission)),
    modifiers(&Bearer),
)]
    struct ApiDoc;

    struct Bearer;

    impl Modify for Bearer {
        fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
            let components = openapi.components.get_or_insert_with(Default::default);
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("An access token (EdDSA JWT) or an API key (`lk_…`)"))
                        .build(),
                ),
            );
        }
    }

    /// The document generated from the code (native builds only).
    pub fn document() -> utoipa::openapi::OpenApi {
        ApiDoc::openapi()
    }
}
