//! SCIM 2.0 provisioning (issue 24), over the real router and SQLite, on a
//! domain verified through the fake DNS resolver: the request sequences Okta
//! and Entra ID send (look up by userName, an empty list, create, deactivate
//! in each one's PATCH dialect) and that access ends with the next request;
//! and the attacks: another org's token, a revoked one, an API key or a
//! session on `/scim/v2` (and a SCIM token anywhere else), an address off
//! the verified domains, the `managed_by_scim` refusals elsewhere, the last
//! owner, two deactivations at once, and groups that stand for roles.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_dns::FakeDns;
use crate::testapp::*;
use latchkey::stmt;
use latchkey::store::sql;
use serde_json::{json, Value};

type Fixture = crate::testapp::Fixture<TestApp>;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

struct Scim {
    f: Fixture,
    dns: FakeDns,
    token: String,
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `owner` adds and verifies `domain` for `org`.
fn verify(f: &Fixture, dns: &FakeDns, owner: &Person, org: &str, domain: &str) {
    let d = f.api().add_domain(owner, org, domain).expect(201).body;
    dns.set_txt(d["txt_name"].as_str().unwrap(), &[d["txt_value"].as_str().unwrap()]);
    f.api().verify_domain(owner, org, d["id"].as_str().unwrap()).expect(200);
}

fn new_token(f: &Fixture, who: &Person, org: &str) -> Resp {
    f.app.call("POST", &format!("/v1/orgs/{org}/scim-tokens"), Some(&access(who)), Some(json!({"name": "Okta"})))
}

/// Acme (owner, admin, member @example.com), `example.com` verified, and a
/// SCIM token of its owner's.
fn acme() -> Scim {
    let dns = FakeDns::start();
    let vars = dns.worker_vars();
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let f = Fixture::new(TestApp::with_config(config_with(&refs))).org_with("Acme", &["admin", "member"]);
    verify(&f, &dns, f.owner(), &f.org, "example.com");
    let created = new_token(&f, f.owner(), &f.org).expect(201).body;
    let token = created["token"].as_str().unwrap().to_owned();
    Scim { f, dns, token }
}

impl Scim {
    /// A SCIM request to this org's endpoints with `token`.
    fn call_as(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.f.app.call(method, &format!("/scim/v2/{}{path}", self.f.org), Some(token), body)
    }
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.call_as(&self.token, method, path, body)
    }
    fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None)
    }
    /// Provisions `email` as Okta's POST does; the new User.
    fn provision(&self, email: &str) -> Value {
        self.call("POST", "/Users", Some(okta_user(email, true))).expect(201).body
    }
    fn deactivate(&self, id: &str) -> Resp {
        let body = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]});
        self.call("PATCH", &format!("/Users/{id}"), Some(body))
    }
    fn role_of(&self, user: &str) -> Option<String> {
        let rows = self.f.app.rows(stmt!(
            "SELECT role FROM org_members WHERE org_id = ?1 AND user_id = ?2",
            self.f.org.as_str(),
            user
        ));
        rows.first().map(|r| r["role"].as_str().unwrap().to_owned())
    }
}

/// A SCIM error: status, `scimType` (if any) and our code, in SCIM's shape.
#[track_caller]
fn expect_scim_error(r: Resp, status: u16, code: &str, scim_type: Option<&str>) -> Value {
    assert_eq!((r.status, r.code()), (status, code), "{}", r.raw);
    assert_eq!(r.header("content-type"), Some("application/scim+json"), "{}", r.raw);
    assert_eq!(r.body["schemas"], json!([ERROR]), "{}", r.raw);
    assert_eq!(r.body["status"], status.to_string(), "SCIM's status is a string: {}", r.raw);
    assert_eq!(r.body["scimType"].as_str(), scim_type, "{}", r.raw);
    r.body
}

/// Okta's POST /Users body (its provisioning guide's shape).
fn okta_user(email: &str, active: bool) -> Value {
    json!({
        "schemas": [USER],
        "userName": email,
        "name": {"givenName": "New", "familyName": "Hire"},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "displayName": "New Hire",
        "locale": "en-US",
        "externalId": "00u1abcd",
        "groups": [],
        "active": active
    })
}

/// Entra ID's POST /Users body (its SCIM guide's shape: capitalised types,
/// the enterprise extension, a mail nickname).
fn entra_user(email: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": external_id,
        "userName": email,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ann Example", "familyName": "Example", "givenName": "Ann"},
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
    })
}

#[test]
fn okta_looks_up_creates_and_deactivates_and_access_ends_with_the_next_request() {
    let s = acme();
    let app = &s.f.app;
    // The person has an account already; the directory provisions them.
    let person = s.f.api().verified("new.hire@example.com");
    let session = access(&person);
    app.get(&format!("/v1/orgs/{}", s.f.org), Some(&session)).expect(404);

    // 1. Okta asks whether the User exists.
    let filter = enc(r#"userName eq "new.hire@example.com""#);
    let found = s.get(&format!("/Users?filter={filter}&startIndex=1&count=100")).expect(200);
    assert_eq!(found.header("content-type"), Some("application/scim+json"));
    assert_eq!(found.body["schemas"], json!([LIST]));
    assert_eq!(found.body["totalResults"], 0);
    assert_eq!(found.body["Resources"], json!([]));

    // 2. It creates it.
    let posted = s.call("POST", "/Users", Some(okta_user("New.Hire@Example.com", true))).expect(201);
    let created = posted.body.clone();
    assert_eq!(posted.header("location"), created["meta"]["location"].as_str(), "201 names where it is");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id, person.id(), "the existing account is the User");
    assert_eq!(created["userName"], "new.hire@example.com");
    assert_eq!(created["active"], true);
    assert_eq!(created["externalId"], "00u1abcd");
    assert_eq!(created["name"]["givenName"], "New");
    assert_eq!(created["roles"], json!([{"value": "member", "primary": true}]));
    assert_eq!(created["meta"]["location"], format!("http://app.test/scim/v2/{}/Users/{id}", s.f.org));
    assert_eq!(s.role_of(&id).as_deref(), Some("member"));
    // The person's next request sees the org.
    app.get(&format!("/v1/orgs/{}", s.f.org), Some(&session)).expect(200);
    // Found by its userName (case-insensitively) and by its id.
    let found = s.get(&format!("/Users?filter={}", enc(r#"userName eq "NEW.HIRE@example.com""#))).expect(200).body;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    s.get(&format!("/Users/{id}")).expect(200);

    // 3. Okta deactivates: `replace` without a path, a value object.
    let off = s.deactivate(&id).expect(200).body;
    assert_eq!(off["active"], false);
    assert!(off.get("roles").is_none(), "no membership, no role: {off}");
    // Access ends with the next request: the same live session.
    app.get(&format!("/v1/orgs/{}", s.f.org), Some(&session)).expect_problem(404, "not_found");
    assert_eq!(s.role_of(&id), None);
    // The resource stays, inactive, for the directory.
    assert_eq!(s.get(&format!("/Users/{id}")).expect(200).body["active"], false);

    // Okta reactivates with a PUT of the whole User.
    let back = s.call("PUT", &format!("/Users/{id}"), Some(okta_user("new.hire@example.com", true))).expect(200).body;
    assert_eq!(back["active"], true);
    app.get(&format!("/v1/orgs/{}", s.f.org), Some(&session)).expect(200);

    // Every change is in the org's log, the token its actor.
    let log = s.f.api().audit_log(s.f.owner(), s.f.tenant()).expect(200).body;
    let by_token: Vec<&Value> =
        log["data"].as_array().unwrap().iter().filter(|e| e["actor"]["kind"] == "scim_token").collect();
    let actions: Vec<&str> = by_token.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in
        ["scim_user.created", "member.joined", "member.removed", "scim_user.deactivated", "scim_user.reactivated"]
    {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let tokens = app.get(&format!("/v1/orgs/{}/scim-tokens", s.f.org), Some(&access(s.f.owner()))).expect(200).body;
    assert_eq!(by_token[0]["actor"]["id"], tokens["data"][0]["id"]);
}

#[test]
fn entra_id_creates_with_an_external_id_and_deactivates_with_a_string_false() {
    let s = acme();
    let app = &s.f.app;
    // Entra's first look-up is by userName (its matching attribute).
    let filter = enc(r#"userName eq "ann@example.com""#);
    assert_eq!(s.get(&format!("/Users?filter={filter}")).expect(200).body["totalResults"], 0);
    // A new person: the account is made by provisioning.
    let created = s.call("POST", "/Users", Some(entra_user("ann@example.com", "58342554-38d6-4ec8"))).expect(201).body;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["displayName"], "Ann Example");
    let account = app.rows(stmt!("SELECT email_verified_at, password_hash FROM users WHERE id = ?1", id.as_str()));
    assert!(account[0]["email_verified_at"].is_i64(), "the org's directory speaks for its verified domain");
    assert!(account[0]["password_hash"].is_null(), "no password is made up");
    // Entra then finds it by externalId.
    let by_ext = s.get(&format!("/Users?filter={}", enc(r#"externalId eq "58342554-38d6-4ec8""#))).expect(200).body;
    assert_eq!(by_ext["Resources"][0]["id"], id.as_str());
    // Entra's attribute update: capitalised ops, paths it sends we ignore.
    let update = json!({"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "name.familyName", "value": "Sample"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann@example.com"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Ops"}
    ]});
    let updated = s.call("PATCH", &format!("/Users/{id}"), Some(update)).expect(200).body;
    assert_eq!(updated["name"]["familyName"], "Sample");
    // The person signs in (a password reset) and reads the org.
    s.f.api().request_password_reset("ann@example.com").expect(202);
    let token = app.token_from_email("ann@example.com", "/reset-password");
    s.f.api().confirm_password_reset(&token, PASSWORD).expect(204);
    let session = access(&s.f.api().login("ann@example.com", PASSWORD).expect(200).body);
    app.get(&format!("/v1/orgs/{}", s.f.org), Some(&session)).expect(200);

    // Entra's deactivation: `Replace`, a path, the string "False".
    let off = json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    assert_eq!(s.call("PATCH", &format!("/Users/{id}"), Some(off.clone())).expect(200).body["active"], false);
    app.get(&format!("/v1/orgs/{}", s.f.org), Some(&session)).expect_problem(404, "not_found");
    // Sent again (Entra retries): nothing more happens.
    assert_eq!(s.call("PATCH", &format!("/Users/{id}"), Some(off)).expect(200).body["active"], false);
    let removed = app.rows(stmt!(
        "SELECT count(*) AS n FROM audit_events WHERE org_id = ?1 AND action = 'member.removed' AND target_id = ?2",
        s.f.org.as_str(),
        id.as_str()
    ));
    assert_eq!(removed[0]["n"], 1, "one removal");
    // Its soft delete then its hard delete: the resource goes, the account stays.
    s.call("DELETE", &format!("/Users/{id}"), None).expect(204);
    expect_scim_error(s.get(&format!("/Users/{id}")), 404, "not_found", None);
    app.login("ann@example.com", PASSWORD).expect(200);
}

#[test]
fn a_token_works_only_on_its_own_org() {
    let s = acme();
    let api = s.f.api();
    let zed = api.verified("zed@zed.example.net");
    let zed_org = api.create_org(&zed, "Zed").expect(201).id();
    verify(&s.f, &s.dns, &zed, &zed_org, "zed.example.net");
    let zed_token = new_token(&s.f, &zed, &zed_org).expect(201).body["token"].as_str().unwrap().to_owned();
    let theirs = s.f.app.call(
        "POST",
        &format!("/scim/v2/{zed_org}/Users"),
        Some(&zed_token),
        Some(okta_user("pat@zed.example.net", true)),
    );
    let pat = theirs.expect(201).id();
    // Acme's token on Zed's endpoints, and Zed's on Acme's: refused alike.
    for (token, org) in [(&s.token, &zed_org), (&zed_token, &s.f.org)] {
        for (method, path, body) in [
            ("GET", "/Users".to_owned(), None),
            ("GET", format!("/Users/{pat}"), None),
            ("POST", "/Users".to_owned(), Some(okta_user("mallory@zed.example.net", true))),
            (
                "PATCH",
                format!("/Users/{pat}"),
                Some(json!({"Operations": [{"op": "replace", "value": {"active": false}}]})),
            ),
            ("DELETE", format!("/Users/{pat}"), None),
            ("GET", "/ServiceProviderConfig".to_owned(), None),
            // A body that is not a JSON object: the token is refused first.
            ("POST", "/Users".to_owned(), Some(json!(["not", "an", "object"]))),
            ("PUT", format!("/Groups/{pat}"), Some(json!("a string"))),
        ] {
            let r = s.f.app.call(method, &format!("/scim/v2/{org}{path}"), Some(token), body);
            expect_scim_error(r, 401, "invalid_scim_token", None);
        }
    }
    // The org's own token gets the body's refusal.
    let r = s.call("POST", "/Users", Some(json!(["not", "an", "object"])));
    assert_eq!(r.status, 400, "{}", r.raw);
    // Zed's User is untouched and Acme's list does not show it.
    assert_eq!(s.get("/Users").expect(200).body["totalResults"], 0);
    let zed_user = s.f.app.call("GET", &format!("/scim/v2/{zed_org}/Users/{pat}"), Some(&zed_token), None);
    assert_eq!(zed_user.expect(200).body["active"], true);
    // A User of Zed's is not found through Acme's own endpoints either.
    expect_scim_error(s.get(&format!("/Users/{pat}")), 404, "not_found", None);
}

#[test]
fn a_revoked_token_stops_at_once_and_only_owners_manage_tokens() {
    let s = acme();
    let app = &s.f.app;
    let base = format!("/v1/orgs/{}/scim-tokens", s.f.org);
    let listed = app.get(&base, Some(&access(s.f.owner()))).expect(200).body;
    let t = &listed["data"][0];
    assert!(t.get("token").is_none(), "never shown again: {t}");
    assert_eq!(t["start"], s.token[..14]);
    assert_eq!(t["base_url"], format!("http://app.test/scim/v2/{}", s.f.org));
    let stored = app.rows(stmt!("SELECT token_hash FROM scim_tokens WHERE org_id = ?1", s.f.org.as_str()));
    assert_ne!(stored[0]["token_hash"], s.token.as_str(), "stored as a digest");
    // Admins and members neither create, list nor revoke.
    for who in [s.f.admin(), s.f.member()] {
        new_token(&s.f, who, &s.f.org).expect_problem(403, "forbidden");
        app.get(&base, Some(&access(who))).expect_problem(403, "forbidden");
        let id = t["id"].as_str().unwrap();
        app.call("DELETE", &format!("{base}/{id}"), Some(&access(who)), None).expect_problem(403, "forbidden");
    }
    s.get("/Users").expect(200);
    app.call("DELETE", &format!("{base}/{}", t["id"].as_str().unwrap()), Some(&access(s.f.owner())), None).expect(204);
    expect_scim_error(s.get("/Users"), 401, "invalid_scim_token", None);
    expect_scim_error(
        s.call("POST", "/Users", Some(okta_user("x@example.com", true))),
        401,
        "invalid_scim_token",
        None,
    );
    assert!(app.rows(stmt!("SELECT id FROM users WHERE email = 'x@example.com'")).is_empty());
    // A token with a typo fails its checksum before any database read.
    let mut typo = s.token.clone();
    typo.replace_range(20..21, if &typo[20..21] == "a" { "b" } else { "a" });
    expect_scim_error(s.call_as(&typo, "GET", "/Users", None), 401, "invalid_scim_token", None);
    let revoked = app.rows(stmt!(
        "SELECT actor_kind FROM audit_events WHERE org_id = ?1 AND action = 'scim_token.revoked'",
        s.f.org.as_str()
    ));
    assert_eq!(revoked[0]["actor_kind"], "user");
}

#[test]
fn an_api_key_or_a_session_never_works_on_scim_and_a_scim_token_nowhere_else() {
    let s = acme();
    let app = &s.f.app;
    let key = s.f.api().create_key(s.f.owner(), &s.f.org, "everything", &["org:read"]);
    let key = key.expect(201).body["key"].as_str().unwrap().to_owned();
    for bearer in [key.as_str(), &access(s.f.owner())] {
        expect_scim_error(s.call_as(bearer, "GET", "/Users", None), 401, "invalid_scim_token", None);
        let r = s.call_as(bearer, "POST", "/Users", Some(okta_user("kim@example.com", true)));
        expect_scim_error(r, 401, "invalid_scim_token", None);
    }
    expect_scim_error(
        app.call("GET", &format!("/scim/v2/{}/Users", s.f.org), None, None),
        401,
        "unauthenticated",
        None,
    );
    // The SCIM token on the API: refused, whatever the route.
    for (method, path) in [
        ("GET", format!("/v1/orgs/{}", s.f.org)),
        ("GET", format!("/v1/orgs/{}/members", s.f.org)),
        ("GET", "/v1/me".to_owned()),
        ("GET", "/v1/api-keys/current".to_owned()),
    ] {
        app.call(method, &path, Some(&s.token), None).expect_problem(401, "invalid_scim_token");
    }
    // Nor in a query string, where it would land in logs.
    let r = app.call("GET", &format!("/scim/v2/{}/Users?token={}", s.f.org, s.token), Some(&s.token), None);
    expect_scim_error(r, 400, "api_key_in_url", None);
}

#[test]
fn only_addresses_on_the_orgs_verified_domains_are_provisioned() {
    let s = acme();
    let app = &s.f.app;
    s.f.api().add_domain(s.f.owner(), &s.f.org, "pending.example.org").expect(201);
    for email in ["eve@elsewhere.test", "eve@pending.example.org", "eve@sub.example.com", "not-an-address"] {
        let r = s.call("POST", "/Users", Some(okta_user(email, true)));
        expect_scim_error(r, 400, "scim_invalid_value", Some("invalidValue"));
    }
    assert!(app.rows(stmt!("SELECT id FROM users WHERE email LIKE 'eve@%'")).is_empty(), "nothing made");
    // No userName, a body that is not JSON, a filter we do not take.
    let r = s.call("POST", "/Users", Some(json!({"schemas": [USER], "active": true})));
    expect_scim_error(r, 400, "scim_invalid_value", Some("invalidValue"));
    let raw = app.send(
        "POST",
        &format!("/scim/v2/{}/Users", s.f.org),
        Some(&s.token),
        &[("content-type", "application/scim+json")],
        b"{\"userName\": ",
    );
    expect_scim_error(raw, 400, "invalid_json", Some("invalidSyntax"));
    let r = s.get(&format!("/Users?filter={}", enc(r#"userName sw "a""#)));
    expect_scim_error(r, 400, "scim_invalid_filter", Some("invalidFilter"));
    // The same address twice: uniqueness.
    s.provision("kim@example.com");
    expect_scim_error(
        s.call("POST", "/Users", Some(okta_user("KIM@example.com", true))),
        409,
        "scim_uniqueness",
        Some("uniqueness"),
    );
    // userName is immutable.
    let kim = s.get(&format!("/Users?filter={}", enc(r#"userName eq "kim@example.com""#))).expect(200).body;
    let kim = kim["Resources"][0]["id"].as_str().unwrap().to_owned();
    let r = s.call("PUT", &format!("/Users/{kim}"), Some(okta_user("kim2@example.com", true)));
    expect_scim_error(r, 400, "scim_mutability", Some("mutability"));
}

#[test]
fn scim_managed_members_are_read_only_elsewhere() {
    let s = acme();
    let api = s.f.api();
    let ann = api.verified("ann@example.com");
    let id = s.provision("ann@example.com")["id"].as_str().unwrap().to_owned();
    let owner = s.f.owner();
    api.change_role(owner, s.f.tenant(), &id, "admin").expect_problem(409, "managed_by_scim");
    api.remove_member(owner, s.f.tenant(), &id).expect_problem(409, "managed_by_scim");
    api.transfer_ownership(owner, &s.f.org, &id).expect_problem(409, "managed_by_scim");
    api.remove_member(&ann, s.f.tenant(), "me").expect_problem(409, "managed_by_scim");
    assert_eq!(s.role_of(&id).as_deref(), Some("member"), "nothing changed");
    // The statements hold it too (a decision made before SCIM took the member).
    let org = s.f.org.as_str();
    let db = s.f.app.db.as_ref();
    let owner_id = owner.id();
    let change = stmt!(sql::CHANGE_ROLE, org, id.as_str(), "admin", "member", owner_id.as_str(), "owner");
    let remove = stmt!(sql::REMOVE_MEMBER, org, id.as_str(), "member", owner_id.as_str(), "owner");
    let leave = stmt!(sql::LEAVE_ORG, org, id.as_str());
    let out = pollster::block_on(latchkey::store::Db::batch(db, vec![change, remove, leave])).unwrap();
    assert_eq!((out[0].changes, out[1].changes, out[2].changes), (0, 0, 0));
    // Members the directory does not manage are changed as before.
    let member = s.f.member().id();
    api.change_role(owner, s.f.tenant(), &member, "admin").expect(200);
    // With every SCIM token revoked the directory speaks for nobody: owners
    // manage its members again; a new token takes them back.
    let path = format!("/v1/orgs/{}/scim-tokens", s.f.org);
    let tokens = s.f.app.get(&path, Some(&access(owner))).expect(200).body;
    let token_id = tokens["data"][0]["id"].as_str().unwrap().to_owned();
    s.f.app.call("DELETE", &format!("{path}/{token_id}"), Some(&access(owner)), None).expect(204);
    api.change_role(owner, s.f.tenant(), &id, "admin").expect(200);
    assert_eq!(s.role_of(&id).as_deref(), Some("admin"));
    api.remove_member(owner, s.f.tenant(), &id).expect(204);
    assert_eq!(s.role_of(&id), None);
    let token = new_token(&s.f, owner, &s.f.org).expect(201).body["token"].as_str().unwrap().to_owned();
    // The directory, connected again, still says active: the person is let
    // back in, and managed again.
    let user = s.call_as(&token, "GET", &format!("/Users/{id}"), None).expect(200).body;
    assert_eq!(user["active"], true);
    let on = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": true}]});
    s.call_as(&token, "PATCH", &format!("/Users/{id}"), Some(on)).expect(200);
    assert_eq!(s.role_of(&id).as_deref(), Some("member"));
    api.change_role(owner, s.f.tenant(), &id, "member").expect_problem(409, "managed_by_scim");
    let out =
        pollster::block_on(latchkey::store::Db::batch(db, vec![stmt!(sql::LEAVE_ORG, org, id.as_str())])).unwrap();
    assert_eq!(out[0].changes, 0, "the statements hold it again");
    // Once deprovisioned, the person may be invited back and managed here.
    let off = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]});
    s.call_as(&token, "PATCH", &format!("/Users/{id}"), Some(off)).expect(200);
    let inv = api.invite(owner, s.f.tenant(), "ann@example.com", "member").expect(201).body;
    assert_eq!(inv["email"], "ann@example.com");
}

#[test]
fn the_last_owner_is_never_deprovisioned_and_two_deactivations_at_once_remove_once() {
    let s = acme();
    let owner = s.f.owner().id();
    // Provisioned as inactive (a directory's first sync of a suspended
    // account): refused, and no User is made.
    let inactive = s.call("POST", "/Users", Some(okta_user("owner@example.com", false)));
    expect_scim_error(inactive, 409, "last_owner", None);
    assert_eq!(s.role_of(&owner).as_deref(), Some("owner"));
    expect_scim_error(s.get(&format!("/Users/{owner}")), 404, "not_found", None);
    // The owner is provisioned: an existing member keeps their role.
    let created = s.provision("owner@example.com");
    assert_eq!(created["roles"][0]["value"], "owner");
    let r = s.deactivate(&owner);
    let body = expect_scim_error(r, 409, "last_owner", None);
    assert!(body["detail"].as_str().unwrap().contains("last owner"), "{body}");
    expect_scim_error(s.call("DELETE", &format!("/Users/{owner}"), None), 409, "last_owner", None);
    assert_eq!(s.role_of(&owner).as_deref(), Some("owner"));
    assert_eq!(s.get(&format!("/Users/{owner}")).expect(200).body["active"], true, "nothing changed");
    // A PATCH that changes attributes and deactivates: refused whole, the
    // attributes stay as they were, and nothing is audited.
    let both = json!({"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "externalId", "value": "00uNEW"},
        {"op": "replace", "path": "name.givenName", "value": "Changed"},
        {"op": "replace", "path": "active", "value": false}]});
    let before = s.get(&format!("/Users/{owner}")).expect(200).body;
    expect_scim_error(s.call("PATCH", &format!("/Users/{owner}"), Some(both)), 409, "last_owner", None);
    assert_eq!(s.get(&format!("/Users/{owner}")).expect(200).body, before, "nothing of the refused PATCH is kept");
    let log = s.f.api().audit_log(s.f.owner(), s.f.tenant()).expect(200).body;
    assert!(!log["data"].as_array().unwrap().iter().any(|e| e["action"] == "scim_user.updated"), "{log}");

    // Two owners, both managed, deactivated at once: each deactivation was
    // decided while both were owners; in whichever order their batches
    // run, the second removes nothing and leaves its User active.
    let second = s.f.admin().id();
    s.f.app.rows(stmt!(
        "UPDATE org_members SET role = 'owner' WHERE org_id = ?1 AND user_id = ?2",
        s.f.org.as_str(),
        second.as_str()
    ));
    s.provision("admin@example.com");
    let org = s.f.org.as_str();
    let db = s.f.app.db.as_ref();
    let now = s.f.app.clock_now();
    let batch = |user: &str| {
        vec![
            stmt!(sql::SCIM_REMOVE_MEMBER, org, user),
            stmt!(sql::SCIM_DEACTIVATE, org, user, now),
            stmt!("SELECT active FROM scim_users WHERE org_id = ?1 AND user_id = ?2", org, user),
        ]
    };
    let first = pollster::block_on(latchkey::store::Db::batch(db, batch(&owner))).unwrap();
    let other = pollster::block_on(latchkey::store::Db::batch(db, batch(&second))).unwrap();
    assert_eq!((first[0].changes, first[1].changes), (1, 1));
    assert_eq!((other[0].changes, other[1].changes), (0, 0), "the org keeps its last owner");
    assert_eq!(other[2].rows[0]["active"], 1);
    // Through the API, the second answers 409 and the first is inactive.
    expect_scim_error(s.deactivate(&second), 409, "last_owner", None);
    assert_eq!(s.get(&format!("/Users/{owner}")).expect(200).body["active"], false);

    // The same member deactivated twice at once: one removal, both batches succeed.
    let kim = s.provision("kim@example.com")["id"].as_str().unwrap().to_owned();
    let a = pollster::block_on(latchkey::store::Db::batch(db, batch(&kim))).unwrap();
    let b = pollster::block_on(latchkey::store::Db::batch(db, batch(&kim))).unwrap();
    assert_eq!((a[0].changes, a[1].changes, b[0].changes, b[1].changes), (1, 1, 0, 0));
    // Over HTTP, twice in a row: both 200, inactive.
    let lee = s.provision("lee@example.com")["id"].as_str().unwrap().to_owned();
    assert_eq!(s.deactivate(&lee).expect(200).body["active"], false);
    assert_eq!(s.deactivate(&lee).expect(200).body["active"], false);
}

#[test]
fn groups_named_like_roles_give_them_and_the_highest_wins() {
    let s = acme();
    let api = s.f.api();
    api.create_role(s.f.owner(), &s.f.org, "billing-viewer", &["org:read", "members:read"]).expect(201);
    let ann = s.provision("ann@example.com")["id"].as_str().unwrap().to_owned();
    let bob = s.provision("bob@example.com")["id"].as_str().unwrap().to_owned();
    let owner = s.provision("owner@example.com")["id"].as_str().unwrap().to_owned();

    // Okta's group push: the group, then its members.
    let admins = s
        .call("POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "Admin", "members": [{"value": ann}]})))
        .expect(201)
        .body;
    let admins = admins["id"].as_str().unwrap().to_owned();
    assert_eq!(s.role_of(&ann).as_deref(), Some("admin"));
    let billing = s
        .call("POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "Billing-Viewer", "members": []})))
        .expect(201)
        .id();
    let add = |group: &str, user: &str| {
        let body =
            json!({"schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": [{"value": user}]}]});
        s.call("PATCH", &format!("/Groups/{group}"), Some(body)).expect(200).body
    };
    let g = add(&billing, &bob);
    assert_eq!(g["members"][0]["value"], bob.as_str());
    assert_eq!(s.role_of(&bob).as_deref(), Some("billing-viewer"));
    // In both: admin wins.
    add(&admins, &bob);
    assert_eq!(s.role_of(&bob).as_deref(), Some("admin"));
    // Each change is audited with the role it had and the one it got; a
    // group change that leaves the role as it was writes nothing.
    let changes_of = |user: &str| -> Vec<(String, String)> {
        let log = s.f.api().audit_log(s.f.owner(), s.f.tenant()).expect(200).body;
        let mut seen: Vec<(String, String)> = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "member.role_changed" && e["target"]["id"] == user)
            .map(|e| {
                assert_eq!((&e["data"]["via"], &e["data"]["reason"]), (&json!("scim"), &json!("groups")), "{e}");
                (e["data"]["from"].as_str().unwrap().to_owned(), e["data"]["to"].as_str().unwrap().to_owned())
            })
            .collect();
        seen.reverse();
        seen
    };
    let expected =
        [("member", "billing-viewer"), ("billing-viewer", "admin")].map(|(a, b)| (a.to_owned(), b.to_owned()));
    assert_eq!(changes_of(&bob), expected);
    add(&admins, &bob);
    assert_eq!(changes_of(&bob).len(), 2, "adding bob again changes nothing");
    // Okta's removal form.
    let okta_remove =
        json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": format!("members[value eq \"{bob}\"]")}]});
    s.call("PATCH", &format!("/Groups/{admins}"), Some(okta_remove)).expect(200);
    assert_eq!(s.role_of(&bob).as_deref(), Some("billing-viewer"));
    // Entra's removal form.
    let entra_remove =
        json!({"schemas": [PATCH], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": ann}]}]});
    s.call("PATCH", &format!("/Groups/{admins}"), Some(entra_remove)).expect(200);
    assert_eq!(s.role_of(&ann).as_deref(), Some("member"));
    // The role is what /v1 shows and what decides.
    let members = api.members(s.f.owner(), s.f.tenant()).expect(200).body;
    let row = members["data"].as_array().unwrap().iter().find(|m| m["user_id"] == bob.as_str()).unwrap().clone();
    assert_eq!(row["role"], "billing-viewer");
    // Other names give nothing; no group makes or unmakes an owner.
    let eng = s.call("POST", "/Groups", Some(json!({"displayName": "Engineering", "members": [{"value": ann}]})));
    eng.expect(201);
    assert_eq!(s.role_of(&ann).as_deref(), Some("member"));
    s.call("POST", "/Groups", Some(json!({"displayName": "owner", "members": [{"value": ann}]}))).expect(201);
    assert_eq!(s.role_of(&ann).as_deref(), Some("member"));
    add(&billing, &owner);
    assert_eq!(s.role_of(&owner).as_deref(), Some("owner"));
    // Renaming a group changes what it gives; deleting it takes it back.
    let rename = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"id": billing, "displayName": "admin"}}]});
    expect_scim_error(
        s.call("PATCH", &format!("/Groups/{billing}"), Some(rename)),
        409,
        "scim_uniqueness",
        Some("uniqueness"),
    );
    s.call("DELETE", &format!("/Groups/{billing}"), None).expect(204);
    assert_eq!(s.role_of(&bob).as_deref(), Some("member"));
    // A group's members are Users of this org only.
    let stranger = s.f.api().verified("stranger@example.com").id();
    let g =
        s.call("POST", "/Groups", Some(json!({"displayName": "member", "members": [{"value": stranger}]}))).expect(201);
    assert_eq!(g.body["members"], json!([]));
    // Found by displayName, case-insensitively; listed.
    let found = s.get(&format!("/Groups?filter={}", enc(r#"displayName eq "ADMIN""#))).expect(200).body;
    assert_eq!(found["Resources"][0]["id"], admins.as_str());
    assert_eq!(s.get("/Groups?startIndex=1&count=2").expect(200).body["totalResults"], 4);
    // A deprovisioned member who comes back gets the role of their groups.
    add(&admins, &ann);
    s.deactivate(&ann).expect(200);
    assert_eq!(s.role_of(&ann), None);
    let on = json!({"Operations": [{"op": "Replace", "path": "active", "value": "True"}]});
    s.call("PATCH", &format!("/Users/{ann}"), Some(on)).expect(200);
    assert_eq!(s.role_of(&ann).as_deref(), Some("admin"));
}

#[test]
fn discovery_endpoints_describe_what_is_supported() {
    let s = acme();
    let spc = s.get("/ServiceProviderConfig").expect(200).body;
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    let types = s.get("/ResourceTypes").expect(200).body;
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    let schemas = s.get("/Schemas").expect(200).body;
    assert_eq!(schemas["Resources"][0]["id"], USER);
    // Paging of Users: startIndex is 1-based, count at most 100.
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        s.provision(email);
        s.f.app.advance(1);
    }
    let page = s.get("/Users?startIndex=2&count=1").expect(200).body;
    assert_eq!(
        (page["totalResults"].as_i64(), page["startIndex"].as_i64(), page["itemsPerPage"].as_i64()),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(page["Resources"][0]["userName"], "b@example.com");
}

/// A group push larger than one request may carry is a clear 400, never a
/// 500 from the database's statement limit; the directory sends the rest in
/// another request.
#[test]
fn a_group_change_beyond_the_per_request_cap_is_a_clear_400() {
    let s = acme();
    let ann = s.provision("ann@example.com")["id"].as_str().unwrap().to_owned();
    let many: Vec<Value> = (0..250).map(|n| json!({"value": format!("usr_{n:032x}")})).collect();
    let body = json!({"schemas": [GROUP], "displayName": "Everyone", "members": many});
    expect_scim_error(s.call("POST", "/Groups", Some(body)), 400, "scim_invalid_value", Some("invalidValue"));
    let group = s
        .call("POST", "/Groups", Some(json!({"schemas": [GROUP], "displayName": "Admin", "members": [{"value": ann}]})))
        .expect(201)
        .id();
    let add = json!({"schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": many}]});
    expect_scim_error(
        s.call("PATCH", &format!("/Groups/{group}"), Some(add)),
        400,
        "scim_invalid_value",
        Some("invalidValue"),
    );
    assert_eq!(s.role_of(&ann).as_deref(), Some("admin"), "a refused change changes nothing");
}

/// Deprovisioning goes by the membership, not by the resource: a person
/// provisioned inactive while already a member, or let back in some other
/// way after a deactivation, is removed when the directory says so.
#[test]
fn the_directory_removes_a_member_whatever_let_them_in() {
    let s = acme();
    // Provisioned inactive: the member the fixture invited is removed.
    let member = s.f.member().id();
    let made = s.call("POST", "/Users", Some(okta_user("member@example.com", false))).expect(201).body;
    assert_eq!((made["id"].as_str(), made["active"].as_bool()), (Some(member.as_str()), Some(false)));
    assert_eq!(s.role_of(&member), None, "the directory said no");
    // Deactivated, let back in some other way (here the row a join link or
    // an invitation would write), deactivated again: out again.
    let ann = s.provision("ann@example.com")["id"].as_str().unwrap().to_owned();
    s.deactivate(&ann).expect(200);
    assert_eq!(s.role_of(&ann), None);
    s.f.app.rows(stmt!(
        "INSERT INTO org_members (org_id, user_id, role, joined_at, joined_via) VALUES (?1, ?2, 'member', 1, 'join_link')",
        s.f.org.as_str(),
        ann.as_str()
    ));
    assert_eq!(s.role_of(&ann).as_deref(), Some("member"), "back in");
    s.deactivate(&ann).expect(200);
    assert_eq!(s.role_of(&ann), None, "the directory's second no removes them again");
}

/// A stranger signed up first on an address of the org's verified domain and
/// never verified it: the directory, which speaks for the domain, claims the
/// account. The stranger's password, sessions and links end in the same
/// batch, and the claim is in the account's own log (`account.claimed`).
#[test]
fn a_strangers_unverified_sign_up_on_a_provisioned_address_is_claimed_and_the_claim_audited() {
    let s = acme();
    let app = &s.f.app;
    let api = s.f.api();
    api.signup("hire@example.com", "stranger's password 1", "Stranger").expect(202);
    let held = app.rows(stmt!("SELECT id FROM users WHERE email = ?1", "hire@example.com"));
    let held_id = held[0]["id"].as_str().unwrap().to_owned();
    let claims = || {
        app.rows(stmt!(
            "SELECT actor_kind, actor_id, data FROM audit_events WHERE action = 'account.claimed' AND target_id = ?1",
            held_id.as_str()
        ))
    };
    assert!(claims().is_empty());

    let created = s.provision("hire@example.com");
    assert_eq!(created["id"], held_id.as_str(), "the unverified account is the User");
    assert_eq!(s.role_of(&held_id).as_deref(), Some("member"));
    let row = &app.rows(stmt!("SELECT password_hash, email_verified_at FROM users WHERE id = ?1", held_id.as_str()))[0];
    assert!(row["password_hash"].is_null(), "the stranger's password is gone: {row}");
    assert!(!row["email_verified_at"].is_null(), "the directory vouched for the address: {row}");
    api.login("hire@example.com", "stranger's password 1").expect_problem(401, "invalid_credentials");

    let claimed = claims();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    assert_eq!(
        (claimed[0]["actor_kind"].as_str(), claimed[0]["actor_id"].as_str()),
        (Some("user"), Some(held_id.as_str()))
    );
    let data: Value = serde_json::from_str(claimed[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(data, json!({"org_id": s.f.org, "reason": "scim_provisioned"}));
    // Provisioned again (a PUT, or another POST): nothing more is claimed.
    s.call("PUT", &format!("/Users/{held_id}"), Some(okta_user("hire@example.com", true))).expect(200);
    assert_eq!(claims().len(), 1);
}
