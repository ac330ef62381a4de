//! Use cases: one function per operation, over the ports below. Handlers in
//! `http` call these; nothing here knows about HTTP or the Worker.
use crate::store::Db;
use async_trait::async_trait;
use messages::Job;
use std::rc::Rc;

pub mod access;
pub mod access_reviews;
pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod authorize;
pub mod client_limit;
pub mod config;
pub mod device;
pub mod domains;
pub mod error;
pub mod invitations;
pub mod join_links;
pub mod key_policy;
pub mod members;
pub mod membership_requests;
pub mod messages;
pub mod notifications;
pub mod oauth;
pub mod orgs;
pub mod page;
pub mod roles;
pub mod scim;
pub mod sealing;
pub mod sessions;
pub mod sso;
pub mod totp;
pub mod workload;
pub mod workspaces;

pub use config::Config;
pub use error::{AppError, ErrorCode};

/// The time source. Unix seconds; `SystemTime` panics on wasm, so the Worker
/// passes `Date.now()` and tests pass a clock they can move.
pub trait Clock {
    /// Now, in unix seconds.
    fn now(&self) -> i64;
}

/// The CSPRNG.
pub trait Rng {
    /// Fills `buf` with cryptographically secure random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), AppError>;
}

/// Draws `N` random bytes.
pub fn random<const N: usize>(rng: &dyn Rng) -> Result<[u8; N], AppError> {
    let mut buf = [0u8; N];
    rng.fill(&mut buf)?;
    Ok(buf)
}

/// The operating system's CSPRNG (`crypto.getRandomValues` in workerd).
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&self, buf: &mut [u8]) -> Result<(), AppError> {
        getrandom::fill(buf).map_err(|e| AppError::internal_from("CSPRNG unavailable", e))
    }
}

/// The queue producer. Messages are small: ids, never plaintext secrets.
#[async_trait(?Send)]
pub trait Outbox {
    /// Enqueues `job`. Callers have written their rows first, so a failed
    /// enqueue loses nothing: the email can be requested again.
    async fn enqueue(&self, job: &Job) -> Result<(), String>;
    /// Enqueues a webhook delivery (the webhook queue; the message is its id),
    /// to be consumed after `delay_seconds`.
    async fn enqueue_webhook(&self, delivery_id: &str, delay_seconds: u32) -> Result<(), String>;
}

/// A per-key request-rate limit (the Workers Rate Limiting binding in production).
#[async_trait(?Send)]
pub trait RateLimiter {
    /// Whether one more request under `key` is within the limit.
    async fn allow(&self, key: &str) -> bool;
}

/// No limit (native tests that do not test limits).
pub struct NoLimit;

#[async_trait(?Send)]
impl RateLimiter for NoLimit {
    async fn allow(&self, _key: &str) -> bool {
        true
    }
}

/// Everything a use case may touch.
#[derive(Clone)]
pub struct Deps {
    /// The database.
    pub db: Rc<dyn Db>,
    /// The clock.
    pub clock: Rc<dyn Clock>,
    /// The random source.
    pub rng: Rc<dyn Rng>,
    /// The email queue.
    pub outbox: Rc<dyn Outbox>,
    /// Configuration from the environment.
    pub config: Rc<Config>,
    /// Per-key rate limit.
    pub limiter: Rc<dyn RateLimiter>,
    /// Per-client-IP limit on the sign-in routes (see [`client_limit`]).
    pub ip_limiter: Rc<dyn RateLimiter>,
    /// Outgoing HTTP to sign-in providers (never follows redirects, times out).
    pub http: Rc<dyn oauth::HttpClient>,
    /// Access tokens already verified in this isolate (kept across requests).
    pub tokens: Rc<auth::VerifiedTokens>,
    /// Writes that may wait until the response is sent (`ctx.wait_until`).
    pub deferred: Rc<std::cell::RefCell<Vec<crate::store::Stmt>>>,
    /// Audit rows written by this request that notify channels: after the
    /// response their deliveries are enqueued ([`notifications::enqueue_recorded`]).
    pub notified: Rc<std::cell::RefCell<Vec<String>>>,
}

impl Deps {
    /// Now, in unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A new id of `kind`.
    pub fn new_id(&self, kind: crate::domain::ids::IdKind) -> Result<String, AppError> {
        Ok(crate::domain::ids::new_id(kind, random(self.rng.as_ref())?))
    }

    /// Schedules a write for after the response (bookkeeping such as `last_used_at`).
    pub fn after_response(&self, stmt: crate::store::Stmt) {
        self.deferred.borrow_mut().push(stmt);
    }

    /// Takes the writes scheduled with [`Deps::after_response`].
    pub fn take_deferred(&self) -> Vec<crate::store::Stmt> {
        std::mem::take(&mut *self.deferred.borrow_mut())
    }

    /// Enqueues a job, logging (not failing) if the queue refuses it: the
    /// rows are written, and the person can ask for the email again.
    pub async fn enqueue_logged(&self, job: &Job) {
        if let Err(e) = self.outbox.enqueue(job).await {
            log_error(&format!("enqueue {} failed: {e}", job.id()));
        }
    }
}

/// Logs an internal error with context (stderr natively, the console in workerd).
pub fn log_error(message: &str) {
    eprintln!("latchkey error: {message}");
}
