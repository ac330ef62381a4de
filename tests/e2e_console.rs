//! The console (console/, served by Workers Static Assets) against the built
//! Worker: its entry page and headers, and the four seed flows walked through
//! in Chromium (tests/browser/console-*.mjs), one Worker for all of them,
//! with the console's other actions between them; and, with a Worker of its
//! own, signing out sessions and transferring ownership.
//! Every screen on the way passes axe-core (no serious or critical
//! violation) and is photographed into target/console-screens/.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use support::*;

/// A browser navigation (what the SPA fallback answers with the console).
fn navigate(w: &Worker, path: &str) -> Resp {
    w.send("GET", path, None, &[("Sec-Fetch-Mode", "navigate"), ("Accept", "text/html")], None)
}

#[test]
fn the_console_is_served_locked_down_and_the_api_still_reaches_the_worker() {
    let w = Worker::shared();
    // The old email links and any console path get the console's entry page.
    for path in [
        "/",
        "/verify-email",
        "/reset-password",
        "/invite",
        "/install",
        "/confirm-channel-email",
        "/settings/security",
        "/device",
        "/orgs/x/team",
    ] {
        let r = navigate(w, path);
        assert_eq!(r.status, 200, "{path}: {}", r.raw);
        assert!(r.header("content-type").unwrap().starts_with("text/html"), "{path}");
        assert!(r.raw.contains("<script type=\"module\" src=\"/assets/app.js\">"), "{path}: {}", r.raw);
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    }
    let js = w.get("/assets/app.js", None);
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").unwrap().contains("javascript"), "{:?}", js.header("content-type"));
    assert!(js.header("content-security-policy").is_some());
    // The API is the Worker's, navigation or not: JSON, never the console.
    for path in ["/health", "/openapi.json", "/.well-known/jwks.json"] {
        let r = navigate(w, path);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.header("content-type").unwrap().contains("json"), "{path}: {:?}", r.header("content-type"));
    }
    let r = navigate(w, "/v1/no-such-route");
    assert_eq!(r.status, 404);
    assert!(r.header("content-type").unwrap().contains("problem+json"), "{:?}", r.header("content-type"));
    // The headers file configures; it is not served as a file.
    let r = w.get("/_headers", None);
    assert!(!r.raw.contains("Content-Security-Policy:"), "{}", r.raw);
    // The old Rust-served page script is gone (whatever answers is not it).
    let old = w.get("/assets/pages.js", None);
    assert!(!old.header("content-type").unwrap_or_default().contains("javascript"), "{}", old.raw);
    assert!(!old.raw.contains("sessionStorage"), "{}", old.raw);
}

#[test]
fn the_seed_flows_walk_through_the_console_in_a_browser() {
    let w = Worker::start();
    let base = w.url("");

    // 1. Sign up → verify → create org → invite a teammate, who joins in a
    //    browser of their own → change their role → remove them.
    let said = browser("console-team.mjs", &[&base, "owner@example.com", "mate@example.com", PASSWORD], "console-team");
    let org = said.lines().find_map(|l| l.strip_prefix("org: ")).expect("the org id").to_owned();
    let owner =
        Person::from_session("owner@example.com", w.api().login("owner@example.com", PASSWORD).expect(200).body);
    let members = w.api().members(&owner, Tenant::Org(&org)).expect(200).body;
    let emails: Vec<&str> = members["data"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["owner@example.com"], "the teammate was removed: {members}");
    let log = w.api().audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for done in ["org.created", "invitation.created", "member.role_changed", "member.removed"] {
        assert!(actions.contains(&done), "{done} missing from {actions:?}");
    }

    // 2. Create an API key, copy it, call the API with it, revoke it, refused.
    let mut used = None;
    browser_asked("console-keys.mjs", &[&base, "owner@example.com", PASSWORD, &org], "console-keys", |line| {
        if let Some(key) = line.strip_prefix("key: ") {
            let r = w.api().current_key(key);
            assert_eq!(r.json()["org_id"].as_str(), Some(org.as_str()), "{}", r.raw);
            used = Some(key.to_owned());
            return Some(r.status.to_string());
        }
        line.strip_prefix("revoked: ").map(|key| {
            let r = w.api().current_key(key);
            format!("{} {}", r.status, r.json()["code"].as_str().unwrap_or(""))
        })
    });
    assert_eq!(w.api().current_key(used.expect("the key was shown").as_str()).status, 401);

    // Notification channels: add one to a loopback URL (development allows
    // plain http there; nothing listens, so the delivery fails or waits),
    // the secret once, a test event and its delivery, rotate, disable, delete.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let receiver = format!("http://127.0.0.1:{port}/hook");
    let said =
        browser("console-channels.mjs", &[&base, "owner@example.com", PASSWORD, &org, &receiver], "console-channels");
    assert!(said.contains("channels done"), "{said}");
    let log = w.api().audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for done in [
        "notification_channel.created",
        "notification_channel.tested",
        "notification_channel.secret_rotated",
        "notification_channel.disabled",
        "notification_channel.deleted",
    ] {
        assert!(actions.contains(&done), "{done} missing from {actions:?}");
    }
    let left = w.get(&format!("/v1/orgs/{org}/notification-channels"), Some(&owner.bearer())).expect(200).body;
    assert_eq!(left["data"].as_array().map(Vec::len), Some(0), "the channel was deleted: {left}");

    // The other Organization Settings, workspace and account actions (rotate,
    // install links, billing, filters, profile, deleting with typed names).
    let said = browser("console-settings.mjs", &[&base, "owner@example.com", PASSWORD], "console-settings");
    assert!(said.contains("settings done"), "{said}");
    let orgs = w.api().orgs(&owner).expect(200).body;
    let names: Vec<&str> = orgs["data"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Acme"], "the scratch org was deleted: {orgs}");
    assert_eq!(w.api().workspaces(&owner).expect(200).body["data"].as_array().map(Vec::len), Some(0));
    assert_eq!(w.api().me(&owner).expect(200).body["name"], "Olivia O.");

    // 4. (before 3, which turns the owner's 2FA on) A customer grants the org
    //    access to a workspace; a member sees it under "Shared With Me"; the
    //    customer revokes it; it disappears.
    w.api().invite(&owner, Tenant::Org(&org), "member@example.com", "member").expect(201);
    let token = w.api().emailed_token("member@example.com", "/invite", 1);
    let member = w.api().signup_invited("member@example.com", PASSWORD, "Mia Member", &token).expect(201).body;
    let customer = w.api().verified("customer@example.com");
    let ws = w.api().create_workspace(&customer, "Storefront").id();
    browser(
        "console-shared.mjs",
        &[&base, "customer@example.com", "member@example.com", PASSWORD, &ws, "acme"],
        "console-shared",
    );
    let list = w.api().workspaces(&member).expect(200).body;
    assert_eq!(list["shared_with_me"].as_array().map(Vec::len), Some(0), "{list}");
    let members = w.api().members(&owner, Tenant::Org(&org)).expect(200).body;
    assert_eq!(members["data"].as_array().map(Vec::len), Some(1), "the member left: {members}");
    assert_eq!(w.api().grants(&customer, &ws).expect(200).body["data"].as_array().map(Vec::len), Some(0));

    // 3. Enable 2FA from the QR code's secret, sign out, sign in with a code.
    let mut secret = String::new();
    let mut last = 0;
    let said = browser_asked("console-2fa.mjs", &[&base, "owner@example.com", PASSWORD], "console-2fa", |line| {
        if let Some(s) = line.strip_prefix("totp secret: ") {
            secret = s.to_owned();
            return Some(totp_code(s, unix_now()));
        }
        // A code is accepted once, within a step of now: the sign-in takes the
        // next step's code; regenerating, once time reaches that step, the one after.
        match line {
            "next code" => {
                last = unix_now() / 30 + 1;
                Some(totp_code(&secret, last * 30))
            }
            "fresh code" => {
                while unix_now() / 30 < last {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Some(totp_code(&secret, (last + 1) * 30))
            }
            _ => None,
        }
    });
    assert!(said.contains("2fa on; signed in with a code; codes renewed"), "{said}");
    let r = w.api().login("owner@example.com", PASSWORD).expect(200);
    assert_eq!(r.json()["mfa_required"], true, "{}", r.raw);
}

/// Account Settings → Security → Sessions (sign out one session, then every
/// one) and Organization Settings → General → Transfer ownership, in the
/// browser; the API then shows the sessions ended and the roles swapped.
#[test]
fn sessions_are_signed_out_and_ownership_is_transferred_in_the_console() {
    let w = Worker::shared();
    let base = w.url("");
    let owner = w.api().verified("olga@example.com");
    let org = w.api().create_org(&owner, "Globex").expect(201).body["id"].as_str().unwrap().to_owned();
    w.api().invite(&owner, Tenant::Org(&org), "ahmed@example.com", "admin").expect(201);
    let token = w.api().emailed_token("ahmed@example.com", "/invite", 1);
    let heir = Person::from_session(
        "ahmed@example.com",
        w.api().signup_invited("ahmed@example.com", PASSWORD, "Ahmed Admin", &token).expect(201).body,
    );

    let said = browser(
        "console-sessions.mjs",
        &[&base, "olga@example.com", PASSWORD, "ahmed@example.com"],
        "console-sessions",
    );
    assert!(said.contains("the other browser is signed out") && said.contains("sessions done"), "{said}");
    // The session the test signed in with was one of those signed out.
    w.api().me(&owner).expect_problem(401, "unauthenticated");
    let roles: Vec<(String, String)> = w.api().members(&heir, Tenant::Org(&org)).expect(200).body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned()))
        .collect();
    assert!(roles.contains(&("ahmed@example.com".into(), "owner".into())), "{roles:?}");
    assert!(roles.contains(&("olga@example.com".into(), "admin".into())), "{roles:?}");
    let olga = Person::from_session("olga@example.com", w.api().login("olga@example.com", PASSWORD).expect(200).body);
    let sessions = w.get("/v1/me/sessions", Some(&olga.bearer())).expect(200).body;
    assert_eq!(sessions["data"].as_array().map(Vec::len), Some(1), "only the sign-in just made is live: {sessions}");
    let log = w.api().audit_log(&heir, Tenant::Org(&org)).expect(200).body;
    assert!(log["data"].as_array().unwrap().iter().any(|e| e["action"] == "org.ownership_transferred"), "{log}");
}

/// The API reference (/docs): a static page of its own under the console's
/// strict CSP, opened from the sidebar, whose "Try it out" sends the signed-in
/// person's session: "Create an organization" answers 201 and the org exists.
#[test]
fn the_api_reference_creates_an_organization_with_the_console_session() {
    let w = Worker::shared();
    let base = w.url("");
    let dev = w.api().verified("dana@example.com");
    for path in ["/docs", "/docs/"] {
        let r = navigate(w, path);
        if path == "/docs/" {
            assert_eq!((r.status, r.header("location")), (307, Some("/docs")), "{}", r.raw);
            continue;
        }
        assert_eq!(r.status, 200, "{path}: {}", r.raw);
        assert!(r.raw.contains("<script src=\"/docs/swagger-ui-bundle.js\" defer>"), "{path}: {}", r.raw);
        assert!(!r.raw.contains("/assets/app.js"), "{path} is the console, not the reference");
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe"), "{path}: {csp}");
    }
    let bundle = w.get("/docs/swagger-ui-bundle.js", None);
    assert_eq!(bundle.status, 200);
    assert!(bundle.header("content-type").unwrap().contains("javascript"));

    let said = browser("docs.mjs", &[&base, "dana@example.com", PASSWORD], "docs");
    assert!(said.contains("Docs Playground from the API reference: 201"), "{said}");
    let orgs = w.api().orgs(&dev).expect(200).body;
    let names: Vec<&str> = orgs["data"].as_array().unwrap().iter().filter_map(|o| o["name"].as_str()).collect();
    assert_eq!(names, ["Docs Playground"], "{orgs}");
}

/// Issue 21's Chromium walk: an owner creates a domain-restricted join link
/// on the Team screen; a colleague signs up through it, verifies from the
/// email and lands in the org with the link's role. Then a link that needs
/// approval: someone asks through it and the owner approves under Requests.
#[test]
fn a_colleague_signs_up_through_a_join_link_and_lands_in_the_org() {
    let w = Worker::shared();
    let base = w.url("");
    let owner = w.api().verified("olga@acme.test");
    let org = w.api().create_org(&owner, "Acme").id();
    w.api().verified("dora@elsewhere.test");
    let args = [base.as_str(), "olga@acme.test", "colin@acme.test", PASSWORD, &org, "dora@elsewhere.test"];
    let said = browser("join.mjs", &args, "join");
    assert!(said.contains("joined:") && said.contains("colin@acme.test"), "{said}");
    assert!(said.contains("approved: dora@elsewhere.test"), "{said}");
    let members = w.api().members(&owner, Tenant::Org(&org)).expect(200).body;
    let colin = members["data"].as_array().unwrap().iter().find(|m| m["email"] == "colin@acme.test").expect("a member");
    assert_eq!(colin["role"], "member", "{members}");
    let dora = members["data"].as_array().unwrap().iter().find(|m| m["email"] == "dora@elsewhere.test");
    assert_eq!(dora.map(|m| m["role"].clone()), Some("member".into()), "approved in the console: {members}");
    let links = w.api().join_links(&owner, &org).expect(200).body;
    // Newest first: the approval link (one request), then the capped one.
    assert_eq!((links["data"][1]["uses"].as_i64(), links["data"][1]["max_uses"].as_i64()), (Some(1), Some(5)));
    assert_eq!((links["data"][0]["uses"].as_i64(), links["data"][0]["approval"].as_bool()), (Some(1), Some(true)));
}

#[test]
fn an_owner_adds_and_verifies_a_domain_and_a_person_on_it_is_suggested_the_org() {
    let dns = crate::fake_dns::FakeDns::start();
    let w = Worker::start_with(WorkerOptions { vars: dns.worker_vars() });
    let base = w.url("");
    let owner = w.api().verified("owner@example.com");
    let org = w.api().create_org(&owner, "Acme").expect(201).id();
    w.api().verified("ada@acme.test");
    let said = browser_asked(
        "console-domains.mjs",
        &[&base, "owner@example.com", PASSWORD, &org, "ada@acme.test"],
        "console-domains",
        |line| {
            let (name, value) = line.strip_prefix("publish: ")?.split_once(' ')?;
            dns.set_txt(name, &[value]);
            Some("published".into())
        },
    );
    assert!(said.contains("domains done"), "{said}");
    let log = w.api().audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for done in ["domain.added", "domain.verified", "domain.updated", "domain.removed"] {
        assert!(actions.contains(&done), "{done} missing from {actions:?}");
    }
}

/// Issue 23's platform administrators in Chromium: sign in with a code, find
/// a person, suspend them with a fresh code; their session stops at once.
#[test]
fn a_platform_administrator_finds_a_person_and_suspends_them_in_the_console() {
    let w = Worker::start_with(WorkerOptions { vars: vec![("PLATFORM_ADMINS".into(), "ops@example.com".into())] });
    let base = w.url("");
    let ops = w.api().verified_with_2fa("ops@example.com");
    let mut last = unix_now() / 30; // the step the enrolment's code took (or a later one)
    let pat = w.api().verified("pat@example.com");
    w.api().create_org(&pat, "Pat's Org").expect(201);
    let args = [base.as_str(), "ops@example.com", PASSWORD, "pat@example.com", "Pat's Org"];
    let said = browser_asked("admin.mjs", &args, "admin", |line| {
        (line == "code").then(|| {
            // Each code once, within a step of now: the next unused step.
            let step = last + 1;
            while unix_now() / 30 + 1 < step {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            last = step;
            totp_code(&ops.secret, step * 30)
        })
    });
    assert!(said.contains("admin: suspended pat@example.com"), "{said}");
    w.api().me(&pat).expect_problem(403, "account_suspended");
}

/// Notification channels of other kinds in the console: an admin chooses
/// Slack first and adds a channel to a fake Slack receiver, which gets the
/// message of an invitation; an email channel's address is confirmed on the
/// page its emailed link opens.
#[test]
fn an_admin_adds_a_slack_channel_and_an_address_confirms_an_email_channel_in_the_console() {
    let receiver = crate::notifications::Receiver::start();
    let f = Fixture::new(Worker::start()).org_with("Acme", &["admin"]);
    let (w, org) = (&f.app, f.org.clone());
    let base = w.url("");
    let slack = receiver.url("/slack");
    let owner = access(f.owner());
    let said = browser_asked(
        "console-channel-kinds.mjs",
        &[&base, "admin@example.com", PASSWORD, &org, &slack],
        "console-channel-kinds",
        |line| {
            (line == "slack added").then(|| {
                f.api().invite(&owner, Tenant::Org(&org), "newbie@example.com", "member").expect(201);
                let hit = receiver.wait("/slack", 1).remove(0);
                let text = hit.json()["text"].as_str().unwrap_or_default().to_owned();
                assert!(text.contains("invited newbie@example.com to Acme as member"), "{text}");
                format!("delivered: {text}")
            })
        },
    );
    assert!(said.contains("channel kinds done"), "{said}");
    let list = w.get(&format!("/v1/orgs/{org}/notification-channels"), Some(&owner)).expect(200).body;
    let email = list["data"].as_array().unwrap().iter().find(|c| c["kind"] == "email").expect("the email channel");
    let confirmed: Vec<(&str, bool)> = email["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["email"].as_str().unwrap(), a["confirmed"].as_bool().unwrap()))
        .collect();
    assert_eq!(confirmed, [("cto@example.org", false), ("oncall@example.org", true)], "{email}");
    let log = w.api().audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    assert!(
        log["data"].as_array().unwrap().iter().any(|e| e["action"] == "notification_channel.email_confirmed"),
        "{log}"
    );
}

/// Issue 24's Roles screen in Chromium: the catalog as checkboxes, a custom
/// role created, refused, edited, refused deletion while a member holds it
/// (`role_in_use`), then deleted.
#[test]
fn the_roles_screen_creates_edits_and_deletes_a_custom_role() {
    let w = Worker::shared();
    let base = w.url("");
    let owner = w.api().verified("owner.console6@example.com");
    let org = w.api().create_org(&owner, "Acme").expect(201).id();
    let mate = w.api().join(&owner, Tenant::Org(&org), "mate.console6@example.com", "member");
    let said = browser_asked(
        "console-roles.mjs",
        &[&base, "owner.console6@example.com", PASSWORD, &org],
        "console-roles",
        |line| {
            if line.starts_with("assign: ") {
                w.api().change_role(&owner, Tenant::Org(&org), &mate.id(), "billing-viewer").expect(200);
                Some("assigned".into())
            } else if line.starts_with("unassign: ") {
                w.api().change_role(&owner, Tenant::Org(&org), &mate.id(), "member").expect(200);
                Some("unassigned".into())
            } else {
                None
            }
        },
    );
    assert!(said.contains("roles done"), "{said}");
    let log = w.api().audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for done in ["role.created", "role.updated", "role.deleted"] {
        assert!(actions.contains(&done), "{done} missing from {actions:?}");
    }
    w.api().role(&owner, &org, "billing-viewer").expect_problem(404, "not_found");
}

/// Organization Settings → Trust policies in Chromium: created by its labels
/// (a refusal shown under its field first), edited, deleted; each audited,
/// the edit a partial update. A member's sidebar has no link to it.
#[test]
fn an_owner_creates_edits_and_deletes_a_trust_policy_in_the_console() {
    let f = Fixture::new(Worker::start()).org_with("Acme", &["member"]);
    let base = f.app.url("");
    let args = [base.as_str(), "owner@example.com", "member@example.com", PASSWORD, f.org.as_str()];
    let said = browser("console-trust.mjs", &args, "console-trust");
    assert!(said.contains("trust policies done"), "{said}");
    let log = f.api().audit_log(f.owner(), f.tenant()).expect(200).body;
    let entries = log["data"].as_array().unwrap();
    let find =
        |action: &str| entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("{action}: {log}"));
    let created = find("trust_policy.created");
    assert_eq!(created["data"]["max_ttl_seconds"], 1800);
    let scopes = created["data"]["scopes"].as_str().unwrap();
    assert!(scopes.contains("org:read") && scopes.contains("members:read"), "{scopes}");
    assert_eq!(find("trust_policy.updated")["data"]["max_ttl_seconds"], 3600);
    find("trust_policy.deleted");
    let left = f.app.get(&format!("/v1/orgs/{}/trust-policies", f.org), Some(&access(f.owner()))).expect(200).body;
    assert_eq!(left["data"], serde_json::json!([]));
}
