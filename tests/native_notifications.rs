//! Notification channels (outgoing webhooks), through the real router over
//! SQLite: the API rules, the attacks on them, same-batch event recording,
//! and the queue consumer against a scripted receiver whose every request is
//! checked with the `standardwebhooks` crate (an independent implementation).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use async_trait::async_trait;
use latchkey::jobs::webhooks::{Next, WebhookRequest, WebhookResponse, WebhookSender};
use serde_json::{json, Value};
use std::cell::RefCell;
use testapp::*;

type Fixture = testapp::Fixture<TestApp>;

const HOOK: &str = "https://hooks.example.org/latchkey";

fn fixture() -> Fixture {
    Fixture::new(TestApp::new()).org_with("Acme", &["admin", "member"])
}

fn channels_path(org: &str) -> String {
    format!("/v1/orgs/{org}/notification-channels")
}

fn create(f: &Fixture, who: &str, types: &[&str]) -> Reply {
    f.app.post(&channels_path(&f.org), Some(who), json!({"url": HOOK, "description": "deploys", "event_types": types}))
}

fn create_ok(f: &Fixture, types: &[&str]) -> Value {
    create(f, &access(f.owner()), types).expect(201).body
}

/// A receiver that answers from a script and records every request.
struct Receiver {
    answers: RefCell<Vec<u16>>,
    seen: RefCell<Vec<WebhookRequest>>,
}

impl Receiver {
    fn answering(answers: &[u16]) -> Self {
        Receiver { answers: RefCell::new(answers.iter().rev().copied().collect()), seen: RefCell::new(Vec::new()) }
    }
    fn bodies(&self) -> Vec<Value> {
        self.seen.borrow().iter().map(|r| serde_json::from_str(&r.body).unwrap()).collect()
    }
}

#[async_trait(?Send)]
impl WebhookSender for Receiver {
    async fn post(&self, req: WebhookRequest) -> Result<WebhookResponse, String> {
        self.seen.borrow_mut().push(req);
        let status = self.answers.borrow_mut().pop().unwrap_or(200);
        Ok(WebhookResponse { status, retry_after: None, body: b"thanks".to_vec(), latency_ms: 3 })
    }
}

fn header<'a>(r: &'a WebhookRequest, name: &str) -> &'a str {
    r.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str()).unwrap()
}

/// Checks the request's signatures with the standardwebhooks crate: each
/// listed signature must be the crate's own for `secret`; returns how many
/// signatures the header carried and whether `secret` matched one.
fn verifies_with(r: &WebhookRequest, secret: &str) -> (usize, bool) {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    let id = header(r, "webhook-id");
    let ts: i64 = header(r, "webhook-timestamp").parse().unwrap();
    let expected = wh.sign(id, ts, r.body.as_bytes()).unwrap();
    let sigs: Vec<&str> = header(r, "webhook-signature").split(' ').collect();
    (sigs.len(), sigs.contains(&expected.as_str()))
}

#[test]
fn a_channel_is_created_with_its_secret_shown_once() {
    let f = fixture();
    let created = create_ok(&f, &["member.added", "ping"]);
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert!(standardwebhooks::Webhook::new(secret).is_ok());
    assert_eq!(created["event_types"], json!(["member.added", "ping"]));
    assert_eq!((created["enabled"].as_bool(), created["url"].as_str()), (Some(true), Some(HOOK)));
    let id = created["id"].as_str().unwrap();
    let one = f.app.get(&format!("{}/{id}", channels_path(&f.org)), Some(&access(f.owner()))).expect(200);
    let list = f.app.get(&channels_path(&f.org), Some(&access(f.admin()))).expect(200);
    for r in [&one, &list] {
        assert!(!r.raw.contains(&secret[6..]), "the secret leaked: {}", r.raw);
        assert!(!r.raw.contains("secret\""), "no secret field: {}", r.raw);
    }
    assert_eq!(list.body["data"][0]["id"], created["id"]);
    // Stored encrypted: the database never holds the secret's text.
    let rows = pollster::block_on(latchkey::store::Db::run(
        f.app.db.as_ref(),
        latchkey::stmt!("SELECT secret FROM notification_channels"),
    ))
    .unwrap();
    let stored = rows.rows[0]["secret"].as_str().unwrap();
    assert!(!stored.contains(&secret[6..]) && stored.len() > 40);
}

#[test]
fn the_event_types_are_listed_for_anyone_signed_in() {
    let f = fixture();
    let r = f.app.get("/v1/notification-event-types", Some(&access(f.member()))).expect(200);
    let names: Vec<&str> = r.body["data"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    let ours = [
        "invitation.expired",
        "org.deleted",
        "ping",
        "member.joined",
        "join_link.created",
        "join_link.revoked",
        "membership_request.created",
        "membership_request.approved",
        "membership_request.denied",
        "membership_request.withdrawn",
        "domain.added",
        "domain.verified",
        "domain.updated",
        "domain.lapsed",
        "domain.removed",
    ];
    for t in ACTION_EVENT_TYPES.into_iter().chain(ours) {
        assert!(names.contains(&t), "{t}");
    }
    let of = |name: &str| r.body["data"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(
        (of("invitation.created")["requires"].as_str(), of("invitation.created")["person_only"].as_bool()),
        (Some("invitations:write"), Some(false))
    );
    assert_eq!(
        (of("api_key.created")["requires"].as_str(), of("api_key.created")["person_only"].as_bool()),
        (Some("api_keys:write"), Some(true))
    );
    assert_eq!(
        (of("ping")["requires"].clone(), of("member.added")["requires"].as_str()),
        (Value::Null, Some("members:read"))
    );
    f.app.get("/v1/notification-event-types", None).expect_problem(401, "unauthenticated");
}

#[test]
fn members_keys_without_the_scope_and_other_tenants_are_refused() {
    let f = fixture().with_stranger();
    let id = create_ok(&f, &["ping"])["id"].as_str().unwrap().to_owned();
    let one = format!("{}/{id}", channels_path(&f.org));
    // A member sees the org but may not manage (or read) its channels: 403.
    create(&f, &access(f.member()), &["ping"]).expect_problem(403, "forbidden");
    f.app.get(&channels_path(&f.org), Some(&access(f.member()))).expect_problem(403, "forbidden");
    f.app.get(&one, Some(&access(f.member()))).expect_problem(403, "forbidden");
    // A stranger does not see the org: 404.
    create(&f, &access(f.stranger()), &["ping"]).expect_problem(404, "not_found");
    f.app.get(&one, Some(&access(f.stranger()))).expect_problem(404, "not_found");
    // Another org's owner, with this org's channel id under their own org: 404.
    let other = f.api().create_org(f.stranger(), "Other").expect(201).id();
    let theirs = format!("{}/{id}", channels_path(&other));
    f.app.get(&theirs, Some(&access(f.stranger()))).expect_problem(404, "not_found");
    f.app.patch(&theirs, Some(&access(f.stranger())), json!({"enabled": false})).expect_problem(404, "not_found");
    f.app.delete(&theirs, Some(&access(f.stranger()))).expect_problem(404, "not_found");
    f.app
        .post(&format!("{theirs}/rotate-secret"), Some(&access(f.stranger())), json!({"grace_period_seconds": 0}))
        .expect_problem(404, "not_found");
    f.app.get(&one, Some(&access(f.owner()))).expect(200);
    // A key without notifications:write: 403 insufficient_scope; with it: works.
    let weak = f.api().create_key(f.owner(), &f.org, "weak", &["org:read"]).expect(201).body["key"].clone();
    let weak = weak.as_str().unwrap();
    create(&f, weak, &["ping"]).expect_problem(403, "insufficient_scope");
    f.app.get(&channels_path(&f.org), Some(weak)).expect_problem(403, "insufficient_scope");
    let strong =
        f.api().create_key(f.owner(), &f.org, "hooks", &["notifications:write"]).expect(201).body["key"].clone();
    let strong = strong.as_str().unwrap();
    let made = create(&f, strong, &["ping"]).expect(201).body;
    f.app.get(&channels_path(&f.org), Some(strong)).expect(200);
    let log = f.api().audit_log(f.owner(), f.tenant()).expect(200).body;
    let created =
        log["data"].as_array().unwrap().iter().find(|e| e["target"]["id"] == made["id"]).expect("audited").clone();
    assert_eq!(created["action"], "notification_channel.created");
    assert_eq!(created["actor"]["kind"], "api_key");
}

#[test]
fn urls_breaking_the_outgoing_rules_are_422_invalid_webhook_url() {
    let f = fixture();
    let owner = access(f.owner());
    for bad in WEBHOOK_URLS_NEVER_ALLOWED.into_iter().chain([
        "http://hooks.example.org/x",
        "https://127.0.0.1/x",
        "https://2130706433/x",
        "https://0x7f.0.0.1/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://user:pw@hooks.example.org/x",
        "https://localhost/x",
        "https://svc.internal/x",
        "https://printer.local/x",
        "https://intranet/x",
        "http://app.test/x",
        "https://app.test/x",
        "https://hooks.app.test/x",
        "https://app.localtest.me/x",
        "https://app.lvh.me/x",
        "https://latchkey.someone.workers.dev/x",
        "not a url",
    ]) {
        let r = f.app.post(&channels_path(&f.org), Some(&owner), json!({"url": bad, "event_types": ["ping"]}));
        r.expect_problem(422, "invalid_webhook_url");
    }
    let id = create_ok(&f, &["ping"])["id"].as_str().unwrap().to_owned();
    f.app
        .patch(&format!("{}/{id}", channels_path(&f.org)), Some(&owner), json!({"url": "https://169.254.169.254/"}))
        .expect_problem(422, "invalid_webhook_url");
    for types in [json!([]), json!(["nope"]), json!(["ping", "ping"])] {
        f.app
            .post(&channels_path(&f.org), Some(&owner), json!({"url": HOOK, "event_types": types}))
            .expect_problem(422, "validation_failed");
    }
}

#[test]
fn each_event_is_recorded_with_its_change_and_delivered_once_signed() {
    let f = fixture();
    let secret = create_ok(&f, &["member.role_changed", "api_key.created", "org.updated"])["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // A queue outage: the change and its event still commit together.
    f.app.outbox.fail_webhooks.set(true);
    f.api().update_org(f.owner(), &f.org, json!({"name": "Acme 2"})).expect(200);
    f.app.outbox.fail_webhooks.set(false);
    assert!(f.app.outbox.webhooks.borrow().is_empty());
    let member_id = user_id(f.member());
    f.api().change_role(f.owner(), f.tenant(), &member_id, "admin").expect(200);
    f.api().create_key(f.owner(), &f.org, "ci", &["org:read"]).expect(201);
    f.api().invite(f.owner(), f.tenant(), "new@example.com", "member").expect(201); // not subscribed
    assert_eq!(f.app.outbox.webhooks.borrow().len(), 2, "the two subscribed events since the outage");
    // The sweep picks up the one whose enqueue failed.
    assert_eq!(f.app.sweep(), 1);
    let receiver = Receiver::answering(&[]);
    let results = f.app.deliver_webhooks(&receiver);
    assert!(results.iter().all(|(n, _)| *n == Next::Ack), "{results:?}");
    let mut types: Vec<String> = receiver.bodies().iter().map(|b| b["type"].as_str().unwrap().to_owned()).collect();
    types.sort();
    assert_eq!(types, ["api_key.created", "member.role_changed", "org.updated"]);
    for r in receiver.seen.borrow().iter() {
        assert_eq!(verifies_with(r, &secret), (1, true));
    }
    let role = receiver.bodies().into_iter().find(|b| b["type"] == "member.role_changed").unwrap();
    assert_eq!(role["data"]["org_id"], f.org.as_str());
    assert_eq!(role["data"]["actor"], json!({"kind": "user", "id": user_id(f.owner())}));
    assert_eq!(role["data"]["target"]["id"], member_id.as_str());
    // Delivered once: again, nothing more is due or sent.
    assert_eq!(f.app.sweep(), 0);
    assert!(f.app.deliver_webhooks(&receiver).is_empty());
    assert_eq!(receiver.seen.borrow().len(), 3);
}

#[test]
fn a_failed_delivery_is_retried_on_the_schedule_with_the_same_id_then_succeeds() {
    let f = fixture();
    let body = create_ok(&f, &["org.updated"]);
    let id = body["id"].as_str().unwrap();
    f.api().update_org(f.owner(), &f.org, json!({"name": "Acme 2"})).expect(200);
    let receiver = Receiver::answering(&[500, 200]);
    let first = f.app.deliver_webhooks(&receiver);
    let Next::Later(delay) = first[0].0 else { panic!("{first:?}") };
    assert!((3..=5).contains(&delay), "the first retry after about 5 s, not {delay}");
    // Too early: a duplicate message sends nothing and comes back later.
    let early = f.app.deliver_webhooks(&receiver);
    assert!(matches!(early[0].0, Next::Later(_)), "{early:?}");
    assert_eq!(receiver.seen.borrow().len(), 1);
    f.app.advance(i64::from(delay));
    f.app.deliver_webhooks(&receiver);
    let seen = receiver.seen.borrow();
    assert_eq!(seen.len(), 2);
    assert_eq!(header(&seen[0], "webhook-id"), header(&seen[1], "webhook-id"), "stable across retries");
    assert_eq!(seen[0].body, seen[1].body, "the same bytes");
    let list = f.app.get(&format!("{}/{id}/deliveries", channels_path(&f.org)), Some(&access(f.owner()))).expect(200);
    let d = &list.body["data"][0];
    assert_eq!(
        (d["status"].as_str(), d["attempt_count"].as_i64(), d["last_status_code"].as_i64()),
        (Some("succeeded"), Some(2), Some(200))
    );
    assert_eq!(d["last_response"], "thanks");
    // Both attempts are listed, oldest first: the 500 is not hidden by the 200.
    let attempts = d["attempts"].as_array().unwrap();
    let codes: Vec<i64> = attempts.iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [500, 200]);
    assert_eq!(attempts[0]["number"], 1);
    assert_eq!(attempts[0]["error"], "answered 500");
    assert_eq!(attempts[1]["error"], Value::Null);
    for a in attempts {
        assert_eq!((a["latency_ms"].as_i64(), a["response"].as_str()), (Some(3), Some("thanks")));
    }
    let (t0, t1) = (attempts[0]["attempted_at"].as_str().unwrap(), attempts[1]["attempted_at"].as_str().unwrap());
    assert!(t0 < t1, "{t0} then {t1}");
    assert_eq!(d["last_attempt_at"].as_str(), Some(t1));
    assert_eq!(d["id"].as_str(), Some(header(&seen[0], "webhook-id")));
    let failed =
        f.app.get(&format!("{}/{id}/deliveries?status=failed", channels_path(&f.org)), Some(&access(f.owner())));
    assert_eq!(failed.expect(200).body["data"], json!([]));
    f.app
        .get(&format!("{}/{id}/deliveries?status=bogus", channels_path(&f.org)), Some(&access(f.owner())))
        .expect_problem(422, "validation_failed");
}

#[test]
fn exhausting_the_schedule_fails_the_delivery_and_a_manual_retry_sends_it_again() {
    let f = Fixture::new(TestApp::with_config(config_with(&[("WEBHOOK_RETRY_SCHEDULE", "1,1")])))
        .org_with("Acme", &["admin", "member"]);
    let body = create_ok(&f, &["org.updated"]);
    let id = body["id"].as_str().unwrap();
    f.api().update_org(f.owner(), &f.org, json!({"name": "Acme 2"})).expect(200);
    let receiver = Receiver::answering(&[500, 503, 502, 200]);
    for _ in 0..3 {
        f.app.deliver_webhooks(&receiver);
        f.app.advance(1);
    }
    assert_eq!(receiver.seen.borrow().len(), 3, "first try and two retries");
    let list = f.app.get(&format!("{}/{id}/deliveries?status=failed", channels_path(&f.org)), Some(&access(f.owner())));
    let d = list.expect(200).body["data"][0].clone();
    assert_eq!((d["attempt_count"].as_i64(), d["last_status_code"].as_i64()), (Some(3), Some(502)));
    let codes: Vec<i64> =
        d["attempts"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [500, 503, 502]);
    let dlv = d["id"].as_str().unwrap();
    let retry = format!("{}/deliveries/{dlv}/retry", channels_path(&f.org));
    // Not from another org, nor by a member.
    let other = f.api().create_org(f.member(), "Other").expect(201).id();
    f.app
        .post(&format!("{}/deliveries/{dlv}/retry", channels_path(&other)), Some(&access(f.member())), json!({}))
        .expect_problem(404, "not_found");
    f.app.post(&retry, Some(&access(f.member())), json!({})).expect_problem(403, "forbidden");
    f.app.post(&retry, Some(&access(f.admin())), json!({})).expect(202);
    // Pending again: not retried twice.
    f.app.post(&retry, Some(&access(f.admin())), json!({})).expect_problem(409, "delivery_not_failed");
    f.app.deliver_webhooks(&receiver);
    assert_eq!(receiver.seen.borrow().len(), 4);
    // Delivered: never replayed (a retry is for failures, not history).
    f.app.post(&retry, Some(&access(f.admin())), json!({})).expect_problem(409, "delivery_not_failed");
    f.app.deliver_webhooks(&receiver);
    assert_eq!(receiver.seen.borrow().len(), 4, "nothing replayed");
    let list = f.app.get(&format!("{}/{id}/deliveries", channels_path(&f.org)), Some(&access(f.owner())));
    let d = list.expect(200).body["data"][0].clone();
    let codes: Vec<i64> =
        d["attempts"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [500, 503, 502, 200], "the manual retry's attempt follows the scheduled ones");
    assert_eq!(d["attempts"][3]["number"], 4);
    let log = f.api().audit_log(f.owner(), f.tenant()).expect(200).body;
    assert!(log["data"].as_array().unwrap().iter().any(|e| e["action"] == "notification_delivery.retried"));
}

#[test]
fn a_410_disables_the_channel_and_emails_the_admins() {
    let f = fixture();
    let body = create_ok(&f, &["org.updated"]);
    let id = body["id"].as_str().unwrap();
    f.api().update_org(f.owner(), &f.org, json!({"name": "Acme 2"})).expect(200);
    let results = f.app.deliver_webhooks(&Receiver::answering(&[410]));
    assert_eq!(results[0].0, Next::Ack);
    let ch = f.app.get(&format!("{}/{id}", channels_path(&f.org)), Some(&access(f.owner()))).expect(200).body;
    assert_eq!((ch["enabled"].as_bool(), ch["disabled_reason"].as_str()), (Some(false), Some("gone")));
    for who in [f.owner(), f.admin()] {
        let mails = f.app.emails_to(&who.email);
        assert!(mails.iter().any(|m| m["subject"] == "A notification channel was disabled"), "{mails:?}");
    }
    assert!(!f.app.emails_to(&f.member().email).iter().any(|m| m["subject"] == "A notification channel was disabled"));
    // Disabled: no fan-out, no ping.
    f.api().update_org(f.owner(), &f.org, json!({"name": "Acme 3"})).expect(200);
    assert!(f.app.outbox.webhooks.borrow().is_empty());
    f.app
        .post(&format!("{}/{id}/test", channels_path(&f.org)), Some(&access(f.owner())), json!({}))
        .expect_problem(409, "conflict");
    let log = f.api().audit_log(f.owner(), f.tenant()).expect(200).body;
    let e = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "notification_channel.disabled")
        .unwrap()
        .clone();
    assert_eq!(e["actor"]["kind"], "system");
}

#[test]
fn five_days_of_failures_disable_the_channel() {
    let f = fixture();
    let body = create_ok(&f, &["org.updated"]);
    let id = body["id"].as_str().unwrap();
    // Keys do not expire with the clock's travel; sessions do.
    let key = f.api().create_key(f.owner(), &f.org, "k", &["org:write", "notifications:write"]).expect(201).body;
    let key = key["key"].as_str().unwrap();
    let receiver = Receiver::answering(&[500; 40]);
    for day in 0..5 {
        f.api().update_org(key, &f.org, json!({"name": format!("Acme {day}")})).expect(200);
        f.app.deliver_webhooks(&receiver);
        f.app.advance(86_400);
        let ch = f.app.get(&format!("{}/{id}", channels_path(&f.org)), Some(key)).expect(200).body;
        assert_eq!(ch["enabled"], true, "day {day}: not yet 5 days");
    }
    f.api().update_org(key, &f.org, json!({"name": "Acme 5"})).expect(200);
    f.app.deliver_webhooks(&receiver);
    let ch = f.app.get(&format!("{}/{id}", channels_path(&f.org)), Some(key)).expect(200).body;
    assert_eq!(ch["disabled_reason"], "failing");
    // Enabling clears the streak.
    let ch = f.app.patch(&format!("{}/{id}", channels_path(&f.org)), Some(key), json!({"enabled": true}));
    assert_eq!(ch.expect(200).body["disabled_reason"], Value::Null);
}

#[test]
fn rotation_signs_with_both_secrets_during_the_grace_then_only_the_new_one() {
    let f = fixture();
    let body = create_ok(&f, &["ping"]);
    let (id, old) = (body["id"].as_str().unwrap(), body["secret"].as_str().unwrap());
    let path = format!("{}/{id}", channels_path(&f.org));
    for bad in [-1, 86_401] {
        f.app
            .post(&format!("{path}/rotate-secret"), Some(&access(f.owner())), json!({"grace_period_seconds": bad}))
            .expect_problem(422, "validation_failed");
    }
    f.app
        .post(&format!("{path}/rotate-secret"), Some(&access(f.member())), json!({"grace_period_seconds": 60}))
        .expect_problem(403, "forbidden");
    let rotated =
        f.app.post(&format!("{path}/rotate-secret"), Some(&access(f.owner())), json!({"grace_period_seconds": 3600}));
    let new = rotated.expect(200).body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let receiver = Receiver::answering(&[]);
    f.app.post(&format!("{path}/test"), Some(&access(f.owner())), json!({})).expect(202);
    f.app.deliver_webhooks(&receiver);
    {
        let seen = receiver.seen.borrow();
        assert_eq!(verifies_with(&seen[0], old), (2, true), "the old secret still verifies");
        assert_eq!(verifies_with(&seen[0], &new), (2, true), "and so does the new one");
        let ping: Value = serde_json::from_str(&seen[0].body).unwrap();
        assert_eq!(ping["type"], "ping");
    }
    let key = f.api().create_key(f.owner(), &f.org, "k", &["notifications:write", "audit:read"]).expect(201).body;
    f.app.advance(3601);
    f.app.post(&format!("{path}/test"), Some(key["key"].as_str().unwrap()), json!({})).expect(202);
    f.app.deliver_webhooks(&receiver);
    let seen = receiver.seen.borrow();
    assert_eq!(verifies_with(&seen[1], &new), (1, true));
    assert_eq!(verifies_with(&seen[1], old), (1, false), "the old secret stopped after its grace");
    let log = f.api().audit_log(key["key"].as_str().unwrap(), f.tenant());
    let log = log.expect(200).body;

    assert!(log["data"].as_array().unwrap().iter().any(|e| e["action"] == "notification_channel.secret_rotated"));
}

#[test]
fn invitations_expire_into_one_event_and_org_deletion_is_the_last() {
    let f = fixture();
    create_ok(&f, &["invitation.expired", "invitation.created", "org.deleted"]);
    f.api().invite(f.owner(), f.tenant(), "late@example.com", "member").expect(201);
    f.app.advance(8 * 86_400);
    f.app.sweep();
    f.app.sweep();
    let receiver = Receiver::answering(&[]);
    f.app.deliver_webhooks(&receiver);
    let owner = f.api().login(&f.owner().email, PASSWORD).expect(200).body;
    f.api().delete_org(&owner, &f.org).expect(204);
    f.app.deliver_webhooks(&receiver);
    let types: Vec<String> = receiver.bodies().iter().map(|b| b["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types, ["invitation.created", "invitation.expired", "org.deleted"]);
    // Once nothing is pending, the deleted org's channel goes.
    f.app.sweep();
    let rows = pollster::block_on(latchkey::store::Db::run(
        f.app.db.as_ref(),
        latchkey::stmt!("SELECT COUNT(*) AS n FROM notification_channels"),
    ))
    .unwrap();
    assert_eq!(rows.rows[0]["n"], 0);
}

#[test]
fn channels_are_updated_and_deleted_with_audit_rows() {
    let f = fixture();
    let body = create_ok(&f, &["ping"]);
    let path = format!("{}/{}", channels_path(&f.org), body["id"].as_str().unwrap());
    let updated = f.app.patch(
        &path,
        Some(&access(f.admin())),
        json!({"url": "https://other.example.org/in", "event_types": ["member.added"], "enabled": false}),
    );
    let updated = updated.expect(200).body;
    assert_eq!(updated["url"], "https://other.example.org/in");
    assert_eq!(updated["disabled_reason"], "manual");
    f.app.patch(&path, Some(&access(f.admin())), json!({"bogus": 1})).expect_problem(422, "validation_failed");
    f.app.delete(&path, Some(&access(f.member()))).expect_problem(403, "forbidden");
    f.app.delete(&path, Some(&access(f.owner()))).expect(204);
    f.app.delete(&path, Some(&access(f.owner()))).expect_problem(404, "not_found");
    let log = f.api().audit_log(f.owner(), f.tenant()).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["notification_channel.created", "notification_channel.disabled", "notification_channel.deleted"] {
        assert!(actions.contains(&a), "{a}: {actions:?}");
    }
}

#[test]
fn an_org_has_at_most_20_channels() {
    let f = fixture();
    for _ in 0..20 {
        create_ok(&f, &["ping"]);
    }
    create(&f, &access(f.owner()), &["ping"]).expect_problem(409, "conflict");
    let list = f.app.get(&format!("{}?limit=100", channels_path(&f.org)), Some(&access(f.owner()))).expect(200);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 20);
    // Paging: 20 channels in pages of 15.
    let first = f.app.get(&format!("{}?limit=15", channels_path(&f.org)), Some(&access(f.owner()))).expect(200).body;
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = f.app.get(&format!("{}?limit=15&cursor={cursor}", channels_path(&f.org)), Some(&access(f.owner())));
    assert_eq!(rest.expect(200).body["data"].as_array().unwrap().len(), 5);
}

#[test]
fn a_duplicated_message_sends_once_and_a_claimed_delivery_is_not_sent_twice() {
    let f = fixture();
    create_ok(&f, &["org.updated"]);
    f.api().update_org(f.owner(), &f.org, json!({"name": "Acme 2"})).expect(200);
    let id = f.app.outbox.webhooks.borrow()[0].0.clone();
    // The queue delivers at least once: the same message three times.
    f.app.outbox.webhooks.borrow_mut().extend([(id.clone(), 0), (id.clone(), 0)]);
    let receiver = Receiver::answering(&[]);
    let results = f.app.deliver_webhooks(&receiver);
    assert_eq!(results.len(), 3);
    assert_eq!(receiver.seen.borrow().len(), 1, "sent once");
    // A manual retry while another consumer holds the claim cannot double-send either:
    // the claim is one guarded UPDATE (status, due time and claim in its WHERE).
    pollster::block_on(latchkey::store::Db::run(
        f.app.db.as_ref(),
        latchkey::stmt!(
            "UPDATE notification_deliveries SET status = 'pending', next_attempt_at = ?1, claimed_until = ?2",
            f.app.clock_now(),
            f.app.clock_now() + 60
        ),
    ))
    .unwrap();
    f.app.outbox.webhooks.borrow_mut().push((id, 0));
    let results = f.app.deliver_webhooks(&receiver);
    assert_eq!(results[0].0, Next::Ack);
    assert_eq!(receiver.seen.borrow().len(), 1, "held by another consumer: not sent");
}

#[test]
fn a_crashed_delivery_is_recorded_once_from_the_dead_letter_queue_and_the_sweep_resends_it() {
    let f = fixture();
    create_ok(&f, &["org.updated"]);
    f.api().update_org(f.owner(), &f.org, json!({"name": "Acme 2"})).expect(200);
    // The message crashed past the queue's retries: it never reached the consumer.
    let (id, _) = f.app.outbox.webhooks.borrow_mut().pop().unwrap();
    let db = f.app.db.as_ref();
    for _ in 0..2 {
        // At least once: the dead-letter consumer may see it twice.
        pollster::block_on(latchkey::jobs::webhooks::record_dead_letter("msg-1", &id, "retries exhausted", db, 1))
            .unwrap();
    }
    let rows = pollster::block_on(latchkey::store::Db::run(
        db,
        latchkey::stmt!("SELECT delivery_id, reason FROM notification_dead_letters"),
    ))
    .unwrap();
    assert_eq!(rows.rows.len(), 1);
    assert_eq!(rows.rows[0]["delivery_id"], id.as_str());
    // Still pending in D1: once overdue, the sweep hands it to the queue again.
    assert_eq!(f.app.sweep(), 0, "enqueued and not yet overdue");
    f.app.advance(301);
    assert_eq!(f.app.sweep(), 1);
    let receiver = Receiver::answering(&[]);
    f.app.deliver_webhooks(&receiver);
    assert_eq!(receiver.seen.borrow().len(), 1);
}

/// Issue 19, item 3: a key with only `notifications:write` is refused 403 at
/// members and the audit log; it must not get their data through a channel
/// of its own, by retargeting someone else's, or by replaying history.
#[test]
fn a_notifications_only_key_cannot_subscribe_retarget_or_replay_what_it_may_not_read() {
    let f = fixture();
    let key = f.api().create_key(f.owner(), &f.org, "hooks", &["notifications:write"]).expect(201).body;
    let key = key["key"].as_str().unwrap();
    f.api().members(key, f.tenant()).expect_problem(403, "insufficient_scope");
    let mine = "https://attacker.example.net/in";
    let post = |types: Value| f.app.post(&channels_path(&f.org), Some(key), json!({"url": mine, "event_types": types}));
    post(json!(["invitation.created"])).expect_problem(403, "insufficient_scope");
    post(json!(["ping", "member.added"])).expect_problem(403, "insufficient_scope");
    post(json!(["org.updated"])).expect_problem(403, "insufficient_scope");
    let r = post(json!(["api_key.created"])).expect_problem(403, "forbidden");
    assert!(r.body["detail"].as_str().unwrap().contains("API keys never read API keys"), "{}", r.raw);
    // Even a key holding every other scope: keys never read keys.
    let all = f
        .api()
        .create_key(
            f.owner(),
            &f.org,
            "all",
            &["notifications:write", "members:read", "invitations:write", "api_keys:write", "org:read"],
        )
        .expect(201)
        .body;
    let all = all["key"].as_str().unwrap();
    let post_all =
        |types: Value| f.app.post(&channels_path(&f.org), Some(all), json!({"url": mine, "event_types": types}));
    post_all(json!(["api_key.created"])).expect_problem(403, "forbidden");
    post_all(json!(["invitation.created", "member.added"])).expect(201);
    // What it may read, it may subscribe to.
    post(json!(["ping"])).expect(201);

    // The owner's channel carries invitations: the key may not point it elsewhere.
    let owners = create_ok(&f, &["invitation.created", "api_key.created"]);
    let one = format!("{}/{}", channels_path(&f.org), owners["id"].as_str().unwrap());
    f.app.patch(&one, Some(key), json!({"url": mine})).expect_problem(403, "insufficient_scope");
    f.app.patch(&one, Some(all), json!({"url": mine})).expect_problem(403, "forbidden");
    f.app
        .patch(&one, Some(key), json!({"url": mine, "event_types": ["member.removed"]}))
        .expect_problem(403, "insufficient_scope");
    let ch = f.app.get(&one, Some(key)).expect(200).body;
    assert_eq!(
        (ch["url"].as_str(), ch["event_types"].clone()),
        (Some(HOOK), json!(["invitation.created", "api_key.created"]))
    );
    // A URL change is judged on the types the channel carries as read; the
    // UPDATE holds only while they are still those (a change meanwhile wins).
    let stale = pollster::block_on(latchkey::store::Db::run(
        f.app.db.as_ref(),
        latchkey::stmt!(
            latchkey::store::sql::UPDATE_CHANNEL,
            owners["id"].as_str().unwrap(),
            f.org.as_str(),
            mine,
            None::<&str>,
            None::<&str>,
            None::<bool>,
            f.app.clock_now(),
            r#"["ping"]"#
        ),
    ))
    .unwrap();
    assert_eq!(stale.changes, 0, "judged on other types: nothing changes");
    // Nothing it cannot read is at stake in a description or an on/off switch.
    f.app.patch(&one, Some(key), json!({"description": "renamed"})).expect(200);
    // An invitation is delivered to the owner's URL only.
    f.api().invite(f.owner(), f.tenant(), "new@example.com", "member").expect(201);
    let receiver = Receiver::answering(&[]);
    f.app.deliver_webhooks(&receiver);
    let seen = receiver.seen.borrow();
    let mut to: Vec<&str> =
        seen.iter().filter(|r| r.body.contains("invitation.created")).map(|r| r.url.as_str()).collect();
    to.sort();
    assert_eq!(to, [mine, HOOK], "the owner's channel, and the channel of the key that may read invitations");
    drop(seen);

    // Retrying a delivered delivery replays nothing: 409 delivery_not_failed.
    let list = f.app.get(&format!("{one}/deliveries"), Some(key)).expect(200).body;
    let dlv = list["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list["data"][0]["status"], "succeeded");
    let retry = format!("{}/deliveries/{dlv}/retry", channels_path(&f.org));
    f.app.post(&retry, Some(key), json!({})).expect_problem(409, "delivery_not_failed");
    f.app.post(&retry, Some(&access(f.owner())), json!({})).expect_problem(409, "delivery_not_failed");
    assert!(f.app.deliver_webhooks(&receiver).is_empty());
    assert_eq!(receiver.seen.borrow().len(), 2, "nothing was sent again");
    // The refusals wrote nothing to the audit log.
    let log = f.api().audit_log(f.owner(), f.tenant()).expect(200).body;
    let retried =
        log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "notification_delivery.retried").count();
    assert_eq!(retried, 0);
}

/// Issue 19, item 4: `notification_channel.created|updated` keep a URL's
/// scheme and host only: its path and query (a Slack-style token) never reach
/// whoever reads the audit log.
#[test]
fn the_audit_log_keeps_a_channel_urls_scheme_and_host_only() {
    let f = fixture();
    let secret_url = "https://hooks.example.org/services/T0001/B0002/s3cretTokenXYZ?sig=abc123";
    let made = f
        .app
        .post(&channels_path(&f.org), Some(&access(f.owner())), json!({"url": secret_url, "event_types": ["ping"]}))
        .expect(201)
        .body;
    assert_eq!(made["url"], secret_url, "the channel itself keeps its URL");
    let one = format!("{}/{}", channels_path(&f.org), made["id"].as_str().unwrap());
    let other = "https://other.example.net/hook/another-s3cret?k=v";
    f.app.patch(&one, Some(&access(f.owner())), json!({"url": other})).expect(200);
    f.app.patch(&one, Some(&access(f.owner())), json!({"url": secret_url, "enabled": false})).expect(200);
    let auditor = f.api().create_key(f.owner(), &f.org, "auditor", &["audit:read"]).expect(201).body;
    let log = f.api().audit_log(auditor["key"].as_str().unwrap(), f.tenant()).expect(200);
    for leak in ["s3cret", "services/T0001", "sig=abc123", "/hook/", "k=v"] {
        assert!(!log.raw.contains(leak), "{leak} is in the audit log: {}", log.raw);
    }
    let urls: Vec<(String, String)> = log.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"]["kind"] == "notification_channel")
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["data"]["url"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert_eq!(
        urls,
        [
            ("notification_channel.disabled".to_owned(), "https://hooks.example.org".to_owned()),
            ("notification_channel.updated".to_owned(), "https://other.example.net".to_owned()),
            ("notification_channel.created".to_owned(), "https://hooks.example.org".to_owned()),
        ]
    );
}

/// Migration 0014 takes the path and query out of the URLs that audit rows
/// written before the rule quote.
#[test]
fn migration_0014_scrubs_urls_from_older_audit_rows() {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let (before, after): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|f| f.file_name().unwrap().to_str().unwrap() < "0014");
    for f in &before {
        db.execute_batch(&std::fs::read_to_string(f).unwrap()).unwrap();
    }
    db.execute_batch("PRAGMA foreign_keys = OFF;").unwrap(); // audit rows of an org not made here
    let rows = [
        (
            "notification_channel.created",
            r#"{"url":"https://hooks.slack.com/services/T/B/s3cret","event_types":["ping"]}"#,
        ),
        ("notification_channel.updated", r#"{"url":"https://h.example.org:8443/x?token=s3cret","enabled":null}"#),
        ("notification_channel.disabled", r#"{"url":"http://127.0.0.1:9000/s3cret","enabled":false}"#),
        ("notification_channel.updated", r#"{"url":null,"description":"s3cret stays: not a URL"}"#),
        ("member.added", r#"{"url":"https://keep.example.org/not-a-channel"}"#),
    ];
    for (i, (action, data)) in rows.iter().enumerate() {
        db.execute(
            "INSERT INTO audit_events (id, org_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at) \
             VALUES (?1, 'org_1', 'user', 'usr_1', ?2, 'notification_channel', 'nch_1', ?3, 1)",
            rusqlite::params![format!("evt_{i}"), action, data],
        )
        .unwrap();
    }
    for f in &after {
        db.execute_batch(&std::fs::read_to_string(f).unwrap()).unwrap();
    }
    let mut stmt = db.prepare("SELECT json_extract(data, '$.url') FROM audit_events ORDER BY id").unwrap();
    let urls: Vec<Option<String>> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(
        urls,
        [
            Some("https://hooks.slack.com".to_owned()),
            Some("https://h.example.org".to_owned()),
            Some("http://127.0.0.1".to_owned()),
            None,
            Some("https://keep.example.org/not-a-channel".to_owned()),
        ]
    );
}
