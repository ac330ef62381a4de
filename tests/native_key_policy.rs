//! Keys that get rotated (issue 23): an org's API key policy, keys beyond it
//! refused or flagged, where a key was last used from, the list filters, and
//! the daily sweep that warns before expiry, through the real router over
//! SQLite with the manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use latchkey::domain::time::DAY;
use latchkey::stmt;
use serde_json::{json, Value};
use testapp::*;

type Fixture = testapp::Fixture<TestApp>;

const HOOK: &str = "https://hooks.example.org/latchkey";

/// "Acme" with an owner, an admin and a member.
fn fixture() -> Fixture {
    Fixture::new(TestApp::new()).org_with("Acme", &["admin", "member"])
}

fn policy_path(f: &Fixture) -> String {
    format!("/v1/orgs/{}/api-key-policy", f.org)
}

fn keys_path(f: &Fixture) -> String {
    format!("/v1/orgs/{}/api-keys", f.org)
}

fn set_policy(f: &Fixture, who: &impl Session, body: Value) -> Reply {
    f.app.call("PUT", &policy_path(f), Some(&access(who)), Some(body))
}

fn create(f: &Fixture, who: &impl Session, name: &str, expires_in_days: Option<i64>) -> Reply {
    let mut body = json!({"name": name, "scopes": ["org:read"]});
    if let Some(d) = expires_in_days {
        body["expires_in_days"] = json!(d);
    }
    f.app.post(&keys_path(f), Some(&access(who)), body)
}

fn listed(f: &Fixture, query: &str) -> Vec<Value> {
    listed_by(f, &access(f.owner()), query)
}

fn listed_by(f: &Fixture, bearer: &str, query: &str) -> Vec<Value> {
    let r = f.app.get(&format!("{}{query}", keys_path(f)), Some(bearer)).expect(200);
    r.body["data"].as_array().unwrap().clone()
}

/// The owner signed in again (after the clock moved past their access token).
fn owner_again(f: &Fixture) -> String {
    access(&f.api().login(&f.owner().email, PASSWORD).expect(200).body)
}

/// The names, sorted (keys created in the same second list in id order).
fn names(keys: &[Value]) -> Vec<&str> {
    let mut names: Vec<&str> = keys.iter().map(|k| k["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    names
}

fn key_emails(f: &Fixture, to: &str) -> Vec<String> {
    f.app
        .emails_to(to)
        .iter()
        .map(|e| e["subject"].as_str().unwrap().to_owned())
        .filter(|s| s.starts_with("API key"))
        .collect()
}

#[test]
fn the_policy_is_read_by_key_managers_and_set_by_owners_only() {
    let f = fixture();
    let default = f.app.get(&policy_path(&f), Some(&access(f.admin()))).expect(200).body;
    assert_eq!(
        default,
        json!({"max_lifetime_days": null, "require_expiry": false, "warn_before_days": [14, 3], "updated_at": null})
    );
    f.app.get(&policy_path(&f), Some(&access(f.member()))).expect_problem(403, "forbidden");
    let policy = json!({"max_lifetime_days": 90, "require_expiry": true, "warn_before_days": [3, 30, 7]});
    set_policy(&f, f.admin(), policy.clone()).expect_problem(403, "forbidden");
    set_policy(&f, f.member(), policy.clone()).expect_problem(403, "forbidden");
    let set = set_policy(&f, f.owner(), policy).expect(200).body;
    assert_eq!((set["max_lifetime_days"].as_i64(), set["warn_before_days"].clone()), (Some(90), json!([30, 7, 3])));
    let read = f.app.get(&policy_path(&f), Some(&access(f.admin()))).expect(200).body;
    assert_eq!(read["require_expiry"], true);
    assert!(read["updated_at"].is_string());
    let log = f.api().audit_log(f.owner(), f.tenant()).expect(200).body;
    assert_eq!(log["data"][0]["action"], "api_key_policy.updated");

    // A key never manages keys, nor sets what owners alone set.
    let body = json!({"name": "ci", "scopes": ["org:read", "api_keys:write"], "expires_in_days": 30});
    let k = f.app.post(&keys_path(&f), Some(&access(f.owner())), body).expect(201).body;
    let k = k["key"].as_str().unwrap();
    f.app.get(&policy_path(&f), Some(k)).expect_problem(403, "forbidden");
    f.app.call("PUT", &policy_path(&f), Some(k), Some(json!({}))).expect_problem(403, "user_required");
}

#[test]
fn a_policy_out_of_its_limits_is_422_field_by_field() {
    let f = fixture();
    for (body, field, why) in [
        (json!({"max_lifetime_days": 0}), "max_lifetime_days", "lifetime below a day"),
        (json!({"max_lifetime_days": 3651}), "max_lifetime_days", "lifetime above ten years"),
        (json!({"warn_before_days": []}), "warn_before_days", "no warning"),
        (json!({"warn_before_days": [1, 2, 3, 4, 5, 6]}), "warn_before_days", "six warnings"),
        (json!({"warn_before_days": [7, 7]}), "warn_before_days", "twice the same day"),
        (json!({"warn_before_days": [366]}), "warn_before_days", "over a year"),
    ] {
        let r = set_policy(&f, f.owner(), body).expect_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{why}");
    }
    set_policy(&f, f.owner(), json!({"require_expiry": true, "surprise": 1})).expect_problem(422, "validation_failed");
    // Every field may be left out: no limits, warnings at 14 and 3 days.
    let set = set_policy(&f, f.owner(), json!({})).expect(200).body;
    assert_eq!(set["warn_before_days"], json!([14, 3]));
}

#[test]
fn new_and_rotated_keys_beyond_the_policy_are_refused_and_old_ones_flagged_not_killed() {
    let f = fixture();
    let old = create(&f, f.owner(), "forever", None).expect(201).body;
    let old_key = old["key"].as_str().unwrap();
    let long = create(&f, f.owner(), "a year", Some(365)).expect(201).body;
    set_policy(&f, f.owner(), json!({"max_lifetime_days": 90, "require_expiry": true})).expect(200);

    let r = create(&f, f.admin(), "no expiry", None).expect_problem(422, "api_key_policy_violation");
    assert_eq!(r.body["errors"][0]["field"], "expires_in_days");
    assert_eq!(r.body["errors"][0]["code"], "api_key_policy_violation");
    create(&f, f.admin(), "too long", Some(91)).expect_problem(422, "api_key_policy_violation");
    create(&f, f.admin(), "quarterly", Some(90)).expect(201);
    assert_eq!(listed(&f, "").len(), 3, "refused keys were not written");
    let log = f.api().audit_log(f.owner(), f.tenant()).expect(200).body;
    assert_eq!(log["data"][0]["action"], "api_key.created", "no audit row for a refused key");

    // Existing keys that break it: flagged, with the reason, and still working.
    let keys = listed(&f, "");
    let flag = |name: &str| {
        let k = keys.iter().find(|k| k["name"] == name).unwrap();
        (k["non_compliant"].clone(), k["non_compliant_reason"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(flag("quarterly"), (json!(false), String::new()));
    assert_eq!(flag("a year").0, json!(true));
    assert!(flag("a year").1.contains("at most 90 days"), "{:?}", flag("a year"));
    assert!(flag("forever").1.contains("requires an expiry"), "{:?}", flag("forever"));
    f.api().org(old_key, &f.org).expect(200);

    // Rotation: keeping the old (missing) expiry is refused, and the old key is left as it was.
    let id = old["id"].as_str().unwrap();
    let rotate = |body: Value| f.app.post(&format!("{}/{id}/rotate", keys_path(&f)), Some(&access(f.owner())), body);
    rotate(json!({"grace_period_seconds": 0})).expect_problem(422, "api_key_policy_violation");
    rotate(json!({"grace_period_seconds": 0, "expires_in_days": 120})).expect_problem(422, "api_key_policy_violation");
    f.api().org(old_key, &f.org).expect(200);
    assert_eq!(f.api().key(f.owner(), &f.org, id).expect(200).body["revoked_at"], Value::Null);
    let new = rotate(json!({"grace_period_seconds": 0, "expires_in_days": 30})).expect(201).body;
    assert!(new["expires_at"].is_string());
    f.api().org(old_key, &f.org).expect_problem(401, "invalid_api_key");
    let flagged = f.api().key(f.owner(), &f.org, id).expect(200).body;
    assert_eq!(flagged["non_compliant"], false, "a rotated key owes the policy nothing");
    let _ = long;
}

#[test]
fn the_policy_guard_is_in_the_insert_itself() {
    // As if the policy changed between a key's checks and its write: the
    // INSERT reads the policy, and writes nothing past it.
    let f = fixture();
    set_policy(&f, f.owner(), json!({"require_expiry": true})).expect(200);
    let now = f.app.clock_now();
    let insert = |id: &str, hash: &str, expires_at: Option<i64>| {
        pollster::block_on(latchkey::store::Db::run(
            f.app.db.as_ref(),
            stmt!(
                latchkey::store::sql::INSERT_API_KEY,
                id,
                &f.org,
                "x",
                hash,
                "lk_x",
                "org:read",
                None::<&str>,
                now,
                expires_at
            ),
        ))
        .unwrap()
        .changes
    };
    assert_eq!(insert("key_00000000000000000000000000000001", "h1", None), 0);
    assert_eq!(insert("key_00000000000000000000000000000002", "h2", Some(now + DAY)), 1);
}

#[test]
fn a_keys_last_use_keeps_its_network_and_user_agent_coarsely() {
    let f = fixture();
    let created = create(&f, f.owner(), "ci", None).expect(201).body;
    let (k, id) = (created["key"].as_str().unwrap(), created["id"].as_str().unwrap());
    let long_agent = format!("deploy-bot/1.0 {}", "x".repeat(300));
    let path = format!("/v1/orgs/{}", f.org);
    let from = |ip: &str| {
        let headers = [("cf-connecting-ip", ip), ("user-agent", long_agent.as_str())];
        f.app.send("GET", &path, Some(k), &headers, b"").expect(200);
    };
    from("203.0.113.77");
    let view = f.api().key(f.owner(), &f.org, id).expect(200).body;
    assert_eq!(view["last_used_network"], "203.0.113.0/24");
    let agent = view["last_used_agent"].as_str().unwrap();
    assert!(agent.starts_with("deploy-bot/1.0") && agent.chars().count() == 200, "{agent}");
    f.app.advance(61);
    from("2001:db8:abcd:12::9");
    assert_eq!(f.api().key(f.owner(), &f.org, id).expect(200).body["last_used_network"], "2001:db8:abcd::/48");
}

#[test]
fn the_list_finds_keys_expiring_soon_and_keys_unused_for_long() {
    let f = fixture();
    let soon = create(&f, f.owner(), "soon", Some(5)).expect(201).body;
    create(&f, f.owner(), "later", Some(30)).expect(201);
    let used = create(&f, f.owner(), "used", None).expect(201).body;
    create(&f, f.owner(), "idle", None).expect(201);
    assert_eq!(names(&listed(&f, "?expiring_within_days=7")), ["soon"]);
    assert_eq!(names(&listed(&f, "?expiring_within_days=30")), ["later", "soon"]);
    assert!(listed(&f, "?unused_for_days=90").is_empty(), "all were created today");

    f.app.advance(100 * DAY);
    f.api().org(used["key"].as_str().unwrap(), &f.org).expect(200);
    let owner = owner_again(&f);
    assert_eq!(names(&listed_by(&f, &owner, "?unused_for_days=90")), ["idle"], "expired keys are not unused ones");
    assert!(listed_by(&f, &owner, "?expiring_within_days=7").is_empty(), "expired already");
    let _ = soon;
    for bad in ["?expiring_within_days=0", "?unused_for_days=3651", "?unused_for_days=soon"] {
        f.app.get(&format!("{}{bad}", keys_path(&f)), Some(&owner)).expect_problem(422, "validation_failed");
    }
}

#[test]
fn the_daily_sweep_warns_once_per_threshold_and_tells_channels() {
    let f = fixture();
    let channel = json!({"url": HOOK, "description": "keys", "event_types": ["api_key.expiring", "api_key.expired"]});
    f.app.post(&format!("/v1/orgs/{}/notification-channels", f.org), Some(&access(f.owner())), channel).expect(201);
    // The admin creates it; owners and admins are told, the member is not.
    let created = create(&f, f.admin(), "deploys", Some(20)).expect(201).body;
    create(&f, f.admin(), "no expiry", None).expect(201);
    assert_eq!(f.app.sweep_keys(), Default::default(), "20 days left: nothing due");

    f.app.advance(6 * DAY);
    assert_eq!(f.app.sweep_keys().warned, 1, "14 days left");
    assert_eq!(f.app.sweep_keys().warned, 0, "a second run sends nothing");
    assert_eq!(key_emails(&f, "admin@example.com"), ["API key \"deploys\" in Acme expires in 14 days"]);
    assert_eq!(key_emails(&f, "owner@example.com").len(), 1);
    assert!(key_emails(&f, "member@example.com").is_empty());

    f.app.advance(11 * DAY);
    assert_eq!(f.app.sweep_keys().warned, 1, "3 days left");
    f.app.deliver_emails();
    f.app.advance(DAY);
    assert_eq!(f.app.sweep_keys().warned, 0, "2 days left: nothing new");
    f.app.advance(3 * DAY);
    let swept = f.app.sweep_keys();
    assert_eq!((swept.warned, swept.expired), (0, 1));
    assert_eq!(f.app.sweep_keys().expired, 0);
    assert_eq!(
        key_emails(&f, "admin@example.com"),
        [
            "API key \"deploys\" in Acme expires in 14 days",
            "API key \"deploys\" in Acme expires in 3 days",
            "API key \"deploys\" in Acme expired",
        ]
    );

    let events = f.app.rows(stmt!(
        "SELECT type, data FROM notification_events WHERE org_id = ?1 AND type LIKE 'api_key.%' ORDER BY occurred_at",
        &f.org
    ));
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["api_key.expiring", "api_key.expiring", "api_key.expired"]);
    let data: Value = serde_json::from_str(events[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!((data["days_left"].as_i64(), data["threshold"].as_i64()), (Some(14), Some(14)));
    assert_eq!(data["name"], "deploys");
    let log = f.api().audit_log(owner_again(&f).as_str(), f.tenant()).expect(200).body;
    assert_eq!(log["data"][0]["action"], "api_key.expired");
    assert_eq!(log["data"][0]["target"]["id"], created["id"]);
}

#[test]
fn a_key_created_inside_several_thresholds_is_warned_once_and_rotated_keys_not_at_all() {
    let f = fixture();
    let short = create(&f, f.owner(), "short", Some(2)).expect(201).body;
    let rotated = create(&f, f.owner(), "rotated", Some(2)).expect(201).body;
    f.api().rotate_key(f.owner(), &f.org, rotated["id"].as_str().unwrap(), 0).expect(201);
    assert_eq!(f.app.sweep_keys().warned, 2, "the short key, and the rotated key's successor");
    assert_eq!(f.app.sweep_keys().warned, 0);
    let subjects = key_emails(&f, "owner@example.com");
    assert_eq!(subjects.iter().filter(|s| s.contains("\"short\"")).count(), 1, "{subjects:?}");
    assert!(subjects.iter().all(|s| s.ends_with("expires in 2 days")), "{subjects:?}");
    let _ = short;
}
