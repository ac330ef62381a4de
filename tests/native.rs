//! The native layer in one test binary: the real router over SQLite with every
//! migration, a fake mailer and a manual clock (tests/testapp). One module per
//! area; a new `tests/native_*.rs` file must be listed here (`every_test_file_is_in_a_layer`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod client;
#[path = "support/fake_dns.rs"]
mod fake_dns;
#[path = "support/fake_issuer.rs"]
mod fake_issuer;
#[path = "support/fake_provider.rs"]
mod fake_provider;
#[path = "layers.rs"]
mod layers;
#[path = "support/saml_idp.rs"]
mod saml_idp;
mod support;
mod testapp;

#[path = "native_access_reviews.rs"]
mod access_reviews;
#[path = "native_accounts.rs"]
mod accounts;
#[path = "native_admin.rs"]
mod admin;
#[path = "native_api_keys.rs"]
mod api_keys;
#[path = "native_attempt_limits.rs"]
mod attempt_limits;
#[path = "native_browser_sessions.rs"]
mod browser_sessions;
#[path = "native_channel_kinds.rs"]
mod channel_kinds;
#[path = "native_contract.rs"]
mod contract;
#[path = "native_device.rs"]
mod device;
#[path = "native_domains.rs"]
mod domains;
#[path = "native_harness.rs"]
mod harness;
#[path = "native_join_links.rs"]
mod join_links;
#[path = "native_key_policy.rs"]
mod key_policy;
#[path = "native_mail.rs"]
mod mail;
#[path = "native_notifications.rs"]
mod notifications;
#[path = "native_oauth.rs"]
mod oauth;
#[path = "native_orgs.rs"]
mod orgs;
#[path = "native_permissions.rs"]
mod permissions;
#[path = "native_query_plans.rs"]
mod query_plans;
#[path = "native_queue.rs"]
mod queue;
#[path = "native_reference.rs"]
mod reference;
#[path = "native_resolver.rs"]
mod resolver;
#[path = "native_roles.rs"]
mod roles;
#[path = "native_round_trips.rs"]
mod round_trips;
#[path = "native_saml.rs"]
mod saml;
#[path = "native_scim.rs"]
mod scim;
#[path = "native_sealed.rs"]
mod sealed;
#[path = "native_sso.rs"]
mod sso;
#[path = "native_store.rs"]
mod store;
#[path = "native_totp.rs"]
mod totp;
#[path = "native_workload_identity.rs"]
mod workload_identity;
#[path = "native_workspaces.rs"]
mod workspaces;
