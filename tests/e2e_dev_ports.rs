//! `make dev` on a second port: the Worker runs with the very `wrangler dev`
//! arguments the Makefile's `dev` recipe gives (read with `make -n`, so a
//! change to the recipe is what is tested), on the built wasm (the test
//! config has no `[build]`: no rebuild), twice, on two ports, each next to a
//! `.dev.vars` that still names the port of an earlier run, as
//! `scripts/setup.sh` used to write it. Each run must take its APP_URL from
//! its own port: browser-mode sign-in works there (`Origin` is checked
//! against APP_URL), at `localhost` as at `127.0.0.1` (development only),
//! not from the other run's origin, and emailed links point at the port.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::json;
use std::process::Command;
use support::*;

const PASSWORD: &str = "correct horse battery staple";

/// The `wrangler dev` arguments of `make dev PORT=port`, after `dev`.
fn make_dev_args(port: u16) -> Vec<String> {
    let mut make = Command::new("make");
    make.args(["-n", "-s", "--no-print-directory", "dev", &format!("PORT={port}")]).current_dir(repo_root());
    // OAUTH_* and the resolver variables of the environment would be forwarded too: not here.
    let forwarded = |k: &str| k.starts_with("OAUTH_") || k == "DNS_OVER_HTTPS_URL" || k == "DOMAIN_RECHECK_SECONDS";
    for (name, _) in std::env::vars().filter(|(k, _)| forwarded(k)) {
        make.env_remove(name);
    }
    let out = make.output().expect("run make -n dev");
    assert!(out.status.success(), "make -n dev: {}", String::from_utf8_lossy(&out.stderr));
    let recipe = String::from_utf8(out.stdout).unwrap();
    let line = recipe
        .lines()
        .find(|l| l.contains("wrangler dev "))
        .unwrap_or_else(|| panic!("no `wrangler dev` line in make dev's recipe:\n{recipe}"));
    let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    let at = words.iter().position(|w| w == "dev").unwrap();
    // `/__scheduled` runs the Cron Trigger in `make dev`; the harness adds
    // that flag to every Worker it starts, so it is not passed twice.
    assert!(words.iter().any(|w| w == "--test-scheduled"), "make dev without --test-scheduled: {line}");
    words[at + 1..].iter().filter(|w| *w != "--test-scheduled").cloned().collect()
}

/// A run of `make dev` whose `.dev.vars` still holds an earlier run's APP_URL.
fn make_dev(stale_port: u16) -> Worker {
    let stale = vec![("APP_URL".to_owned(), format!("http://127.0.0.1:{stale_port}"))];
    Worker::start_with_dev_args(WorkerOptions { vars: stale }, make_dev_args)
}

fn browser_login(w: &Worker, email: &str, origin: &str) -> Resp {
    let body = serde_json::to_vec(&json!({"email": email, "password": PASSWORD})).unwrap();
    let headers = [("Content-Type", "application/json"), ("X-Latchkey-Client", "browser"), ("Origin", origin)];
    w.send("POST", "/v1/auth/login", None, &headers, Some(&body))
}

#[test]
fn make_dev_on_two_ports_signs_in_on_each_at_127_0_0_1_and_localhost() {
    // Sanity of what is read: make dev passes APP_URL for its own port.
    let args = make_dev_args(8799);
    assert!(args.windows(2).any(|w| w == ["--port", "8799"]), "{args:?}");
    assert!(args.iter().any(|a| a == "APP_URL:http://127.0.0.1:8799"), "{args:?}");

    let first = make_dev(8787);
    let second = make_dev(first.port());
    assert_ne!(first.port(), second.port());
    for (w, other) in [(&first, &second), (&second, &first)] {
        let port = w.port();
        let email = format!("dev{port}@example.com");
        assert_eq!(w.api().signup(&email, PASSWORD, "Dev").status, 202);
        let text = w.wait_for_emails(&email, 1)[0]["text"].as_str().unwrap().to_owned();
        assert!(
            text.contains(&format!("http://127.0.0.1:{port}/verify-email")),
            "the emailed link points at this run's port: {text}"
        );
        let token = extract_token(&text, "/verify-email");
        w.api().verify_email(&token, PASSWORD).expect(200);

        for origin in [format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}")] {
            let r = browser_login(w, &email, &origin);
            assert_eq!(r.status, 200, "signing in from {origin}: {}", r.raw);
            assert!(r.json()["access_token"].is_string(), "{}", r.raw);
            let cookie = r.header("set-cookie").unwrap_or_default();
            assert!(cookie.contains("latchkey_refresh="), "the refresh cookie is set: {cookie:?}");
        }
        // Neither the other run's origin nor the stale one of .dev.vars.
        for origin in [format!("http://127.0.0.1:{}", other.port()), format!("http://localhost:{}", other.port())] {
            browser_login(w, &email, &origin).expect_problem(403, "csrf_rejected");
        }
    }
}
