//! The API contract that holds across every route: malformed JSON is 400
//! `invalid_json` before any shape rule is looked at, and the OpenAPI
//! document names each operation once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use serde_json::Value;
use std::collections::BTreeMap;
use testapp::*;

/// Bodies that are not JSON, each with the reason it is a case of its own.
/// Several are also wrongly shaped in the part before the syntax error, which
/// a typed parse alone would report first (as 422).
const MALFORMED: &[(&[u8], &str)] = &[
    (b"", "empty body"),
    (b"   \n", "whitespace only"),
    (b"{", "a lone brace"),
    (br#"{"email": "a@example.com", "name": "#, "truncated after a key"),
    (br#"{"email": "a@exam"#, "truncated inside a string"),
    (br#"{"email": "a@example.com""#, "truncated before the closing brace"),
    (br#"{"nope": 1, "email": "#, "unknown field, then truncated"),
    (br#"{"nope": 1, "#, "unknown field, then truncated after a comma"),
    (br#"{"email": 1, "password": "#, "wrong type, then truncated"),
    (br#"{"email": ["#, "wrong type (array), truncated inside it"),
    (br#"{"email": 1}}"#, "wrong type, then a stray brace"),
    (br#"{"nope": true} trailing"#, "unknown field, then trailing garbage"),
    (br#"{"email": "a@example.com"} x"#, "trailing garbage"),
    (b"{} {}", "two documents"),
    (br#"[1, 2"#, "wrong top-level type, truncated"),
    (br#""text" x"#, "a string, then trailing garbage"),
    (br#"{"email": "a@example.com",}"#, "trailing comma"),
    (br#"{'email': 'a@example.com'}"#, "single quotes"),
    (br#"{email: "a@example.com"}"#, "unquoted key"),
    (br#"{"email": NaN}"#, "NaN is not JSON"),
    (br#"{"email": "a\qb"}"#, "invalid escape"),
    (b"{\"email\": \"a\x01b\"}", "raw control character in a string"),
    (b"\xff\xfe{}", "not UTF-8 (a UTF-16 byte-order mark)"),
    (b"{\"email\": \"\xc3\"}", "not UTF-8 (a cut multi-byte sequence)"),
    (b"{\"nope\": \"\xff\"}", "not UTF-8 inside an unknown field's value"),
    (b"{\"email\": 1, \"nope\": \"\xff\"}", "wrong type, then not UTF-8"),
];

/// Valid JSON of the wrong shape stays 422: syntax first must not turn
/// every refusal into a 400.
const WRONG_SHAPE: &[(&[u8], &str)] = &[
    (b"null", "null"),
    (b"[1, 2]", "an array"),
    (br#""text""#, "a string"),
    (br#"{"email": 1, "password": 2, "name": 3}"#, "wrong types"),
    (br#"{"nope": true}"#, "only an unknown field"),
    (br#"{"nope": {"deep": [1, {"x": "\u00e9"}]}, "email": 1}"#, "unknown nested field and a wrong type"),
];

fn send(app: &TestApp, method: &str, path: &str, bearer: Option<&str>, body: &[u8]) -> Resp {
    app.send(method, path, bearer, &[("content-type", "application/json")], body)
}

/// Routes with a JSON body: public ones, and ones behind a session (which
/// must reach the body parser, so they get a real session).
fn routes(app: &TestApp) -> Vec<(&'static str, String, Option<String>)> {
    let session = app.verified_user("contract@example.com");
    let token = access(&session);
    let org = app.create_org(&session, "Contract");
    let org_id = org["id"].as_str().unwrap();
    vec![
        ("POST", "/v1/auth/signup".into(), None),
        ("POST", "/v1/auth/login".into(), None),
        ("POST", "/v1/auth/token".into(), None),
        ("POST", "/v1/auth/verify-email".into(), None),
        ("POST", "/v1/invitations/preview".into(), None),
        ("PATCH", "/v1/me".into(), Some(token.clone())),
        ("POST", "/v1/orgs".into(), Some(token.clone())),
        ("PATCH", format!("/v1/orgs/{org_id}"), Some(token.clone())),
        ("POST", format!("/v1/orgs/{org_id}/invitations"), Some(token.clone())),
        ("POST", "/v1/authorize".into(), Some(token.clone())),
        ("POST", "/v1/workspaces".into(), Some(token)),
    ]
}

/// Sends every body of `cases` to every route of [`routes`] and hands each
/// answer to `check` with what was sent, for the failure message.
fn on_every_route(cases: &[(&[u8], &str)], check: impl Fn(Resp, &str)) {
    let app = TestApp::new();
    for (method, path, bearer) in routes(&app) {
        for (body, why) in cases {
            let sent = format!("{method} {path} with {why} ({:?})", String::from_utf8_lossy(body));
            check(send(&app, method, &path, bearer.as_deref(), body), &sent);
        }
    }
}

#[test]
fn malformed_json_is_400_invalid_json_on_every_route_whatever_its_shape() {
    on_every_route(MALFORMED, |r, sent| {
        assert_eq!((r.status, r.code()), (400, "invalid_json"), "{sent}: {}", r.raw);
        assert_eq!(r.header("content-type"), Some("application/problem+json"), "{sent}");
        assert_eq!(r.body["status"], 400, "{sent}");
    });
}

#[test]
fn well_formed_json_of_the_wrong_shape_is_still_422() {
    on_every_route(WRONG_SHAPE, |r, sent| {
        assert_eq!((r.status, r.code()), (422, "validation_failed"), "{sent}: {}", r.raw);
        assert_eq!(r.body["errors"][0]["field"], "body", "{sent}");
    });
}

#[test]
fn the_reported_case_truncated_after_an_unknown_field_is_400() {
    // The body from the issue: `name` is unknown to login, and the body ends
    // right after it. It used to answer 422 `validation_failed`.
    let app = TestApp::new();
    let r = send(&app, "POST", "/v1/auth/login", None, br#"{"email": "a@example.com", "name": "#);
    r.expect_problem(400, "invalid_json");
}

/// Every `(method, path)` of the document, grouped by operationId.
fn operation_ids(doc: &Value) -> BTreeMap<String, Vec<String>> {
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            // A path item may also hold `parameters`, `summary`, …: only operations have ids.
            if !["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            ids.entry(id.to_owned()).or_default().push(format!("{} {path}", method.to_uppercase()));
        }
    }
    ids
}

#[test]
fn every_operation_id_in_the_served_document_is_unique() {
    let app = TestApp::new();
    let doc = app.get("/openapi.json", None).expect(200).body;
    let ids = operation_ids(&doc);
    let duplicated: Vec<_> = ids.iter().filter(|(_, ops)| ops.len() > 1).collect();
    assert!(duplicated.is_empty(), "operationIds used more than once (OpenAPI requires them unique): {duplicated:?}");
    let operations: usize = ids.values().map(Vec::len).sum();
    assert!(operations > 50, "the document lists the whole API, not a handful of operations ({operations})");
}

#[test]
fn the_operation_id_check_catches_a_duplicate() {
    // The check above must be able to fail: a copy with one id reused.
    let mut doc: Value = serde_json::from_str(latchkey::http::openapi::DOCUMENT).unwrap();
    doc["paths"]["/v1/workspaces/{ws_id}/members"]["get"]["operationId"] = "list_members".into();
    let ids = operation_ids(&doc);
    assert_eq!(ids["list_members"], ["GET /v1/orgs/{org_id}/members", "GET /v1/workspaces/{ws_id}/members"]);
}

/// A concrete path for a route pattern (ids that exist nowhere).
fn concrete(path: &str) -> String {
    path.replace("{org_id}", "org_0000000000000000000000")
        .replace("{ws_id}", "ws_0000000000000000000000")
        .replace("{user_id}", "usr_0000000000000000000000")
        .replace("{id}", "x_0000000000000000000000")
}

#[test]
fn the_route_table_says_truly_who_may_call_each_route() {
    use latchkey::http::routes::{Auth, ROUTES};
    // An org's key with a read scope: enough to pass authentication anywhere keys are taken.
    let f = Fixture::new(TestApp::new()).org_with("Acme", &[]).key_with_scopes(&["org:read"]);
    let (app, key) = (&f.app, f.key.as_str());
    for route in ROUTES {
        let path = concrete(route.path);
        let body = (route.method != "GET").then(|| serde_json::json!({}));
        let anonymous = app.call(route.method, &path, None, body.clone());
        if route.auth.required() {
            assert_eq!((anonymous.status, anonymous.code()), (401, "unauthenticated"), "{route:?} without credentials");
        } else {
            assert_ne!(anonymous.status, 401, "{route:?} is public but asked for credentials: {:?}", anonymous.body);
        }
        // The one route that ends its caller's key gets a key of its own.
        let own = (route.path == "/v1/api-keys/current" && route.method == "DELETE").then(|| {
            let created = f.api().create_key(access(f.owner()), &f.org, "ends itself", &["org:read"]).expect(201);
            created.body["key"].as_str().unwrap().to_owned()
        });
        let with_key = app.call(route.method, &path, Some(own.as_deref().unwrap_or(key)), body);
        match route.auth {
            Auth::Person | Auth::PersonOrRefreshCookie => assert_eq!(
                (with_key.status, with_key.code()),
                (403, "user_required"),
                "{route:?} is for people: an API key must not pass"
            ),
            Auth::Principal | Auth::ApiKey => assert!(
                ![401, 403].contains(&with_key.status)
                    || with_key.code() == "insufficient_scope"
                    || with_key.code() == "forbidden",
                "{route:?} takes API keys, got {} {:?}",
                with_key.status,
                with_key.body
            ),
            // The directory's endpoints take an org's SCIM token, nothing else.
            Auth::Scim => assert_eq!(
                (with_key.status, with_key.code()),
                (401, "invalid_scim_token"),
                "{route:?} takes SCIM tokens only: an API key must not pass"
            ),
            Auth::Public | Auth::PublicOrPerson => {}
        }
    }
}

/// Well-formed JSON that is not an object, each with why it is a case.
/// Every request body of the API is an object; before the check in
/// `extract::json`, serde's derived structs took the sequence form, so `[]`
/// passed for a body whose fields all have defaults (PATCH an org: 200).
const NOT_AN_OBJECT: &[(&[u8], &str)] = &[
    (b"[]", "an empty array (a complete all-defaults struct in serde's sequence form)"),
    (b" \n[]", "an empty array after JSON whitespace"),
    (b"[null]", "an array whose first element fills the first field"),
    (b"[\"Acme\", \"acme\", false]", "an array that fills every field in order"),
    (br#""text""#, "a string"),
    (b"\"{}\"", "a string holding an object"),
    (b"42", "a number"),
    (b"-0.5e3", "a number with a fraction and an exponent"),
    (b"true", "a boolean"),
    (b"null", "null"),
];

/// Every route whose operation documents a request body, from the route
/// table itself, so a new body route is covered without being listed here.
fn body_routes() -> Vec<&'static latchkey::http::routes::Route> {
    use latchkey::http::routes::ROUTES;
    ROUTES
        .iter()
        .filter(|route| {
            let doc = (route.doc)();
            let mut item = doc.paths.paths[route.path].clone();
            let op = latchkey::http::openapi::operation_of(&mut item, route.method).expect("documented operation");
            // JSON bodies (the SAML ACS takes the IdP's form instead).
            op.request_body.as_ref().is_some_and(|b| b.content.contains_key("application/json"))
        })
        .collect()
}

#[test]
fn every_body_route_answers_422_to_json_that_is_not_an_object() {
    use latchkey::http::routes::Auth;
    let f = Fixture::new(TestApp::new()).org_with("Acme", &["member"]).workspace_of("customer", "Shop");
    let (app, owner) = (&f.app, f.owner());
    let token = access(owner);
    // The customer's own workspace, so workspace routes reach their body too.
    let ws_token = access(f.customer());
    let routes = body_routes();
    let listed: Vec<String> = routes.iter().map(|r| format!("{r:?}")).collect();
    for reported in ["PATCH /v1/orgs/{org_id}", "POST /v1/orgs/{org_id}/install-links"] {
        assert!(listed.iter().any(|r| r == reported), "{reported} takes a body: {listed:?}");
    }
    assert!(routes.len() >= 35, "every body route, not a handful: {listed:?}");
    // SCIM routes answer SCIM's 400 `invalidSyntax` (tests/native_scim.rs).
    for route in routes.into_iter().filter(|r| r.auth != Auth::Scim) {
        let path = route
            .path
            .replace("{org_id}", &f.org)
            .replace("{ws_id}", &f.ws)
            .replace("{user_id}", &f.who("member").id())
            .replace("{provider}", "github")
            .replace("{id}", "x_0000000000000000000000");
        let bearer = match route.auth {
            Auth::Public | Auth::PublicOrPerson => None,
            Auth::PersonOrRefreshCookie => Some(token.as_str()),
            Auth::Person | Auth::Principal if route.path.contains("{ws_id}") || route.path == "/v1/workspaces" => {
                Some(ws_token.as_str())
            }
            Auth::Person | Auth::Principal => Some(token.as_str()),
            Auth::ApiKey => panic!("{route:?}: no key-only route took a body when this test was written"),
            Auth::Scim => unreachable!("filtered out above"),
        };
        for (body, why) in NOT_AN_OBJECT {
            let r = send(app, route.method, &path, bearer, body);
            let sent = format!("{route:?} with {why} ({:?})", String::from_utf8_lossy(body));
            assert_eq!((r.status, r.code()), (422, "validation_failed"), "{sent}: {}", r.raw);
            assert_eq!(r.header("content-type"), Some("application/problem+json"), "{sent}");
            assert_eq!(r.body["errors"][0]["field"], "body", "{sent}: {}", r.raw);
            assert_eq!(r.body["errors"][0]["code"], "invalid_shape", "{sent}: {}", r.raw);
        }
    }
}

#[test]
fn an_optional_body_is_absent_or_an_object() {
    // POST install-links takes no body (the default lifetime) or an object;
    // `[]`, `null` and the like are 422 like everywhere else, not a default.
    let f = Fixture::new(TestApp::new()).org_with("Acme", &[]);
    let (app, token) = (&f.app, access(f.owner()));
    let path = format!("/v1/orgs/{}/install-links", f.org);
    send(app, "POST", &path, Some(&token), b"").expect(201);
    send(app, "POST", &path, Some(&token), b"{}").expect(201);
    for body in [&b"[]"[..], b"null", b"0"] {
        send(app, "POST", &path, Some(&token), body).expect_problem(422, "validation_failed");
    }
    // Nothing was created by a refused body: the two links above only.
    let links = app.call("GET", &path, Some(&token), None).expect(200).body;
    assert_eq!(links["data"].as_array().unwrap().len(), 2, "{links}");
}
