//! A short schemathesis run (`make fuzz` runs the long one) against the built
//! Worker under wrangler dev, signed in as an org owner (scripts/fuzz/hooks.py):
//! every answer's status code, content type and body must be the ones
//! /openapi.json declares, and none may be a server error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use std::process::Command;
use support::*;

#[test]
fn a_short_fuzz_finds_every_answer_documented_and_no_server_error() {
    let w = Worker::start();
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/fuzz.sh"))
        .env("FUZZ_URL", w.url(""))
        .env("FUZZ_EXAMPLES", "4")
        .env("FUZZ_SEED", "20261130")
        .output()
        .expect("run scripts/fuzz.sh");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let tail: String = text.lines().filter(|l| !l.contains("[wrangler:")).collect::<Vec<_>>().join("\n");
    assert!(out.status.success(), "schemathesis found problems:\n{tail}");
    // "Test cases:\n  N generated, …": the run must really have exercised the API.
    let generated: usize = text
        .lines()
        .find_map(|l| l.trim().split_once(" generated").and_then(|(n, _)| n.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no case count in the output:\n{tail}"));
    assert!(generated >= 200, "only {generated} cases:\n{tail}");
    // Every route but `GET /openapi.json`, which schemathesis does not fuzz (it is the schema).
    let operations = latchkey::http::routes::ROUTES.len() - 1;
    assert!(
        text.contains(&format!("{operations} selected / {operations} total")),
        "not every route was fuzzed:\n{tail}"
    );
}
