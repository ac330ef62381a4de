//! Runtime test of notification channels (the built Worker under wrangler
//! dev, local D1 and Queues): a receiver on 127.0.0.1 verifies every delivery
//! with the `standardwebhooks` crate (an independent Standard Webhooks
//! implementation). Each event type is produced by its real action and
//! arrives once; a 500 is retried with the same `webhook-id` and succeeds; a
//! 410 disables the channel and emails the admins; during a rotation's grace
//! both secrets verify; each delivery lists its attempts; a key with only
//! `notifications:write` cannot subscribe to, retarget or replay what it may
//! not read; the audit log keeps a URL's scheme and host; ports, rebinding
//! domains and workers.dev hosts are refused. One Worker for the whole file.
//!
//! `WEBHOOK_RETRY_SCHEDULE=1,1,1`: retries after about a second.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::support;

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::*;

const WAIT: Duration = Duration::from_secs(40);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) answered: u16,
}

impl Hit {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).unwrap_or("")
    }
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    /// Verifies with the standardwebhooks crate (signature and timestamp).
    fn verifies(&self, secret: &str) -> bool {
        let mut headers = http::HeaderMap::new();
        for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            headers.insert(name, self.header(name).parse().unwrap());
        }
        standardwebhooks::Webhook::new(secret).unwrap().verify(&self.body, &headers).is_ok()
    }
}

/// Statuses to answer, per path.
type Scripts = Arc<Mutex<Vec<(String, Vec<u16>)>>>;

/// A receiver on 127.0.0.1: per path, a script of statuses, then 200
/// (also the fake Slack and Discord receivers of e2e_channel_kinds and the console test).
pub(crate) struct Receiver {
    port: u16,
    hits: Arc<Mutex<Vec<Hit>>>,
    scripts: Scripts,
    server: Arc<tiny_http::Server>,
}

impl Receiver {
    pub(crate) fn start() -> Receiver {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let scripts: Scripts = Arc::default();
        let (s, h, sc) = (server.clone(), hits.clone(), scripts.clone());
        thread::spawn(move || {
            for mut req in s.incoming_requests() {
                let mut body = Vec::new();
                std::io::Read::read_to_end(req.as_reader(), &mut body).unwrap();
                let path = req.url().to_owned();
                let status = {
                    let mut scripts = sc.lock().unwrap();
                    match scripts.iter_mut().find(|(p, _)| *p == path) {
                        Some((_, script)) if !script.is_empty() => script.remove(0),
                        _ => 200,
                    }
                };
                let headers = req.headers().iter().map(|hd| (hd.field.to_string(), hd.value.to_string())).collect();
                h.lock().unwrap().push(Hit { path, headers, body, answered: status });
                let _ = req.respond(tiny_http::Response::from_string("ok").with_status_code(status));
            }
        });
        Receiver { port, hits, scripts, server }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) fn script(&self, path: &str, statuses: &[u16]) {
        self.scripts.lock().unwrap().push((path.to_owned(), statuses.to_vec()));
    }

    pub(crate) fn hits(&self, path: &str) -> Vec<Hit> {
        self.hits.lock().unwrap().iter().filter(|h| h.path == path).cloned().collect()
    }

    pub(crate) fn wait(&self, path: &str, n: usize) -> Vec<Hit> {
        let deadline = Instant::now() + WAIT;
        loop {
            let hits = self.hits(path);
            if hits.len() >= n {
                return hits;
            }
            assert!(Instant::now() < deadline, "waited for {n} hit(s) on {path}, got {}: {hits:#?}", hits.len());
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn channel(w: &Worker, bearer: &str, org: &str, url: &str, types: &[&str]) -> (String, String) {
    let r = w.post(
        &format!("/v1/orgs/{org}/notification-channels"),
        Some(bearer),
        json!({"url": url, "event_types": types}),
    );
    let body = r.expect(201).body;
    (body["id"].as_str().unwrap().to_owned(), body["secret"].as_str().unwrap().to_owned())
}

pub(crate) fn deliveries(w: &Worker, bearer: &str, org: &str, channel: &str) -> Vec<Value> {
    let r = w.get(&format!("/v1/orgs/{org}/notification-channels/{channel}/deliveries"), Some(bearer));
    r.expect(200).body["data"].as_array().unwrap().clone()
}

pub(crate) fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !ok() {
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn webhooks_are_signed_retried_disabled_and_rotated_in_workerd() {
    let receiver = Receiver::start();
    let w = Worker::start_with(WorkerOptions { vars: vec![("WEBHOOK_RETRY_SCHEDULE".into(), "1,1,1".into())] });
    let f = Fixture::new(w).org_with("Acme", &["admin", "member"]);
    let (w, org) = (&f.app, f.org.clone());
    let owner = access(f.owner());

    // Plain http to a loopback receiver is allowed in development only; an IP
    // in any other notation never; nor another port, a rebinding domain or a
    // workers.dev host.
    for bad in WEBHOOK_URLS_NEVER_ALLOWED {
        w.post(
            &format!("/v1/orgs/{org}/notification-channels"),
            Some(&owner),
            json!({"url": bad, "event_types": ["ping"]}),
        )
        .expect_problem(422, "invalid_webhook_url");
    }

    // 1. Every event type from its real action, once each, all verified.
    let (_, secret_a) = channel(w, &owner, &org, &receiver.url("/a"), &ACTION_EVENT_TYPES);
    let api = f.api();
    api.update_org(&owner, &org, json!({"name": "Acme Two"})).expect(200);
    let inv = api.invite(&owner, Tenant::Org(&org), "gone@example.com", "member").expect(201).id();
    api.revoke_invitation(&owner, Tenant::Org(&org), &inv).expect(204);
    let joiner = api.join(&owner, Tenant::Org(&org), "joiner@example.com", "member"); // created + accepted + member.added
    let joiner_id = joiner.id();
    api.change_role(&owner, Tenant::Org(&org), &joiner_id, "admin").expect(200);
    api.remove_member(&owner, Tenant::Org(&org), &joiner_id).expect(204);
    let key = api.create_key(&owner, &org, "ci", &["org:read"]).expect(201).id();
    let rotated = api.rotate_key(&owner, &org, &key, 0).expect(201).id();
    api.revoke_key(&owner, &org, &rotated).expect(204);
    let slug = api.org(&owner, &org).expect(200).body["slug"].as_str().unwrap().to_owned();
    let customer = api.verified("customer@example.com");
    let ws = api.create_workspace(&customer, "Shop").expect(201).id();
    api.grant(&customer, &ws, &slug).expect(201);
    api.revoke_grant(&customer, &ws, &org).expect(204);
    api.grant(&customer, &ws, &slug).expect(201);
    api.relinquish(&owner, &org, &ws).expect(204);
    // invitation.created twice (the revoked one and the joiner's), grant.created twice.
    let expected = ACTION_EVENT_TYPES.len() + 2;
    let hits = receiver.wait("/a", expected);
    thread::sleep(Duration::from_secs(3)); // nothing more may arrive
    let hits_after = receiver.hits("/a");
    assert_eq!(
        hits_after.len(),
        expected,
        "each event exactly once: {:#?}",
        hits_after.iter().map(Hit::json).collect::<Vec<_>>()
    );
    let mut seen: Vec<String> = hits.iter().map(|h| h.json()["type"].as_str().unwrap().to_owned()).collect();
    seen.sort();
    let mut want: Vec<String> = ACTION_EVENT_TYPES.iter().map(|s| s.to_string()).collect();
    want.extend(["invitation.created".to_owned(), "grant.created".to_owned()]);
    want.sort();
    assert_eq!(seen, want);
    for h in &hits {
        assert!(h.verifies(&secret_a), "a delivery failed verification: {h:?}");
        assert_eq!(h.json()["data"]["org_id"], org.as_str());
    }
    let ids: std::collections::HashSet<&str> = hits.iter().map(|h| h.header("webhook-id")).collect();
    assert_eq!(ids.len(), hits.len(), "one webhook-id per message");

    // 2. 500 then 200: retried with the same id, one success recorded; then 410 disables.
    receiver.script("/b", &[500, 200, 410]);
    let (b, secret_b) = channel(w, &owner, &org, &receiver.url("/b"), &["ping"]);
    w.post(&format!("/v1/orgs/{org}/notification-channels/{b}/test"), Some(&owner), json!({})).expect(202);
    let hits = receiver.wait("/b", 2);
    assert_eq!((hits[0].answered, hits[1].answered), (500, 200));
    assert_eq!(hits[0].header("webhook-id"), hits[1].header("webhook-id"));
    assert!(hits.iter().all(|h| h.verifies(&secret_b)));
    wait_until("the success to be recorded", || {
        let d = deliveries(w, &owner, &org, &b);
        d.len() == 1 && d[0]["status"] == "succeeded" && d[0]["attempt_count"] == 2 && d[0]["last_status_code"] == 200
    });
    // Both attempts are listed: the 500 is not hidden by the 200.
    let d = deliveries(w, &owner, &org, &b).remove(0);
    let attempts = d["attempts"].as_array().unwrap();
    let listed: Vec<(i64, i64)> =
        attempts.iter().map(|a| (a["number"].as_i64().unwrap(), a["status_code"].as_i64().unwrap())).collect();
    assert_eq!(listed, [(1, 500), (2, 200)], "{d:#}");
    assert_eq!((attempts[0]["error"].as_str(), attempts[1]["error"].as_str()), (Some("answered 500"), None));
    for a in attempts {
        assert_eq!(a["response"], "ok", "{a}");
        assert!(a["latency_ms"].as_i64().is_some_and(|ms| ms >= 0), "{a}");
        assert!(a["attempted_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{a}");
    }
    assert!(attempts[0]["attempted_at"].as_str() <= attempts[1]["attempted_at"].as_str());
    let delivered = d["id"].as_str().unwrap().to_owned();
    w.post(&format!("/v1/orgs/{org}/notification-channels/{b}/test"), Some(&owner), json!({})).expect(202);
    receiver.wait("/b", 3);
    wait_until("the channel to be disabled", || {
        let ch = w.get(&format!("/v1/orgs/{org}/notification-channels/{b}"), Some(&owner)).expect(200).body;
        ch["enabled"] == false && ch["disabled_reason"] == "gone"
    });
    let mails = w.wait_for_emails(&f.admin().email, 2); // the invitation, then the notice
    assert!(
        mails.iter().any(|m| m["subject"] == "A notification channel was disabled"),
        "the admin was told: {mails:#?}"
    );

    // 3. Rotation: two signatures during the grace; either secret verifies.
    let (c, old) = channel(w, &owner, &org, &receiver.url("/c"), &["ping"]);
    let r = w.post(
        &format!("/v1/orgs/{org}/notification-channels/{c}/rotate-secret"),
        Some(&owner),
        json!({"grace_period_seconds": 3600}),
    );
    let new = r.expect(200).body["secret"].as_str().unwrap().to_owned();
    w.post(&format!("/v1/orgs/{org}/notification-channels/{c}/test"), Some(&owner), json!({})).expect(202);
    let hit = receiver.wait("/c", 1).remove(0);
    assert_eq!(hit.header("webhook-signature").split(' ').count(), 2);
    assert!(hit.verifies(&old) && hit.verifies(&new));
    assert!(!hit.verifies("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"), "not just any secret");

    // 4. The audit log shows channels, rotations and the disable, and of a
    // channel's URL only its scheme and host.
    let log = api.audit_log(&owner, Tenant::Org(&org)).expect(200).body;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["notification_channel.created", "notification_channel.secret_rotated", "notification_channel.disabled"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    for e in log["data"].as_array().unwrap().iter().filter(|e| e["action"] == "notification_channel.created") {
        assert_eq!(e["data"]["url"], "http://127.0.0.1", "no port, path or query: {e}");
    }

    // 5. A key with only notifications:write (403 at members) cannot get
    // their data by a channel of its own, by retargeting one, or by replay.
    let key = api.create_key(&owner, &org, "hooks", &["notifications:write"]).expect(201).body;
    let key = key["key"].as_str().unwrap();
    api.members(key, Tenant::Org(&org)).expect_problem(403, "insufficient_scope");
    let attacker = receiver.url("/attacker");
    let channels = format!("/v1/orgs/{org}/notification-channels");
    w.post(&channels, Some(key), json!({"url": attacker, "event_types": ["invitation.created"]}))
        .expect_problem(403, "insufficient_scope");
    w.post(&channels, Some(key), json!({"url": attacker, "event_types": ["api_key.created"]}))
        .expect_problem(403, "forbidden");
    let a = w.get(&channels, Some(key)).expect(200).body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["url"] == receiver.url("/a"))
        .expect("channel /a")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.patch(&format!("{channels}/{a}"), Some(key), json!({"url": attacker})).expect_problem(403, "insufficient_scope");
    assert_eq!(w.get(&format!("{channels}/{a}"), Some(key)).expect(200).body["url"], receiver.url("/a").as_str());
    w.post(&format!("{channels}/deliveries/{delivered}/retry"), Some(key), json!({}))
        .expect_problem(409, "delivery_not_failed");
    api.invite(&owner, Tenant::Org(&org), "later@example.com", "member").expect(201);
    receiver.wait("/a", expected + 2); // api_key.created (the key above), invitation.created
    thread::sleep(Duration::from_secs(2));
    assert!(receiver.hits("/attacker").is_empty(), "nothing reached the key's URL");
    assert_eq!(receiver.hits("/b").len(), 3, "the delivered ping was not replayed");

    // 6. The Cron Trigger's sweep runs in workerd (D1 accepts its statements).
    let r = w.get("/__scheduled?cron=*+*+*+*+*", None);
    assert_eq!(r.status, 200, "{}", r.raw);
    thread::sleep(Duration::from_millis(500));
    assert!(!w.log_tail().contains("sweep failed"), "{}", w.log_tail());

    // 7. org.deleted is the org's last event, delivered after the org is gone.
    let doomed = api.create_org(&owner, "Doomed").expect(201).id();
    let (_, secret_d) = channel(w, &owner, &doomed, &receiver.url("/d"), &["org.deleted"]);
    api.delete_org(&owner, &doomed).expect(204);
    let hit = receiver.wait("/d", 1).remove(0);
    assert_eq!(hit.json()["type"], "org.deleted");
    assert!(hit.verifies(&secret_d));
}
