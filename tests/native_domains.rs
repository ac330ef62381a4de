//! Verified domains (issue 21) over the real router and SQLite, against a
//! fake DNS-over-HTTPS resolver on a loopback port (tests/support/fake_dns.rs):
//! the TXT proof, exact names, one org per verified domain, consumer mail
//! domains, the daily re-check and lapse, enrollment (who may set what),
//! auto-join at verification and sign-in (once, verified addresses only,
//! OAuth only with a provider-verified address) and suggestions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_dns::FakeDns;
use crate::fake_provider::{FakeProvider, FakeUser};
use crate::testapp::*;
use latchkey::stmt;
use serde_json::{json, Value};

type Fixture = crate::testapp::Fixture<TestApp>;

const DAY: i64 = 86_400;

fn app_with(dns: &FakeDns, extra: &[(String, String)]) -> TestApp {
    let mut vars = dns.worker_vars();
    vars.extend_from_slice(extra);
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestApp::with_config(config_with(&refs))
}

/// Acme (owner, admin, member: all @example.com) on an app asking `dns`.
fn acme(dns: &FakeDns) -> Fixture {
    Fixture::new(app_with(dns, &[])).org_with("Acme", &["admin", "member"])
}

/// Adds `domain` to the fixture's org as its owner: the 201 body.
fn add(f: &Fixture, domain: &str) -> Value {
    f.api().add_domain(f.owner(), &f.org, domain).expect(201).body
}

/// Adds, publishes the record and verifies `domain`, with `enrollment` and `role`.
fn verified(f: &Fixture, dns: &FakeDns, domain: &str, enrollment: &str, role: &str) -> String {
    let d = add(f, domain);
    dns.set_txt(d["txt_name"].as_str().unwrap(), &[d["txt_value"].as_str().unwrap()]);
    let id = d["id"].as_str().unwrap().to_owned();
    f.api().verify_domain(f.owner(), &f.org, &id).expect(200);
    f.api().update_domain(f.owner(), &f.org, &id, json!({"enrollment": enrollment, "role": role})).expect(200);
    id
}

/// `(role, joined_via)` of `user` in `org`, if a member.
fn membership(app: &TestApp, org: &str, user: &str) -> Option<(String, Option<String>)> {
    let rows =
        app.rows(stmt!("SELECT role, joined_via FROM org_members WHERE org_id = ?1 AND user_id = ?2", org, user));
    rows.first().map(|r| (r["role"].as_str().unwrap().to_owned(), r["joined_via"].as_str().map(str::to_owned)))
}

fn actions(f: &Fixture) -> Vec<Value> {
    let log = f.api().audit_log(f.owner(), f.tenant()).expect(200).body;
    log["data"].as_array().unwrap().clone()
}

fn action_names(f: &Fixture) -> Vec<String> {
    actions(f).iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_domain_is_pending_until_its_txt_record_is_found_and_the_answer_says_what_was() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    let d = add(&f, "  Acme.TEST. ");
    let id = d["id"].as_str().unwrap();
    assert!(id.starts_with("dom_"), "{d}");
    assert_eq!(d["domain"], "acme.test");
    assert_eq!(d["state"], "pending");
    assert_eq!(d["txt_name"], "_latchkey-verification.acme.test");
    let value = d["txt_value"].as_str().unwrap();
    assert!(value.starts_with("latchkey-verification=") && value.len() > 40, "{value}");
    assert_eq!((d["enrollment"].as_str(), d["role"].as_str()), (Some("none"), Some("member")));

    // Nothing published: NXDOMAIN.
    let r = f.api().verify_domain(f.owner(), &f.org, id).expect_problem(422, "domain_not_verified");
    assert!(r.body["detail"].as_str().unwrap().contains("no TXT record"), "{}", r.raw);
    // Someone else's value: quoted back.
    dns.set_txt("_latchkey-verification.acme.test", &["latchkey-verification=0000", "v=spf1 -all"]);
    let r = f.api().verify_domain(f.owner(), &f.org, id).expect_problem(422, "domain_not_verified");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("\"latchkey-verification=0000\"") && detail.contains("v=spf1 -all"), "{detail}");
    // The value on the apex, not at the label, proves nothing either.
    dns.set_txt("acme.test", &[value]);
    f.api().verify_domain(f.owner(), &f.org, id).expect_problem(422, "domain_not_verified");
    assert_eq!(f.api().domain(f.owner(), &f.org, id).expect(200).body["state"], "pending");
    // A resolver that cannot say changes nothing.
    dns.set_txt("_latchkey-verification.acme.test", &["v=spf1 -all", value]);
    dns.fail(true);
    f.api().verify_domain(f.owner(), &f.org, id).expect_problem(422, "domain_not_verified");
    dns.fail(false);

    let v = f.api().verify_domain(f.owner(), &f.org, id).expect(200).body;
    assert_eq!(v["state"], "verified");
    assert!(v["verified_at"].is_string() && v["checked_at"].is_string(), "{v}");
    // Verifying a verified domain answers as it is.
    assert_eq!(f.api().verify_domain(f.owner(), &f.org, id).expect(200).body, v);
    assert!(dns.asked().iter().all(|n| n == "_latchkey-verification.acme.test"), "{:?}", dns.asked());
    let list = f.api().domains(f.admin(), &f.org).expect(200).body;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(action_names(&f)[..2], ["domain.verified", "domain.added"]);
    let added = &actions(&f)[1];
    assert_eq!(
        (added["target"]["kind"].as_str(), added["data"]["domain"].as_str()),
        (Some("domain"), Some("acme.test"))
    );
}

#[test]
fn names_are_exact_hosts_and_a_subdomain_is_its_own_domain() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    for bad in
        ["*.acme.test", "acme", "acme..test", "https://acme.test", "ada@acme.test", "10.0.0.1", "bücher.test", ""]
    {
        let r = f.api().add_domain(f.owner(), &f.org, bad).expect_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "domain", "{bad:?}: {}", r.raw);
    }
    let apex = verified(&f, &dns, "acme.test", "auto_join", "member");
    // The apex's record does not verify a subdomain, nor joins its people.
    let sub = add(&f, "eu.acme.test");
    let sub_id = sub["id"].as_str().unwrap();
    f.api().verify_domain(f.owner(), &f.org, sub_id).expect_problem(422, "domain_not_verified");
    let eu = f.api().verified("bo@eu.acme.test");
    assert_eq!(membership(&f.app, &f.org, &eu.id()), None, "a subdomain's address is not on the apex");
    // The same name twice, however written.
    f.api().add_domain(f.owner(), &f.org, "ACME.test").expect_problem(409, "domain_exists");
    assert_ne!(apex, sub_id);
}

#[test]
fn consumer_mail_domains_are_refused() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    for d in ["gmail.com", "Outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me"] {
        f.api().add_domain(f.owner(), &f.org, d).expect_problem(422, "public_email_domain");
    }
    // A stranger's 422 would tell them something: they get the 404 first.
    let stranger = f.api().verified("eve@example.org");
    f.api().add_domain(&stranger, &f.org, "gmail.com").expect_problem(404, "not_found");
}

#[test]
fn one_org_per_verified_domain_even_when_both_had_it_pending() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    let rival_owner = f.api().verified("rival@example.org");
    let rival = f.api().create_org(&rival_owner, "Rival").expect(201).id();
    // Both add it while nobody has verified it; each gets its own value.
    let ours = add(&f, "acme.test");
    let theirs = f.api().add_domain(&rival_owner, &rival, "acme.test").expect(201).body;
    assert_ne!(ours["txt_value"], theirs["txt_value"]);
    dns.set_txt(
        "_latchkey-verification.acme.test",
        &[ours["txt_value"].as_str().unwrap(), theirs["txt_value"].as_str().unwrap()],
    );
    f.api().verify_domain(f.owner(), &f.org, ours["id"].as_str().unwrap()).expect(200);
    let their_id = theirs["id"].as_str().unwrap();
    f.api().verify_domain(&rival_owner, &rival, their_id).expect_problem(409, "domain_claimed");
    assert_eq!(f.api().domain(&rival_owner, &rival, their_id).expect(200).body["state"], "pending");
    // Adding it anew is refused too.
    let third = f.api().verified("third@example.org");
    let third_org = f.api().create_org(&third, "Third").expect(201).id();
    f.api().add_domain(&third, &third_org, "acme.test").expect_problem(409, "domain_claimed");
    // Whatever the statements' guards: the index holds the rule in the database.
    let raced = pollster::block_on(latchkey::store::Db::run(
        f.app.db.as_ref(),
        stmt!("UPDATE org_domains SET state = 'verified' WHERE id = ?1", their_id),
    ));
    assert!(matches!(raced, Err(latchkey::store::DbError::Unique(_))), "{raced:?}");
    // Removed by its holder, it is free to verify.
    f.api().delete_domain(f.owner(), &f.org, ours["id"].as_str().unwrap()).expect(204);
    f.api().verify_domain(&rival_owner, &rival, their_id).expect(200);
}

#[test]
fn members_and_strangers_do_not_manage_domains() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    let id = add(&f, "acme.test")["id"].as_str().unwrap().to_owned();
    let api = f.api();
    api.add_domain(f.member(), &f.org, "other.test").expect_problem(403, "forbidden");
    api.domains(f.member(), &f.org).expect_problem(403, "forbidden");
    api.verify_domain(f.member(), &f.org, &id).expect_problem(403, "forbidden");
    api.update_domain(f.member(), &f.org, &id, json!({"enrollment": "suggest"})).expect_problem(403, "forbidden");
    api.delete_domain(f.member(), &f.org, &id).expect_problem(403, "forbidden");
    let stranger = api.verified("eve@example.org");
    api.domain(&stranger, &f.org, &id).expect_problem(404, "not_found");
    // Another org's domain is not found in yours.
    let own = api.create_org(&stranger, "Eve's").expect(201).id();
    api.domain(&stranger, &own, &id).expect_problem(404, "not_found");
    api.delete_domain(&stranger, &own, &id).expect_problem(404, "not_found");
    // Admins manage them.
    api.domain(f.admin(), &f.org, &id).expect(200);
    api.delete_domain(f.admin(), &f.org, &id).expect(204);
    api.domain(f.admin(), &f.org, &id).expect_problem(404, "not_found");
    assert_eq!(action_names(&f)[0], "domain.removed");
    assert_eq!(actions(&f)[0]["data"]["domain"], "acme.test");
}

#[test]
fn only_an_owner_has_a_domain_auto_join_people_as_admin() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    let id = verified(&f, &dns, "acme.test", "none", "member");
    let api = f.api();
    let set = |who: &Person, body: Value| api.update_domain(who, &f.org, &id, body);
    set(f.admin(), json!({"enrollment": "auto_join", "role": "admin"})).expect_problem(403, "forbidden");
    // Step by step is no way round it.
    set(f.admin(), json!({"role": "admin"})).expect(200);
    set(f.admin(), json!({"enrollment": "auto_join"})).expect_problem(403, "forbidden");
    set(f.admin(), json!({"enrollment": "auto_join", "role": "member"})).expect(200);
    set(f.admin(), json!({"role": "admin"})).expect_problem(403, "forbidden");
    let d = set(f.owner(), json!({"role": "admin"})).expect(200).body;
    assert_eq!((d["enrollment"].as_str(), d["role"].as_str()), (Some("auto_join"), Some("admin")));
    // An admin may turn it down.
    set(f.admin(), json!({"enrollment": "suggest"})).expect(200);
    for (body, field) in [
        (json!({"enrollment": "everyone"}), "enrollment"),
        (json!({"role": "owner"}), "role"),
        (json!({}), "enrollment"),
    ] {
        let r = set(f.owner(), body).expect_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.raw);
    }
    assert!(action_names(&f).iter().filter(|a| *a == "domain.updated").count() >= 4);
}

#[test]
fn a_verified_address_auto_joins_once_with_the_domains_role() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    verified(&f, &dns, "acme.test", "auto_join", "member");
    let ada = f.api().verified("Ada@Acme.test");
    assert_eq!(membership(&f.app, &f.org, &ada.id()), Some(("member".into(), Some("domain".into()))));
    // Access works at once, and the join is in the log and on the channels' mapping.
    f.api().org(&ada, &f.org).expect(200);
    let joined = actions(&f).into_iter().find(|e| e["action"] == "member.joined").expect("member.joined");
    assert_eq!(joined["data"], json!({"via": "domain", "domain": "acme.test", "role": "member"}));
    assert_eq!((joined["actor"]["id"].as_str(), joined["target"]["id"].as_str()), (Some(&*ada.id()), Some(&*ada.id())));
    let types = f.app.rows(stmt!("SELECT event_types FROM audit_events WHERE action = 'member.joined'"));
    assert_eq!(types[0]["event_types"], r#"["member.joined","member.added"]"#);

    // Signing in again changes nothing.
    f.api().login("ada@acme.test", PASSWORD).expect(200);
    assert_eq!(action_names(&f).iter().filter(|a| *a == "member.joined").count(), 1);
    // Removed, they are not added back at their next sign-in.
    f.api().remove_member(f.owner(), f.tenant(), &ada.id()).expect(204);
    f.api().login("ada@acme.test", PASSWORD).expect(200);
    assert_eq!(membership(&f.app, &f.org, &ada.id()), None);
    // Nor after the domain is removed and added again.
    let id = f.api().domains(f.owner(), &f.org).expect(200).body["data"][0]["id"].as_str().unwrap().to_owned();
    f.api().delete_domain(f.owner(), &f.org, &id).expect(204);
    verified(&f, &dns, "acme.test", "auto_join", "member");
    f.api().login("ada@acme.test", PASSWORD).expect(200);
    assert_eq!(membership(&f.app, &f.org, &ada.id()), None);
    // Someone else on the domain still joins, as the role set now.
    f.api().update_domain(f.owner(), &f.org, &id_of(&f, "acme.test"), json!({"role": "admin"})).expect(200);
    let bo = f.api().verified("bo@acme.test");
    assert_eq!(membership(&f.app, &f.org, &bo.id()), Some(("admin".into(), Some("domain".into()))));
}

fn id_of(f: &Fixture, domain: &str) -> String {
    let list = f.api().domains(f.owner(), &f.org).expect(200).body;
    let d = list["data"].as_array().unwrap().iter().find(|d| d["domain"] == domain).expect("domain").clone();
    d["id"].as_str().unwrap().to_owned()
}

#[test]
fn people_who_had_accounts_join_at_their_next_sign_in_and_members_keep_their_role() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    let early = f.api().verified("early@acme.test");
    // Already an admin by invitation: auto-join neither demotes nor re-records them.
    let invited = f.api().join(f.owner(), f.tenant(), "invited@acme.test", "admin");
    verified(&f, &dns, "acme.test", "auto_join", "member");
    assert_eq!(membership(&f.app, &f.org, &early.id()), None, "nothing happens before they sign in");
    f.api().login("early@acme.test", PASSWORD).expect(200);
    assert_eq!(membership(&f.app, &f.org, &early.id()), Some(("member".into(), Some("domain".into()))));
    f.api().login("invited@acme.test", PASSWORD).expect(200);
    assert_eq!(membership(&f.app, &f.org, &invited.id()), Some(("admin".into(), Some("invitation".into()))));
    assert_eq!(action_names(&f).iter().filter(|a| *a == "member.joined").count(), 1);
}

#[test]
fn an_unverified_address_on_the_domain_gets_nothing() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    verified(&f, &dns, "acme.test", "auto_join", "admin");
    // Signs up with the domain's address but cannot read its inbox.
    f.api().signup("mallory@acme.test", PASSWORD, "Mallory").expect(202);
    f.api().login("mallory@acme.test", PASSWORD).expect_problem(403, "email_not_verified");
    let user = f.app.rows(stmt!("SELECT id FROM users WHERE email = 'mallory@acme.test'"));
    let mallory = user[0]["id"].as_str().unwrap();
    assert_eq!(membership(&f.app, &f.org, mallory), None);
    // An address that only names the domain, on a domain they do own.
    let mut tried = 0;
    for tricky in ["acme.test@evil.test", "\"x@acme.test\"@evil.test", "x@acme.test.evil.test"] {
        if f.api().signup(tricky, PASSWORD, "Mallory").status != 202 {
            continue; // not an address at all
        }
        tried += 1;
        let token = f.api().emailed_token(tricky, "/verify-email", 1);
        let session = f.api().verify_email(&token, PASSWORD).expect(200).body;
        assert_eq!(membership(&f.app, &f.org, &user_id(&session)), None, "{tricky}");
        let suggested = f.api().suggested_orgs(&session).expect(200).body;
        assert_eq!(suggested["data"], json!([]), "{tricky}");
    }
    assert!(tried >= 2, "the tricky addresses were not tried");
}

#[test]
fn suggest_lists_the_org_to_verified_people_on_the_domain_who_are_not_members() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    let id = verified(&f, &dns, "acme.test", "suggest", "member");
    let ada = f.api().verified("ada@acme.test");
    assert_eq!(membership(&f.app, &f.org, &ada.id()), None, "suggest does not join");
    let list = f.api().suggested_orgs(&ada).expect(200).body;
    assert_eq!(
        list["data"],
        json!([{"id": f.org, "name": "Acme", "slug": list["data"][0]["slug"], "domain": "acme.test"}])
    );
    assert!(list["data"][0]["slug"].is_string());
    // Not to people on other domains, nor to members.
    f.api().suggested_orgs(f.member()).expect(200);
    assert_eq!(f.api().suggested_orgs(f.member()).body["data"], json!([]));
    let member = f.api().join(f.owner(), f.tenant(), "bo@acme.test", "member");
    assert_eq!(f.api().suggested_orgs(&member).body["data"], json!([]));
    // Only while enrollment says so.
    f.api().update_domain(f.owner(), &f.org, &id, json!({"enrollment": "none"})).expect(200);
    assert_eq!(f.api().suggested_orgs(&ada).body["data"], json!([]));
    // People only: a key has no address.
    let key = f.api().create_key(f.owner(), &f.org, "ci", &["org:read"]).expect(201).body;
    f.api().suggested_orgs(key["key"].as_str().unwrap()).expect_problem(403, "user_required");
}

#[test]
fn the_daily_recheck_lapses_a_domain_whose_record_is_gone_and_a_lapsed_one_grants_nothing() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    let id = verified(&f, &dns, "acme.test", "auto_join", "member");
    let other = verified(&f, &dns, "suggest.test", "suggest", "member");
    assert_eq!(f.app.recheck_domains(), Default::default(), "nothing is due within the day");
    f.app.advance(DAY);
    let done = f.app.recheck_domains();
    assert_eq!((done.held, done.lapsed, done.unknown), (2, 0, 0));
    // A resolver outage lapses nothing; tried again within the hour.
    f.app.advance(DAY);
    dns.fail(true);
    assert_eq!(f.app.recheck_domains().unknown, 2);
    f.app.advance(60);
    assert_eq!(f.app.recheck_domains(), Default::default());
    dns.fail(false);
    f.app.advance(3_600);
    dns.clear("_latchkey-verification.acme.test");
    dns.set_txt("_latchkey-verification.suggest.test", &["someone else's"]);
    let done = f.app.recheck_domains();
    assert_eq!((done.held, done.lapsed), (0, 2));
    // Two days on, the fixture's access tokens have expired: the owner signs in again.
    let owner = f.api().login("owner@example.com", PASSWORD).expect(200).body;
    let d = f.api().domain(&owner, &f.org, &id).expect(200).body;
    assert_eq!(d["state"], "lapsed");
    assert!(d["lapsed_at"].is_string());
    let log = f.api().audit_log(&owner, f.tenant()).expect(200).body;
    let lapsed =
        log["data"].as_array().unwrap().iter().find(|e| e["action"] == "domain.lapsed").expect("lapsed").clone();
    assert_eq!(lapsed["actor"], json!({"kind": "system", "id": "system"}));
    assert!(lapsed["data"]["found"].is_string(), "{lapsed}");
    // Lapsed: nobody joins or is suggested.
    let ada = f.api().verified("ada@acme.test");
    assert_eq!(membership(&f.app, &f.org, &ada.id()), None);
    let bo = f.api().verified("bo@suggest.test");
    assert_eq!(f.api().suggested_orgs(&bo).body["data"], json!([]));
    // Nor does the re-check look at it again; verifying it again is the way back.
    assert_eq!(f.app.recheck_domains(), Default::default());
    let record = d["txt_value"].as_str().unwrap();
    dns.set_txt("_latchkey-verification.acme.test", &[record]);
    assert_eq!(f.api().verify_domain(&owner, &f.org, &id).expect(200).body["state"], "verified");
    f.api().login("ada@acme.test", PASSWORD).expect(200);
    assert_eq!(membership(&f.app, &f.org, &ada.id()), Some(("member".into(), Some("domain".into()))));
    assert_ne!(id, other);
}

#[test]
fn an_orgs_2fa_rule_holds_for_people_who_join_by_domain() {
    let dns = FakeDns::start();
    let app = app_with(&dns, &[]);
    let owner = app.api().verified_with_2fa("owner@example.com");
    let org = app.api().create_org(&owner.person, "Strict").expect(201).id();
    app.api().update_org(&owner.person, &org, json!({"require_2fa": true})).expect(200);
    let d = app.api().add_domain(&owner.person, &org, "strict.test").expect(201).body;
    let id = d["id"].as_str().unwrap();
    dns.set_txt(d["txt_name"].as_str().unwrap(), &[d["txt_value"].as_str().unwrap()]);
    app.api().verify_domain(&owner.person, &org, id).expect(200);
    app.api().update_domain(&owner.person, &org, id, json!({"enrollment": "auto_join"})).expect(200);
    let ada = app.api().verified("ada@strict.test");
    assert_eq!(membership(&app, &org, &ada.id()), Some(("member".into(), Some("domain".into()))));
    app.api().org(&ada, &org).expect_problem(403, "two_factor_required");
}

#[test]
fn oauth_sign_in_joins_only_with_a_provider_verified_address() {
    let dns = FakeDns::start();
    let fake = FakeProvider::start();
    let f = Fixture::new(app_with(&dns, &fake.worker_vars())).org_with("Acme", &[]);
    verified(&f, &dns, "acme.test", "auto_join", "member");
    let app = &f.app;
    let sign_in = |user: FakeUser| {
        fake.sign_in("google", user);
        let r =
            app.get("/v1/auth/oauth/google/authorize?redirect_uri=http%3A%2F%2Fapp.test%2Fsignin", None).expect(302);
        let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
        let back = fake.approve(r.header("location").unwrap());
        let path = back.strip_prefix("http://app.test").unwrap().to_owned();
        let back = app.call_with("GET", &path, None, None, &[("cookie", &cookie)]).expect(302);
        let location = back.header("location").unwrap().to_owned();
        let code = location.split("login_code=").nth(1).expect("login code").to_owned();
        app.call_with(
            "POST",
            "/v1/auth/oauth/complete",
            None,
            Some(json!({"login_code": code})),
            &[("cookie", &cookie)],
        )
    };
    // The provider has not verified the address: no account, no membership.
    sign_in(FakeUser::unverified("g-1", "mallory@acme.test")).expect_problem(403, "provider_email_unverified");
    assert!(app.rows(stmt!("SELECT id FROM users WHERE email = 'mallory@acme.test'")).is_empty());
    let members = app.rows(stmt!("SELECT user_id FROM org_members WHERE org_id = ?1", &f.org));
    assert_eq!(members.len(), 1, "the owner only");
    // Verified by the provider: a new account, joined.
    let ada = sign_in(FakeUser::verified("g-2", "ada@acme.test")).expect(200).body;
    assert_eq!(membership(app, &f.org, &user_id(&ada)), Some(("member".into(), Some("domain".into()))));
}

#[test]
fn a_suggested_person_asks_to_join_and_joins_only_when_an_admin_approves() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    verified(&f, &dns, "acme.test", "suggest", "member");
    let ada = f.api().verified("ada@acme.test");
    let asked = f.api().ask_to_join(&ada, &f.org).expect(201).body;
    assert_eq!((asked["via"].as_str(), asked["role"].as_str()), (Some("suggestion"), Some("member")));
    assert_eq!(membership(&f.app, &f.org, &ada.id()), None, "asking is not joining");
    f.api().ask_to_join(&ada, &f.org).expect_problem(409, "membership_request_exists");
    // Nobody else may ask: not people on other domains, not for another org.
    f.api().ask_to_join(f.member(), &f.org).expect_problem(404, "not_found");
    let outsider = f.api().verified("eve@elsewhere.test");
    f.api().ask_to_join(&outsider, &f.org).expect_problem(404, "not_found");
    let other = f.api().create_org(&outsider, "Other").expect(201).id();
    f.api().ask_to_join(&ada, &other).expect_problem(404, "not_found");
    let id = asked["id"].as_str().unwrap();
    f.api().approve_membership_request(f.admin(), &f.org, id, "member").expect(200);
    assert_eq!(membership(&f.app, &f.org, &ada.id()), Some(("member".into(), Some("request".into()))));
    assert_eq!(f.api().suggested_orgs(&ada).body["data"], json!([]), "a member is suggested nothing");
    f.api().ask_to_join(&ada, &f.org).expect_problem(404, "not_found");
    assert!(action_names(&f).contains(&"membership_request.approved".to_owned()));
}

/// Issue 24: a verified domain may auto-join people with one of the org's
/// custom roles; as with admin, only an owner sets that; a role the org
/// lacks is 422; a role a domain gives is in use.
#[test]
fn an_owner_has_a_domain_auto_join_people_with_a_custom_role() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    let api = f.api();
    api.create_role(f.owner(), &f.org, "support", &["org:read", "members:read"]).expect(201);
    let id = verified(&f, &dns, "acme.test", "none", "member");
    let set = |who: &Person, body: Value| api.update_domain(who, &f.org, &id, body);
    set(f.admin(), json!({"enrollment": "auto_join", "role": "support"})).expect_problem(403, "forbidden");
    for role in ["ghost-role", "Not A Key"] {
        let r = set(f.owner(), json!({"role": role})).expect_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "role", "{role:?}");
    }
    let d = set(f.owner(), json!({"enrollment": "auto_join", "role": "support"})).expect(200).body;
    assert_eq!(d["role"], "support");
    api.delete_role(f.owner(), &f.org, "support").expect_problem(409, "role_in_use");
    let ada = api.verified("ada@acme.test");
    assert_eq!(membership(&f.app, &f.org, &ada.id()), Some(("support".into(), Some("domain".into()))));
    let view = api.org(&ada, &f.org).expect(200).body;
    assert_eq!(view["permissions"], json!(["org:read", "members:read"]));
    // An admin may still turn it down to member.
    set(f.admin(), json!({"role": "member"})).expect(200);
    api.change_role(f.owner(), f.tenant(), &ada.id(), "member").expect(200);
    api.delete_role(f.owner(), &f.org, "support").expect(204);
}

/// A domain that suggests the org with a custom role: the request asks for
/// it, the approval gives it (membership_requests held built-in roles only
/// before migration 0030, so such a request could not be made).
#[test]
fn a_request_from_a_domain_with_a_custom_role_asks_for_it_and_the_approval_gives_it() {
    let dns = FakeDns::start();
    let f = acme(&dns);
    let api = f.api();
    api.create_role(f.owner(), &f.org, "support", &["org:read", "members:read"]).expect(201);
    verified(&f, &dns, "acme.test", "suggest", "support");
    let ada = api.verified("ada@acme.test");
    let asked = api.ask_to_join(&ada, &f.org).expect(201).body;
    assert_eq!((asked["via"].as_str(), asked["role"].as_str()), (Some("suggestion"), Some("support")));
    api.delete_role(f.owner(), &f.org, "support").expect_problem(409, "role_in_use");
    let id = asked["id"].as_str().unwrap();
    assert_eq!(api.approve_membership_request(f.admin(), &f.org, id, "support").expect(200).body["role"], "support");
    assert_eq!(membership(&f.app, &f.org, &ada.id()), Some(("support".into(), Some("request".into()))));
}
