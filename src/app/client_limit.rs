//! The coarse per-client-IP limit in front of the routes that take a
//! password, an email address or a second factor from anyone: login, sign-up,
//! password-reset requests and the 2FA step. It protects capacity and slows
//! credential stuffing across many accounts; the per-address and per-account
//! counters (`accounts::login`, `totp`) stay the real guessing limits.
use super::{AppError, Deps};

/// The binding's period (`IP_LIMITER` in `wrangler.toml`): the longest a
/// client over the limit waits for a new window.
pub const PERIOD_SECONDS: i64 = 60;

/// Lets one more request from `client_ip` (`CF-Connecting-IP`) through, or
/// answers 429 `too_many_attempts` with `Retry-After`. Off when the
/// configuration says so (development without `IP_RATE_LIMIT=on`).
pub async fn check(deps: &Deps, client_ip: Option<&str>) -> Result<(), AppError> {
    if !deps.config.ip_rate_limit {
        return Ok(());
    }
    // Cloudflare always sets the header; without it, all such requests share one bucket.
    let ip: String = client_ip.unwrap_or("").trim().chars().take(64).collect();
    let key = format!("auth:{}", if ip.is_empty() { "unknown" } else { &ip });
    if deps.ip_limiter.allow(&key).await {
        Ok(())
    } else {
        Err(AppError::TooManyAttempts { retry_after: PERIOD_SECONDS })
    }
}
