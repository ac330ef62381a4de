//! Configuration, read once per request from the Worker's vars and secrets.
use crate::domain::session::{KeySet, SigningKey, VerifyingKey};

/// The longest delay Cloudflare Queues accept for a retry: 12 hours.
pub const MAIL_RETRY_MAX_DELAY_SECONDS: u32 = 43_200;

/// The default base delay (`MAIL_RETRY_BASE_SECONDS`): the first retry comes
/// after 3 to 5 seconds, which rides out a blip without hammering the API.
pub const MAIL_RETRY_DEFAULT_BASE_SECONDS: u32 = 5;

/// Which mail transport the queue consumer uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailerKind {
    /// Store messages in D1 for `GET /v1/dev/emails` (development only).
    Dev,
    /// POST to a Resend-compatible API.
    Http {
        /// `MAIL_API_URL`.
        url: String,
        /// `MAIL_API_KEY` (secret).
        api_key: String,
    },
}

/// Service configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ENVIRONMENT=development` turns on the dev mail sink and `Server-Timing`.
    pub development: bool,
    /// The coarse per-IP limit on login, sign-up, password-reset requests and
    /// the 2FA step: always on, except with `ENVIRONMENT=development` (test
    /// suites sign up many accounts from 127.0.0.1) unless `IP_RATE_LIMIT=on`.
    pub ip_rate_limit: bool,
    /// Base URL of the pages linked from emails (`APP_URL`), without trailing slash.
    pub app_url: String,
    /// `MAIL_FROM`.
    pub mail_from: String,
    /// `MAILER` and its settings.
    pub mailer: MailerKind,
    /// Access-token keys (`JWT_SIGNING_KEY`, optional `JWT_PREVIOUS_PUBLIC_KEY`).
    pub keys: KeySet,
    /// `TOKEN_SECRET`: derives emailed tokens from row ids.
    pub token_secret: Vec<u8>,
    /// The sealing keys of secrets at rest (TOTP secrets, webhook signing
    /// secrets; `domain::sealed`): `TOTP_ENCRYPTION_KEY`, and during a
    /// rotation the optional `TOTP_ENCRYPTION_KEY_PREVIOUS`, which still
    /// opens what it sealed.
    pub totp_key: crate::domain::sealed::SealingKeys,
    /// `MAIL_RETRY_BASE_SECONDS` (optional): the first step of the queue's
    /// retry backoff (`jobs::retry`); runtime tests shorten it.
    pub mail_retry_base_seconds: u32,
    /// `WEBHOOK_RETRY_SCHEDULE` (optional): seconds before each retry of a
    /// failed webhook delivery, comma-separated (default 5 s, 5 min, 30 min,
    /// 2 h, 5 h, 10 h, 10 h); runtime tests shorten it.
    pub webhook_retry_schedule: Vec<u32>,
    /// `OAUTH_*`: sign-in providers and the redirect allow-list.
    pub oauth: crate::domain::oauth::OAuthSettings,
    /// `DNS_OVER_HTTPS_URL`: the resolver verified domains' TXT records are
    /// read from ([`DEFAULT_DNS_OVER_HTTPS_URL`]). Honoured only with
    /// `ENVIRONMENT=development` (tests run a fake resolver), so a stray
    /// variable can never point a production Worker at a resolver that
    /// vouches for any domain.
    pub dns_over_https_url: String,
    /// `OIDC_EXTRA_ISSUERS` (comma-separated URLs): more issuers trust
    /// policies may name, besides GitHub Actions and GitLab. Honoured only
    /// with `ENVIRONMENT=development` (tests run a fake issuer on loopback),
    /// so a production Worker never trusts tokens from an issuer we did not choose.
    pub oidc_extra_issuers: Vec<String>,
    /// `DOMAIN_RECHECK_SECONDS` (optional): how old a verified domain's last
    /// successful look-up is before the scheduled re-check looks again
    /// (default a day); runtime tests shorten it.
    pub domain_recheck_seconds: i64,
    /// `PLATFORM_ADMINS` (optional): the addresses of the platform's
    /// administrators, comma-separated, lower-cased. An address here is an
    /// administrator only with 2FA on, and acts only with a fresh code.
    pub platform_admins: Vec<String>,
}

/// Cloudflare's public resolver, JSON API.
pub const DEFAULT_DNS_OVER_HTTPS_URL: &str = "https://cloudflare-dns.com/dns-query";

/// A verified domain is looked up again once a day.
pub const DEFAULT_DOMAIN_RECHECK_SECONDS: i64 = 86_400;

/// `TOTP_ENCRYPTION_KEY` and the optional `TOTP_ENCRYPTION_KEY_PREVIOUS`
/// (empty is unset), both 64 hex characters; the same key twice is refused
/// (a rotation that rotated nothing).
fn sealing_keys(current: &str, previous: Option<String>) -> Result<crate::domain::sealed::SealingKeys, ConfigError> {
    use crate::domain::sealed::{MasterKey, SealingKeys};
    let current = MasterKey::parse_hex(current)
        .map_err(|_| ConfigError("TOTP_ENCRYPTION_KEY must be 64 hex characters".into()))?;
    let previous = match previous.filter(|v| !v.trim().is_empty()) {
        None => None,
        Some(hex) => Some(
            MasterKey::parse_hex(&hex)
                .map_err(|_| ConfigError("TOTP_ENCRYPTION_KEY_PREVIOUS must be 64 hex characters".into()))?,
        ),
    };
    if previous.as_ref().is_some_and(|p| p.id() == current.id()) {
        return Err(ConfigError("TOTP_ENCRYPTION_KEY_PREVIOUS must differ from TOTP_ENCRYPTION_KEY".into()));
    }
    Ok(SealingKeys::new(current, previous))
}

/// A missing or malformed setting.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Whether the service is served over https (its cookies are then
    /// `__Host-` and `Secure`).
    pub fn https(&self) -> bool {
        self.app_url.starts_with("https://")
    }

    /// Reads the configuration through `get` (a var or secret by name).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let need = |name: &str| -> Result<String, ConfigError> {
            get(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| ConfigError(format!("{name} is not set")))
        };
        let development = get("ENVIRONMENT").as_deref() == Some("development");
        let ip_rate_limit = !development || get("IP_RATE_LIMIT").as_deref().map(str::trim) == Some("on");
        let mailer = match need("MAILER")?.as_str() {
            "dev" if development => MailerKind::Dev,
            "dev" => return Err(ConfigError("MAILER=dev needs ENVIRONMENT=development".into())),
            "http" => MailerKind::Http { url: need("MAIL_API_URL")?, api_key: need("MAIL_API_KEY")? },
            other => return Err(ConfigError(format!("MAILER must be dev or http, not {other}"))),
        };
        let current = SigningKey::from_seed_hex(&need("JWT_SIGNING_KEY")?).map_err(|e| ConfigError(e.to_string()))?;
        let previous = match get("JWT_PREVIOUS_PUBLIC_KEY").filter(|v| !v.trim().is_empty()) {
            Some(hex) => Some(VerifyingKey::from_hex(&hex).map_err(|e| ConfigError(e.to_string()))?),
            None => None,
        };
        let issuer = need("JWT_ISSUER")?;
        let audience = need("JWT_AUDIENCE")?;
        let token_secret = need("TOKEN_SECRET")?;
        if token_secret.len() < 32 {
            return Err(ConfigError("TOKEN_SECRET must be at least 32 characters".into()));
        }
        let app_url = need("APP_URL")?.trim_end_matches('/').to_owned();
        let oauth = crate::domain::oauth::OAuthSettings::from_env(&get, development, &app_url).map_err(ConfigError)?;
        let webhook_retry_schedule = match get("WEBHOOK_RETRY_SCHEDULE").filter(|v| !v.trim().is_empty()) {
            None => crate::domain::webhook::DEFAULT_SCHEDULE.to_vec(),
            Some(raw) => crate::domain::webhook::parse_schedule(&raw).ok_or_else(|| {
                ConfigError("WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated seconds, each 1 to 43200".into())
            })?,
        };
        let dns_over_https_url = match get("DNS_OVER_HTTPS_URL").map(|v| v.trim().to_owned()) {
            Some(url) if development && !url.is_empty() => {
                crate::domain::oauth::checked_url("DNS_OVER_HTTPS_URL", &url).map_err(ConfigError)?
            }
            _ => DEFAULT_DNS_OVER_HTTPS_URL.to_owned(),
        };
        let oidc_extra_issuers = match get("OIDC_EXTRA_ISSUERS") {
            Some(raw) if development => raw
                .split(',')
                .map(|u| u.trim().trim_end_matches('/'))
                .filter(|u| !u.is_empty())
                .map(|u| crate::domain::oauth::checked_url("OIDC_EXTRA_ISSUERS", u).map_err(ConfigError))
                .collect::<Result<Vec<_>, _>>()?,
            _ => Vec::new(),
        };
        let domain_recheck_seconds =
            match get("DOMAIN_RECHECK_SECONDS").filter(|v| !v.trim().is_empty()) {
                None => DEFAULT_DOMAIN_RECHECK_SECONDS,
                Some(raw) => raw.trim().parse().ok().filter(|s| (1..=30 * 86_400).contains(s)).ok_or_else(|| {
                    ConfigError("DOMAIN_RECHECK_SECONDS must be a whole number from 1 to 2592000".into())
                })?,
            };
        let platform_admins = get("PLATFORM_ADMINS")
            .unwrap_or_default()
            .split(',')
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty())
            .collect();
        Ok(Self {
            platform_admins,
            dns_over_https_url,
            oidc_extra_issuers,
            domain_recheck_seconds,
            webhook_retry_schedule,
            oauth,
            development,
            ip_rate_limit,
            app_url,
            mail_from: need("MAIL_FROM")?,
            mailer,
            keys: KeySet::new(current, previous, &issuer, &audience),
            token_secret: token_secret.into_bytes(),
            totp_key: sealing_keys(&need("TOTP_ENCRYPTION_KEY")?, get("TOTP_ENCRYPTION_KEY_PREVIOUS"))?,
            mail_retry_base_seconds: match get("MAIL_RETRY_BASE_SECONDS").filter(|v| !v.trim().is_empty()) {
                None => MAIL_RETRY_DEFAULT_BASE_SECONDS,
                Some(raw) => {
                    raw.trim().parse().ok().filter(|s| (1..=MAIL_RETRY_MAX_DELAY_SECONDS).contains(s)).ok_or_else(
                        || ConfigError("MAIL_RETRY_BASE_SECONDS must be a whole number from 1 to 43200".into()),
                    )?
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A production configuration, with `extra` added or overriding.
    fn production(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let base = [
            ("ENVIRONMENT", "production"),
            ("MAILER", "http"),
            ("MAIL_API_URL", "https://api.mail.example/emails"),
            ("MAIL_API_KEY", "key"),
            ("APP_URL", "https://app.example"),
            ("MAIL_FROM", "Latchkey <no-reply@app.example>"),
            ("JWT_SIGNING_KEY", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
            ("JWT_ISSUER", "https://app.example"),
            ("JWT_AUDIENCE", "latchkey"),
            ("TOKEN_SECRET", "config-test-token-secret-0123456789abcdef"),
            ("TOTP_ENCRYPTION_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
        ];
        Config::from_env(|k| extra.iter().chain(base.iter()).find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn extra_oidc_issuers_are_honoured_only_in_development() {
        let fake = [("OIDC_EXTRA_ISSUERS", "http://127.0.0.1:9100/, http://127.0.0.1:9101")];
        assert!(production(&fake).unwrap().oidc_extra_issuers.is_empty());
        let dev = [fake[0], ("ENVIRONMENT", "development"), ("MAILER", "dev")];
        assert_eq!(production(&dev).unwrap().oidc_extra_issuers, ["http://127.0.0.1:9100", "http://127.0.0.1:9101"]);
    }

    #[test]
    fn the_dns_resolver_is_overridden_only_in_development() {
        let fake = [("DNS_OVER_HTTPS_URL", "http://127.0.0.1:9053/dns-query")];
        assert_eq!(production(&fake).unwrap().dns_over_https_url, DEFAULT_DNS_OVER_HTTPS_URL);
        let dev = [fake[0], ("ENVIRONMENT", "development"), ("MAILER", "dev")];
        assert_eq!(production(&dev).unwrap().dns_over_https_url, "http://127.0.0.1:9053/dns-query");
        let bad = [("DNS_OVER_HTTPS_URL", "ftp://x"), ("ENVIRONMENT", "development"), ("MAILER", "dev")];
        assert!(production(&bad).is_err());
        assert_eq!(production(&[]).unwrap().domain_recheck_seconds, 86_400);
        assert!(production(&[("DOMAIN_RECHECK_SECONDS", "0")]).is_err());
    }

    #[test]
    fn a_plain_http_gitlab_instance_stops_a_production_worker_from_starting() {
        let gitlab = |base| {
            [("OAUTH_GITLAB_CLIENT_ID", "id"), ("OAUTH_GITLAB_CLIENT_SECRET", "sec"), ("OAUTH_GITLAB_BASE_URL", base)]
        };
        let refused =
            production(&gitlab("http://gitlab.corp.example")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("OAUTH_GITLAB_BASE_URL") && refused.contains("must be https"), "{refused:?}");
        let ok = production(&gitlab("https://gitlab.corp.example")).unwrap();
        let settings = ok.oauth.provider(crate::domain::oauth::Provider::GitLab).unwrap();
        assert_eq!(settings.token_url, "https://gitlab.corp.example/oauth/token");
        // The same instance over http is fine for a local provider in development.
        let mut dev = gitlab("http://127.0.0.1:9000/gitlab").to_vec();
        dev.extend([("ENVIRONMENT", "development"), ("APP_URL", "http://127.0.0.1:8787")]);
        assert!(production(&dev).is_ok());
    }
}
