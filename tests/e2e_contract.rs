//! Runtime tests of the API contract: the built Worker under wrangler dev
//! answers malformed JSON with 400 `invalid_json` and a body that is not an
//! object with 422, and serves an OpenAPI
//! document that a real OpenAPI 3.1 validator (openapi-spec-validator,
//! installed into `.tools/venv` by `scripts/setup.sh`) accepts.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

fn post_raw(w: &Worker, path: &str, body: &[u8]) -> Resp {
    w.send("POST", path, None, &[("Content-Type", "application/json")], Some(body))
}

#[test]
fn malformed_json_is_400_even_when_the_part_read_is_wrongly_shaped() {
    let w = Worker::start();
    let cases: &[(&str, &[u8], &str)] = &[
        ("/v1/auth/login", br#"{"email": "a@example.com", "name": "#, "unknown field, then truncated"),
        ("/v1/auth/signup", br#"{"email": 1, "password": "#, "wrong type, then truncated"),
        ("/v1/auth/signup", br#"{"email": "a@example.com"} x"#, "trailing garbage"),
        ("/v1/auth/token", b"", "empty body"),
        ("/v1/invitations/preview", b"{\"nope\": \"\xff\"}", "not UTF-8 in an unknown field"),
    ];
    for (path, body, why) in cases {
        let r = post_raw(&w, path, body);
        assert_eq!((r.status, r.json()["code"].as_str()), (400, Some("invalid_json")), "{path} with {why}: {}", r.raw);
        assert_eq!(r.header("content-type"), Some("application/problem+json"), "{path}: {why}");
    }
    // Well-formed but wrongly shaped stays 422.
    let r = post_raw(&w, "/v1/auth/login", br#"{"email": "a@example.com", "name": "x"}"#);
    assert_eq!((r.status, r.json()["code"].as_str()), (422, Some("validation_failed")), "{}", r.raw);

    // A body that is not an object, where the route takes one: 422, and
    // nothing changed or created (the two reported cases: 200 and 201 before).
    let f = Fixture::new(w).org_with("Acme", &[]);
    let (w, org, owner) = (&f.app, f.org.clone(), access(f.owner()));
    let before = w.get(&format!("/v1/orgs/{org}"), Some(&owner)).expect(200).body;
    for body in [&b"[]"[..], b"null", b"\"Acme\"", b"7", b"[\"Renamed\"]"] {
        for (method, path) in [("PATCH", format!("/v1/orgs/{org}")), ("POST", format!("/v1/orgs/{org}/install-links"))]
        {
            let r = w.send(method, &path, Some(&owner), &[("Content-Type", "application/json")], Some(body));
            let sent = format!("{method} {path} with {}", String::from_utf8_lossy(body));
            assert_eq!((r.status, r.json()["code"].as_str()), (422, Some("validation_failed")), "{sent}: {}", r.raw);
            assert_eq!(r.json()["errors"][0]["field"], "body", "{sent}: {}", r.raw);
        }
    }
    assert_eq!(w.get(&format!("/v1/orgs/{org}"), Some(&owner)).expect(200).body, before);
    let links = w.get(&format!("/v1/orgs/{org}/install-links"), Some(&owner)).expect(200).body;
    assert_eq!(links["data"].as_array().map(Vec::len), Some(0), "{links}");
}

/// Runs openapi-spec-validator (OpenAPI 3.1 rules, every error) over `file`:
/// whether it passed, and what it printed.
fn validate_openapi(file: &Path) -> (bool, String) {
    let python = repo_root().join(".tools/venv/bin/python");
    assert!(python.exists(), "{} is missing: run `make setup` (scripts/setup.sh) first", python.display());
    let out = Command::new(&python)
        .args(["-m", "openapi_spec_validator", "--schema", "3.1", "--validation-errors", "all"])
        .arg(file)
        .output()
        .expect("run openapi-spec-validator");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_served_openapi_document_passes_an_openapi_3_1_validator() {
    let w = Worker::shared();
    let r = w.get("/openapi.json", None);
    assert_eq!(r.status, 200, "{}", r.raw);
    let doc: Value = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let dir = tempfile::tempdir().unwrap();
    let served: PathBuf = dir.path().join("openapi.json");
    std::fs::write(&served, &r.raw).unwrap();

    let (ok, output) = validate_openapi(&served);
    assert!(ok, "openapi-spec-validator refused the served /openapi.json:\n{output}");
    assert!(output.contains("OK"), "{output}");

    // The validator must be able to fail here: the same document with one
    // operationId used twice (as org and workspace members once were).
    let mut broken = doc.clone();
    broken["paths"]["/v1/workspaces/{ws_id}/members"]["get"]["operationId"] = json!("list_members");
    let copy = dir.path().join("broken.json");
    std::fs::write(&copy, serde_json::to_vec(&broken).unwrap()).unwrap();
    let (ok, output) = validate_openapi(&copy);
    assert!(!ok, "a duplicated operationId passed validation:\n{output}");
    assert!(output.contains("Operation ID 'list_members'") && output.contains("is not unique"), "{output}");
}
