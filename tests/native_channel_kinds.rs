//! Notification channel kinds (issue 23): Slack, Discord and email beside
//! signed webhooks, through the real router over SQLite: each kind's URL
//! rules (production and development), the human message a receiver gets,
//! 404 from Slack or Discord disabling, and email addresses confirmed through
//! their emailed link before they receive anything.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::testapp;

use async_trait::async_trait;
use latchkey::domain::channel::{check_channel_url, ChannelKind};
use latchkey::domain::webhook::{UrlError, UrlPolicy};
use latchkey::jobs::webhooks::{WebhookRequest, WebhookResponse, WebhookSender};
use serde_json::{json, Value};
use std::cell::RefCell;
use testapp::*;

type Fixture = testapp::Fixture<TestApp>;

const SLACK: &str = "https://hooks.slack.com/services/T000/B000/XXXXsecretABCD";
const DISCORD: &str = "https://discord.com/api/webhooks/123/tokenWXYZ";

fn fixture() -> Fixture {
    Fixture::new(TestApp::new()).org_with("Acme", &["admin", "member"])
}

fn channels(f: &Fixture) -> String {
    format!("/v1/orgs/{}/notification-channels", f.org)
}

fn create(f: &Fixture, body: Value) -> Reply {
    f.app.post(&channels(f), Some(&access(f.owner())), body)
}

/// Answers 200, or 404 for URLs containing `gone`, and records every request.
#[derive(Default)]
struct Receiver {
    seen: RefCell<Vec<WebhookRequest>>,
}

#[async_trait(?Send)]
impl WebhookSender for Receiver {
    async fn post(&self, req: WebhookRequest) -> Result<WebhookResponse, String> {
        let status = if req.url.contains("gone") { 404 } else { 200 };
        self.seen.borrow_mut().push(req);
        Ok(WebhookResponse { status, retry_after: None, body: b"ok".to_vec(), latency_ms: 2 })
    }
}

#[test]
fn each_kind_takes_its_own_target_and_slack_and_discord_only_their_own_hosts() {
    let f = fixture();
    let types = json!(["member.added"]);
    let cases: &[(Value, u16, &str, &str)] = &[
        (
            json!({"kind": "slack", "url": "https://hooks.example.org/x", "event_types": types}),
            422,
            "invalid_webhook_url",
            "Slack off its host",
        ),
        (
            json!({"kind": "discord", "url": "https://discord.com/channels/1/2", "event_types": types}),
            422,
            "invalid_webhook_url",
            "not a Discord webhook path",
        ),
        (
            json!({"kind": "discord", "url": SLACK, "event_types": types}),
            422,
            "invalid_webhook_url",
            "Slack's host for Discord",
        ),
        (
            json!({"kind": "slack", "url": "https://127.0.0.1.nip.io/x", "event_types": types}),
            422,
            "invalid_webhook_url",
            "the webhook rules hold too",
        ),
        (json!({"kind": "teams", "url": SLACK, "event_types": types}), 422, "validation_failed", "an unknown kind"),
        (json!({"kind": "slack", "event_types": types}), 422, "validation_failed", "no url"),
        (
            json!({"kind": "email", "url": SLACK, "emails": ["a@example.com"], "event_types": types}),
            422,
            "validation_failed",
            "a url for email",
        ),
        (json!({"kind": "email", "event_types": types}), 422, "validation_failed", "no addresses"),
        (json!({"kind": "email", "emails": [], "event_types": types}), 422, "validation_failed", "an empty list"),
        (
            json!({"kind": "email", "emails": ["a@example.com", "A@example.com"], "event_types": types}),
            422,
            "validation_failed",
            "the same address twice",
        ),
        (
            json!({"kind": "email", "emails": ["not an address"], "event_types": types}),
            422,
            "validation_failed",
            "not an address",
        ),
        (
            json!({"kind": "email", "emails": (0..11).map(|i| format!("p{i}@example.com")).collect::<Vec<_>>(), "event_types": types}),
            422,
            "validation_failed",
            "11 addresses",
        ),
        (
            json!({"kind": "slack", "url": SLACK, "emails": ["a@example.com"], "event_types": types}),
            422,
            "validation_failed",
            "addresses for Slack",
        ),
    ];
    for (body, status, code, why) in cases {
        let r = create(&f, body.clone());
        assert_eq!((r.status, r.body["code"].as_str().unwrap_or_default()), (*status, *code), "{why}: {}", r.raw);
    }
    // Development: loopback http for every kind (the tests' fake receivers).
    for kind in ["slack", "discord", "webhook"] {
        create(&f, json!({"kind": kind, "url": "http://127.0.0.1:9000/in", "event_types": types})).expect(201);
    }
    // Production: never loopback, and only the kind's own hosts.
    let production = config_with(&[
        ("ENVIRONMENT", "production"),
        ("MAILER", "http"),
        ("MAIL_API_URL", "https://mail.example.com/emails"),
        ("MAIL_API_KEY", "k"),
    ]);
    let (development, own) = latchkey::app::notifications::url_policy(&production);
    let policy = UrlPolicy { development, own_host: own.as_deref() };
    for kind in [ChannelKind::Slack, ChannelKind::Discord, ChannelKind::Webhook] {
        assert_eq!(check_channel_url(kind, "http://127.0.0.1:9000/in", policy), Err(UrlError::Scheme), "{kind:?}");
    }
    assert!(check_channel_url(ChannelKind::Slack, SLACK, policy).is_ok());
    assert!(check_channel_url(ChannelKind::Discord, DISCORD, policy).is_ok());
    assert_eq!(check_channel_url(ChannelKind::Slack, DISCORD, policy), Err(UrlError::SlackHost));
}

#[test]
fn slack_and_discord_channels_have_no_secret_and_show_their_url_masked() {
    let f = fixture();
    let types = json!(["member.added"]);
    let slack = create(&f, json!({"kind": "slack", "url": SLACK, "event_types": types})).expect(201).body;
    assert_eq!(slack["kind"], "slack");
    assert_eq!(slack["url"], "https://hooks.slack.com/services/…ABCD");
    assert!(slack.get("secret").is_none(), "{slack}");
    let discord = create(&f, json!({"kind": "discord", "url": DISCORD, "event_types": types})).expect(201).body;
    assert_eq!(discord["url"], "https://discord.com/api/…WXYZ");
    let hook = create(&f, json!({"url": "https://hooks.example.org/in", "event_types": types})).expect(201).body;
    assert_eq!(hook["kind"], "webhook", "kind defaults to webhook");
    assert!(hook["secret"].as_str().unwrap().starts_with("whsec_"));
    let list = f.app.get(&channels(&f), Some(&access(f.owner()))).expect(200);
    assert!(!list.raw.contains("XXXXsecret") && !list.raw.contains("tokenWXYZ"), "{}", list.raw);
    let mut kinds: Vec<&str> =
        list.body["data"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["discord", "slack", "webhook"]);
    // The audit log keeps the host only.
    let audit = f.app.get(&format!("/v1/orgs/{}/audit-log", f.org), Some(&access(f.owner()))).expect(200);
    assert!(!audit.raw.contains("XXXXsecret"), "{}", audit.raw);
    // Only webhooks are signed.
    let id = slack["id"].as_str().unwrap();
    let r = f.app.post(
        &format!("{}/{id}/rotate-secret", channels(&f)),
        Some(&access(f.owner())),
        json!({"grace_period_seconds": 0}),
    );
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("channel_kind_mismatch")), "{}", r.raw);
    // A new URL is checked by the channel's kind.
    let patch =
        |url: &str| f.app.patch(&format!("{}/{id}", channels(&f)), Some(&access(f.owner())), json!({"url": url}));
    assert_eq!(patch("https://hooks.example.org/in").status, 422);
    assert_eq!(
        patch("https://hooks.slack.com/services/T1/B1/newKEY9").expect(200).body["url"],
        "https://hooks.slack.com/services/…KEY9"
    );
}

#[test]
fn slack_and_discord_receive_the_human_message_unsigned_and_a_404_disables() {
    let f = fixture();
    let types = json!(["invitation.created"]);
    create(&f, json!({"kind": "slack", "url": "http://127.0.0.1:9000/slack", "event_types": types})).expect(201);
    let discord =
        create(&f, json!({"kind": "discord", "url": "http://127.0.0.1:9001/discord/gone", "event_types": types}))
            .expect(201)
            .body;
    f.api().invite(f.owner(), f.tenant(), "bob@example.com", "member").expect(201);
    let receiver = Receiver::default();
    f.app.deliver_webhooks(&receiver);
    let seen = receiver.seen.borrow();
    assert_eq!(seen.len(), 2);
    let want = format!(
        "Test Person (owner@example.com) invited bob@example.com to Acme as member — http://app.test/orgs/{}/team",
        f.org
    );
    for r in seen.iter() {
        let body: Value = serde_json::from_str(&r.body).unwrap();
        let text = if r.url.contains("slack") { &body["text"] } else { &body["content"] };
        assert_eq!(text.as_str(), Some(want.as_str()), "{}", r.body);
        assert!(r.headers.iter().all(|(k, _)| !k.starts_with("webhook-")), "not signed: {:?}", r.headers);
    }
    // Discord answered 404: the webhook is gone, the channel off.
    let id = discord["id"].as_str().unwrap();
    let after = f.app.get(&format!("{}/{id}", channels(&f)), Some(&access(f.owner()))).expect(200).body;
    assert_eq!((after["enabled"].as_bool(), after["disabled_reason"].as_str()), (Some(false), Some("gone")));
    // The owner is told, with the URL masked and a link to the org's channels.
    let notice = f.app.emails_to("owner@example.com");
    let notice = notice.iter().find(|m| m["subject"] == "A notification channel was disabled").expect("the notice");
    let text = notice["text"].as_str().unwrap();
    assert!(text.contains("The notification channel for http://127.0.0.1:9001/discord/…gone was disabled"), "{text}");
    assert!(text.contains(&format!("http://app.test/orgs/{}/notification-channels", f.org)), "{text}");
}

#[test]
fn an_email_address_receives_events_only_once_confirmed_through_its_link() {
    let f = fixture();
    let body = json!({"kind": "email", "emails": ["oncall@example.org", "cto@example.org"], "event_types": ["member.role_changed", "ping"]});
    let created = create(&f, body).expect(201).body;
    assert_eq!(created["kind"], "email");
    assert_eq!(created["url"], Value::Null);
    assert!(created.get("secret").is_none());
    assert_eq!(created["emails"][0], json!({"email": "cto@example.org", "confirmed": false, "confirmed_at": null}));
    let id = created["id"].as_str().unwrap().to_owned();

    // Before any confirmation: the delivery is skipped, not failed.
    f.app.post(&format!("{}/{id}/test", channels(&f)), Some(&access(f.owner())), json!({})).expect(202);
    let nobody = Receiver::default();
    f.app.deliver_webhooks(&nobody);
    assert!(nobody.seen.borrow().is_empty());
    let deliveries = f.app.get(&format!("{}/{id}/deliveries", channels(&f)), Some(&access(f.owner()))).expect(200).body;
    assert_eq!(deliveries["data"][0]["status"], "succeeded");
    assert_eq!(deliveries["data"][0]["last_response"], "skipped: no confirmed address");

    // The link confirms one address (again: the same answer); a bad token is 400.
    let token = f.app.token_from_email("oncall@example.org", "/confirm-channel-email");
    let confirm = |t: &str| f.app.post("/v1/notification-channels/confirm-email", None, json!({"token": t}));
    let ok = confirm(&token).expect(200).body;
    assert_eq!((ok["email"].as_str(), ok["org_name"].as_str()), (Some("oncall@example.org"), Some("Acme")));
    assert_eq!(confirm(&token).expect(200).body["confirmed_at"], ok["confirmed_at"]);
    assert_eq!(confirm("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").status, 400);
    let shown = f.app.get(&format!("{}/{id}", channels(&f)), Some(&access(f.owner()))).expect(200).body;
    assert_eq!(shown["emails"][1]["confirmed"], true);

    // An event now: one email, to the confirmed address only, through the mail queue.
    let member = f.who("member");
    let member_id = TestApp::user_id(member);
    f.app
        .patch(&format!("/v1/orgs/{}/members/{member_id}", f.org), Some(&access(f.owner())), json!({"role": "admin"}))
        .expect(200);
    f.app.deliver_webhooks(&nobody);
    let mails = f.app.emails_to("oncall@example.org");
    let event = mails.last().unwrap();
    let text = event["text"].as_str().unwrap();
    assert!(text.contains("Test Person (owner@example.com) changed "), "{text}");
    assert!(text.contains("(member@example.com)'s role in Acme from member to admin"), "{text}");
    assert!(text.contains(&format!("http://app.test/orgs/{}/team", f.org)), "{text}");
    assert!(f.app.emails_to("cto@example.org").iter().all(|m| !m["text"].as_str().unwrap().contains("role in Acme")));
    // A retried delivery mails nobody twice (the job id is the delivery's and the address's).
    let before = f.app.emails_to("oncall@example.org").len();
    f.app.deliver_emails();
    assert_eq!(f.app.emails_to("oncall@example.org").len(), before);
    // The confirmation is in the org's audit log.
    let audit = f.app.get(&format!("/v1/orgs/{}/audit-log", f.org), Some(&access(f.owner()))).expect(200);
    assert!(audit.raw.contains("notification_channel.email_confirmed"), "{}", audit.raw);
}

#[test]
fn an_expired_confirmation_link_confirms_nothing() {
    let f = fixture();
    create(&f, json!({"kind": "email", "emails": ["late@example.org"], "event_types": ["ping"]})).expect(201);
    let token = f.app.token_from_email("late@example.org", "/confirm-channel-email");
    f.app.advance(8 * 24 * 3600);
    let r = f.app.post("/v1/notification-channels/confirm-email", None, json!({"token": token}));
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("invalid_token")), "{}", r.raw);
}

#[test]
fn a_deleted_orgs_confirmation_link_confirms_nothing() {
    let f = fixture();
    create(&f, json!({"kind": "email", "emails": ["gone@example.org"], "event_types": ["ping"]})).expect(201);
    let token = f.app.token_from_email("gone@example.org", "/confirm-channel-email");
    f.api().delete_org(f.owner(), &f.org).expect(204);
    let r = f.app.post("/v1/notification-channels/confirm-email", None, json!({"token": token}));
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("invalid_token")), "{}", r.raw);
}
