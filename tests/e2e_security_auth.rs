//! Runtime tests (the built Worker under `wrangler dev`) that replay the
//! attacks of the security review, issue 9 items 6-8: login enumeration
//! through the lockout, TOTP guessing across fresh MFA tokens and in
//! parallel, API keys doing an owner's work, and the per-IP limit.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::json;
use std::thread;
use support::unix_now as now;
use support::*;

const WRONG: &str = "wrong password here";

fn code_of(r: &Resp) -> String {
    r.json()["code"].as_str().unwrap_or("").to_owned()
}

/// What a client observes, except what depends on the instant: `Retry-After`
/// (returned apart, to compare within the second that may tick between two
/// requests), `Date`, and the duration in `Server-Timing` (its D1 call count
/// stays: the same statements run for both).
fn observable(r: &Resp) -> (u16, String, Vec<(String, String)>, Option<i64>) {
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| k != "retry-after" && k != "date")
        .map(|(k, v)| {
            let v = if k == "server-timing" { v.split(";dur=").next().unwrap_or("").to_owned() } else { v.clone() };
            (k.clone(), v)
        })
        .collect();
    headers.sort();
    (r.status, r.raw.clone(), headers, r.header("retry-after").map(|v| v.parse().unwrap()))
}

#[test]
fn an_unknown_email_and_a_locked_account_answer_alike_at_every_attempt_count() {
    let w = Worker::shared();
    w.api().verified("victim@example.com");
    let login = |email: &str, password: &str| w.api().login(email, password);
    for attempt in 1..=13 {
        let known = login("victim@example.com", WRONG);
        let unknown = login("nobody@example.com", WRONG);
        let (k, u) = (observable(&known), observable(&unknown));
        assert_eq!((&k.0, &k.1, &k.2), (&u.0, &u.1, &u.2), "attempt {attempt}");
        match (k.3, u.3) {
            (None, None) => {}
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1, "attempt {attempt}: Retry-After {a} vs {b}"),
            other => panic!("attempt {attempt}: Retry-After on one side only: {other:?}"),
        }
        assert!(known.header("server-timing").unwrap().contains("1 call"), "{:?}", known.header("server-timing"));
        if attempt <= 10 {
            assert_eq!((known.status, code_of(&known)), (401, "invalid_credentials".into()), "attempt {attempt}");
        } else {
            assert_eq!((known.status, code_of(&known)), (429, "too_many_attempts".into()), "attempt {attempt}");
            let retry = k.3.unwrap();
            assert!((1..=30).contains(&retry), "30 s back-off, got {retry}");
        }
    }
    // Even the right password waits out the back-off.
    let r = login("victim@example.com", PASSWORD);
    assert_eq!((r.status, code_of(&r)), (429, "too_many_attempts".into()));
}

/// A code that is none of the ones accepted around now.
fn wrong_code(secret: &str) -> String {
    let t = now();
    let valid: Vec<String> = (-2..=2).map(|d| totp_code(secret, t + 30 * d)).collect();
    (0..).map(|n: u32| format!("{:06}", n * 111_111 % 1_000_000)).find(|c| !valid.contains(c)).unwrap()
}

/// A verified user with 2FA on; returns the secret.
fn enrolled(w: &Worker, email: &str) -> String {
    w.api().verified_with_2fa(email).secret
}

fn mfa_token(w: &Worker, email: &str) -> String {
    w.api().mfa_token(email)
}

fn second_step(w: &Worker, token: &str, code: &str) -> Resp {
    w.api().login_mfa(token, code)
}

#[test]
fn totp_guessing_is_limited_per_account_across_fresh_mfa_tokens_and_in_parallel() {
    let w = Worker::shared();

    // Five wrong codes spread over three fresh MFA tokens (new logins).
    let secret = enrolled(w, "guess@example.com");
    for per_token in [2, 2, 1] {
        let t = mfa_token(w, "guess@example.com");
        for _ in 0..per_token {
            let r = second_step(w, &t, &wrong_code(&secret));
            assert_eq!((r.status, code_of(&r)), (401, "invalid_otp".into()), "{}", r.raw);
        }
    }
    let t = mfa_token(w, "guess@example.com");
    let r = second_step(w, &t, &totp_code(&secret, now()));
    assert_eq!((r.status, code_of(&r)), (429, "too_many_attempts".into()), "even the right code: {}", r.raw);
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((850..=900).contains(&retry), "15-minute lock, got {retry}");

    // At the limit, two wrong codes sent at once: one is counted and refused,
    // the other finds the lock. Both slipping under it would be two 401s.
    let secret = enrolled(w, "race@example.com");
    for _ in 0..2 {
        let t = mfa_token(w, "race@example.com");
        for _ in 0..2 {
            assert_eq!(second_step(w, &t, &wrong_code(&secret)).status, 401);
        }
    }
    let tokens = [mfa_token(w, "race@example.com"), mfa_token(w, "race@example.com")];
    let wrong = wrong_code(&secret);
    let mut statuses: Vec<(u16, String)> = thread::scope(|s| {
        let hs: Vec<_> = tokens
            .iter()
            .map(|t| {
                let (w, wrong) = (w, &wrong);
                s.spawn(move || {
                    let r = second_step(w, t, wrong);
                    (r.status, code_of(&r))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    statuses.sort();
    assert_eq!(statuses, vec![(401, "invalid_otp".into()), (429, "too_many_attempts".into())]);
    let t = mfa_token(w, "race@example.com");
    assert_eq!(second_step(w, &t, &totp_code(&secret, now())).status, 429, "locked");
}

#[test]
fn an_api_key_with_every_scope_it_can_hold_never_deletes_bills_or_transfers() {
    let w = Worker::shared();
    let owner = w.api().verified("owner.securityauth3@example.com").session;
    let ob = access(&owner);
    let org = w.api().create_org(&ob, "Acme").json()["id"].as_str().unwrap().to_owned();
    let ws = w.api().create_workspace(&ob, "Shop").json()["id"].as_str().unwrap().to_owned();
    let keys = format!("/v1/orgs/{org}/api-keys");

    // Person-only scopes are refused at creation.
    for scopes in [json!(["org:delete"]), json!(["billing:manage"]), json!(["org:read", "org:delete"])] {
        let r = w.post(&keys, Some(&ob), json!({"name": "x", "scopes": scopes}));
        assert_eq!((r.status, code_of(&r)), (422, "scope_not_allowed_for_keys".into()), "{}", r.raw);
    }
    let every = [
        "org:read",
        "org:write",
        "members:read",
        "members:write",
        "invitations:write",
        "api_keys:write",
        "audit:read",
        "workspaces:read",
        "workspaces:write",
        "projects:read",
        "projects:write",
        "apps:read",
        "apps:deploy",
        "databases:read",
        "databases:write",
        "notifications:write",
    ];
    let created = w.post(&keys, Some(&ob), json!({"name": "all", "scopes": every}));
    assert_eq!(created.status, 201, "{}", created.raw);
    let key = created.json()["key"].as_str().unwrap().to_owned();
    let owner_id = owner["user"]["id"].as_str().unwrap().to_owned();

    let attacks = [
        w.api().delete_org(&key, &org),
        w.api().transfer_ownership(&key, &org, &owner_id),
        w.api().update_billing(&key, &ws, "enterprise", "evil@example.com"),
    ];
    for r in &attacks {
        assert_eq!((r.status, code_of(r)), (403, "user_required".into()), "{}", r.raw);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    // Nothing changed; the key itself works where it may.
    assert_eq!(w.api().org(&key, &org).status, 200);
    let ws_now = w.api().workspace(&ob, &ws).json();
    assert_ne!(ws_now["plan"], "enterprise", "{ws_now}");
    let decision = w.api().authorize(&key, "org:delete", &org).json();
    assert_eq!(decision["allowed"], false);
    assert_eq!(w.api().delete_org(&ob, &org).status, 204, "the owner may");
}

/// A Worker whose per-IP limit is 5 a minute; `on` sets `IP_RATE_LIMIT=on`.
fn low_ip_limit_worker(on: bool) -> Worker {
    let vars = if on { vec![("IP_RATE_LIMIT".to_string(), "on".to_string())] } else { Vec::new() };
    Worker::start_configured(WorkerOptions { vars }, |doc| {
        let limiters = doc["ratelimits"].as_array_of_tables_mut().expect("[[ratelimits]] in wrangler.toml");
        let ip = limiters
            .iter_mut()
            .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("IP_LIMITER"))
            .expect("IP_LIMITER binding in wrangler.toml");
        let limit = &mut ip["simple"]["limit"];
        assert_eq!(limit.as_integer(), Some(100), "IP_LIMITER's limit changed");
        *limit = toml_edit::value(5);
        assert_eq!(ip["simple"]["period"].as_integer(), Some(60), "IP_LIMITER's period changed");
    })
}

/// The `i`th request of a burst from `ip`, cycling through the four limited routes.
fn limited_route(w: &Worker, ip: &str, i: usize) -> Resp {
    let routes = [
        ("/v1/auth/login", json!({"email": "x@example.com", "password": WRONG})),
        ("/v1/auth/signup", json!({"email": "y@example.com", "password": PASSWORD, "name": "Y"})),
        ("/v1/auth/password-reset", json!({"email": "y@example.com"})),
        ("/v1/auth/login/mfa", json!({"mfa_token": "x", "code": "000000"})),
    ];
    let (path, body) = &routes[i % 4];
    let bytes = serde_json::to_vec(body).unwrap();
    w.send("POST", path, None, &[("Content-Type", "application/json"), ("CF-Connecting-IP", ip)], Some(&bytes))
}

/// 12 sign-in requests from `ip`.
fn burst(w: &Worker, ip: &str) -> Vec<Resp> {
    (0..12).map(|i| limited_route(w, ip, i)).collect()
}

#[test]
fn the_per_ip_limit_answers_429_when_turned_on_and_stays_off_in_development() {
    let (on, off) = thread::scope(|s| {
        let on = s.spawn(|| low_ip_limit_worker(true));
        let off = s.spawn(|| low_ip_limit_worker(false));
        (on.join().unwrap(), off.join().unwrap())
    });
    // The local simulation (wrangler 4.164, measured) counts per key in fixed
    // windows aligned to the clock's minutes: 12 requests see at most two
    // windows, so at most 10 pass.
    let answers = burst(&on, "203.0.113.7");
    let limited: Vec<&Resp> = answers.iter().filter(|r| r.status == 429).collect();
    assert!(limited.len() >= 2, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    for r in &limited {
        assert_eq!(code_of(r), "too_many_attempts");
        assert_eq!(r.header("retry-after"), Some("60"));
    }
    assert!(answers.iter().all(|r| [202, 400, 401, 429].contains(&r.status)));
    // Another client has its own bucket (wrangler dev passes CF-Connecting-IP
    // through; 127.0.0.1 without it), and other routes are not behind it.
    let other = limited_route(&on, "198.51.100.1", 0);
    assert_eq!(other.status, 401, "{}", other.raw);
    assert_eq!(on.post("/v1/auth/resend-verification", None, json!({"email": "y@example.com"})).status, 202);

    // The management Worker's routes are limited alike: the edge hands them
    // the request with the client's address.
    let device = |ip: &str| {
        let headers = [("Content-Type", "application/json"), ("CF-Connecting-IP", ip)];
        on.send("POST", "/v1/auth/device", None, &headers, Some(br#"{"client_name":"burst"}"#))
    };
    let answers: Vec<Resp> = (0..12).map(|_| device("203.0.113.70")).collect();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert!(statuses.iter().filter(|&&s| s == 429).count() >= 2, "{statuses:?}");
    assert!(statuses.iter().all(|s| [200, 429].contains(s)), "{statuses:?}");
    assert_eq!(device("203.0.113.71").status, 200, "another address has its own bucket there too");

    // ENVIRONMENT=development without IP_RATE_LIMIT=on: never limited.
    let answers = burst(&off, "203.0.113.7");
    assert!(answers.iter().all(|r| r.status != 429), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
}
