//! Notification channels as Standard Webhooks (<https://www.standardwebhooks.com>):
//! the event types, which audited action stands for which event, the URL
//! rules against server-side request forgery, signing secrets, signatures,
//! the payload and the retry schedule.
//!
//! Pure: random bytes, the time and the configuration come in as arguments.
use super::policy::{Permission, Subject, Verdict};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::{Host, Url};

/// What reading an event type's data takes: the permission the API's own
/// read of that data needs (the one policy table decides it for the caller).
/// A channel subscribes only to types its creator may read, and changing its
/// URL or types needs the same, so `notifications:write` alone never opens a
/// way around `members:read`, `invitations:write` or the person-only key list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// Nothing beyond managing the channel (`ping`).
    Nothing,
    /// This permission: a person by role, an API key by scope.
    Permission(Permission),
    /// This permission, held by a person: API keys never read API keys.
    PersonWith(Permission),
}

/// Every event type a channel may subscribe to: its name, what reading its
/// data takes ([`Reads`], the same as reading that data through the API:
/// members `members:read`; invitations `invitations:write`, which lists
/// them; API keys a person with `api_keys:write`; the workspaces granted to
/// the org `workspaces:read`; the org itself `org:read`), and what it means.
pub const EVENT_TYPES: &[(&str, Reads, &str)] = &[
    (
        "member.added",
        Reads::Permission(Permission::MembersRead),
        "Someone joined the organization (by any way; `member.joined` says which).",
    ),
    (
        "member.joined",
        Reads::Permission(Permission::MembersRead),
        "Someone joined the organization, with how (`via`: invitation, join_link, domain or request).",
    ),
    (
        "member.role_changed",
        Reads::Permission(Permission::MembersRead),
        "A member's role changed (ownership transfers included).",
    ),
    ("member.removed", Reads::Permission(Permission::MembersRead), "A member was removed or left."),
    ("invitation.created", Reads::Permission(Permission::InvitationsWrite), "An invitation was sent."),
    ("invitation.accepted", Reads::Permission(Permission::InvitationsWrite), "An invitation was accepted."),
    ("invitation.revoked", Reads::Permission(Permission::InvitationsWrite), "An invitation was revoked."),
    ("join_link.created", Reads::Permission(Permission::InvitationsWrite), "A join link was created."),
    ("join_link.revoked", Reads::Permission(Permission::InvitationsWrite), "A join link was revoked."),
    (
        "membership_request.created",
        Reads::Permission(Permission::InvitationsWrite),
        "Someone asked to join the organization.",
    ),
    (
        "membership_request.approved",
        Reads::Permission(Permission::InvitationsWrite),
        "A membership request was approved (the person joined).",
    ),
    ("membership_request.denied", Reads::Permission(Permission::InvitationsWrite), "A membership request was denied."),
    (
        "membership_request.withdrawn",
        Reads::Permission(Permission::InvitationsWrite),
        "A person withdrew their membership request.",
    ),
    (
        "invitation.expired",
        Reads::Permission(Permission::InvitationsWrite),
        "An invitation expired unanswered (recorded by the scheduled sweep).",
    ),
    ("api_key.created", Reads::PersonWith(Permission::ApiKeysWrite), "An API key was created."),
    ("api_key.rotated", Reads::PersonWith(Permission::ApiKeysWrite), "An API key was rotated."),
    ("api_key.revoked", Reads::PersonWith(Permission::ApiKeysWrite), "An API key was revoked."),
    (
        "api_key.expiring",
        Reads::PersonWith(Permission::ApiKeysWrite),
        "An API key crossed one of its org's warning thresholds before expiry (once per threshold; `days_left`, `threshold`).",
    ),
    ("api_key.expired", Reads::PersonWith(Permission::ApiKeysWrite), "An API key expired (once)."),
    (
        "grant.created",
        Reads::Permission(Permission::WorkspacesRead),
        "A customer workspace granted the organization access.",
    ),
    (
        "grant.revoked",
        Reads::Permission(Permission::WorkspacesRead),
        "A customer workspace revoked the organization's access.",
    ),
    (
        "grant.relinquished",
        Reads::Permission(Permission::WorkspacesRead),
        "The organization gave up its access to a customer workspace.",
    ),
    ("org.updated", Reads::Permission(Permission::OrgRead), "The organization's name, slug or settings changed."),
    ("org.deleted", Reads::Permission(Permission::OrgRead), "The organization was deleted (its last event)."),
    // Verified domains (issue 21).
    ("domain.added", Reads::Permission(Permission::OrgWrite), "A domain was added, pending verification."),
    ("domain.verified", Reads::Permission(Permission::OrgWrite), "A domain's TXT record was found: it is verified."),
    ("domain.updated", Reads::Permission(Permission::OrgWrite), "A verified domain's enrollment or role changed."),
    (
        "domain.lapsed",
        Reads::Permission(Permission::OrgWrite),
        "The daily re-check found a verified domain's TXT record gone: it grants nothing until verified again.",
    ),
    ("domain.removed", Reads::Permission(Permission::OrgWrite), "A domain was removed."),
    // Custom roles (issue 24).
    ("role.created", Reads::Permission(Permission::MembersRead), "A custom role was created."),
    (
        "role.updated",
        Reads::Permission(Permission::MembersRead),
        "A custom role's name, description or permissions changed (its holders have the new set at once).",
    ),
    ("role.deleted", Reads::Permission(Permission::MembersRead), "A custom role was deleted."),
    ("ping", Reads::Nothing, "A test message (POST …/notification-channels/{id}/test); only to that channel."),
];

/// Whether `raw` is a known event type.
pub fn is_event_type(raw: &str) -> bool {
    EVENT_TYPES.iter().any(|(t, _, _)| *t == raw)
}

/// What reading `event_type`'s data takes (`None`: not an event type).
pub fn reads(event_type: &str) -> Option<Reads> {
    EVENT_TYPES.iter().find(|(t, _, _)| *t == event_type).map(|(_, r, _)| *r)
}

/// What the policy table must be asked before `subject` may read
/// `event_type`'s data (in the org itself: its 2FA rule was applied by the
/// caller's access check): `Ok(None)` nothing, `Ok(Some(p))` permission `p`,
/// `Err(verdict)` refused without asking (unknown type; a key and an event
/// only people read). The question itself is the resolver's
/// (`Granted::may_read`), which asks the one policy table.
pub fn read_requirement(subject: Subject<'_>, event_type: &str) -> Result<Option<Permission>, Verdict> {
    match reads(event_type) {
        None => Err(Verdict::Forbidden),
        Some(Reads::Nothing) => Ok(None),
        Some(Reads::Permission(p)) => Ok(Some(p)),
        Some(Reads::PersonWith(p)) => match subject {
            Subject::Key(_) => Err(Verdict::UserRequired),
            Subject::Role(_) | Subject::Custom(_) => Ok(Some(p)),
        },
    }
}

/// The event types an audited action stands for (the one mapping from the
/// audit log to notifications). Most actions are their own event; joining
/// through an invitation is three (the invitation, the new member, and how
/// they joined); joining another way is two; leaving
/// is a removal; an ownership transfer changes two roles.
pub fn event_types_for(action: &str) -> &'static [&'static str] {
    match action {
        "invitation.accepted" => &["invitation.accepted", "member.added", "member.joined"],
        "member.joined" => &["member.joined", "member.added"],
        "join_link.created" => &["join_link.created"],
        "join_link.revoked" => &["join_link.revoked"],
        "membership_request.created" => &["membership_request.created"],
        "membership_request.approved" => &["membership_request.approved", "member.added", "member.joined"],
        "membership_request.denied" => &["membership_request.denied"],
        "membership_request.withdrawn" => &["membership_request.withdrawn"],
        "member.left" => &["member.removed"],
        "org.ownership_transferred" => &["member.role_changed"],
        "member.role_changed" => &["member.role_changed"],
        "member.removed" => &["member.removed"],
        "invitation.created" => &["invitation.created"],
        "invitation.revoked" => &["invitation.revoked"],
        "invitation.expired" => &["invitation.expired"],
        "api_key.created" => &["api_key.created"],
        "api_key.rotated" => &["api_key.rotated"],
        "api_key.revoked" => &["api_key.revoked"],
        "api_key.expiring" => &["api_key.expiring"],
        "api_key.expired" => &["api_key.expired"],
        "grant.created" => &["grant.created"],
        "grant.revoked" => &["grant.revoked"],
        "grant.relinquished" => &["grant.relinquished"],
        "org.updated" => &["org.updated"],
        "org.deleted" => &["org.deleted"],
        "domain.added" => &["domain.added"],
        "domain.verified" => &["domain.verified"],
        "domain.updated" => &["domain.updated"],
        "domain.lapsed" => &["domain.lapsed"],
        "domain.removed" => &["domain.removed"],
        "role.created" => &["role.created"],
        "role.updated" => &["role.updated"],
        "role.deleted" => &["role.deleted"],
        _ => &[],
    }
}

/// [`event_types_for`] as the JSON array stored with the audit row, or
/// `None` when the action notifies nobody.
pub fn event_types_column(action: &str) -> Option<String> {
    let types = event_types_for(action);
    (!types.is_empty()).then(|| serde_json::Value::from(types.to_vec()).to_string())
}

/// Why a webhook URL is refused (the 422 `invalid_webhook_url` detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not an absolute URL.
    #[error("not an absolute URL")]
    Malformed,
    /// Longer than [`MAX_URL_LEN`].
    #[error("longer than 2048 characters")]
    TooLong,
    /// Not `https` (or `http` to loopback in development).
    #[error("only https URLs are allowed")]
    Scheme,
    /// Carries `user:password@`.
    #[error("credentials in the URL are not allowed")]
    Userinfo,
    /// An IP address in any notation.
    #[error("IP addresses are not allowed; use a host name")]
    IpLiteral,
    /// `localhost`, `*.local`, `*.internal`, a single label.
    #[error("internal or reserved host names are not allowed")]
    InternalHost,
    /// A port other than 443 (in development also 80, and any on loopback).
    #[error("only the default https port (443) is allowed")]
    Port,
    /// A wildcard-DNS or rebinding service ([`REBINDING_DOMAINS`]): its names
    /// resolve to whatever address the name spells, loopback and private ones included.
    #[error("wildcard-DNS and rebinding domains (nip.io, sslip.io, …) are not allowed")]
    RebindingDomain,
    /// This service's own host (from `APP_URL`) or a `*.workers.dev` host.
    #[error("this service's own hosts and *.workers.dev are not allowed")]
    OwnHost,
    /// A Slack channel's URL off `hooks.slack.com`.
    #[error("a Slack channel's URL must be a https://hooks.slack.com/… incoming-webhook URL")]
    SlackHost,
    /// A Discord channel's URL off `discord.com`/`discordapp.com` `/api/webhooks/…`.
    #[error("a Discord channel's URL must be a https://discord.com/api/webhooks/… (or discordapp.com) URL")]
    DiscordHost,
}

/// Domains whose names resolve to an address chosen by whoever writes the
/// name (`127.0.0.1.nip.io`, `10-0-0-1.sslip.io`, `make-1.2.3.4-rebind-…-rr.1u.ms`)
/// or always to loopback (`*.localtest.me`, `*.lvh.me`), and tunnels into
/// someone's own machine (`localhost.run`): refused with all their subdomains,
/// whatever address they resolve to today. Not a complete list of what can
/// point at a private address (any domain can); the network's own refusal of
/// private destinations is the guarantee (docs/api.md, "Notification channels").
pub const REBINDING_DOMAINS: &[&str] = &[
    "nip.io",
    "sslip.io",
    "xip.io",
    "xip.name",
    "traefik.me",
    "localtest.me",
    "lvh.me",
    "vcap.me",
    "fuf.me",
    "lacolhost.com",
    "local.gd",
    "localhost.run",
    "lhr.life",
    "lhr.rocks",
    "1u.ms",
    "rbndr.us",
];

/// Our platform's shared hosts: a Worker's `*.workers.dev` name (ours or
/// anyone's) is never a receiver.
pub const PLATFORM_DOMAINS: &[&str] = &["workers.dev"];

/// Whether `host` is `domain` or one of its subdomains.
fn under(host: &str, domain: &str) -> bool {
    host == domain || host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.'))
}

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// What the URL rules depend on.
#[derive(Debug, Clone, Copy)]
pub struct UrlPolicy<'a> {
    /// `ENVIRONMENT=development`: plain http to loopback is allowed (local receivers).
    pub development: bool,
    /// Our own host (from `APP_URL`), never a target.
    pub own_host: Option<&'a str>,
}

/// A webhook target that passed [`check_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// The normalised URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const LOOPBACK_NAMES: &[&str] = &["127.0.0.1", "localhost", "[::1]"];

/// Checks a webhook URL against SECURITY.md's outgoing rules: `https` only
/// (plain `http` to loopback in development only), host names only (no IP
/// literal in any notation: WHATWG parsing turns `0x7f.1`, `2130706433`,
/// `0177.0.0.1` and partial dotted forms into IPv4 addresses, which are then
/// refused, and a last label that is numeric is refused too), no userinfo,
/// port 443 only (in development also 80), no internal names, no
/// wildcard-DNS or rebinding domains ([`REBINDING_DOMAINS`]), not this
/// service's own host nor `*.workers.dev`. Checked on create and update and
/// again before each send.
pub fn check_url(raw: &str, policy: UrlPolicy<'_>) -> Result<WebhookUrl, UrlError> {
    if raw.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong);
    }
    let url = Url::parse(raw.trim()).map_err(|e| match e {
        url::ParseError::InvalidIpv4Address | url::ParseError::InvalidIpv6Address => UrlError::IpLiteral,
        _ => UrlError::Malformed,
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Userinfo);
    }
    let loopback = url.host_str().is_some_and(|h| LOOPBACK_NAMES.contains(&h));
    match url.scheme() {
        "https" => {}
        // A local receiver on any port: development only.
        "http" if policy.development && loopback => return Ok(WebhookUrl(url.into())),
        _ => return Err(UrlError::Scheme),
    }
    let host = match url.host() {
        Some(Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => return Err(UrlError::IpLiteral),
        None => return Err(UrlError::Malformed),
    };
    let host = host.trim_end_matches('.');
    let last = host.rsplit('.').next().unwrap_or("");
    // A numeric last label (WHATWG would have made it an IPv4 address) or
    // a hex one that some resolvers read as a number: never a public name.
    if last.is_empty() || last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        return Err(UrlError::IpLiteral);
    }
    if host.contains(':') || host.contains('[') {
        return Err(UrlError::IpLiteral);
    }
    // `port()` is `None` for the scheme's default (443).
    match url.port() {
        None => {}
        Some(80) if policy.development => {}
        Some(_) => return Err(UrlError::Port),
    }
    let internal = !host.contains('.')
        || host == "localhost"
        || [".localhost", ".local", ".internal", ".localdomain", ".home.arpa"].iter().any(|s| host.ends_with(s));
    if internal {
        return Err(UrlError::InternalHost);
    }
    if REBINDING_DOMAINS.iter().any(|d| under(host, d)) {
        return Err(UrlError::RebindingDomain);
    }
    let own = policy.own_host.map(|own| own.trim_end_matches('.').to_ascii_lowercase());
    if PLATFORM_DOMAINS.iter().any(|d| under(host, d)) || own.is_some_and(|own| under(host, &own)) {
        return Err(UrlError::OwnHost);
    }
    Ok(WebhookUrl(url.into()))
}

/// What the audit log keeps of a channel's URL: its scheme and host only
/// (`https://hooks.slack.com`). Paths and queries often carry the receiver's
/// token (Slack-style URLs), and `audit:read` is not `notifications:write`.
pub fn audit_origin(url: &WebhookUrl) -> String {
    match Url::parse(&url.0) {
        Ok(u) => format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default()),
        Err(_) => String::new(), // a WebhookUrl parsed once already; unreachable
    }
}

/// The host of `APP_URL`, for [`UrlPolicy::own_host`].
pub fn host_of(app_url: &str) -> Option<String> {
    Url::parse(app_url).ok()?.host_str().map(str::to_owned)
}

/// The Standard Webhooks secret prefix.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new signing secret (the spec allows 24 to 64).
pub const SECRET_BYTES: usize = 32;

/// A signing secret: `whsec_` + base64 of 24..=64 random bytes. Its
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

impl SigningSecret {
    /// A new secret from fresh random bytes.
    pub fn random(bytes: [u8; SECRET_BYTES]) -> Self {
        Self(bytes.to_vec())
    }

    /// The raw key bytes (what is sealed at rest and what HMAC uses).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (24..=64).contains(&bytes.len()).then_some(Self(bytes))
    }

    /// Parses `whsec_<base64>`.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::from_bytes(STANDARD.decode(raw.strip_prefix(SECRET_PREFIX)?).ok()?)
    }

    /// The raw key.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// `whsec_…`, shown to the channel's owner once.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64 HMAC-SHA256(id.timestamp.body)>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new(); // HMAC takes keys of any length; unreachable
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one signature per live secret,
/// space-separated (the current one first, then the one in its rotation grace).
pub fn signature_header(secrets: &[&SigningSecret], id: &str, timestamp: i64, body: &str) -> String {
    secrets.iter().map(|s| s.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Largest payload sent; larger `details` are replaced by a marker.
pub const MAX_PAYLOAD_BYTES: usize = 20 * 1024;

/// What happened, as the payload tells it.
#[derive(Debug, Clone)]
pub struct EventFacts<'a> {
    /// The event type.
    pub event_type: &'a str,
    /// Unix seconds.
    pub occurred_at: i64,
    /// `org_…`.
    pub org_id: &'a str,
    /// Who: `user`, `api_key` or `system`, and its id.
    pub actor: Party<'a>,
    /// What it was done to: e.g. `member`, and its id.
    pub target: Party<'a>,
    /// The audit row's details (JSON object text).
    pub details: &'a str,
}

/// An event's actor or target, as the payload names it: `{"kind", "id"}`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Party<'a> {
    /// Its kind.
    pub kind: &'a str,
    /// Its id.
    pub id: &'a str,
}

/// The body: `{"type", "timestamp", "data": {"org_id", "actor", "target",
/// "details"}}`, under [`MAX_PAYLOAD_BYTES`]. Deterministic, so every retry
/// sends the same bytes.
pub fn payload(e: &EventFacts<'_>) -> String {
    let details: serde_json::Value =
        serde_json::from_str(e.details).unwrap_or_else(|_| serde_json::Value::Object(Default::default()));
    let build = |details: serde_json::Value| {
        serde_json::json!({
            "type": e.event_type,
            "timestamp": crate::domain::time::rfc3339(e.occurred_at),
            "data": {
                "org_id": e.org_id,
                "actor": e.actor,
                "target": e.target,
                "details": details,
            }
        })
        .to_string()
    };
    let full = build(details);
    if full.len() <= MAX_PAYLOAD_BYTES {
        return full;
    }
    build(serde_json::json!({"truncated": true}))
}

/// The longest delay Cloudflare Queues accept: 12 hours.
pub const MAX_DELAY_SECONDS: u32 = 43_200;

/// The default retry schedule (seconds after each failed attempt):
/// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 28 hours in all.
pub const DEFAULT_SCHEDULE: &[u32] = &[5, 300, 1800, 7200, 18000, 36000, 36000];

/// Parses `WEBHOOK_RETRY_SCHEDULE`: comma-separated seconds, 1..=43200
/// each (Queues cap a delay at 12 h), 1..=20 steps.
pub fn parse_schedule(raw: &str) -> Option<Vec<u32>> {
    let steps: Option<Vec<u32>> =
        raw.split(',').map(|s| s.trim().parse::<u32>().ok().filter(|v| (1..=MAX_DELAY_SECONDS).contains(v))).collect();
    steps.filter(|s| (1..=20).contains(&s.len()))
}

/// Channels failing for this long without a success are disabled.
pub const DISABLE_AFTER_FAILING_SECONDS: i64 = 5 * 24 * 3600;

/// How an answer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// 410 Gone: the receiver asks us to stop; the channel is disabled.
    Gone,
    /// Anything else (3xx included: redirects are never followed), or no answer.
    Failed,
}

/// Classifies a status code (`None`: no answer).
pub fn outcome(status: Option<u16>) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Delivered,
        Some(410) => Outcome::Gone,
        _ => Outcome::Failed,
    }
}

/// `Retry-After` in seconds (delta-seconds only; an HTTP date is ignored),
/// capped at 12 h.
pub fn retry_after_seconds(raw: Option<&str>) -> Option<u32> {
    let v: u64 = raw?.trim().parse().ok()?;
    Some(v.min(u64::from(MAX_DELAY_SECONDS)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PROD: UrlPolicy<'static> = UrlPolicy { development: false, own_host: Some("latchkey.example.com") };
    const DEV: UrlPolicy<'static> = UrlPolicy { development: true, own_host: Some("latchkey.example.com") };

    #[test]
    fn the_specifications_own_test_vector_signs_the_same() {
        // libraries/rust/src/lib.rs of github.com/standard-webhooks/standard-webhooks.
        let secret = SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            secret.sign(
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                r#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn two_live_secrets_give_two_space_separated_signatures() {
        let a = SigningSecret::random([1; SECRET_BYTES]);
        let b = SigningSecret::random([2; SECRET_BYTES]);
        let header = signature_header(&[&a, &b], "dlv_1", 10, "{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, [a.sign("dlv_1", 10, "{}"), b.sign("dlv_1", 10, "{}")]);
        assert_ne!(parts[0], parts[1]);
        assert_eq!(signature_header(&[&a], "dlv_1", 10, "{}"), parts[0]);
    }

    #[test]
    fn secrets_are_whsec_base64_of_24_to_64_bytes_and_never_debug_printed() {
        let s = SigningSecret::random([7; SECRET_BYTES]);
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(SigningSecret::parse(&s.expose()), Some(s.clone()));
        assert!(!format!("{s:?}").contains(&s.expose()[6..]));
        assert!(SigningSecret::from_bytes(vec![0; 23]).is_none());
        assert!(SigningSecret::from_bytes(vec![0; 65]).is_none());
        assert!(SigningSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_none(), "prefix required");
    }

    #[test]
    fn urls_follow_the_outgoing_rules() {
        let cases: &[(&str, UrlPolicy, Result<(), UrlError>, &str)] = &[
            ("https://hooks.example.org/in", PROD, Ok(()), "a public https host"),
            ("https://hooks.example.org/x?y=1", PROD, Ok(()), "queries are fine"),
            ("https://hooks.example.org:443/x", PROD, Ok(()), "the default port, spelled out"),
            ("https://hooks.example.org:8443/x", PROD, Err(UrlError::Port), "another port"),
            ("https://hooks.example.org:8443/x", DEV, Err(UrlError::Port), "another port, even in dev"),
            ("https://hooks.example.org:80/x", PROD, Err(UrlError::Port), "port 80 in production"),
            ("https://hooks.example.org:80/x", DEV, Ok(()), "port 80 in development"),
            ("https://hooks.example.org:22/x", PROD, Err(UrlError::Port), "ssh"),
            ("https://hooks.example.org:6379/x", DEV, Err(UrlError::Port), "redis"),
            ("http://localhost:6379/x", DEV, Ok(()), "loopback in development: any port"),
            ("http://localhost:6379/x", PROD, Err(UrlError::Scheme), "loopback in production: never"),
            ("https://127.0.0.1.nip.io/x", PROD, Err(UrlError::RebindingDomain), "nip.io"),
            ("https://127.0.0.1.nip.io/x", DEV, Err(UrlError::RebindingDomain), "nip.io, even in dev"),
            ("https://10-0-0-1.sslip.io/x", PROD, Err(UrlError::RebindingDomain), "sslip.io"),
            ("https://NIP.IO./x", PROD, Err(UrlError::RebindingDomain), "the apex, case and trailing dot"),
            ("https://a.b.localtest.me/x", PROD, Err(UrlError::RebindingDomain), "localtest.me"),
            ("https://app.lvh.me/x", PROD, Err(UrlError::RebindingDomain), "lvh.me"),
            ("https://x.xip.io/x", PROD, Err(UrlError::RebindingDomain), "xip.io"),
            ("https://127-0-0-1.traefik.me/x", PROD, Err(UrlError::RebindingDomain), "traefik.me"),
            ("https://abc.localhost.run/x", PROD, Err(UrlError::RebindingDomain), "localhost.run"),
            ("https://make-1.2.3.4-rebind-169.254.169.254-rr.1u.ms/x", PROD, Err(UrlError::RebindingDomain), "1u.ms"),
            ("https://7f000001.c0a80001.rbndr.us/x", PROD, Err(UrlError::RebindingDomain), "rbndr.us"),
            ("https://notnip.io/x", PROD, Ok(()), "a name that merely ends like one"),
            ("https://nip.io.example.org/x", PROD, Ok(()), "a name that merely starts like one"),
            ("https://latchkey.workers.dev/x", PROD, Err(UrlError::OwnHost), "a workers.dev host"),
            ("https://api.someone.workers.dev/x", PROD, Err(UrlError::OwnHost), "anyone's workers.dev host"),
            ("https://workers.dev/x", PROD, Err(UrlError::OwnHost), "workers.dev itself"),
            ("https://myworkers.dev/x", PROD, Ok(()), "not under workers.dev"),
            ("http://hooks.example.org/in", PROD, Err(UrlError::Scheme), "plain http"),
            ("http://hooks.example.org/in", DEV, Err(UrlError::Scheme), "plain http to a public host, even in dev"),
            ("http://127.0.0.1:9000/in", DEV, Ok(()), "loopback http in development"),
            ("http://127.0.0.1:9000/in", PROD, Err(UrlError::Scheme), "loopback http in production"),
            ("https://127.0.0.1/in", DEV, Err(UrlError::IpLiteral), "https to an IP, even in dev"),
            ("ftp://hooks.example.org/", PROD, Err(UrlError::Scheme), "other schemes"),
            ("https://user:pw@hooks.example.org/", PROD, Err(UrlError::Userinfo), "userinfo"),
            ("https://user@hooks.example.org/", PROD, Err(UrlError::Userinfo), "a user name alone"),
            ("https://localhost/", PROD, Err(UrlError::InternalHost), "localhost"),
            ("https://LOCALHOST./", PROD, Err(UrlError::InternalHost), "localhost, trailing dot and case"),
            ("https://a.localhost/", PROD, Err(UrlError::InternalHost), "*.localhost"),
            ("https://printer.local/", PROD, Err(UrlError::InternalHost), "mDNS"),
            ("https://metadata.google.internal/", PROD, Err(UrlError::InternalHost), "*.internal"),
            ("https://intranet/", PROD, Err(UrlError::InternalHost), "a single label"),
            ("https://latchkey.example.com/x", PROD, Err(UrlError::OwnHost), "our own host"),
            ("https://LATCHKEY.example.com./x", PROD, Err(UrlError::OwnHost), "our own host, case and trailing dot"),
            ("https://api.latchkey.example.com/x", PROD, Err(UrlError::OwnHost), "under our own host"),
            ("https://notlatchkey.example.com/x", PROD, Ok(()), "merely ending like our host"),
            ("https://[::1]/", PROD, Err(UrlError::IpLiteral), "IPv6 loopback"),
            ("https://[::ffff:169.254.169.254]/", PROD, Err(UrlError::IpLiteral), "IPv4-mapped metadata address"),
            ("https://169.254.169.254/", PROD, Err(UrlError::IpLiteral), "cloud metadata"),
            ("https://2130706433/", PROD, Err(UrlError::IpLiteral), "decimal"),
            ("https://0x7f000001/", PROD, Err(UrlError::IpLiteral), "hex"),
            ("https://0177.0.0.1/", PROD, Err(UrlError::IpLiteral), "octal"),
            ("https://127.1/", PROD, Err(UrlError::IpLiteral), "dotted partial"),
            ("https://foo.0x10/", PROD, Err(UrlError::IpLiteral), "hex last label"),
            ("https://xn--bcher-kva.example/in", PROD, Ok(()), "an IDN in its ASCII (xn--) form"),
            ("https://bücher.example/in", PROD, Err(UrlError::Malformed), "an IDN in Unicode: give its xn-- form"),
            ("https://１２７.０.０.１/", PROD, Err(UrlError::Malformed), "fullwidth digits never become an address"),
            ("not a url", PROD, Err(UrlError::Malformed), "garbage"),
            ("/relative", PROD, Err(UrlError::Malformed), "relative"),
        ];
        for (raw, policy, want, why) in cases {
            assert_eq!(check_url(raw, *policy).map(|_| ()), *want, "{why}: {raw}");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(check_url(&long, PROD), Err(UrlError::TooLong));
    }

    #[test]
    fn the_audit_log_keeps_a_urls_scheme_and_host_only() {
        for (raw, want) in [
            ("https://hooks.slack.com/services/T000/B000/XXXXsecret", "https://hooks.slack.com"),
            ("https://hooks.example.org/in?token=s3cret#frag", "https://hooks.example.org"),
            ("https://hooks.example.org:443/in", "https://hooks.example.org"),
            ("https://hooks.example.org", "https://hooks.example.org"),
        ] {
            assert_eq!(audit_origin(&check_url(raw, PROD).unwrap()), want, "{raw}");
        }
        let dev = check_url("http://127.0.0.1:9000/secret/path?k=v", DEV).unwrap();
        assert_eq!(audit_origin(&dev), "http://127.0.0.1");
    }

    #[test]
    fn every_event_type_says_what_reading_it_takes_and_keys_never_read_keys() {
        use crate::domain::policy::{Permission as P, Role};
        for (t, reads, _) in EVENT_TYPES {
            let key = read_requirement(Subject::Key(&P::ALL), t);
            let person = read_requirement(Subject::Role(Role::Member), t);
            match reads {
                Reads::Nothing => assert_eq!((key, person), (Ok(None), Ok(None)), "{t}"),
                Reads::Permission(p) => assert_eq!((key, person), (Ok(Some(*p)), Ok(Some(*p))), "{t}"),
                Reads::PersonWith(p) => assert_eq!((key, person), (Err(Verdict::UserRequired), Ok(Some(*p))), "{t}"),
            }
        }
        assert_eq!(read_requirement(Subject::Key(&P::ALL), "api_key.created"), Err(Verdict::UserRequired));
        assert_eq!(read_requirement(Subject::Role(Role::Owner), "invitation.created"), Ok(Some(P::InvitationsWrite)));
        assert_eq!(read_requirement(Subject::Role(Role::Owner), "ping"), Ok(None));
        assert_eq!(read_requirement(Subject::Role(Role::Owner), "no.such.type"), Err(Verdict::Forbidden));
    }

    fn encodings(ip: u32) -> Vec<String> {
        let [a, b, c, d] = ip.to_be_bytes();
        vec![
            format!("{a}.{b}.{c}.{d}"),
            format!("{ip}"),
            format!("0x{ip:x}"),
            format!("0X{ip:08X}"),
            format!("0{ip:o}"),
            format!("0{a:o}.0{b:o}.0{c:o}.0{d:o}"),
            format!("0x{a:x}.0x{b:x}.0x{c:x}.0x{d:x}"),
            format!("{a}.{}", u32::from_be_bytes([0, b, c, d])),
            format!("{a}.{b}.{}", u32::from(u16::from_be_bytes([c, d]))),
            format!("[::ffff:{a}.{b}.{c}.{d}]"),
            format!("[::ffff:{:x}:{:x}]", u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])),
            format!("[::{a}.{b}.{c}.{d}]"),
            format!("[64:ff9b::{a}.{b}.{c}.{d}]"),
            format!("[2001:db8::{:x}]", u16::from_be_bytes([c, d])),
            format!("{a}.{b}.{c}.{d}."),
        ]
    }

    proptest! {
        #[test]
        fn no_ip_encoding_is_accepted(ip in any::<u32>(), port in proptest::option::of(1u16..)) {
            for host in encodings(ip) {
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                for policy in [PROD, DEV] {
                    let raw = format!("https://{host}{port}/hook");
                    prop_assert!(check_url(&raw, policy).is_err(), "{} accepted", raw);
                }
                let raw = format!("http://{host}/hook");
                prop_assert!(check_url(&raw, PROD).is_err(), "{} accepted", raw);
            }
        }
    }

    #[test]
    fn every_mapped_event_type_is_a_known_one_and_ping_is_never_audited() {
        for action in
            ["invitation.accepted", "member.left", "org.ownership_transferred", "org.deleted", "grant.revoked"]
        {
            assert!(!event_types_for(action).is_empty(), "{action}");
            assert!(event_types_for(action).iter().all(|t| is_event_type(t)), "{action}");
        }
        for (t, _, _) in EVENT_TYPES {
            let produced = EVENT_TYPES
                .iter()
                .map(|(action, _, _)| *action)
                .chain(["member.left", "org.ownership_transferred"])
                .any(|action| event_types_for(action).contains(t));
            assert_eq!(produced, *t != "ping", "{t}: some audited action produces it, except ping");
        }
        assert_eq!(event_types_for("invitation.accepted"), ["invitation.accepted", "member.added", "member.joined"]);
        assert_eq!(event_types_for("member.joined"), ["member.joined", "member.added"]);
        assert_eq!(event_types_column("notification_channel.created"), None);
        assert_eq!(event_types_column("member.left").as_deref(), Some(r#"["member.removed"]"#));
    }

    #[test]
    fn the_payload_names_org_actor_and_target_and_stays_under_20_kb() {
        let facts = EventFacts {
            event_type: "member.removed",
            occurred_at: 1_700_000_000,
            org_id: "org_1",
            actor: Party { kind: "api_key", id: "key_1" },
            target: Party { kind: "member", id: "usr_1" },
            details: r#"{"role":"member"}"#,
        };
        let body: serde_json::Value = serde_json::from_str(&payload(&facts)).unwrap();
        assert_eq!(body["type"], "member.removed");
        assert_eq!(body["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(body["data"]["org_id"], "org_1");
        assert_eq!(body["data"]["actor"], serde_json::json!({"kind": "api_key", "id": "key_1"}));
        assert_eq!(body["data"]["target"], serde_json::json!({"kind": "member", "id": "usr_1"}));
        assert_eq!(body["data"]["details"]["role"], "member");
        let huge = format!(r#"{{"x":"{}"}}"#, "a".repeat(30_000));
        let big = payload(&EventFacts { details: &huge, ..facts });
        assert!(big.len() < MAX_PAYLOAD_BYTES);
        assert!(big.contains("truncated"));
    }

    #[test]
    fn schedules_and_answers() {
        assert_eq!(parse_schedule("1, 2,3"), Some(vec![1, 2, 3]));
        for bad in ["", "0", "1,x", "43201", "-1"] {
            assert_eq!(parse_schedule(bad), None, "{bad:?}");
        }
        assert_eq!(outcome(Some(204)), Outcome::Delivered);
        assert_eq!(outcome(Some(410)), Outcome::Gone);
        for s in [Some(301), Some(302), Some(404), Some(500), None] {
            assert_eq!(outcome(s), Outcome::Failed, "{s:?}");
        }
        assert_eq!(retry_after_seconds(Some(" 120 ")), Some(120));
        assert_eq!(retry_after_seconds(Some("999999")), Some(43_200));
        assert_eq!(retry_after_seconds(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
    }
}
