//! A short schemathesis run (`make fuzz` runs the long one) against the built
//! Worker under wrangler dev, signed in as an org owner (scripts/fuzz/hooks.py):
//! every answer's status code, content type and body must be the ones
//! /openapi.json declares, and none may be a server error. The Worker's
//! sign-in providers are the fake one that the hooks serve on a port chosen
//! here (scripts/fuzz/fake_oauth.py), through which they link the owner's
//! identities; its DNS-over-HTTPS resolver is the fake one they serve on
//! another (scripts/fuzz/fake_dns.py), where they publish the TXT records of
//! the domains they verify.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use std::process::Command;
use support::*;

/// The Worker's variables for the fake at `port` (`script`: `fake_oauth.py`,
/// the provider's `OAUTH_*`; `fake_dns.py`, the resolver's
/// `DNS_OVER_HTTPS_URL`), as the fake itself prints them.
fn fake_vars(script: &str, port: u16) -> Vec<(String, String)> {
    let root = repo_root();
    let out = Command::new(root.join(".tools/venv/bin/python"))
        .arg(root.join("scripts/fuzz").join(script))
        .args(["--vars", &port.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("run scripts/fuzz/{script}: {e}"));
    assert!(out.status.success(), "{script} --vars: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).expect("NAME=value"))
        .collect()
}

#[test]
fn a_short_fuzz_finds_every_answer_documented_and_no_server_error() {
    let (oauth_port, dns_port) = (free_port(), free_port());
    let mut vars = fake_vars("fake_oauth.py", oauth_port);
    vars.extend(fake_vars("fake_dns.py", dns_port));
    let w = Worker::start_with(WorkerOptions { vars });
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/fuzz.sh"))
        .env("FUZZ_URL", w.url(""))
        .env("FUZZ_OAUTH_PORT", oauth_port.to_string())
        .env("FUZZ_DNS_PORT", dns_port.to_string())
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
    // The hooks seeded (the domains verified at the fake resolver, an org
    // suggested to the asker) and re-seeded whatever the run destroyed (a
    // failed seed prints `fuzz seed:`), and the owner had identities to
    // unlink: reach.py's row shows unlinks done and none refused for a
    // provider the hooks linked.
    assert!(!text.contains("fuzz seed:"), "a seed failed:\n{tail}");
    let unlink: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("DELETE /v1/me/identities/{provider} "))
        .unwrap_or_else(|| panic!("no reach row for unlinking:\n{tail}"))
        .split_whitespace()
        .collect();
    // operation (2 words), cases, ok, 404 seeded, …
    assert!(unlink[3] != "0%" && unlink[4] == "0%", "unlinking reached no linked identity: {unlink:?}\n{tail}");
}
