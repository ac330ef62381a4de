//! Notification channel kinds (issue 23): signed webhooks, Slack and Discord
//! incoming webhooks, and email. What each kind accepts as its target (the
//! host rules on top of [`webhook::check_url`]), how its URL is shown, how
//! its receiver's answers count, and the short human message an event
//! becomes for the kinds people read (Slack, Discord, email).
//!
//! Pure: the facts (names, addresses, the console's URL) come in as arguments.
use super::webhook::{self, Outcome, UrlError, UrlPolicy, WebhookUrl};
use serde_json::{json, Value};
use url::Url;

/// What a channel sends, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// A Standard Webhooks POST, signed with the channel's secret.
    Webhook,
    /// A Slack incoming webhook (`https://hooks.slack.com/…`): `{"text"}`.
    Slack,
    /// A Discord webhook (`https://discord.com/api/webhooks/…`): `{"content"}`.
    Discord,
    /// Email to the channel's confirmed addresses, through the mail queue.
    Email,
}

impl ChannelKind {
    /// Every kind, in the order the console offers them.
    pub const ALL: [ChannelKind; 4] =
        [ChannelKind::Webhook, ChannelKind::Slack, ChannelKind::Discord, ChannelKind::Email];

    /// Parses the stored or requested name.
    pub fn parse(raw: &str) -> Option<ChannelKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Discord => "discord",
            ChannelKind::Email => "email",
        }
    }

    /// Whether the channel has a URL (every kind but email).
    pub const fn has_url(self) -> bool {
        !matches!(self, ChannelKind::Email)
    }

    /// Whether deliveries are signed (a webhook only: a Slack or Discord URL
    /// is itself the credential, and signatures mean nothing to them).
    pub const fn signed(self) -> bool {
        matches!(self, ChannelKind::Webhook)
    }
}

/// Discord's webhook hosts.
pub const DISCORD_HOSTS: &[&str] = &["discord.com", "discordapp.com"];
/// Slack's incoming-webhook host.
pub const SLACK_HOST: &str = "hooks.slack.com";

/// Checks a channel's URL: [`webhook::check_url`]'s rules for every kind,
/// then a Slack URL must be on `hooks.slack.com` and a Discord URL on
/// `discord.com` or `discordapp.com` under `/api/webhooks/`. In development
/// the plain-http loopback URLs `check_url` admits are accepted for every
/// kind (the tests' fake Slack and Discord receivers).
pub fn check_channel_url(kind: ChannelKind, raw: &str, policy: UrlPolicy<'_>) -> Result<WebhookUrl, UrlError> {
    let url = webhook::check_url(raw, policy)?;
    let parsed = Url::parse(url.as_str()).map_err(|_| UrlError::Malformed)?;
    // `check_url` admits http only to loopback in development.
    if parsed.scheme() == "http" {
        return Ok(url);
    }
    let host = parsed.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
    match kind {
        ChannelKind::Webhook => Ok(url),
        ChannelKind::Slack if host == SLACK_HOST => Ok(url),
        ChannelKind::Slack => Err(UrlError::SlackHost),
        ChannelKind::Discord
            if DISCORD_HOSTS.contains(&host.as_str()) && parsed.path().starts_with("/api/webhooks/") =>
        {
            Ok(url)
        }
        ChannelKind::Discord => Err(UrlError::DiscordHost),
        ChannelKind::Email => Err(UrlError::Malformed),
    }
}

/// A channel's URL as the API shows it. A webhook's in full (its secret is
/// separate); a Slack or Discord URL is the credential itself, so only its
/// scheme, host and first path segment, then `…` and the last 4 characters
/// (enough to tell two apart, never enough to post).
pub fn shown_url(kind: ChannelKind, url: &str) -> String {
    if kind == ChannelKind::Webhook {
        return url.to_owned();
    }
    let Ok(u) = Url::parse(url) else { return String::new() };
    let origin = match u.port() {
        Some(p) => format!("{}://{}:{p}", u.scheme(), u.host_str().unwrap_or_default()),
        None => format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default()),
    };
    let path = u.path();
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    let rest = &path[(first.len() + 1).min(path.len())..];
    let tail: String = {
        let chars: Vec<char> = rest.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    };
    if rest.chars().count() <= 4 {
        return format!("{origin}/{first}/…");
    }
    format!("{origin}/{first}/…{tail}")
}

/// How a receiver's answer counts for `kind`: as for webhooks, except that
/// Slack and Discord answer 404 (and Slack 410) for a webhook that was
/// deleted or whose channel was archived, which disables the channel too.
pub fn outcome_for(kind: ChannelKind, status: Option<u16>) -> Outcome {
    match (kind, status) {
        (ChannelKind::Slack | ChannelKind::Discord, Some(404)) => Outcome::Gone,
        _ => webhook::outcome(status),
    }
}

/// Most addresses one email channel has.
pub const MAX_EMAILS: usize = 10;

/// Who did it, as a message names them.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// `user`, `api_key` or `system`.
    pub kind: &'a str,
    /// The person's or key's name, when known.
    pub name: Option<&'a str>,
    /// The person's address, when known.
    pub email: Option<&'a str>,
}

impl Who<'_> {
    /// `Ann (ann@acme.com)`, `the API key "deploy"`, `Latchkey`.
    pub fn label(&self) -> String {
        let name = self.name.map(str::trim).filter(|n| !n.is_empty());
        match (self.kind, name, self.email) {
            ("system", _, _) => "Latchkey".to_owned(),
            ("api_key", Some(n), _) => format!("the API key \u{201c}{n}\u{201d}"),
            ("api_key", None, _) => "an API key".to_owned(),
            (_, Some(n), Some(e)) => format!("{n} ({e})"),
            (_, Some(n), None) => n.to_owned(),
            (_, None, Some(e)) => e.to_owned(),
            _ => "someone".to_owned(),
        }
    }
}

/// What a human message is made of (the event row with the names the
/// consumer read next to it).
#[derive(Debug, Clone, Copy)]
pub struct MessageFacts<'a> {
    /// The event type.
    pub event_type: &'a str,
    /// `org_…`.
    pub org_id: &'a str,
    /// The org's name (the deleted org's from the event, or its id).
    pub org_name: &'a str,
    /// Who did it.
    pub actor: Who<'a>,
    /// e.g. `user`, `invitation`.
    pub target_kind: &'a str,
    /// The person the event is about, when the target is a person.
    pub target: Who<'a>,
    /// The audit row's details.
    pub details: &'a Value,
    /// The console (`APP_URL`), for the link.
    pub app_url: &'a str,
}

fn detail<'a>(details: &'a Value, key: &str) -> Option<&'a str> {
    details.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The console page an event type is about.
pub fn console_link(f: &MessageFacts<'_>) -> String {
    let base = f.app_url.trim_end_matches('/');
    let section = match f.event_type.split('.').next().unwrap_or_default() {
        "member" | "invitation" | "join_link" | "membership_request" => "team",
        "api_key" => "api-keys",
        "domain" => "domains",
        "ping" => "notification-channels",
        _ if f.event_type == "org.deleted" => return format!("{base}/"),
        _ => "settings",
    };
    format!("{base}/orgs/{}/{section}", f.org_id)
}

/// The sentence for one event: who did what, where (no link).
pub fn sentence(f: &MessageFacts<'_>) -> String {
    let actor = f.actor.label();
    let org = f.org_name;
    let d = f.details;
    let role = detail(d, "role").or_else(|| detail(d, "to"));
    let as_role = role.map(|r| format!(" as {r}")).unwrap_or_default();
    // The person an event is about: the target when it is a person, else
    // the address the details carry, else whoever acted (joining oneself).
    let person = if f.target_kind == "user" {
        let t = f.target.label();
        if t == "someone" {
            detail(d, "email").map_or(t, str::to_owned)
        } else {
            t
        }
    } else {
        detail(d, "email").map_or_else(|| actor.clone(), str::to_owned)
    };
    let email = detail(d, "email").unwrap_or("someone");
    let key = detail(d, "name").map(|n| format!(" \u{201c}{n}\u{201d}")).unwrap_or_default();
    let domain = detail(d, "domain").unwrap_or("a domain");
    let workspace = d.pointer("/workspace/name").and_then(Value::as_str).unwrap_or("a customer workspace");
    match f.event_type {
        "member.added" => format!("{person} joined {org}{as_role}"),
        "member.joined" => {
            let via = detail(d, "via").map(|v| format!(" (via {})", v.replace('_', " "))).unwrap_or_default();
            format!("{person} joined {org}{as_role}{via}")
        }
        "member.role_changed" => match (detail(d, "from"), detail(d, "to")) {
            (Some(from), Some(to)) => format!("{actor} changed {person}'s role in {org} from {from} to {to}"),
            _ => format!("{actor} changed {person}'s role in {org}"),
        },
        "member.removed" if f.target_kind == "user" && f.actor.email.is_some() && f.actor.email == f.target.email => {
            format!("{actor} left {org}")
        }
        "member.removed" => format!("{actor} removed {person} from {org}"),
        "invitation.created" => format!("{actor} invited {email} to {org}{as_role}"),
        "invitation.accepted" => format!("{actor} accepted the invitation to {org}{as_role}"),
        "invitation.revoked" => format!("{actor} revoked the invitation of {email} to {org}"),
        "invitation.expired" => format!("The invitation of {email} to {org} expired unanswered"),
        "join_link.created" => format!("{actor} created a join link for {org}"),
        "join_link.revoked" => format!("{actor} revoked a join link of {org}"),
        "membership_request.created" => format!("{actor} asked to join {org}"),
        "membership_request.approved" => format!("{actor} approved a request to join {org}{as_role}"),
        "membership_request.denied" => format!("{actor} denied a request to join {org}"),
        "membership_request.withdrawn" => format!("{actor} withdrew their request to join {org}"),
        "api_key.created" => format!("{actor} created the API key{key} in {org}"),
        "api_key.rotated" => format!("{actor} rotated an API key in {org}"),
        "api_key.revoked" => format!("{actor} revoked the API key{key} in {org}"),
        "api_key.expiring" => {
            let left = d.get("days_left").and_then(Value::as_i64).map_or_else(
                || "soon".to_owned(),
                |n| {
                    if n == 1 {
                        "in 1 day".to_owned()
                    } else {
                        format!("in {n} days")
                    }
                },
            );
            format!("The API key{key} in {org} expires {left}: rotate it")
        }
        "api_key.expired" => format!("The API key{key} in {org} expired"),
        "grant.created" => format!("{workspace} granted {org} access"),
        "grant.revoked" => format!("{workspace} revoked {org}'s access"),
        "grant.relinquished" => format!("{actor} gave up {org}'s access to {workspace}"),
        "org.updated" => format!("{actor} changed the settings of {org}"),
        "org.deleted" => format!("{actor} deleted {org}"),
        "domain.added" => format!("{actor} added the domain {domain} to {org}"),
        "domain.verified" => format!("The domain {domain} of {org} is verified"),
        "domain.updated" => format!("{actor} changed the domain {domain} of {org}"),
        "domain.lapsed" => format!("The domain {domain} of {org} lapsed: its TXT record is gone"),
        "domain.removed" => format!("{actor} removed the domain {domain} from {org}"),
        "role.created" => format!("{actor} created the role{key} in {org}"),
        "role.updated" => format!("{actor} changed the role{key} in {org}"),
        "role.deleted" => format!("{actor} deleted the role{key} from {org}"),
        "ping" => format!("Test message from Latchkey: this notification channel of {org} works"),
        other => format!("{other} in {org} by {actor}"),
    }
}

/// The whole message: the sentence and a link to the console page.
/// `Ann (ann@acme.com) invited bob@acme.com to Acme as member — https://app/orgs/org_…/team`.
pub fn message(f: &MessageFacts<'_>) -> String {
    format!("{} \u{2014} {}", sentence(f), console_link(f))
}

/// Slack's formatting control characters, escaped as Slack asks
/// (<https://api.slack.com/reference/surfaces/formatting#escaping>), so a
/// name like `<!channel>` is text, never a mention.
pub fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Longest Discord `content`.
pub const DISCORD_MAX_CHARS: usize = 2000;

/// The body POSTed to a Slack or Discord webhook for `message` (`None`:
/// the kind is not one of them).
pub fn chat_body(kind: ChannelKind, message: &str) -> Option<String> {
    match kind {
        ChannelKind::Slack => Some(json!({ "text": slack_escape(message) }).to_string()),
        // No mention is ever parsed: `@everyone` in an org or person name stays text.
        ChannelKind::Discord => {
            let content: String = if message.chars().count() > DISCORD_MAX_CHARS {
                message.chars().take(DISCORD_MAX_CHARS - 1).chain(['…']).collect()
            } else {
                message.to_owned()
            };
            Some(json!({ "content": content, "allowed_mentions": { "parse": [] } }).to_string())
        }
        ChannelKind::Webhook | ChannelKind::Email => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: UrlPolicy<'static> = UrlPolicy { development: false, own_host: Some("latchkey.example.com") };
    const DEV: UrlPolicy<'static> = UrlPolicy { development: true, own_host: Some("latchkey.example.com") };
    use ChannelKind::{Discord, Slack, Webhook};

    #[test]
    fn slack_and_discord_urls_only_on_their_own_hosts_except_loopback_in_development() {
        type Case<'a> = (ChannelKind, &'a str, UrlPolicy<'a>, Result<(), UrlError>, &'a str);
        let cases: &[Case] = &[
            (Slack, "https://hooks.slack.com/services/T0/B0/xyz", PROD, Ok(()), "Slack's own host"),
            (Slack, "https://HOOKS.SLACK.COM./services/T0/B0/xyz", PROD, Ok(()), "case and trailing dot"),
            (Slack, "https://hooks.example.org/services/T0", PROD, Err(UrlError::SlackHost), "another host"),
            (Slack, "https://slack.com/services/T0", PROD, Err(UrlError::SlackHost), "slack.com is not the hooks host"),
            (Slack, "https://hooks.slack.com.evil.org/x", PROD, Err(UrlError::SlackHost), "a look-alike"),
            (Slack, "https://discord.com/api/webhooks/1/a", PROD, Err(UrlError::SlackHost), "Discord's host"),
            (Slack, "http://hooks.slack.com/services/T0", PROD, Err(UrlError::Scheme), "plain http"),
            (Slack, "https://hooks.slack.com:8443/services/T0", PROD, Err(UrlError::Port), "another port"),
            (Slack, "http://127.0.0.1:9000/slack", DEV, Ok(()), "a loopback fake in development"),
            (Slack, "http://127.0.0.1:9000/slack", PROD, Err(UrlError::Scheme), "loopback in production"),
            (Slack, "https://hooks.example.org/x", DEV, Err(UrlError::SlackHost), "another https host, even in dev"),
            (Discord, "https://discord.com/api/webhooks/123/tok", PROD, Ok(()), "discord.com"),
            (Discord, "https://discordapp.com/api/webhooks/123/tok", PROD, Ok(()), "discordapp.com"),
            (Discord, "https://discord.com/channels/1/2", PROD, Err(UrlError::DiscordHost), "not a webhook path"),
            (Discord, "https://evil.org/api/webhooks/1/a", PROD, Err(UrlError::DiscordHost), "another host"),
            (Discord, "https://cdn.discord.com/api/webhooks/1/a", PROD, Err(UrlError::DiscordHost), "a subdomain"),
            (Discord, "https://hooks.slack.com/services/T0", PROD, Err(UrlError::DiscordHost), "Slack's host"),
            (Discord, "http://localhost:9001/discord", DEV, Ok(()), "a loopback fake in development"),
            (Discord, "http://localhost:9001/discord", PROD, Err(UrlError::Scheme), "loopback in production"),
            (Webhook, "https://hooks.example.org/in", PROD, Ok(()), "a webhook anywhere public"),
            (Webhook, "https://127.0.0.1.nip.io/x", PROD, Err(UrlError::RebindingDomain), "webhook rules stay"),
        ];
        for (kind, raw, policy, want, why) in cases {
            assert_eq!(check_channel_url(*kind, raw, *policy).map(|_| ()), *want, "{why}: {raw}");
        }
    }

    #[test]
    fn slack_and_discord_urls_are_shown_masked_webhooks_in_full() {
        let slack = "https://hooks.slack.com/services/T000/B000/XXXXsecretABCD";
        assert_eq!(shown_url(Slack, slack), "https://hooks.slack.com/services/…ABCD");
        let discord = "https://discord.com/api/webhooks/123/tokenWXYZ";
        assert_eq!(shown_url(Discord, discord), "https://discord.com/api/…WXYZ");
        assert_eq!(shown_url(Slack, "http://127.0.0.1:9000/slack"), "http://127.0.0.1:9000/slack/…");
        assert_eq!(shown_url(Webhook, "https://x.example.org/a?t=1"), "https://x.example.org/a?t=1");
        assert!(!shown_url(Slack, slack).contains("secret"));
    }

    #[test]
    fn slack_and_discord_treat_404_as_gone() {
        assert_eq!(outcome_for(Slack, Some(404)), Outcome::Gone);
        assert_eq!(outcome_for(Discord, Some(404)), Outcome::Gone);
        assert_eq!(outcome_for(Discord, Some(410)), Outcome::Gone);
        assert_eq!(outcome_for(Webhook, Some(404)), Outcome::Failed);
        assert_eq!(outcome_for(Slack, Some(204)), Outcome::Delivered);
        assert_eq!(outcome_for(Slack, Some(500)), Outcome::Failed);
    }

    fn facts<'a>(event_type: &'a str, details: &'a Value) -> MessageFacts<'a> {
        MessageFacts {
            event_type,
            org_id: "org_1",
            org_name: "Acme",
            actor: Who { kind: "user", name: Some("Ann"), email: Some("ann@acme.com") },
            target_kind: "user",
            target: Who { kind: "user", name: Some("Bob"), email: Some("bob@acme.com") },
            details,
            app_url: "https://app.example.com",
        }
    }

    #[test]
    fn each_event_reads_as_who_did_what_where_with_a_console_link() {
        let cases: &[(&str, Value, &str)] = &[
            (
                "invitation.created",
                json!({"email": "bob@acme.com", "role": "member"}),
                "Ann (ann@acme.com) invited bob@acme.com to Acme as member — https://app.example.com/orgs/org_1/team",
            ),
            (
                "member.role_changed",
                json!({"from": "member", "to": "admin"}),
                "Ann (ann@acme.com) changed Bob (bob@acme.com)'s role in Acme from member to admin — https://app.example.com/orgs/org_1/team",
            ),
            (
                "member.removed",
                json!({"email": "bob@acme.com", "role": "member"}),
                "Ann (ann@acme.com) removed Bob (bob@acme.com) from Acme — https://app.example.com/orgs/org_1/team",
            ),
            (
                "api_key.created",
                json!({"name": "deploy"}),
                "Ann (ann@acme.com) created the API key “deploy” in Acme — https://app.example.com/orgs/org_1/api-keys",
            ),
            (
                "domain.verified",
                json!({"domain": "acme.com"}),
                "The domain acme.com of Acme is verified — https://app.example.com/orgs/org_1/domains",
            ),
            ("org.deleted", json!({"name": "Acme"}), "Ann (ann@acme.com) deleted Acme — https://app.example.com/"),
            (
                "ping",
                json!({}),
                "Test message from Latchkey: this notification channel of Acme works — https://app.example.com/orgs/org_1/notification-channels",
            ),
        ];
        for (t, details, want) in cases {
            assert_eq!(message(&facts(t, details)), *want, "{t}");
        }
        let d = json!({"email": "ann@acme.com", "role": "member"});
        let left = MessageFacts {
            target: Who { kind: "user", name: Some("Ann"), email: Some("ann@acme.com") },
            ..facts("member.removed", &d)
        };
        assert_eq!(sentence(&left), "Ann (ann@acme.com) left Acme");
        let key =
            MessageFacts { actor: Who { kind: "api_key", name: Some("ci"), email: None }, ..facts("org.updated", &d) };
        assert_eq!(sentence(&key), "the API key “ci” changed the settings of Acme");
        let sys =
            MessageFacts { actor: Who { kind: "system", name: None, email: None }, ..facts("invitation.expired", &d) };
        assert_eq!(sentence(&sys), "The invitation of ann@acme.com to Acme expired unanswered");
        for (t, _, _) in webhook::EVENT_TYPES {
            let s = sentence(&facts(t, &d));
            assert!(s.contains("Acme") && !s.contains(" in Acme by "), "{t} has its own sentence: {s}");
        }
    }

    #[test]
    fn chat_bodies_never_mention_anyone_and_discord_stays_within_2000_characters() {
        let slack: Value = serde_json::from_str(&chat_body(Slack, "<!channel> & <@U1> joined").unwrap()).unwrap();
        assert_eq!(slack["text"], "&lt;!channel&gt; &amp; &lt;@U1&gt; joined");
        let discord: Value = serde_json::from_str(&chat_body(Discord, "@everyone joined").unwrap()).unwrap();
        assert_eq!(discord["content"], "@everyone joined");
        assert_eq!(discord["allowed_mentions"], json!({"parse": []}));
        let long: Value = serde_json::from_str(&chat_body(Discord, &"é".repeat(3000)).unwrap()).unwrap();
        assert_eq!(long["content"].as_str().unwrap().chars().count(), DISCORD_MAX_CHARS);
        assert_eq!(chat_body(Webhook, "x"), None);
    }
}
