//! `make dev` on a second port: the Workers run with the very `wrangler dev`
//! arguments the Makefile's `dev` recipe gives and the `.dev.vars` its
//! `scripts/dev-config.sh` line writes (both read with `make -n`, so a
//! change to the recipe is what is tested), on the built wasm (the test
//! configs have no `[build]`: no rebuild), twice, on two ports, each from a
//! `.dev.vars` that still names the port of an earlier run, as
//! `scripts/setup.sh` used to write it. Each run must take its APP_URL from
//! its own port, in both Workers: browser-mode sign-in works there (`Origin`
//! is checked against APP_URL), at `localhost` as at `127.0.0.1`
//! (development only), not from the other run's origin, and emailed links
//! point at the port, from the edge Worker (sign-up) and from the management
//! Worker (an invitation) alike.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::json;
use std::path::Path;
use support::*;

const PASSWORD: &str = "correct horse battery staple";

/// Runs the recipe's `scripts/dev-config.sh` line for `dir` (the test's
/// `.dev.vars` as its source, its own configs kept), then gives the
/// `wrangler dev` arguments of `make dev PORT=port`, after `dev`, less the
/// configs and the state folder (the harness gives its own).
fn make_dev_args(dir: &Path, port: u16) -> Vec<String> {
    let recipe = make_dev_recipe(port, &[]);
    run_dev_config_line(&recipe, port, dir, &dir.join(".dev.vars"));

    let words: Vec<String> = recipe_line(&recipe, "wrangler dev ").split_whitespace().map(str::to_owned).collect();
    let at = words.iter().position(|w| w == "dev").unwrap();
    // `/__scheduled` runs the Cron Trigger in `make dev`; the harness adds
    // that flag to every Worker it starts, so it is not passed twice.
    assert!(words.iter().any(|w| w == "--test-scheduled"), "make dev without --test-scheduled: {words:?}");
    let configs: Vec<&String> = words.windows(2).filter(|w| w[0] == "-c").map(|w| &w[1]).collect();
    assert!(
        configs.len() == 2 && configs[0].ends_with("/wrangler.toml") && configs[1].ends_with("/wrangler.manage.toml"),
        "make dev runs the edge Worker first, then the management Worker: {words:?}"
    );
    let mut args = Vec::new();
    let mut rest = words[at + 1..].iter();
    while let Some(w) = rest.next() {
        match w.as_str() {
            "-c" | "--persist-to" => {
                rest.next();
            }
            "--test-scheduled" => {}
            _ => args.push(w.clone()),
        }
    }
    args
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
    // Sanity of what is read: make dev serves on its own port, and writes
    // APP_URL for it into the .dev.vars both Workers read.
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join(".dev.vars"), "APP_URL=http://127.0.0.1:8787\nMAILER=dev\n").unwrap();
    let args = make_dev_args(scratch.path(), 8799);
    assert!(args.windows(2).any(|w| w == ["--port", "8799"]), "{args:?}");
    let vars = std::fs::read_to_string(scratch.path().join(".dev.vars")).unwrap();
    assert_eq!(vars, "MAILER=dev\nAPP_URL=\"http://127.0.0.1:8799\"\n");

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

        // The management Worker (orgs, invitations) read the same APP_URL.
        let session = w.api().login(&email, PASSWORD).json();
        let org = w.api().create_org(&session, "Ports");
        assert_eq!(org.status, 201, "{}", org.raw);
        let org_id = org.json()["id"].as_str().unwrap().to_owned();
        let guest = format!("guest{port}@example.com");
        w.api().invite(&session, Tenant::Org(&org_id), &guest, "member").expect(201);
        let text = w.wait_for_emails(&guest, 1)[0]["text"].as_str().unwrap().to_owned();
        assert!(
            text.contains(&format!("http://127.0.0.1:{port}/invite")),
            "the invitation points at this run's port: {text}"
        );
    }
}
