//! The runtime layer in one test binary: the built Worker under `wrangler dev`
//! (workerd, local D1, local Queues, the real queue consumer), driven over HTTP
//! and, for the console, through Chromium (tests/support). One module per
//! area; a new `tests/e2e_*.rs` file must be listed here.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod client;
#[path = "support/fake_dns.rs"]
mod fake_dns;
#[path = "support/fake_issuer.rs"]
mod fake_issuer;
#[path = "support/fake_provider.rs"]
mod fake_provider;
#[path = "support/saml_idp.rs"]
mod saml_idp;
mod support;

#[path = "e2e_access_reviews.rs"]
mod access_reviews;
#[path = "e2e_accounts.rs"]
mod accounts;
#[path = "e2e_action.rs"]
mod action;
#[path = "e2e_admin.rs"]
mod admin;
#[path = "e2e_api_keys.rs"]
mod api_keys;
#[path = "e2e_body_limits.rs"]
mod body_limits;
#[path = "e2e_browser_sessions.rs"]
mod browser_sessions;
#[path = "e2e_channel_kinds.rs"]
mod channel_kinds;
#[path = "e2e_cli.rs"]
mod cli;
#[path = "e2e_console.rs"]
mod console;
#[path = "e2e_contract.rs"]
mod contract;
#[path = "e2e_dev_ports.rs"]
mod dev_ports;
#[path = "e2e_device.rs"]
mod device;
#[path = "e2e_domains.rs"]
mod domains;
#[path = "e2e_fuzz.rs"]
mod fuzz;
#[path = "e2e_join_links.rs"]
mod join_links;
#[path = "e2e_mail.rs"]
mod mail;
#[path = "e2e_notifications.rs"]
mod notifications;
#[path = "e2e_oauth.rs"]
mod oauth;
#[path = "e2e_orgs.rs"]
mod orgs;
#[path = "e2e_roles.rs"]
mod roles;
#[path = "e2e_saml.rs"]
mod saml;
#[path = "e2e_scim.rs"]
mod scim;
#[path = "e2e_security_auth.rs"]
mod security_auth;
#[path = "e2e_sso.rs"]
mod sso;
#[path = "e2e_totp.rs"]
mod totp;
#[path = "e2e_trust.rs"]
mod trust;
#[path = "e2e_typescript_client.rs"]
mod typescript_client;
#[path = "e2e_workload_identity.rs"]
mod workload_identity;
#[path = "e2e_workspaces.rs"]
mod workspaces;
