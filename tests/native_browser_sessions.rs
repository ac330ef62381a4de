//! Browser sessions (cookie mode, the console), through the real router over
//! SQLite: the shared scenarios of tests/client/browser.rs, plus what only an
//! injected clock and configuration can show (an expired access token, the
//! https cookie).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use testapp::browser::{self, access, assert_browser_session, assert_clears, set_cookies, Browser, CLIENT};
use testapp::*;

#[test]
fn rotation_and_a_reused_cookie_revokes_the_family() {
    browser::rotation_and_reuse(&TestApp::new(), "rot@example.com");
}

#[test]
fn without_our_origin_browser_mode_is_refused_and_nothing_happens() {
    browser::csrf(&TestApp::new(), "csrf@example.com", true);
}

#[test]
fn without_the_custom_header_the_cookie_is_not_read() {
    browser::missing_custom_header(&TestApp::new(), "hdr@example.com");
}

#[test]
fn a_cookie_authenticates_nothing_outside_refresh_and_logout() {
    browser::cookie_elsewhere_authenticates_nothing(&TestApp::new(), "else@example.com");
}

#[test]
fn logout_by_cookie_alone_revokes_and_clears() {
    browser::logout_by_cookie(&TestApp::new(), "out@example.com");
}

#[test]
fn json_clients_are_unchanged() {
    browser::json_clients_unchanged(&TestApp::new(), "json@example.com");
}

#[test]
fn verify_email_invited_signup_and_second_factor_set_the_cookie() {
    browser::other_issuing_routes(&TestApp::new(), "issue@example.com");
}

#[test]
fn the_same_cookie_twice_wins_once_and_revokes_the_family() {
    let app = TestApp::new();
    app.api().verified("twice@example.com");
    let origin = app.origin();
    let mut tab = Browser::new(&app);
    assert_browser_session(&tab.login("twice@example.com"), &origin);
    let c = tab.cookie.clone().unwrap();
    let headers = [CLIENT, ("Origin", origin.as_str())];
    let a = tab.raw("POST", "/v1/auth/token", None, &headers, Some(&c), None);
    let b = tab.raw("POST", "/v1/auth/token", None, &headers, Some(&c), None);
    assert_eq!((a.status, b.status), (200, 401), "{} / {}", a.raw, b.raw);
    assert_clears(&b, &origin);
    assert_eq!(browser::me_status(&app, &access(&a)), 401, "the winner's tokens die with the family");
}

#[test]
fn logout_with_an_expired_access_token_still_revokes_through_the_cookie() {
    let app = TestApp::new();
    app.api().verified("late@example.com");
    let origin = app.origin();
    let mut tab = Browser::new(&app);
    let s = tab.login("late@example.com");
    assert_browser_session(&s, &origin);
    let c = tab.cookie.clone().unwrap();
    app.advance(16 * 60); // past the access token's 15 minutes
    assert_eq!(browser::me_status(&app, &access(&s)), 401);
    let out = tab.logout(Some(&access(&s))).expect(204);
    assert_clears(&out, &origin);
    let r = tab.raw("POST", "/v1/auth/token", None, &[CLIENT, ("Origin", &origin)], Some(&c), None);
    assert_clears(&r.expect_problem(401, "invalid_token"), &origin);
    // A JSON client's logout with the same expired token is still 401, as always.
    app.api().logout(access(&s)).expect_problem(401, "unauthenticated");
}

#[test]
fn over_https_the_cookie_is_host_prefixed_secure_httponly_strict_and_path_root() {
    let app = TestApp::with_config(config_with(&[("APP_URL", "https://app.test")]));
    app.api().verified("tls@example.com");
    let origin = app.origin();
    assert_eq!(origin, "https://app.test");
    let mut tab = Browser::new(&app);
    let s = tab.login("tls@example.com");
    let c = assert_browser_session(&s, &origin);
    assert_eq!(c.name, "__Host-latchkey_refresh");
    for a in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(c.has(a), "{a}: {c:?}");
    }
    let raw = s.header("set-cookie").unwrap();
    assert!(raw.starts_with("__Host-latchkey_refresh=") && raw.contains("; Secure"), "{raw}");
    // The unprefixed name (what a sibling over http could plant) is not read.
    let planted = app.call_with(
        "POST",
        "/v1/auth/token",
        None,
        None,
        &[CLIENT, ("Origin", &origin), ("Cookie", &format!("latchkey_refresh={}", c.value))],
    );
    assert_clears(&planted.expect_problem(401, "invalid_token"), &origin);
    // Plain-http Origin against an https service: refused.
    let r = tab.raw("POST", "/v1/auth/token", None, &[CLIENT, ("Origin", "http://app.test")], Some(&c.value), None);
    r.expect_problem(403, "csrf_rejected");
    // Rotation, and logout clears with the same attributes.
    let r = tab.refresh();
    assert_browser_session(&r, &origin);
    let out = tab.logout(None).expect(204);
    assert_clears(&out, &origin);
    let cleared = &set_cookies(&out)[0];
    assert!(cleared.has("Secure") && cleared.has("HttpOnly") && cleared.has("Path=/"), "{cleared:?}");
}

#[test]
fn the_loopback_twin_of_app_url_signs_in_in_development_only() {
    // `make dev` serves APP_URL=http://127.0.0.1:PORT; the person may type
    // localhost:PORT. Development accepts that twin (same scheme and port).
    let app = TestApp::with_config(config_with(&[("APP_URL", "http://127.0.0.1:8787")]));
    Api(&app).verified("twin@example.com");
    let login = serde_json::json!({"email": "twin@example.com", "password": PASSWORD});
    let tab = Browser::new(&app);
    let sign_in = |origin: &str| {
        tab.raw("POST", "/v1/auth/login", None, &[CLIENT, ("Origin", origin)], None, Some(login.clone()))
    };
    assert_browser_session(&sign_in("http://127.0.0.1:8787"), "http://127.0.0.1:8787");
    let twin = sign_in("http://localhost:8787");
    assert_eq!(twin.status, 200, "{}", twin.raw);
    assert_eq!(set_cookies(&twin).len(), 1, "{:?}", twin.headers);
    // Another port is another service, in development too.
    for other in ["http://localhost:8788", "http://127.0.0.1:8788", "https://localhost:8787"] {
        sign_in(other).expect_problem(403, "csrf_rejected");
    }

    // Production with the same APP_URL: the origin is exact. (The check comes
    // before the handler: a refused origin is 403, an accepted one reaches
    // the credentials, here of nobody: 401.)
    let production = TestApp::with_config(config_with(&[
        ("APP_URL", "http://127.0.0.1:8787"),
        ("ENVIRONMENT", "production"),
        ("MAILER", "http"),
        ("MAIL_API_URL", "https://mail.example/emails"),
        ("MAIL_API_KEY", "k"),
    ]));
    let tab = Browser::new(&production);
    let sign_in = |origin: &str| {
        tab.raw("POST", "/v1/auth/login", None, &[CLIENT, ("Origin", origin)], None, Some(login.clone()))
    };
    sign_in("http://127.0.0.1:8787").expect_problem(401, "invalid_credentials");
    sign_in("http://localhost:8787").expect_problem(403, "csrf_rejected");
}
