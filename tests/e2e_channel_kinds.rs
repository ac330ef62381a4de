//! Runtime test of the channel kinds Slack, Discord and email (the built
//! Worker under wrangler dev, local D1, the real webhook and mail queue
//! consumers): fake Slack and Discord receivers on 127.0.0.1 (development
//! accepts loopback http for every kind) get the human message of a real
//! invitation, unsigned; a 500 is retried and both attempts are listed; a 404
//! from Slack disables the channel (`gone`) and the owner is told; an email
//! channel's address gets its confirmation link, nothing before following it,
//! then the event email.
//! One Worker for the whole file.
//!
//! `WEBHOOK_RETRY_SCHEDULE=1,1,1`: retries after about a second.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use crate::notifications::{deliveries, wait_until, Receiver};
use crate::support;

use serde_json::{json, Value};
use std::thread;
use std::time::Duration;
use support::*;

fn create(w: &Worker, bearer: &str, org: &str, body: Value) -> Value {
    w.post(&format!("/v1/orgs/{org}/notification-channels"), Some(bearer), body).expect(201).body
}

#[test]
fn slack_discord_and_email_channels_deliver_human_messages_in_workerd() {
    let receiver = Receiver::start();
    let w = Worker::start_with(WorkerOptions { vars: vec![("WEBHOOK_RETRY_SCHEDULE".into(), "1,1,1".into())] });
    let f = Fixture::new(w).org_with("Acme", &["member"]);
    let (w, org) = (&f.app, f.org.clone());
    let owner = access(f.owner());
    let api = f.api();
    let origin = w.url("");
    let invited = ["invitation.created"];

    // 1. Slack and Discord: the human message of a real invitation, unsigned.
    let slack =
        create(w, &owner, &org, json!({"kind": "slack", "url": receiver.url("/slack"), "event_types": invited}));
    assert_eq!(slack["kind"], "slack");
    assert!(slack.get("secret").is_none(), "no signing secret: {slack}");
    assert_eq!(slack["url"], format!("{}/…", receiver.url("/slack")), "shown masked");
    let discord = create(
        w,
        &owner,
        &org,
        json!({"kind": "discord", "url": receiver.url("/discord/hook"), "event_types": invited}),
    );
    assert_eq!(discord["kind"], "discord");
    api.invite(&owner, Tenant::Org(&org), "bob@example.com", "member").expect(201);
    let want =
        format!("Test Person (owner@example.com) invited bob@example.com to Acme as member — {origin}/orgs/{org}/team");
    let hit = receiver.wait("/slack", 1).remove(0);
    assert_eq!(hit.json(), json!({"text": want}), "Slack gets {{text}}");
    let hit2 = receiver.wait("/discord/hook", 1).remove(0);
    assert_eq!(hit2.json(), json!({"content": want, "allowed_mentions": {"parse": []}}), "Discord gets {{content}}");
    for h in [&hit, &hit2] {
        assert!(
            h.headers.iter().all(|(k, _)| !k.to_ascii_lowercase().starts_with("webhook-")),
            "unsigned: {:?}",
            h.headers
        );
        assert!(h.header("content-type").starts_with("application/json"), "{:?}", h.headers);
    }
    let id = slack["id"].as_str().unwrap();
    wait_until("the Slack delivery to be recorded", || {
        let d = deliveries(w, &owner, &org, id);
        d.len() == 1 && d[0]["status"] == "succeeded" && d[0]["last_status_code"] == 200
    });

    // 2. A failing Slack receiver (500) is retried; the log lists both attempts.
    receiver.script("/slack-flaky", &[500, 200]);
    let flaky =
        create(w, &owner, &org, json!({"kind": "slack", "url": receiver.url("/slack-flaky"), "event_types": ["ping"]}));
    let flaky = flaky["id"].as_str().unwrap().to_owned();
    w.post(&format!("/v1/orgs/{org}/notification-channels/{flaky}/test"), Some(&owner), json!({})).expect(202);
    let hits = receiver.wait("/slack-flaky", 2);
    assert_eq!((hits[0].answered, hits[1].answered), (500, 200));
    assert_eq!(hits[0].body, hits[1].body, "the same message again");
    assert!(hits[0].json()["text"].as_str().unwrap().starts_with("Test message from Latchkey"), "{:?}", hits[0].json());
    wait_until("the retried Slack delivery to be recorded", || {
        let d = deliveries(w, &owner, &org, &flaky);
        d.len() == 1 && d[0]["status"] == "succeeded" && d[0]["attempt_count"] == 2
    });
    let d = deliveries(w, &owner, &org, &flaky).remove(0);
    let listed: Vec<(i64, i64)> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["number"].as_i64().unwrap(), a["status_code"].as_i64().unwrap()))
        .collect();
    assert_eq!(listed, [(1, 500), (2, 200)], "{d:#}");
    assert_eq!(d["attempts"][0]["error"], "answered 500", "{d:#}");

    // 3. A 404 from Slack (a deleted webhook) disables the channel: gone.
    receiver.script("/slack-gone", &[404]);
    let gone =
        create(w, &owner, &org, json!({"kind": "slack", "url": receiver.url("/slack-gone"), "event_types": ["ping"]}));
    let gone = gone["id"].as_str().unwrap().to_owned();
    w.post(&format!("/v1/orgs/{org}/notification-channels/{gone}/test"), Some(&owner), json!({})).expect(202);
    receiver.wait("/slack-gone", 1);
    wait_until("the Slack channel to be disabled", || {
        let ch = w.get(&format!("/v1/orgs/{org}/notification-channels/{gone}"), Some(&owner)).expect(200).body;
        ch["enabled"] == false && ch["disabled_reason"] == "gone"
    });
    thread::sleep(Duration::from_secs(2));
    assert_eq!(receiver.hits("/slack-gone").len(), 1, "no retry after a 404");
    let d = deliveries(w, &owner, &org, &gone).remove(0);
    assert_eq!((d["status"].as_str(), d["attempt_count"].as_i64()), (Some("failed"), Some(1)), "{d:#}");
    // The owner is told, the URL masked, with a link to the org's channels.
    let mails = w.wait_for_emails("owner@example.com", 2); // the verification, then the notice
    let notice = mails.iter().find(|m| m["subject"] == "A notification channel was disabled").expect("the notice");
    let text = notice["text"].as_str().unwrap();
    assert!(text.contains(&format!("for {}/… was disabled", receiver.url("/slack-gone"))), "{text}");
    assert!(text.contains(&format!("{origin}/orgs/{org}/notification-channels")), "{text}");

    // 4. Email: the confirmation link first, nothing before it is followed.
    let mail = create(
        w,
        &owner,
        &org,
        json!({"kind": "email", "emails": ["oncall@example.org"], "event_types": ["member.role_changed"]}),
    );
    assert_eq!((mail["kind"].as_str(), mail["url"].as_str()), (Some("email"), None));
    assert_eq!(mail["emails"], json!([{"email": "oncall@example.org", "confirmed": false, "confirmed_at": null}]));
    let mail_id = mail["id"].as_str().unwrap().to_owned();
    let first = w.wait_for_emails("oncall@example.org", 1);
    assert_eq!(first[0]["subject"], "Confirm notifications from Acme", "{first:#?}");
    let member_id = user_id(f.member());
    api.change_role(&owner, Tenant::Org(&org), &member_id, "admin").expect(200);
    wait_until("the unconfirmed delivery to be skipped", || {
        let d = deliveries(w, &owner, &org, &mail_id);
        d.len() == 1 && d[0]["status"] == "succeeded" && d[0]["last_response"] == "skipped: no confirmed address"
    });
    thread::sleep(Duration::from_secs(1));
    assert_eq!(w.wait_for_emails("oncall@example.org", 0).len(), 1, "nothing but the confirmation");

    // The link's token confirms the address (public route).
    let token = api.emailed_token("oncall@example.org", "/confirm-channel-email", 1);
    let ok = w.post("/v1/notification-channels/confirm-email", None, json!({"token": token})).expect(200).body;
    assert_eq!((ok["email"].as_str(), ok["org_name"].as_str()), (Some("oncall@example.org"), Some("Acme")), "{ok}");
    let shown = w.get(&format!("/v1/orgs/{org}/notification-channels/{mail_id}"), Some(&owner)).expect(200).body;
    assert_eq!(shown["emails"][0]["confirmed"], true, "{shown}");

    // Then an org action sends that address the event email.
    api.change_role(&owner, Tenant::Org(&org), &member_id, "member").expect(200);
    let mails = w.wait_for_emails("oncall@example.org", 2);
    let event = mails.iter().find(|m| m["subject"] != "Confirm notifications from Acme").expect("the event email");
    let text = event["text"].as_str().unwrap();
    assert!(text.contains("Test Person (owner@example.com) changed "), "{text}");
    assert!(text.contains("(member@example.com)'s role in Acme from admin to member"), "{text}");
    assert!(text.contains(&format!("{origin}/orgs/{org}/team")), "{text}");
    assert!(event["subject"].as_str().unwrap().starts_with("Acme: "), "{event}");
    wait_until("the email delivery to be recorded", || {
        let d = deliveries(w, &owner, &org, &mail_id);
        d.len() == 2 && d[0]["last_response"] == "queued for 1 confirmed address"
    });
}
