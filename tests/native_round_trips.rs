//! D1 round trips per route: the route walk of issue 20. One app with real
//! data (an org with owner, admin and member, invitations, API keys, a
//! customer's workspace granted to the org, install links, a notification
//! channel with a failed delivery, a second session, 2FA, OAuth against the
//! fake provider), then every route of the route table called once with real
//! ids and a valid body, as a caller it lets through, and its round trips
//! counted the way the Worker's `Server-Timing` counts them.
//!
//! [`ALLOWED`] is a ratchet: a route may not make more round trips than its
//! row says. Lower a row when a change lowers the route; never raise one
//! without saying why in its reason. Run with
//! `cargo test --test native round_trips -- --nocapture` to see the table.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_provider::{FakeProvider, FakeUser, IDP_CLIENT};
use crate::saml_idp::{KeyKind, SamlIdp};
use crate::testapp::*;

use async_trait::async_trait;
use latchkey::http::routes::{self, ROUTES};
use latchkey::jobs::webhooks::{WebhookRequest, WebhookResponse, WebhookSender};
use serde_json::{json, Value};
use std::cell::RefCell;

type Fixture = crate::testapp::Fixture<TestApp>;

/// Method, path pattern, allowed round trips, and why a route needs more than one.
#[rustfmt::skip] // one route a line
const ALLOWED: &[(&str, &str, u32, &str)] = &[
    ("GET", "/health", 1, ""),
    ("GET", "/openapi.json", 0, ""),
    ("GET", "/.well-known/jwks.json", 0, ""),
    ("GET", "/v1/dev/emails", 1, ""),
    // accounts
    ("POST", "/v1/auth/signup", 1, ""),
    ("POST", "/v1/auth/verify-email", 2, "the link read, then (after the password check) the verification with the session"),
    ("POST", "/v1/auth/resend-verification", 1, ""),
    ("POST", "/v1/auth/login", 2, "failure counter with the user, then (after the password hash) the counter reset with the session"),
    ("POST", "/v1/auth/token", 2, "refresh token spent first (single use), then the new token and session touch"),
    ("POST", "/v1/auth/logout", 1, ""),
    ("POST", "/v1/auth/password-reset", 1, ""),
    ("POST", "/v1/auth/password-reset/confirm", 2, "the link spent with its address, then (the hash made first) the reset"),
    ("POST", "/v1/auth/password-reset/preview", 2, "token read, then the recently linked providers"),
    ("GET", "/v1/me", 1, ""),
    ("PATCH", "/v1/me", 1, ""),
    ("POST", "/v1/me/password", 2, "session with the stored hash, then (after hashing the new password) the write"),
    ("GET", "/v1/me/sessions", 1, ""),
    ("DELETE", "/v1/me/sessions/{id}", 1, ""),
    // device sign-in (RFC 8628)
    ("POST", "/v1/auth/device", 1, ""),
    ("POST", "/v1/auth/device/token", 2, "the poll (state read, guarded single-use redemption, bookkeeping, approver) then, once redeemed, the session's rows; a pending poll is one"),
    ("POST", "/v1/auth/device/preview", 1, ""),
    ("POST", "/v1/auth/device/approve", 1, ""),
    ("POST", "/v1/auth/device/deny", 1, ""),
    // two-factor
    ("POST", "/v1/auth/login/mfa", 2, "attempt counts with the user and credential, then (after the code check) the step, the token spent and the session"),
    ("POST", "/v1/me/totp", 1, ""),
    ("POST", "/v1/me/totp/confirm", 2, "the session with the credential and the attempt counted, then (after the code check) the confirm batch"),
    ("DELETE", "/v1/me/totp", 2, "the session with the credential and the attempt counted, then (after the code check) the disable batch"),
    ("POST", "/v1/me/recovery-codes", 2, "the session with the credential and the attempt counted, then (after the code check) the new codes"),
    // orgs
    ("POST", "/v1/orgs", 1, ""),
    ("GET", "/v1/orgs", 1, ""),
    ("GET", "/v1/orgs/{org_id}", 1, ""),
    ("PATCH", "/v1/orgs/{org_id}", 1, ""),
    ("DELETE", "/v1/orgs/{org_id}", 2, "the org as it was (its audit row names it) with the decision, then the delete"),
    ("GET", "/v1/orgs/{org_id}/members", 1, ""),
    ("PATCH", "/v1/orgs/{org_id}/members/{user_id}", 2, "the member's current role with the decision (the membership rules judge it), then the guarded change"),
    ("DELETE", "/v1/orgs/{org_id}/members/{user_id}", 2, "the member's role with the decision (owners are not removed), then the guarded removal"),
    ("POST", "/v1/orgs/{org_id}/ownership-transfer", 2, "the new owner's membership with the decision, then the guarded transfer"),
    ("GET", "/v1/orgs/{org_id}/audit-log", 1, ""),
    ("GET", "/v1/orgs/{org_id}/access-review", 1, ""),
    // custom roles
    ("GET", "/v1/permissions", 1, ""),
    ("GET", "/v1/orgs/{org_id}/roles", 1, ""),
    ("POST", "/v1/orgs/{org_id}/roles", 2, "the decision (the caller's own permissions bound the role's), then the insert guarded by the limit and the caller's role"),
    ("GET", "/v1/orgs/{org_id}/roles/{key}", 1, ""),
    ("PATCH", "/v1/orgs/{org_id}/roles/{key}", 2, "the role with the decision (its old and new sets within the caller's), then the guarded change"),
    ("DELETE", "/v1/orgs/{org_id}/roles/{key}", 2, "the role with the decision (within the caller's permissions), then the delete guarded by its use"),
    // org invitations
    ("POST", "/v1/orgs/{org_id}/invitations", 2, "the decision (the inviter's role bounds the roles handed out), then the guarded insert"),
    ("GET", "/v1/orgs/{org_id}/invitations", 1, ""),
    ("DELETE", "/v1/orgs/{org_id}/invitations/{id}", 2, "the invitation with the decision (only owners touch invitations to owner), then the write"),
    ("POST", "/v1/orgs/{org_id}/invitations/{id}/resend", 2, "the invitation with the decision (only owners touch invitations to owner), then the write"),
    ("POST", "/v1/invitations/preview", 1, ""),
    ("POST", "/v1/invitations/accept", 2, "session with the invitation, then the accept batch"),
    ("POST", "/v1/invitations/decline", 2, "invitation read, then the decline batch"),
    // join links
    ("POST", "/v1/orgs/{org_id}/join-links", 1, ""),
    ("GET", "/v1/orgs/{org_id}/join-links", 1, ""),
    ("DELETE", "/v1/orgs/{org_id}/join-links/{id}", 1, ""),
    ("POST", "/v1/join-links/preview", 1, ""),
    ("POST", "/v1/join-links/accept", 2, "session with the link and the person's standing, then the guarded join (the use counted in the same batch)"),
    ("POST", "/v1/orgs/{org_id}/membership-requests", 1, ""),
    ("GET", "/v1/orgs/{org_id}/membership-requests", 1, ""),
    ("POST", "/v1/orgs/{org_id}/membership-requests/{id}/approve", 1, ""),
    ("POST", "/v1/orgs/{org_id}/membership-requests/{id}/deny", 1, ""),
    ("GET", "/v1/me/membership-requests", 1, ""),
    ("DELETE", "/v1/me/membership-requests/{id}", 2, "the guarded withdrawal with the request, then its audit row (the org it names is read in the first)"),
    // API keys
    ("POST", "/v1/orgs/{org_id}/api-keys", 1, ""),
    ("GET", "/v1/orgs/{org_id}/api-keys", 1, ""),
    ("GET", "/v1/orgs/{org_id}/api-keys/{id}", 1, ""),
    ("DELETE", "/v1/orgs/{org_id}/api-keys/{id}", 2, "the key with the decision (its audit row names it), then the revocation"),
    ("POST", "/v1/orgs/{org_id}/api-keys/{id}/rotate", 2, "the key with the decision (its scopes must not exceed the rotating person's role), then the rotation"),
    ("GET", "/v1/api-keys/current", 1, ""),
    ("DELETE", "/v1/api-keys/current", 2, "the key verified by its digest, then the revocation with its audit row"),
    ("GET", "/v1/orgs/{org_id}/api-key-policy", 1, ""),
    ("PUT", "/v1/orgs/{org_id}/api-key-policy", 1, ""),
    // workload identity
    ("POST", "/v1/orgs/{org_id}/trust-policies", 1, ""),
    ("GET", "/v1/orgs/{org_id}/trust-policies", 1, ""),
    ("PATCH", "/v1/orgs/{org_id}/trust-policies/{id}", 2, "the policy with the decision (its issuer decides which conditions are valid), then the guarded update"),
    ("DELETE", "/v1/orgs/{org_id}/trust-policies/{id}", 1, ""),
    ("POST", "/v1/oidc/exchange", 2, "the issuer's policies with their creators' roles, then the jti, key and audit row (JWKS fetches are HTTP, not D1)"),
    ("POST", "/v1/authorize", 1, ""),
    // platform administrators
    ("POST", "/v1/admin/users/lookup", 3, "the administrator with the person and their orgs, then the step-up code's attempt counted, then the code accepted with the audit row"),
    ("POST", "/v1/admin/users/{user_id}/suspend", 3, "the administrator with the person, then the step-up code's attempt counted, then the code accepted with the action and its audit row"),
    ("POST", "/v1/admin/users/{user_id}/unsuspend", 3, "the administrator with the person, then the step-up code's attempt counted, then the code accepted with the action and its audit row"),
    ("POST", "/v1/admin/users/{user_id}/reset-2fa", 3, "the administrator with the person, then the step-up code's attempt counted, then the code accepted with the action and its audit row"),
    ("GET", "/v1/admin/audit-log", 1, ""),
    // workspaces
    ("POST", "/v1/workspaces", 1, ""),
    ("GET", "/v1/workspaces", 1, ""),
    ("GET", "/v1/workspaces/{ws_id}", 1, ""),
    ("PATCH", "/v1/workspaces/{ws_id}", 1, ""),
    ("DELETE", "/v1/workspaces/{ws_id}", 1, ""),
    ("PUT", "/v1/workspaces/{ws_id}/billing", 1, ""),
    ("GET", "/v1/workspaces/{ws_id}/members", 1, ""),
    ("PATCH", "/v1/workspaces/{ws_id}/members/{user_id}", 2, "the member's current role with the decision (the membership rules judge it), then the guarded change"),
    ("DELETE", "/v1/workspaces/{ws_id}/members/{user_id}", 2, "the member's role with the decision (the owner is not removed), then the guarded removal"),
    ("POST", "/v1/workspaces/{ws_id}/invitations", 2, "the decision (the inviter's role bounds the roles handed out), then the guarded insert"),
    ("GET", "/v1/workspaces/{ws_id}/invitations", 1, ""),
    ("DELETE", "/v1/workspaces/{ws_id}/invitations/{id}", 2, "the invitation with the decision (only owners touch invitations to owner), then the write"),
    ("POST", "/v1/workspaces/{ws_id}/invitations/{id}/resend", 2, "the invitation with the decision (only owners touch invitations to owner), then the write"),
    ("POST", "/v1/workspaces/{ws_id}/grants", 2, "the org by its slug with the decision, then the guarded grant (limits and refusals)"),
    ("GET", "/v1/workspaces/{ws_id}/grants", 1, ""),
    ("DELETE", "/v1/workspaces/{ws_id}/grants/{org_id}", 2, "resolution with both sides of the grant (the audit row names them), then the write batch"),
    ("GET", "/v1/workspaces/{ws_id}/audit-log", 1, ""),
    // install links and managed workspaces
    ("POST", "/v1/orgs/{org_id}/install-links", 1, ""),
    ("GET", "/v1/orgs/{org_id}/install-links", 1, ""),
    ("DELETE", "/v1/orgs/{org_id}/install-links/{id}", 1, ""),
    ("POST", "/v1/install-links/preview", 1, ""),
    ("POST", "/v1/install-links/accept", 2, "resolution with the link, then the grant batch"),
    ("GET", "/v1/orgs/{org_id}/managed-workspaces", 1, ""),
    ("DELETE", "/v1/orgs/{org_id}/managed-workspaces/{ws_id}", 2, "resolution with both sides of the grant (the audit row names them), then the write batch"),
    // OAuth
    ("GET", "/v1/auth/oauth/providers", 0, ""),
    ("GET", "/v1/auth/oauth/{provider}/authorize", 1, ""),
    ("GET", "/v1/auth/oauth/{provider}/callback", 2, "state spent before the provider calls, login code written after them"),
    ("POST", "/v1/auth/oauth/complete", 3, "a new account: the code spent with the accounts it names, the account written, then its session (a returning identity: 2)"),
    ("POST", "/v1/auth/oauth/inspect", 2, "login code read, then the account it names"),
    ("GET", "/v1/me/identities", 1, ""),
    ("POST", "/v1/me/identities/{provider}", 2, "session with its sign-in age, then the flow state write"),
    ("DELETE", "/v1/me/identities/{provider}", 1, ""),
    ("GET", "/v1/me/audit-log", 1, ""),
    // notification channels
    ("GET", "/v1/notification-event-types", 1, ""),
    ("POST", "/v1/orgs/{org_id}/notification-channels", 1, ""),
    ("GET", "/v1/orgs/{org_id}/notification-channels", 1, ""),
    ("GET", "/v1/orgs/{org_id}/notification-channels/{id}", 1, ""),
    ("PATCH", "/v1/orgs/{org_id}/notification-channels/{id}", 2, "the channel with the decision (a new receiver gets only types its changer may read), then the guarded update"),
    ("DELETE", "/v1/orgs/{org_id}/notification-channels/{id}", 1, ""),
    ("POST", "/v1/orgs/{org_id}/notification-channels/{id}/rotate-secret", 1, ""),
    ("POST", "/v1/orgs/{org_id}/notification-channels/{id}/test", 2, "resolution with the channel (its 404 and disabled answers), then the ping batch; enqueued after the response"),
    ("GET", "/v1/orgs/{org_id}/notification-channels/{id}/deliveries", 1, ""),
    ("POST", "/v1/orgs/{org_id}/notification-channels/deliveries/{id}/retry", 2, "resolution with the delivery (its status decides the answer), then the retry batch; enqueued after the response"),
    ("POST", "/v1/notification-channels/confirm-email", 1, ""),
    // single sign-on
    ("POST", "/v1/orgs/{org_id}/sso-connections", 2, "the caller with the org's verified domains, then (after reading the issuer's discovery document, never inside a batch) the guarded insert"),
    ("GET", "/v1/orgs/{org_id}/sso-connections", 1, ""),
    ("GET", "/v1/orgs/{org_id}/sso-connections/{id}", 1, ""),
    ("PATCH", "/v1/orgs/{org_id}/sso-connections/{id}", 2, "one guarded update; new domains are first checked against the org's verified ones (a second trip only then)"),
    ("DELETE", "/v1/orgs/{org_id}/sso-connections/{id}", 1, ""),
    ("PUT", "/v1/orgs/{org_id}/sso-required", 1, ""),
    ("POST", "/v1/auth/sso/lookup", 1, ""),
    ("GET", "/v1/auth/sso/{connection_id}/authorize", 1, ""),
    ("GET", "/v1/auth/sso/{connection_id}/callback", 2, "state spent with the connection before the provider calls, login code written after them"),
    ("GET", "/v1/sso/{connection_id}/metadata", 1, ""),
    ("POST", "/v1/sso/{connection_id}/acs", 2, "the flow spent with the connection, then (after verifying the signed response) the guarded assertion id with the login code"),
    // verified domains
    ("POST", "/v1/orgs/{org_id}/domains", 1, ""),
    ("GET", "/v1/orgs/{org_id}/domains", 1, ""),
    ("GET", "/v1/orgs/{org_id}/domains/{id}", 1, ""),
    ("PATCH", "/v1/orgs/{org_id}/domains/{id}", 2, "the domain with the decision (auto-join as admin is the owner's; the rest is judged on the row), then the guarded update"),
    ("DELETE", "/v1/orgs/{org_id}/domains/{id}", 1, ""),
    ("POST", "/v1/orgs/{org_id}/domains/{id}/verify", 2, "the domain with the decision, then (after the DNS look-up, never inside a batch) the guarded verification"),
    ("GET", "/v1/me/suggested-orgs", 1, ""),
    // SCIM provisioning: tokens (owners), the directory's endpoints (a SCIM token)
    ("POST", "/v1/orgs/{org_id}/scim-tokens", 1, ""),
    ("GET", "/v1/orgs/{org_id}/scim-tokens", 1, ""),
    ("DELETE", "/v1/orgs/{org_id}/scim-tokens/{id}", 1, ""),
    ("GET", "/scim/v2/{org_id}/Users", 1, ""),
    ("POST", "/scim/v2/{org_id}/Users", 2, "the token with the org's verified domains and the address's account (the domain rule and the claim are judged on them), then the write guarded by the token, whose id names the audit rows"),
    ("GET", "/scim/v2/{org_id}/Users/{id}", 1, ""),
    ("PUT", "/scim/v2/{org_id}/Users/{id}", 2, "the token with the User (userName and active are judged on it), then the write guarded by the token"),
    ("PATCH", "/scim/v2/{org_id}/Users/{id}", 2, "the token with the User (userName and active are judged on it), then the write guarded by the token"),
    ("DELETE", "/scim/v2/{org_id}/Users/{id}", 2, "the token with the User (its audit row names the address), then the write guarded by the token"),
    ("GET", "/scim/v2/{org_id}/Groups", 1, ""),
    ("POST", "/scim/v2/{org_id}/Groups", 2, "the token (its id names the audit rows), then the insert with the members' roles, guarded by the token"),
    ("GET", "/scim/v2/{org_id}/Groups/{id}", 1, ""),
    ("PUT", "/scim/v2/{org_id}/Groups/{id}", 2, "the token with the group and its members (whose roles change is judged on them), then the write guarded by the token"),
    ("PATCH", "/scim/v2/{org_id}/Groups/{id}", 2, "the token with the group and its members (whose roles change is judged on them), then the write guarded by the token"),
    ("DELETE", "/scim/v2/{org_id}/Groups/{id}", 2, "the token with the group's members (their roles are set again), then the write guarded by the token"),
    ("GET", "/scim/v2/{org_id}/ServiceProviderConfig", 1, ""),
    ("GET", "/scim/v2/{org_id}/ResourceTypes", 1, ""),
    ("GET", "/scim/v2/{org_id}/Schemas", 1, ""),
];

/// One measured call.
struct Measured {
    method: &'static str,
    path: &'static str,
    status: u16,
    trips: u32,
    /// What each round trip ran.
    sql: Vec<String>,
}

/// Calls routes and records, per route, what each call cost.
struct Walk<'a> {
    app: &'a TestApp,
    seen: RefCell<Vec<Measured>>,
}

impl Walk<'_> {
    /// Calls `method path` as `bearer` and records its round trips under the
    /// route the router resolves it to. The answer must be a success: 2xx,
    /// or 302 for the OAuth redirects (a browser navigation, not an error).
    #[track_caller]
    fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let bare = path.split_once('?').map_or(path, |(p, _)| p);
        let (route, _) = routes::resolve(method, bare).unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
        let r = match (body, bearer) {
            // A form (the SAML ACS): sent as given.
            (Some(Value::String(form)), None) => self.app.send(method, path, None, headers, form.as_bytes()),
            (body, bearer) => self.app.call_with(method, path, bearer, body, headers),
        };
        let trips = self.app.last_round_trips();
        let redirect = r.status == 302
            && ["/v1/auth/oauth/", "/v1/auth/sso/", "/v1/sso/"].iter().any(|p| route.path.starts_with(p));
        assert!((200..300).contains(&r.status) || redirect, "{method} {path}: {} {}", r.status, r.raw);
        self.seen.borrow_mut().push(Measured {
            method: route.method,
            path: route.path,
            status: r.status,
            trips,
            sql: self.app.last_round_trip_sql(),
        });
        r
    }
    #[track_caller]
    fn get(&self, path: &str, who: &str) -> Reply {
        self.call("GET", path, Some(who), None, &[])
    }
    #[track_caller]
    fn public(&self, method: &str, path: &str, body: Value) -> Reply {
        self.call(method, path, None, Some(body), &[])
    }
    #[track_caller]
    fn send(&self, method: &str, path: &str, who: &str, body: Value) -> Reply {
        self.call(method, path, Some(who), Some(body), &[])
    }
    #[track_caller]
    fn delete(&self, path: &str, who: &str) -> Reply {
        self.call("DELETE", path, Some(who), None, &[])
    }
}

/// A webhook receiver that is down: every delivery fails.
struct Down;
#[async_trait(?Send)]
impl WebhookSender for Down {
    async fn post(&self, _req: WebhookRequest) -> Result<WebhookResponse, String> {
        Ok(WebhookResponse { status: 500, retry_after: None, body: Vec::new(), latency_ms: 1 })
    }
}

const PAGE: &str = "http://app.test/settings/security";
const HOOK: &str = "https://hooks.example.org/latchkey";

fn enc(s: &str) -> String {
    url_encode(s)
}

fn fragment(location: &str, key: &str) -> String {
    let (_, frag) = location.split_once('#').unwrap_or_else(|| panic!("no fragment: {location}"));
    form_urlencoded::parse(frag.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {key} in {location}"))
}

fn cookie_of(r: &Reply) -> String {
    r.header("set-cookie").unwrap_or_else(|| panic!("no set-cookie: {:?}", r.headers)).split(';').next().unwrap().into()
}

/// The path of our own OAuth callback URL the fake provider redirects to.
fn local(url: &str) -> &str {
    url.strip_prefix("http://app.test").unwrap_or_else(|| panic!("not our URL: {url}"))
}

#[test]
fn every_route_stays_within_its_round_trip_budget() {
    let fake = FakeProvider::start();
    let dns = crate::fake_dns::FakeDns::start();
    let issuer = crate::fake_issuer::FakeIssuer::start();
    let mut vars = fake.worker_vars();
    vars.extend(dns.worker_vars());
    vars.extend(issuer.worker_vars());
    vars.push(("PLATFORM_ADMINS".into(), "ops@example.com".into()));
    vars.push(("WEBHOOK_RETRY_SCHEDULE".into(), "1,1".into()));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let f = Fixture::new(TestApp::with_config(config_with(&refs)))
        .org_owned_by("owner", "Vendor", Some("vendor"))
        .join_org("admin", "admin")
        .join_org("member", "member")
        .join_org("leaver", "member")
        .workspace_with_grant("vendor")
        .join_workspace("seat", "member")
        .key_with_scopes(&["org:read"])
        .person("joiner")
        .person("linker")
        .person("asker")
        .person("withdrawer")
        .person("resetter")
        .person("changer")
        .with_stranger();
    let app = &f.app;
    let api = f.api();
    let w = Walk { app, seen: RefCell::new(Vec::new()) };
    let owner = access(f.owner());
    let customer = access(f.customer());
    let org = f.org.clone();
    let ws = f.ws.clone();

    // --- meta ---
    w.call("GET", "/health", None, None, &[]);
    w.call("GET", "/openapi.json", None, None, &[]);
    w.call("GET", "/.well-known/jwks.json", None, None, &[]);
    w.call("GET", &format!("/v1/dev/emails?to={}", enc(&f.owner().email)), None, None, &[]);

    // --- accounts ---
    let walker = "walker@example.com";
    w.public("POST", "/v1/auth/signup", json!({"email": walker, "password": PASSWORD, "name": "Walker"}));
    w.public("POST", "/v1/auth/resend-verification", json!({"email": walker}));
    let token = app.token_from_email(walker, "/verify-email");
    w.public("POST", "/v1/auth/verify-email", json!({"token": token, "password": PASSWORD}));
    // The owner signs in a second time: the session revoked below.
    let second = w.public("POST", "/v1/auth/login", json!({"email": f.owner().email, "password": PASSWORD})).body;
    w.public("POST", "/v1/auth/token", json!({"refresh_token": refresh(f.stranger())}));
    let leaving = api.login(&f.stranger().email, PASSWORD).expect(200).body;
    w.send("POST", "/v1/auth/logout", &access(&leaving), json!({}));
    let resetter = &f.who("resetter").email;
    w.public("POST", "/v1/auth/password-reset", json!({"email": resetter}));
    let token = app.token_from_email(resetter, "/reset-password");
    w.public("POST", "/v1/auth/password-reset/preview", json!({"token": token}));
    w.public("POST", "/v1/auth/password-reset/confirm", json!({"token": token, "new_password": "a new horse battery"}));
    w.get("/v1/me", &owner);
    w.send("PATCH", "/v1/me", &owner, json!({"name": "Owner"}));
    w.send(
        "POST",
        "/v1/me/password",
        &access(f.who("changer")),
        json!({"current_password": PASSWORD, "new_password": "another horse battery"}),
    );
    let sessions = w.get("/v1/me/sessions", &owner).body;
    let other = sessions["data"].as_array().unwrap().iter().find(|s| s["current"] == false).expect("a second session");
    assert_ne!(access(&second), owner);
    w.delete(&format!("/v1/me/sessions/{}", other["id"].as_str().unwrap()), &owner);

    // --- device sign-in: a CLI asks, the owner approves, the poll redeems; another is denied ---
    let device = w.public("POST", "/v1/auth/device", json!({"client_name": "walk"})).body;
    let user_code = device["user_code"].as_str().unwrap().to_owned();
    w.send("POST", "/v1/auth/device/preview", &owner, json!({"user_code": user_code}));
    w.send("POST", "/v1/auth/device/approve", &owner, json!({"user_code": user_code}));
    let device_session = w.public("POST", "/v1/auth/device/token", json!({"device_code": device["device_code"]})).body;
    api.logout(access(&device_session)).expect(204);
    let denied = api.device_request(None).expect(200).body;
    w.send("POST", "/v1/auth/device/deny", &owner, json!({"user_code": denied["user_code"]}));

    // --- two-factor: enrol, confirm, sign in with a code, new recovery codes, disable ---
    let tf = api.verified("twofactor@example.com");
    let secret = w.send("POST", "/v1/me/totp", &access(&tf), json!({})).body["secret"].as_str().unwrap().to_owned();
    let code = |app: &TestApp| {
        app.advance(30); // a code is good once: the next step's
        totp_code(&secret, app.clock_now())
    };
    w.send("POST", "/v1/me/totp/confirm", &access(&tf), json!({"code": code(app)}));
    let mfa = api.mfa_token(&tf.email);
    let tf_session = w.public("POST", "/v1/auth/login/mfa", json!({"mfa_token": mfa, "code": code(app)})).body;
    let tf_token = access(&tf_session);
    w.send("POST", "/v1/me/recovery-codes", &tf_token, json!({"code": code(app)}));
    w.call("DELETE", "/v1/me/totp", Some(&tf_token), Some(json!({"code": code(app)})), &[]);

    // --- platform administrators: look up, suspend, unsuspend, reset 2FA, the log ---
    let ops = api.verified_with_2fa("ops@example.com");
    let ops_code = |app: &TestApp| {
        app.advance(30);
        totp_code(&ops.secret, app.clock_now())
    };
    let ops_token = access(&ops.person);
    w.send("POST", "/v1/admin/users/lookup", &ops_token, json!({"email": tf.email, "code": ops_code(app)}));
    let target = tf.id();
    for action in ["suspend", "unsuspend", "reset-2fa"] {
        w.send("POST", &format!("/v1/admin/users/{target}/{action}"), &ops_token, json!({"code": ops_code(app)}));
    }
    w.get("/v1/admin/audit-log", &ops_token);

    // --- orgs ---
    let scratch = w.send("POST", "/v1/orgs", &owner, json!({"name": "Scratch"})).id();
    let heir = api.join(f.owner(), Tenant::Org(&scratch), "heir@example.com", "admin");
    w.get("/v1/orgs", &owner);
    w.get(&format!("/v1/orgs/{org}"), &owner);
    w.send("PATCH", &format!("/v1/orgs/{org}"), &owner, json!({"name": "Vendor Inc"}));
    w.get(&format!("/v1/orgs/{org}/members"), &owner);
    let leaver = f.who("leaver").id();
    w.send("PATCH", &format!("/v1/orgs/{org}/members/{leaver}"), &owner, json!({"role": "admin"}));
    w.delete(&format!("/v1/orgs/{org}/members/{leaver}"), &owner);
    w.send("POST", &format!("/v1/orgs/{scratch}/ownership-transfer"), &owner, json!({"user_id": heir.id()}));
    w.get(&format!("/v1/orgs/{org}/audit-log"), &owner);
    w.get(&format!("/v1/orgs/{org}/access-review?format=csv"), &owner);

    // --- custom roles ---
    w.get("/v1/permissions", &owner);
    let roles = format!("/v1/orgs/{org}/roles");
    w.send("POST", &roles, &owner, json!({"key": "walk-role", "name": "Walk", "permissions": ["org:read"]}));
    w.get(&roles, &owner);
    w.get(&format!("{roles}/walk-role"), &owner);
    w.send("PATCH", &format!("{roles}/walk-role"), &owner, json!({"permissions": ["org:read", "members:read"]}));
    w.delete(&format!("{roles}/walk-role"), &owner);

    // --- org invitations ---
    let inv = w
        .send(
            "POST",
            &format!("/v1/orgs/{org}/invitations"),
            &owner,
            json!({"email": "invitee@example.com", "role": "member"}),
        )
        .id();
    w.get(&format!("/v1/orgs/{org}/invitations"), &owner);
    w.send("POST", &format!("/v1/orgs/{org}/invitations/{inv}/resend"), &owner, json!({}));
    w.delete(&format!("/v1/orgs/{org}/invitations/{inv}"), &owner);
    let joiner = f.who("joiner");
    let token = api.invitation_token(f.owner(), f.tenant(), &joiner.email, "member");
    w.public("POST", "/v1/invitations/preview", json!({"token": token}));
    w.send("POST", "/v1/invitations/accept", &access(joiner), json!({"token": token}));
    let token = api.invitation_token(f.owner(), f.tenant(), "decliner@example.com", "member");
    w.public("POST", "/v1/invitations/decline", json!({"token": token}));

    // --- join links ---
    let join_links = format!("/v1/orgs/{org}/join-links");
    let link = w.send("POST", &join_links, &owner, json!({"role": "member", "max_uses": 5})).body;
    w.get(&join_links, &owner);
    let token = link["token"].as_str().unwrap();
    w.public("POST", "/v1/join-links/preview", json!({"token": token}));
    w.send("POST", "/v1/join-links/accept", &access(f.who("linker")), json!({"token": token}));
    w.delete(&format!("{join_links}/{}", link["id"].as_str().unwrap()), &owner);
    let asking = api.create_join_link(f.owner(), &org, json!({"role": "member", "approval": true})).expect(201).body;
    let token = asking["token"].as_str().unwrap();
    let asked = api.accept_join_link(f.who("asker"), token).expect(202).body["id"].as_str().unwrap().to_owned();
    let withdrawn =
        api.accept_join_link(f.who("withdrawer"), token).expect(202).body["id"].as_str().unwrap().to_owned();
    let requests = format!("/v1/orgs/{org}/membership-requests");
    w.get(&format!("{requests}?status=pending"), &owner);
    w.send("POST", &format!("{requests}/{asked}/approve"), &owner, json!({"role": "member"}));
    w.get("/v1/me/membership-requests", &access(f.who("withdrawer")));
    w.delete(&format!("/v1/me/membership-requests/{withdrawn}"), &access(f.who("withdrawer")));
    let denied = api.accept_join_link(f.who("withdrawer"), token).expect(202).body["id"].as_str().unwrap().to_owned();
    w.send("POST", &format!("{requests}/{denied}/deny"), &owner, json!({}));

    // --- API keys and decisions ---
    let keys = format!("/v1/orgs/{org}/api-keys");
    let key = w.send("POST", &keys, &owner, json!({"name": "deploy", "scopes": ["org:read"]})).id();
    w.get(&keys, &owner);
    w.get(&format!("{keys}/{key}"), &owner);
    w.send("POST", &format!("{keys}/{key}/rotate"), &owner, json!({"grace_period_seconds": 60}));
    w.delete(&format!("{keys}/{key}"), &owner);
    w.get("/v1/api-keys/current", &f.key);
    let ending = api.create_key(&owner, &org, "ends itself", &["org:read"]).expect(201).body;
    w.delete("/v1/api-keys/current", ending["key"].as_str().unwrap());
    w.get(&format!("/v1/orgs/{org}/api-key-policy"), &owner);
    w.call(
        "PUT",
        &format!("/v1/orgs/{org}/api-key-policy"),
        Some(&owner),
        Some(json!({"warn_before_days": [14, 3]})),
        &[],
    );
    w.send("POST", "/v1/authorize", &owner, json!({"permission": "org:read", "org_id": org}));

    // --- workload identity ---
    let trust = format!("/v1/orgs/{org}/trust-policies");
    let policy = json!({"name": "ci", "issuer": issuer.url(), "conditions": {"repository_id": "42"},
                        "scopes": ["org:read"], "max_ttl_seconds": 600});
    let tp = w.send("POST", &trust, &owner, policy.clone()).id();
    w.get(&trust, &owner);
    w.send("PATCH", &format!("{trust}/{tp}"), &owner, json!({"max_ttl_seconds": 900}));
    let _ = policy;
    let claims = issuer.github_claims("42", &format!("latchkey:{org}"), app.clock_now());
    w.call("POST", "/v1/oidc/exchange", None, Some(json!({"token": issuer.mint(claims)})), &[]);
    w.delete(&format!("{trust}/{tp}"), &owner);

    // --- workspaces ---
    let spare = w.send("POST", "/v1/workspaces", &customer, json!({"name": "Spare"})).id();
    w.get("/v1/workspaces", &customer);
    w.get(&format!("/v1/workspaces/{ws}"), &customer);
    w.send("PATCH", &format!("/v1/workspaces/{ws}"), &customer, json!({"name": "Shop 2"}));
    w.call(
        "PUT",
        &format!("/v1/workspaces/{ws}/billing"),
        Some(&customer),
        Some(json!({"plan": "pro", "billing_email": "billing@shop.example"})),
        &[],
    );
    w.get(&format!("/v1/workspaces/{ws}/members"), &customer);
    let seat = f.who("seat").id();
    w.send("PATCH", &format!("/v1/workspaces/{ws}/members/{seat}"), &customer, json!({"role": "admin"}));
    w.delete(&format!("/v1/workspaces/{ws}/members/{seat}"), &customer);
    let invs = format!("/v1/workspaces/{ws}/invitations");
    let inv = w.send("POST", &invs, &customer, json!({"email": "wsinvitee@example.com", "role": "member"})).id();
    w.get(&invs, &customer);
    w.send("POST", &format!("{invs}/{inv}/resend"), &customer, json!({}));
    w.delete(&format!("{invs}/{inv}"), &customer);
    w.send("POST", &format!("/v1/workspaces/{spare}/grants"), &customer, json!({"org_slug": "vendor"}));
    w.get(&format!("/v1/workspaces/{spare}/grants"), &customer);
    w.delete(&format!("/v1/workspaces/{spare}/grants/{org}"), &customer);
    w.get(&format!("/v1/workspaces/{ws}/audit-log"), &customer);

    // --- install links and managed workspaces ---
    let links = format!("/v1/orgs/{org}/install-links");
    let link = w.send("POST", &links, &owner, json!({})).body;
    let spare_link = api.create_install_link(f.owner(), &org).expect(201).id();
    w.get(&links, &owner);
    let token = link["token"].as_str().unwrap();
    w.public("POST", "/v1/install-links/preview", json!({"token": token}));
    let third = api.create_workspace(f.customer(), "Third").expect(201).id();
    w.send("POST", "/v1/install-links/accept", &customer, json!({"token": token, "workspace_id": third}));
    w.delete(&format!("{links}/{spare_link}"), &owner);
    w.get(&format!("/v1/orgs/{org}/managed-workspaces"), &owner);
    w.delete(&format!("/v1/orgs/{org}/managed-workspaces/{third}"), &owner);

    // --- OAuth: a new person signs in with Google; the owner links and unlinks GitHub ---
    w.call("GET", "/v1/auth/oauth/providers", None, None, &[]);
    fake.sign_in("google", FakeUser::verified("g-1", "oauth-person@example.com"));
    let start = w.call("GET", &format!("/v1/auth/oauth/google/authorize?redirect_uri={}", enc(PAGE)), None, None, &[]);
    let cookie = cookie_of(&start);
    let approved = fake.approve(start.header("location").unwrap());
    let back = w.call("GET", local(&approved), None, None, &[("cookie", &cookie)]);
    let login_code = fragment(back.header("location").unwrap(), "login_code");
    let with_cookie = [("cookie", cookie.as_str())];
    w.call("POST", "/v1/auth/oauth/inspect", None, Some(json!({"login_code": login_code})), &with_cookie);
    w.call("POST", "/v1/auth/oauth/complete", None, Some(json!({"login_code": login_code})), &with_cookie);
    // The same person again: a returning identity signs in in two round trips
    // (the code spent with the account read, then the session).
    let start =
        app.call_with("GET", &format!("/v1/auth/oauth/google/authorize?redirect_uri={}", enc(PAGE)), None, None, &[]);
    let cookie = cookie_of(&start);
    let approved = fake.approve(start.header("location").unwrap());
    let back = app.call_with("GET", local(&approved), None, None, &[("cookie", &cookie)]).expect(302);
    let login_code = fragment(back.header("location").unwrap(), "login_code");
    let again = app.call_with(
        "POST",
        "/v1/auth/oauth/complete",
        None,
        Some(json!({"login_code": login_code})),
        &[("cookie", &cookie)],
    );
    assert_eq!(again.status, 200, "{}", again.raw);
    assert_eq!(app.last_round_trips(), 2, "a returning identity's sign-in: {:?}", app.last_round_trip_sql());
    w.get("/v1/me/identities", &owner);
    fake.sign_in("github", FakeUser::verified("9001", "octo@example.com"));
    let fresh = access(&api.login(&f.owner().email, PASSWORD).expect(200).body);
    let link = w.send("POST", "/v1/me/identities/github", &fresh, json!({"redirect_uri": PAGE}));
    let cookie = cookie_of(&link);
    let approved = fake.approve(link.body["authorize_url"].as_str().unwrap());
    let back = app.call_with("GET", local(&approved), None, None, &[("cookie", &cookie)]).expect(302);
    let code = fragment(back.header("location").unwrap(), "login_code");
    app.call_with(
        "POST",
        "/v1/auth/oauth/complete",
        Some(&fresh),
        Some(json!({"login_code": code})),
        &[("cookie", &cookie)],
    )
    .expect(200);
    w.delete("/v1/me/identities/github", &fresh);
    w.get("/v1/me/audit-log", &owner);

    // --- notification channels, one with a failed delivery ---
    let channels = format!("/v1/orgs/{org}/notification-channels");
    let body = json!({"url": HOOK, "description": "deploys", "event_types": ["org.updated"]});
    let channel = app.post(&channels, Some(&owner), body.clone()).expect(201).id();
    api.update_org(f.owner(), &org, json!({"name": "Vendor again"})).expect(200);
    for _ in 0..3 {
        app.deliver_webhooks(&Down);
        app.advance(1);
    }
    let failed = app.get(&format!("{channels}/{channel}/deliveries?status=failed"), Some(&owner)).expect(200).body;
    let delivery = failed["data"][0]["id"].as_str().expect("a failed delivery").to_owned();
    w.get("/v1/notification-event-types", &owner);
    let spare_channel = w.send("POST", &channels, &owner, body).id();
    w.get(&channels, &owner);
    w.get(&format!("{channels}/{channel}"), &owner);
    w.send("PATCH", &format!("{channels}/{channel}"), &owner, json!({"description": "releases"}));
    w.send("POST", &format!("{channels}/{channel}/rotate-secret"), &owner, json!({"grace_period_seconds": 0}));
    w.send("POST", &format!("{channels}/{channel}/test"), &owner, json!({}));
    w.get(&format!("{channels}/{channel}/deliveries"), &owner);
    w.send("POST", &format!("{channels}/deliveries/{delivery}/retry"), &owner, json!({}));
    w.delete(&format!("{channels}/{spare_channel}"), &owner);
    let mailed = json!({"kind": "email", "emails": ["oncall@vendor.test"], "event_types": ["org.updated"]});
    app.post(&channels, Some(&owner), mailed).expect(201);
    let token = app.token_from_email("oncall@vendor.test", "/confirm-channel-email");
    w.public("POST", "/v1/notification-channels/confirm-email", json!({"token": token}));

    // --- verified domains ---
    let domains = format!("/v1/orgs/{org}/domains");
    let added = w.send("POST", &domains, &owner, json!({"domain": "vendor.test"})).body;
    let domain = added["id"].as_str().unwrap().to_owned();
    dns.set_txt(added["txt_name"].as_str().unwrap(), &[added["txt_value"].as_str().unwrap()]);
    w.get(&domains, &owner);
    w.get(&format!("{domains}/{domain}"), &owner);
    w.send("POST", &format!("{domains}/{domain}/verify"), &owner, json!({}));
    w.send("PATCH", &format!("{domains}/{domain}"), &owner, json!({"enrollment": "suggest"}));
    let vendor_person = access(&api.verified("pat@vendor.test").session);
    w.get("/v1/me/suggested-orgs", &vendor_person);
    w.send("POST", &format!("/v1/orgs/{org}/membership-requests"), &vendor_person, json!({}));

    // --- single sign-on through the org's provider, on its verified domain ---
    let ssos = format!("/v1/orgs/{org}/sso-connections");
    let conn = json!({"type": "oidc", "issuer": fake.idp_issuer(), "client_id": IDP_CLIENT.1,
                      "client_secret": IDP_CLIENT.2, "domains": ["vendor.test"]});
    let conn = w.send("POST", &ssos, &owner, conn).id();
    w.get(&ssos, &owner);
    w.get(&format!("{ssos}/{conn}"), &owner);
    w.send("PATCH", &format!("{ssos}/{conn}"), &owner, json!({"name": "Vendor IdP"}));
    w.call("PUT", &format!("/v1/orgs/{org}/sso-required"), Some(&owner), Some(json!({"sso_required": false})), &[]);
    w.public("POST", "/v1/auth/sso/lookup", json!({"email": "pat@vendor.test"}));
    fake.sign_in("idp", FakeUser::verified("idp-1", "sam@vendor.test"));
    let start = w.call("GET", &format!("/v1/auth/sso/{conn}/authorize?redirect_uri={}", enc(PAGE)), None, None, &[]);
    let cookie = cookie_of(&start);
    let approved = fake.approve(start.header("location").unwrap());
    let back = w.call("GET", local(&approved), None, None, &[("cookie", &cookie)]);
    let login_code = fragment(back.header("location").unwrap(), "login_code");
    let done = app.call_with(
        "POST",
        "/v1/auth/oauth/complete",
        None,
        Some(json!({"login_code": login_code})),
        &[("cookie", &cookie)],
    );
    assert_eq!(done.status, 200, "{}", done.raw);
    assert_eq!(app.last_round_trips(), 2, "an SSO sign-in: {:?}", app.last_round_trip_sql());
    w.delete(&format!("{ssos}/{conn}"), &owner);

    // --- SAML on the same domain: metadata, the IdP's trip, the ACS ---
    let idp = SamlIdp::new(KeyKind::P256, "https://idp.vendor.test/saml");
    let conn = json!({"type": "saml", "metadata_xml": idp.metadata("https://idp.vendor.test/sso"), "domains": ["vendor.test"]});
    // (Routes the walk measured above are called unrecorded here.)
    let conn = app.call("POST", &ssos, Some(&owner), Some(conn));
    assert_eq!(conn.status, 201, "{}", conn.raw);
    let conn = conn.body["id"].as_str().unwrap().to_owned();
    w.call("GET", &format!("/v1/sso/{conn}/metadata"), None, None, &[]);
    let start = app.call("GET", &format!("/v1/auth/sso/{conn}/authorize?redirect_uri={}", enc(PAGE)), None, None);
    assert_eq!(start.status, 302, "{}", start.raw);
    let cookies: Vec<String> = start
        .headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.split(';').next().unwrap().to_owned())
        .collect();
    let cookies = cookies.join("; ");
    let (acs, form) = idp.answer(start.header("location").unwrap(), "sam@vendor.test", app.clock_now());
    let headers = [("cookie", cookies.as_str()), ("content-type", "application/x-www-form-urlencoded")];
    let back = w.call("POST", local(&acs), None, Some(Value::String(form)), &headers);
    let login_code = fragment(back.header("location").unwrap(), "login_code");
    let done = app.call_with(
        "POST",
        "/v1/auth/oauth/complete",
        None,
        Some(json!({"login_code": login_code})),
        &[("cookie", &cookies)],
    );
    assert_eq!(done.status, 200, "{}", done.raw);
    app.call("DELETE", &format!("{ssos}/{conn}"), Some(&owner), None).expect(204);

    // --- SCIM provisioning on the verified domain ---
    let tokens = format!("/v1/orgs/{org}/scim-tokens");
    let created = w.send("POST", &tokens, &owner, json!({"name": "Okta"})).body;
    let scim = created["token"].as_str().unwrap().to_owned();
    let spare_token = app.post(&tokens, Some(&owner), json!({"name": "spare"})).expect(201).id();
    w.get(&tokens, &owner);
    let base = format!("/scim/v2/{org}");
    let lou = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "lou@vendor.test",
                     "name": {"givenName": "Lou"}, "active": true});
    w.get(&format!("{base}/Users?filter={}", enc(r#"userName eq "lou@vendor.test""#)), &scim);
    let lou_id = w.send("POST", &format!("{base}/Users"), &scim, lou.clone()).id();
    w.get(&format!("{base}/Users/{lou_id}"), &scim);
    w.send("PUT", &format!("{base}/Users/{lou_id}"), &scim, lou);
    let group = json!({"displayName": "admin", "members": [{"value": lou_id}]});
    let group = w.send("POST", &format!("{base}/Groups"), &scim, group).id();
    w.get(&format!("{base}/Groups"), &scim);
    w.get(&format!("{base}/Groups/{group}"), &scim);
    w.send("PUT", &format!("{base}/Groups/{group}"), &scim, json!({"displayName": "admin", "members": []}));
    let add = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": lou_id}]}]});
    w.send("PATCH", &format!("{base}/Groups/{group}"), &scim, add);
    let off = json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    w.send("PATCH", &format!("{base}/Users/{lou_id}"), &scim, off);
    w.delete(&format!("{base}/Groups/{group}"), &scim);
    w.delete(&format!("{base}/Users/{lou_id}"), &scim);
    w.get(&format!("{base}/ServiceProviderConfig"), &scim);
    w.get(&format!("{base}/ResourceTypes"), &scim);
    w.get(&format!("{base}/Schemas"), &scim);
    w.delete(&format!("{tokens}/{spare_token}"), &owner);
    w.delete(&format!("{domains}/{domain}"), &owner);

    // --- last, what deletes ---
    w.delete(&format!("/v1/workspaces/{spare}"), &customer);
    w.delete(&format!("/v1/orgs/{scratch}"), &access(&heir));

    check(&w.seen.into_inner());
}

/// Every route measured once and listed once; none above its row.
fn check(seen: &[Measured]) {
    let key = |m: &str, p: &str| format!("{m} {p}");
    let mut problems = Vec::new();
    for route in ROUTES {
        let rows = ALLOWED.iter().filter(|(m, p, _, _)| *m == route.method && *p == route.path).count();
        if rows != 1 {
            problems.push(format!("{}: {rows} rows in ALLOWED (one expected)", key(route.method, route.path)));
        }
        let calls = seen.iter().filter(|s| s.method == route.method && s.path == route.path).count();
        if calls != 1 {
            problems
                .push(format!("{}: called {calls} times by the walk (once expected)", key(route.method, route.path)));
        }
    }
    for (m, p, allowed, why) in ALLOWED {
        if !ROUTES.iter().any(|r| r.method == *m && r.path == *p) {
            problems.push(format!("{}: a row in ALLOWED for no route", key(m, p)));
        }
        if *allowed > 1 && why.is_empty() {
            problems.push(format!("{}: {allowed} round trips allowed without a reason", key(m, p)));
        }
    }
    let mut table = String::from("D1 round trips per route (measured / allowed, status):\n");
    let mut histogram = std::collections::BTreeMap::<u32, usize>::new();
    for s in seen {
        let allowed = ALLOWED.iter().find(|(m, p, _, _)| *m == s.method && *p == s.path).map(|r| r.2);
        *histogram.entry(s.trips).or_default() += 1;
        let flag = match allowed {
            Some(a) if s.trips > a => {
                let trips: Vec<String> = s.sql.iter().enumerate().map(|(i, q)| format!("    {}. {q}", i + 1)).collect();
                problems.push(format!(
                    "{}: {} round trips, {a} allowed:\n{}",
                    key(s.method, s.path),
                    s.trips,
                    trips.join("\n")
                ));
                "  OVER BUDGET"
            }
            Some(a) if s.trips < a => "  (lower: tighten the row)",
            _ => "",
        };
        let allowed = allowed.map_or("-".to_owned(), |a| a.to_string());
        table.push_str(&format!(
            "  {:<70} {:>2} / {:>2}  {}{flag}\n",
            key(s.method, s.path),
            s.trips,
            allowed,
            s.status
        ));
    }
    let spread: Vec<String> = histogram.iter().map(|(t, n)| format!("{n} at {t}")).collect();
    table.push_str(&format!("  {} routes: {}\n", seen.len(), spread.join(", ")));
    println!("{table}");
    assert!(problems.is_empty(), "round-trip budget:\n  {}", problems.join("\n  "));
}
