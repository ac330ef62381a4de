//! Runtime tests of API keys against the built Worker (workerd + local D1).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::{json, Value};
use support::*;

fn owner_with_org(w: &Worker, email: &str, org: &str) -> (String, String) {
    let owner = w.api().verified(email);
    (owner.token(), w.api().create_org(&owner, org).expect(201).id())
}

fn d1_calls(r: &Resp) -> String {
    r.header("server-timing").unwrap_or("").to_owned()
}

#[test]
fn create_use_like_ci_revoke_rotate_and_isolation() {
    let w = Worker::shared();
    let (owner, org) = owner_with_org(w, "owner@example.com", "Acme");
    let (_, other_org) = owner_with_org(w, "other@example.com", "Other");

    let created = w.api().create_key(&owner, &org, "CI/CD pipeline", &["org:read", "members:read"]);
    assert_eq!(created.status, 201, "{}", created.raw);
    let created: Value = created.json();
    let key = created["key"].as_str().unwrap().to_owned();

    // What a CI job does: curl with the key as a bearer token.
    let out = std::process::Command::new("curl")
        .args(["-sf", "-H", &format!("Authorization: Bearer {key}"), &w.url(&format!("/v1/orgs/{org}"))])
        .output()
        .expect("curl");
    assert!(out.status.success(), "curl failed: {}", String::from_utf8_lossy(&out.stderr));
    let org_body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(org_body["name"], "Acme");

    // One D1 round trip for a key-authenticated read, nothing written on the way.
    let r = w.api().org(&key, &org);
    assert_eq!(r.status, 200);
    assert!(d1_calls(&r).starts_with("d1;desc=\"1 call\""), "{}", d1_calls(&r));
    let r = w.api().org(&key, &other_org);
    assert_eq!((r.status, r.json()["code"].as_str()), (404, Some("not_found")));
    let r = w.api().audit_log(&key, Tenant::Org(&org));
    assert_eq!((r.status, r.json()["code"].as_str()), (403, Some("insufficient_scope")));
    let r = w.get(&format!("/v1/orgs/{org}?token={key}"), None);
    assert_eq!((r.status, r.json()["code"].as_str()), (400, Some("api_key_in_url")));

    // last_used_at arrives after the response (ctx.wait_until).
    let id = created["id"].as_str().unwrap();
    let mut used = Value::Null;
    for _ in 0..20 {
        used = w.api().key(&owner, &org, id).json()["last_used_at"].clone();
        if used.is_string() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(used.is_string(), "last_used_at was never written");

    // Rotate with a 60 s grace: both work; with 0: the old one stops at once.
    let rotated = w.api().rotate_key(&owner, &org, id, 60);
    assert_eq!(rotated.status, 201, "{}", rotated.raw);
    let key2 = rotated.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(w.api().org(&key, &org).status, 200, "old key inside its grace period");
    assert_eq!(w.api().org(&key2, &org).status, 200);
    let id2 = rotated.json()["id"].as_str().unwrap().to_owned();
    let rotated = w.api().rotate_key(&owner, &org, &id2, 0);
    let key3 = rotated.json()["key"].as_str().unwrap().to_owned();
    let r = w.api().org(&key2, &org);
    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("invalid_api_key")));
    assert!(r.header("www-authenticate").is_some());

    // Revoke: the next request fails.
    let id3 = rotated.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(w.api().org(&key3, &org).status, 200);
    assert_eq!(w.api().revoke_key(&owner, &org, &id3).status, 204);
    assert_eq!(w.api().org(&key3, &org).status, 401);

    // A typo is refused before any database read.
    let mut typo = key3.clone();
    typo.replace_range(5..6, if &key3[5..6] == "a" { "b" } else { "a" });
    let r = w.api().org(&typo, &org);
    assert_eq!(r.status, 401);
    assert!(d1_calls(&r).starts_with("d1;desc=\"0 calls\""), "{}", d1_calls(&r));

    // The audit log names the actions.
    let log = w.api().audit_log(&owner, Tenant::Org(&org)).json();
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..4], ["api_key.revoked", "api_key.rotated", "api_key.rotated", "api_key.created"]);
}

#[test]
fn authorize_with_a_key_costs_one_round_trip() {
    let w = Worker::shared();
    let (owner, org) = owner_with_org(w, "owner.apikeys2@example.com", "Acme");
    let created = w.api().create_key(&owner, &org, "deployer", &["apps:deploy"]);
    let key = created.json()["key"].as_str().unwrap().to_owned();
    let r = w.api().authorize(&key, "apps:deploy", &org);
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.json()["allowed"], true);
    assert_eq!(r.json()["via"]["kind"], "api_key");
    assert!(d1_calls(&r).starts_with("d1;desc=\"1 call\""), "{}", d1_calls(&r));
    let r = w.api().authorize(&key, "members:write", &org);
    assert_eq!(r.json()["allowed"], false);
    let r = w.api().authorize(&owner, "billing:manage", &org);
    let via = json!({"kind": "org_role", "org_id": org, "role": "owner", "joined_via": "created"});
    assert_eq!(r.json(), json!({"allowed": true, "via": via}));
}

#[test]
fn over_the_rate_limit_a_key_gets_429_with_retry_after_never_401() {
    // wrangler dev honours the [[ratelimits]] binding (600 a minute per key).
    // Its windows are fixed minutes: 1320 requests exceed 600 in at least one
    // window even when the burst straddles a minute boundary.
    let w = Worker::shared();
    let (owner, org) = owner_with_org(w, "owner.apikeys3@example.com", "Acme");
    let created = w.api().create_key(&owner, &org, "busy", &["org:read"]);
    let key = created.json()["key"].as_str().unwrap().to_owned();
    let statuses: Vec<(u16, Option<String>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (w, key, org) = (w, &key, &org);
                s.spawn(move || {
                    (0..330)
                        .map(|_| {
                            let r = w.api().org(key, org);
                            (r.status, r.header("retry-after").map(str::to_owned))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let limited: Vec<_> = statuses.iter().filter(|(s, _)| *s == 429).collect();
    assert!(statuses.iter().all(|(s, _)| *s == 200 || *s == 429), "only 200 or 429: {statuses:?}");
    let codes: std::collections::BTreeMap<u16, usize> = statuses.iter().fold(Default::default(), |mut m, (s, _)| {
        *m.entry(*s).or_default() += 1;
        m
    });
    assert!(!limited.is_empty(), "1320 requests must exceed 600 in some minute: {codes:?}");
    assert!(limited.iter().all(|(_, retry)| retry.is_some()), "429s carry Retry-After");
    assert!(statuses.iter().filter(|(s, _)| *s == 200).count() >= 500, "the first ~600 pass");
}

/// Keys that get rotated: the policy refuses a key without expiry, a key
/// expiring within a day is found by the list filter, records where it was
/// used from, and the Cron Trigger (`/__scheduled`) emails its expiry warning
/// through the real queue consumer exactly once over two runs.
#[test]
fn the_key_policy_the_expiry_warning_and_the_filters_in_workerd() {
    let w = Worker::start();
    let (owner, org) = owner_with_org(&w, "keyowner@example.com", "Rotators");
    let policy = json!({"max_lifetime_days": 30, "require_expiry": true, "warn_before_days": [14, 3]});
    let set = w.api().set_key_policy(&owner, &org, policy);
    assert_eq!(set.status, 200, "{}", set.raw);
    assert_eq!(w.api().key_policy(&owner, &org).json()["max_lifetime_days"], 30);
    let refused = w.api().create_key(&owner, &org, "forever", &["org:read"]);
    assert_eq!((refused.status, refused.json()["code"].as_str()), (422, Some("api_key_policy_violation")));

    // One day left: past the 3-day threshold already (and the 14-day one).
    let created = w.api().create_key_expiring(&owner, &org, "nightly deploy", &["org:read"], 1);
    assert_eq!(created.status, 201, "{}", created.raw);
    let created: Value = created.json();
    let (key, id) = (created["key"].as_str().unwrap(), created["id"].as_str().unwrap());
    assert_eq!(w.api().org(key, &org).status, 200);
    let mut network = Value::Null;
    for _ in 0..20 {
        network = w.api().key(&owner, &org, id).json()["last_used_network"].clone();
        if network.is_string() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let network = network.as_str().unwrap_or_else(|| panic!("no network recorded; log:\n{}", w.log_tail())).to_owned();
    assert!(network.ends_with("/24") || network.ends_with("/48"), "{network}");

    let soon = w.api().keys_where(&owner, &org, "expiring_within_days=7").json();
    let ids: Vec<&str> = soon["data"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id]);

    for _ in 0..2 {
        let r = w.get("/__scheduled?cron=*+*+*+*+*", None);
        assert_eq!(r.status, 200, "{}", r.raw);
    }
    let mails = w.wait_for_emails("keyowner@example.com", 2);
    let warnings = |mails: &[Value]| -> Vec<String> {
        mails.iter().map(|m| m["subject"].as_str().unwrap().to_owned()).filter(|s| s.starts_with("API key")).collect()
    };
    assert_eq!(warnings(&mails), ["API key \"nightly deploy\" in Rotators expires in 1 day"], "{mails:?}");
    // The queue has had time for a duplicate; a third run sends nothing either.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(w.get("/__scheduled?cron=*+*+*+*+*", None).status, 200);
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(warnings(&w.wait_for_emails("keyowner@example.com", 2)).len(), 1);
    assert!(!w.log_tail().contains("key expiry sweep failed"), "{}", w.log_tail());
    let log = w.api().audit_log(&owner, Tenant::Org(&org)).json();
    let expiring: Vec<&Value> =
        log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "api_key.expiring").collect();
    assert_eq!(expiring.len(), 1, "{log}");
    assert_eq!(expiring[0]["data"]["threshold"], 3);
}
