//! The console's side of browser sessions (cookie mode), for both harnesses:
//! a [`Browser`] that sends `X-Latchkey-Client: browser` and our `Origin`,
//! keeps the refresh cookie the way a browser's cookie jar does, and the
//! scenarios that attack the rules (run by native_browser_sessions and
//! e2e_browser_sessions).
use super::{Api, Reply, Transport, PASSWORD};
use serde_json::{json, Value};

/// The opt-in header.
pub const CLIENT: (&str, &str) = ("X-Latchkey-Client", "browser");

/// The refresh cookie's name for an APP_URL origin.
pub fn cookie_name(origin: &str) -> &'static str {
    if origin.starts_with("https://") {
        "__Host-latchkey_refresh"
    } else {
        "latchkey_refresh"
    }
}

/// A `Set-Cookie` value, split: (name, value, attributes lower-cased).
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub attributes: Vec<String>,
}

impl SetCookie {
    pub fn parse(header: &str) -> SetCookie {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts.next().and_then(|p| p.split_once('=')).expect("name=value");
        SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            attributes: parts.map(str::to_ascii_lowercase).collect(),
        }
    }
    pub fn has(&self, attribute: &str) -> bool {
        self.attributes.iter().any(|a| a == &attribute.to_ascii_lowercase())
    }
    pub fn max_age(&self) -> i64 {
        self.attributes
            .iter()
            .find_map(|a| a.strip_prefix("max-age="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Max-Age in {self:?}"))
    }
}

/// Every `Set-Cookie` of an answer.
pub fn set_cookies(r: &Reply) -> Vec<SetCookie> {
    r.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| SetCookie::parse(v)).collect()
}

/// A browser tab of the console: same-origin requests in cookie mode, and a
/// one-cookie jar.
pub struct Browser<'a> {
    pub t: &'a dyn Transport,
    /// The refresh cookie's value, as the jar holds it.
    pub cookie: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(t: &'a dyn Transport) -> Self {
        Browser { t, cookie: None }
    }

    pub fn name(&self) -> &'static str {
        cookie_name(&self.t.origin())
    }

    /// Sends with `headers` as given (no implied ones) and `cookie` as the
    /// `Cookie` header; the jar is not touched.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
        cookie: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let cookie_header = cookie.map(|c| format!("{}={c}", self.name()));
        let mut all = headers.to_vec();
        if let Some(c) = &cookie_header {
            all.push(("Cookie", c));
        }
        self.t.call_with_headers(method, path, bearer, &all, body)
    }

    /// A same-origin cookie-mode request carrying the jar's cookie; the jar
    /// takes what the answer sets (a `Max-Age=0` empties it).
    pub fn send(&mut self, method: &str, path: &str, bearer: Option<&str>, body: Option<Value>) -> Reply {
        let origin = self.t.origin();
        let r = self.raw(method, path, bearer, &[CLIENT, ("Origin", &origin)], self.cookie.clone().as_deref(), body);
        for c in set_cookies(&r) {
            assert_eq!(c.name, self.name(), "{c:?}");
            self.cookie = (c.max_age() > 0).then_some(c.value);
        }
        r
    }

    pub fn login(&mut self, email: &str) -> Reply {
        self.send("POST", "/v1/auth/login", None, Some(json!({"email": email, "password": PASSWORD})))
    }
    pub fn refresh(&mut self) -> Reply {
        self.send("POST", "/v1/auth/token", None, None)
    }
    pub fn logout(&mut self, bearer: Option<&str>) -> Reply {
        self.send("POST", "/v1/auth/logout", bearer, None)
    }
}

/// The access token of a session answer.
pub fn access(r: &Reply) -> String {
    r.body["access_token"].as_str().unwrap_or_else(|| panic!("no access_token: {}", r.raw)).to_owned()
}

/// A session answer in browser mode: the access token and user in the body,
/// no refresh token there, the cookie set with the rules' attributes.
#[track_caller]
pub fn assert_browser_session(r: &Reply, origin: &str) -> SetCookie {
    assert_eq!(r.status / 100, 2, "{}", r.raw);
    assert!(r.body["access_token"].is_string() && r.body["user"]["id"].is_string(), "{}", r.raw);
    assert!(r.body.get("refresh_token").is_none(), "refresh_token in a browser-mode body: {}", r.raw);
    assert!(!r.raw.contains("refresh_token"), "{}", r.raw);
    let cookies = set_cookies(r);
    assert_eq!(cookies.len(), 1, "{:?}", r.headers);
    let c = cookies[0].clone();
    assert_eq!(c.name, cookie_name(origin));
    assert!(c.value.len() >= 32, "{c:?}");
    for a in ["Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(c.has(a), "{a} missing: {c:?}");
    }
    assert_eq!(c.has("Secure"), origin.starts_with("https://"), "{c:?}");
    assert!(!c.attributes.iter().any(|a| a.starts_with("domain")), "{c:?}");
    assert_eq!(c.max_age(), 30 * 24 * 3600, "{c:?}");
    c
}

/// An answer that clears the cookie.
#[track_caller]
pub fn assert_clears(r: &Reply, origin: &str) {
    let cookies = set_cookies(r);
    assert_eq!(cookies.len(), 1, "{} {:?}", r.status, r.headers);
    assert_eq!(cookies[0].name, cookie_name(origin));
    assert_eq!((cookies[0].value.as_str(), cookies[0].max_age()), ("", 0), "{:?}", cookies[0]);
}

/// `GET /v1/me` with a bearer: the status.
pub fn me_status(t: &dyn Transport, access: &str) -> u16 {
    Api(t).me(access).status
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// Sign in, rotate, and a reused cookie revokes the family: the newest
/// access token stops working and the newest cookie refreshes nothing.
pub fn rotation_and_reuse(t: &dyn Transport, email: &str) {
    Api(t).verified(email);
    let origin = t.origin();
    let mut tab = Browser::new(t);
    let first = tab.login(email);
    let c1 = assert_browser_session(&first, &origin).value;
    assert_eq!(me_status(t, &access(&first)), 200);

    let second = tab.refresh();
    let c2 = assert_browser_session(&second, &origin).value;
    assert_ne!(c1, c2, "the cookie rotates");
    assert_eq!(me_status(t, &access(&second)), 200);
    let third = tab.refresh();
    let c3 = assert_browser_session(&third, &origin).value;

    // The stolen c1 comes back: invalid_token, cleared, and the family is revoked.
    let replay = tab.raw("POST", "/v1/auth/token", None, &[CLIENT, ("Origin", &origin)], Some(&c1), None);
    let replay = replay.expect_problem(401, "invalid_token");
    assert_clears(&replay, &origin);
    assert_eq!(me_status(t, &access(&third)), 401, "the newest access token dies with its session");
    let after = tab.raw("POST", "/v1/auth/token", None, &[CLIENT, ("Origin", &origin)], Some(&c3), None);
    assert_clears(&after.expect_problem(401, "invalid_token"), &origin);
    let _ = c2;
}

/// CSRF: without our Origin (wrong, `null`, missing, another port or
/// scheme) a browser-mode request is refused with 403 csrf_rejected and
/// nothing happens: no session, no cookie consumed, no cookie set.
///
/// `same_host_other_scheme`: also send our host and port with the other scheme. Not
/// under `wrangler dev`, whose local proxy rewrites every header URL naming
/// its own host and port to its inner origin, scheme included, before the
/// Worker sees it (production has no such proxy; the native suite covers it).
pub fn csrf(t: &dyn Transport, email: &str, same_host_other_scheme: bool) {
    let person = Api(t).verified(email);
    let origin = t.origin();
    let mut tab = Browser::new(t);
    let c = assert_browser_session(&tab.login(email), &origin).value;
    let sessions_before = Api(t).sessions(&person).expect(200).body["data"].as_array().unwrap().len();
    let other_port = format!("{origin}1");
    let other_scheme = match origin.strip_prefix("https://") {
        Some(rest) => format!("http://{rest}"),
        None => origin.replacen("http://", "https://", 1),
    };
    let mut bad_origins: Vec<Option<&str>> = vec![
        None,
        Some("https://evil.example"),
        Some("null"),
        Some(""),
        Some(other_port.as_str()),
        Some("http://127.0.0.1.evil.example"),
        Some("http://app.test.evil.example"),
    ];
    if same_host_other_scheme {
        bad_origins.push(Some(other_scheme.as_str()));
    }
    let login = json!({"email": email, "password": PASSWORD});
    for bad in &bad_origins {
        let mut headers = vec![CLIENT];
        if let Some(o) = bad {
            headers.push(("Origin", o));
        }
        for (path, body) in [
            ("/v1/auth/login", Some(login.clone())),
            ("/v1/auth/token", None),
            ("/v1/auth/logout", None),
            ("/v1/auth/verify-email", Some(json!({"token": "x", "password": PASSWORD}))),
            ("/v1/auth/login/mfa", Some(json!({"mfa_token": "x", "code": "123456"}))),
            ("/v1/auth/oauth/complete", Some(json!({"login_code": "x"}))),
            ("/v1/auth/signup", Some(json!({"email": "csrf-new@example.com", "password": PASSWORD, "name": "N"}))),
        ] {
            let r = tab.raw("POST", path, None, &headers, Some(&c), body);
            assert_eq!((r.status, r.code()), (403, "csrf_rejected"), "{path} with Origin {bad:?}: {}", r.raw);
            assert!(set_cookies(&r).is_empty(), "{path} {bad:?}: {:?}", r.headers);
            assert!(!r.raw.contains("access_token"), "{}", r.raw);
        }
    }
    // Nothing happened: no new session, the cookie was neither consumed nor
    // revoked (it still refreshes), and the refused sign-up sent no email.
    let sessions_after = Api(t).sessions(&person).expect(200).body["data"].as_array().unwrap().len();
    assert_eq!(sessions_before, sessions_after);
    assert_eq!(t.emails("csrf-new@example.com", 0).len(), 0);
    tab.cookie = Some(c);
    assert_browser_session(&tab.refresh(), &origin);

    // Another value of the opt-in header is not a silent JSON fallback.
    let r = tab.raw(
        "POST",
        "/v1/auth/login",
        None,
        &[("X-Latchkey-Client", "bowser"), ("Origin", &origin)],
        None,
        Some(login),
    );
    r.expect_problem(422, "validation_failed");
}

/// Without the custom header the cookie is not read: the refresh route is a
/// JSON client's (no body: 400), and the cookie stays unspent.
pub fn missing_custom_header(t: &dyn Transport, email: &str) {
    Api(t).verified(email);
    let origin = t.origin();
    let mut tab = Browser::new(t);
    let c = assert_browser_session(&tab.login(email), &origin).value;
    let r = tab.raw("POST", "/v1/auth/token", None, &[("Origin", &origin)], Some(&c), None);
    assert!(set_cookies(&r).is_empty(), "{:?}", r.headers);
    r.expect_problem(400, "invalid_json");
    let r = tab.raw("POST", "/v1/auth/logout", None, &[("Origin", &origin)], Some(&c), None);
    r.expect_problem(401, "unauthenticated");
    assert_browser_session(&tab.refresh(), &origin);
}

/// The cookie is a credential on the refresh and logout routes only.
pub fn cookie_elsewhere_authenticates_nothing(t: &dyn Transport, email: &str) {
    Api(t).verified(email);
    let origin = t.origin();
    let mut tab = Browser::new(t);
    let c = assert_browser_session(&tab.login(email), &origin).value;
    let headers = [CLIENT, ("Origin", origin.as_str())];
    for (method, path, body) in [
        ("GET", "/v1/me", None),
        ("GET", "/v1/me/sessions", None),
        ("GET", "/v1/orgs", None),
        ("POST", "/v1/orgs", Some(json!({"name": "Cookie Org"}))),
        ("PATCH", "/v1/me", Some(json!({"name": "Cookie"}))),
        ("POST", "/v1/authorize", Some(json!({"permission": "org.read", "org_id": "org_x"}))),
    ] {
        let r = tab.raw(method, path, None, &headers, Some(&c), body);
        assert_eq!(r.status, 401, "{method} {path}: {}", r.raw);
        assert!(set_cookies(&r).is_empty(), "{method} {path}");
    }
    // The access token itself does not work as a cookie either.
    let fresh = access(&tab.refresh());
    let r = tab.raw("GET", "/v1/me", None, &headers, Some(&fresh), None);
    assert_eq!(r.status, 401, "{}", r.raw);
}

/// Logout through the cookie alone (the access token absent or dead):
/// 204, cleared, and the session's tokens stop working.
pub fn logout_by_cookie(t: &dyn Transport, email: &str) {
    Api(t).verified(email);
    let origin = t.origin();

    // No access token at all.
    let mut tab = Browser::new(t);
    let s = tab.login(email);
    assert_browser_session(&s, &origin);
    let c = tab.cookie.clone().unwrap();
    let out = tab.logout(None).expect(204);
    assert_clears(&out, &origin);
    assert_eq!(tab.cookie, None);
    assert_eq!(me_status(t, &access(&s)), 401, "the session's access token is revoked");
    let again = tab.raw("POST", "/v1/auth/token", None, &[CLIENT, ("Origin", &origin)], Some(&c), None);
    assert_clears(&again.expect_problem(401, "invalid_token"), &origin);

    // A bearer that is not a live token (expired, garbage) does not stop it.
    let mut tab = Browser::new(t);
    let s = tab.login(email);
    assert_browser_session(&s, &origin);
    assert_clears(&tab.logout(Some("eyJhbGciOiJFZERTQSJ9.e30.c2ln")).expect(204), &origin);
    assert_eq!(me_status(t, &access(&s)), 401);

    // Bearer of one session and cookie of another: both end.
    let mut a = Browser::new(t);
    let mut b = Browser::new(t);
    let sa = a.login(email);
    let sb = b.login(email);
    b.cookie = a.cookie.clone();
    assert_clears(&b.logout(Some(&access(&sb))).expect(204), &origin);
    assert_eq!((me_status(t, &access(&sa)), me_status(t, &access(&sb))), (401, 401));

    // Neither: still 204 and cleared (the tab is signed out either way).
    assert_clears(&Browser::new(t).logout(None).expect(204), &origin);
}

/// JSON clients are unchanged: refresh_token in the body, no Set-Cookie,
/// and a cookie they happen to send is never read.
pub fn json_clients_unchanged(t: &dyn Transport, email: &str) {
    let api = Api(t);
    let person = api.verified(email);
    let r = api.login(email, PASSWORD).expect(200);
    assert!(r.body["refresh_token"].is_string(), "{}", r.raw);
    assert!(set_cookies(&r).is_empty(), "{:?}", r.headers);
    assert!(person.session["refresh_token"].is_string());
    let refresh_token = r.body["refresh_token"].as_str().unwrap().to_owned();
    let rotated = api.refresh(&refresh_token).expect(200);
    assert!(rotated.body["refresh_token"].is_string(), "{}", rotated.raw);
    assert!(set_cookies(&rotated).is_empty());

    // A browser's cookie (and Origin) without the opt-in header: ignored.
    let origin = t.origin();
    let mut tab = Browser::new(t);
    let c = assert_browser_session(&tab.login(email), &origin).value;
    let next = rotated.body["refresh_token"].as_str().unwrap();
    let r =
        tab.raw("POST", "/v1/auth/token", None, &[("Origin", &origin)], Some(&c), Some(json!({"refresh_token": next})));
    let r = r.expect(200);
    assert!(r.body["refresh_token"].is_string() && set_cookies(&r).is_empty(), "{}", r.raw);
    let out = api.logout(access(&r)).expect(204);
    assert!(set_cookies(&out).is_empty());
    // The browser's session was not touched by either.
    assert_browser_session(&tab.refresh(), &origin);
}

/// Browser mode on the other session-issuing routes: verify-email, the
/// invitation sign-up (201) and the second factor answer the same way.
pub fn other_issuing_routes(t: &dyn Transport, email: &str) {
    let api = Api(t);
    let origin = t.origin();
    let mut tab = Browser::new(t);
    api.signup(email, PASSWORD, "B").expect(202);
    let token = api.emailed_token(email, "/verify-email", 1);
    let r = tab.send("POST", "/v1/auth/verify-email", None, Some(json!({"token": token, "password": PASSWORD})));
    assert_browser_session(&r, &origin);
    let owner = access(&r);
    assert_browser_session(&tab.refresh(), &origin);

    let org = api.create_org(&owner, "Browser Org").expect(201).id();
    let invitee = format!("invited-{email}");
    let token = api.invitation_token(&owner, super::Tenant::Org(&org), &invitee, "member");
    let mut tab2 = Browser::new(t);
    let r = tab2.send(
        "POST",
        "/v1/auth/signup",
        None,
        Some(json!({"email": invitee, "password": PASSWORD, "name": "Inv", "invitation_token": token})),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    assert_browser_session(&r, &origin);
    assert_browser_session(&tab2.refresh(), &origin);

    // 2FA: the first step sets no cookie, the second sets it.
    let mfa_email = format!("mfa-{email}");
    let two = api.verified_with_2fa(&mfa_email);
    let mut tab3 = Browser::new(t);
    let first = tab3.login(&mfa_email).expect(200);
    assert_eq!(first.body["mfa_required"], true);
    assert!(set_cookies(&first).is_empty() && tab3.cookie.is_none());
    let mfa_token = first.body["mfa_token"].as_str().unwrap().to_owned();
    let r = tab3.send(
        "POST",
        "/v1/auth/login/mfa",
        None,
        Some(json!({"mfa_token": mfa_token, "recovery_code": two.recovery_codes[0]})),
    );
    assert_browser_session(&r, &origin);
    assert_browser_session(&tab3.refresh(), &origin);
}
