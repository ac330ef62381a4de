//! Secrets sealed at rest (TOTP secrets, webhook signing secrets), through
//! the real router and the webhook consumer over SQLite: a sealed value moved
//! to another row or table does not open; after a key rotation the previous
//! key still opens, and values are sealed again under the current key (on use
//! and by the sweep); values sealed before key ids still work.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey::app::SystemRng;
use latchkey::domain::sealed::MasterKey;
use latchkey::jobs::webhooks::{Next, WebhookRequest, WebhookResponse, WebhookSender};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;
use testapp::*;

/// The key of `testapp::config()`.
const OLD_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const NEW_KEY: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

fn sql(app: &TestApp, statement: &'static str, params: Vec<latchkey::store::Value>) -> Vec<Value> {
    let out =
        pollster::block_on(latchkey::store::Db::run(app.db.as_ref(), latchkey::store::Stmt { sql: statement, params }))
            .unwrap();
    out.rows.into_iter().map(Value::Object).collect()
}

fn totp_row(app: &TestApp, user_id: &str) -> String {
    let rows = sql(app, "SELECT secret_enc FROM totp_credentials WHERE user_id = ?1", vec![user_id.into()]);
    rows[0]["secret_enc"].as_str().unwrap().to_owned()
}

fn set_totp_row(app: &TestApp, user_id: &str, value: &str) {
    sql(app, "UPDATE totp_credentials SET secret_enc = ?2 WHERE user_id = ?1", vec![user_id.into(), value.into()]);
}

fn key_id(hex: &str) -> String {
    MasterKey::parse_hex(hex).unwrap().id().to_owned()
}

/// The format before key ids: AES-256-GCM under the master itself, no
/// associated data, `base64url(nonce || ciphertext || tag)`.
fn legacy_seal(hex_key: &str, plaintext: &[u8]) -> String {
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut key).unwrap();
    let nonce = [9u8; 12];
    let ct = Aes256Gcm::new(&Key::<Aes256Gcm>::from(key)).encrypt(&Nonce::from(nonce), plaintext).unwrap();
    URL_SAFE_NO_PAD.encode([nonce.as_slice(), &ct].concat())
}

/// The app now runs with `NEW_KEY`, and `OLD_KEY` as the previous key (or not).
fn rotate(app: &mut TestApp, keep_previous: bool) {
    let mut extra = vec![("TOTP_ENCRYPTION_KEY", NEW_KEY)];
    if keep_previous {
        extra.push(("TOTP_ENCRYPTION_KEY_PREVIOUS", OLD_KEY));
    }
    app.deps.config = Rc::new(config_with(&extra));
}

/// A second-factor login with a fresh code; the answer's status.
fn second_factor(app: &TestApp, email: &str, secret: &str) -> Reply {
    app.advance(30);
    let t = app.api().mfa_token(email);
    app.api().login_mfa(&t, &totp_code(secret, app.clock_now()))
}

#[test]
fn a_totp_secret_moved_to_another_users_row_does_not_open() {
    let app = TestApp::new();
    let a = app.api().verified_with_2fa("a@example.com");
    let b = app.api().verified_with_2fa("b@example.com");
    let (a_id, b_id) = (a.person.id(), b.person.id());
    assert!(totp_row(&app, &a_id).starts_with(&format!("{}.", key_id(OLD_KEY))));
    second_factor(&app, "b@example.com", &b.secret).expect(200);

    // Someone with write access to the database plants A's sealed secret
    // (whose codes they know) in B's row: it opens for nobody.
    set_totp_row(&app, &b_id, &totp_row(&app, &a_id));
    second_factor(&app, "b@example.com", &a.secret).expect_problem(500, "internal_error");
    second_factor(&app, "b@example.com", &b.secret).expect_problem(500, "internal_error");
    // A is unaffected.
    second_factor(&app, "a@example.com", &a.secret).expect(200);
}

#[test]
fn a_webhook_secret_moved_to_another_channel_or_a_totp_row_does_not_open() {
    let f = Fixture::new(TestApp::new()).org_with("Acme", &["admin"]);
    let path = format!("/v1/orgs/{}/notification-channels", f.org);
    let body = |url: &str| json!({"url": url, "event_types": ["ping"]});
    let one = f.app.post(&path, Some(&access(f.owner())), body("https://one.example.org/h")).expect(201).body;
    let two = f.app.post(&path, Some(&access(f.owner())), body("https://two.example.org/h")).expect(201).body;
    let (one_id, two_id) = (one["id"].as_str().unwrap(), two["id"].as_str().unwrap());
    let sealed_one = sql(&f.app, "SELECT secret FROM notification_channels WHERE id = ?1", vec![one_id.into()]);
    let sealed_one = sealed_one[0]["secret"].as_str().unwrap().to_owned();

    // Channel one's secret copied onto channel two: two's deliveries crash
    // (to the dead-letter queue) rather than sign with a key not its own.
    sql(
        &f.app,
        "UPDATE notification_channels SET secret = ?2 WHERE id = ?1",
        vec![two_id.into(), sealed_one.clone().into()],
    );
    let receiver = Receiver::default();
    f.app.post(&format!("{path}/{two_id}/test"), Some(&access(f.owner())), json!({})).expect(202);
    let out = f.app.deliver_webhooks(&receiver);
    assert!(matches!(&out[0].0, Next::Crash(why) if why.contains("does not decrypt")), "{out:?}");
    assert!(receiver.seen.borrow().is_empty(), "nothing was sent");

    // The same value in a TOTP row opens as no TOTP secret either.
    let person = f.app.api().verified_with_2fa("t@example.com");
    set_totp_row(&f.app, &person.person.id(), &sealed_one);
    second_factor(&f.app, "t@example.com", &person.secret).expect_problem(500, "internal_error");
}

#[test]
fn after_a_rotation_the_previous_key_still_opens_and_a_used_secret_is_sealed_again() {
    let mut app = TestApp::new();
    let a = app.api().verified_with_2fa("a@example.com");
    let a_id = a.person.id();
    let before = totp_row(&app, &a_id);

    // Rotated without keeping the old key: nothing sealed under it opens.
    rotate(&mut app, false);
    second_factor(&app, "a@example.com", &a.secret).expect_problem(500, "internal_error");
    assert_eq!(totp_row(&app, &a_id), before, "a failure changes nothing");

    // With the old key as the previous one, the secret opens, and the
    // successful use seals it again under the new key.
    rotate(&mut app, true);
    second_factor(&app, "a@example.com", &a.secret).expect(200);
    let after = totp_row(&app, &a_id);
    assert!(after.starts_with(&format!("{}.", key_id(NEW_KEY))), "{after}");
    // From then on the previous key is not needed.
    rotate(&mut app, false);
    second_factor(&app, "a@example.com", &a.secret).expect(200);
}

#[test]
fn secrets_sealed_before_key_ids_still_work_and_are_sealed_again() {
    let app = TestApp::new();
    let a = app.api().verified_with_2fa("a@example.com");
    let a_id = a.person.id();
    let raw = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &a.secret).unwrap();
    set_totp_row(&app, &a_id, &legacy_seal(OLD_KEY, &raw));
    second_factor(&app, "a@example.com", &a.secret).expect(200);
    assert!(totp_row(&app, &a_id).starts_with(&format!("{}.", key_id(OLD_KEY))));
    second_factor(&app, "a@example.com", &a.secret).expect(200);
}

#[test]
fn the_sweep_seals_every_stale_value_again_under_the_current_key() {
    let f = Fixture::new(TestApp::new()).org_with("Acme", &["admin"]);
    let path = format!("/v1/orgs/{}/notification-channels", f.org);
    let created = f
        .app
        .post(&path, Some(&access(f.owner())), json!({"url": "https://one.example.org/h", "event_types": ["ping"]}))
        .expect(201)
        .body;
    let (id, secret) = (created["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned());
    // A rotation with a grace period: both the secret and the previous one are stored.
    let rotated = f
        .app
        .post(&format!("{path}/{id}/rotate-secret"), Some(&access(f.owner())), json!({"grace_period_seconds": 3600}))
        .expect(200)
        .body;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    let b = f.app.api().verified_with_2fa("b@example.com");
    let b_id = b.person.id();
    // And one TOTP secret in the format before key ids.
    let raw = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &b.secret).unwrap();
    set_totp_row(&f.app, &b_id, &legacy_seal(OLD_KEY, &raw));

    let mut app = f.app;
    rotate(&mut app, true);
    let keys = app.deps.config.totp_key.clone();
    let done = pollster::block_on(latchkey::app::sealing::reseal_stale(app.db.as_ref(), &keys, &SystemRng)).unwrap();
    assert_eq!((done.resealed, done.unreadable), (3, 0), "{done:?}");
    let again = pollster::block_on(latchkey::app::sealing::reseal_stale(app.db.as_ref(), &keys, &SystemRng)).unwrap();
    assert_eq!(again.resealed, 0, "nothing left");

    let prefix = format!("{}.", key_id(NEW_KEY));
    let rows = sql(&app, "SELECT secret, previous_secret FROM notification_channels", vec![]);
    assert!(rows[0]["secret"].as_str().unwrap().starts_with(&prefix), "{rows:?}");
    assert!(rows[0]["previous_secret"].as_str().unwrap().starts_with(&prefix), "{rows:?}");
    assert!(totp_row(&app, &b_id).starts_with(&prefix));

    // The previous key dropped: deliveries still carry both signatures, and
    // the second factor still works.
    rotate(&mut app, false);
    let receiver = Receiver::default();
    let owner = app.login("owner@example.com", PASSWORD).expect(200).body;
    app.post(&format!("{path}/{id}/test"), Some(&access(&owner)), json!({})).expect(202);
    let out = app.deliver_webhooks(&receiver);
    assert_eq!(out[0].0, Next::Ack, "{out:?}");
    let seen = receiver.seen.borrow();
    let sigs = seen[0].headers.iter().find(|(k, _)| *k == "webhook-signature").unwrap().1.clone();
    assert_eq!(sigs.split(' ').count(), 2, "old and new secret during the grace period");
    for s in [&secret, &new_secret] {
        let wh = standardwebhooks::Webhook::new(s).unwrap();
        let hdr = |n: &str| seen[0].headers.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        let expected = wh.sign(&hdr("webhook-id"), hdr("webhook-timestamp").parse().unwrap(), seen[0].body.as_bytes());
        assert!(sigs.split(' ').any(|x| x == expected.as_ref().unwrap()), "signed with {s}");
    }
    second_factor(&app, "b@example.com", &b.secret).expect(200);
}

#[test]
fn a_previous_key_equal_to_the_current_one_or_malformed_is_refused() {
    let e = try_config_with(&[("TOTP_ENCRYPTION_KEY_PREVIOUS", OLD_KEY)]).unwrap_err();
    assert!(e.contains("must differ"), "{e}");
    let e = try_config_with(&[("TOTP_ENCRYPTION_KEY_PREVIOUS", "abc")]).unwrap_err();
    assert!(e.contains("TOTP_ENCRYPTION_KEY_PREVIOUS must be 64 hex"), "{e}");
    assert!(try_config_with(&[("TOTP_ENCRYPTION_KEY_PREVIOUS", "")]).is_ok(), "empty is unset");
}

/// A receiver that answers 200 and records every request.
#[derive(Default)]
struct Receiver {
    seen: RefCell<Vec<WebhookRequest>>,
}

#[async_trait(?Send)]
impl WebhookSender for Receiver {
    async fn post(&self, req: WebhookRequest) -> Result<WebhookResponse, String> {
        self.seen.borrow_mut().push(req);
        Ok(WebhookResponse { status: 200, retry_after: None, body: b"ok".to_vec(), latency_ms: 1 })
    }
}
