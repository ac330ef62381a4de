//! Native test harness: the real router over SQLite with every migration,
//! a clock the test moves, an in-memory queue and the dev mail sink.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use async_trait::async_trait;
use latchkey::app::{AppError, Clock, Config, Deps, Outbox, SystemRng};
use latchkey::http::{self, Request};
use latchkey::jobs::{self, DevMailer, Disposition, Job};
use latchkey::store::sqlite::SqliteDb;
use latchkey::store::{Counted, Db, DbError, Outcome, Stmt};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A clock that only moves when told.
pub struct ManualClock(Cell<i64>);
impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.get()
    }
}

/// Keeps enqueued jobs until `deliver_emails`.
#[derive(Default)]
pub struct MemoryOutbox {
    pub jobs: RefCell<Vec<Job>>,
    pub fail: Cell<bool>,
    /// Webhook deliveries enqueued: (delivery id, due at, by the test clock).
    pub webhooks: RefCell<Vec<(String, u32)>>,
    /// Makes the webhook queue refuse messages (a queue outage).
    pub fail_webhooks: Cell<bool>,
}
#[async_trait(?Send)]
impl Outbox for MemoryOutbox {
    async fn enqueue(&self, job: &Job) -> Result<(), String> {
        if self.fail.get() {
            return Err("queue unavailable".into());
        }
        self.jobs.borrow_mut().push(job.clone());
        Ok(())
    }
    async fn enqueue_webhook(&self, delivery_id: &str, delay_seconds: u32) -> Result<(), String> {
        if self.fail_webhooks.get() {
            return Err("webhook queue unavailable".into());
        }
        self.webhooks.borrow_mut().push((delivery_id.to_owned(), delay_seconds));
        Ok(())
    }
}

/// Outgoing HTTP for native tests (the OAuth fake provider): blocking, no
/// redirects followed, 10 s timeout, like the Worker's fetch.
pub struct BlockingHttp;
#[async_trait(?Send)]
impl latchkey::app::oauth::HttpClient for BlockingHttp {
    async fn send(
        &self,
        req: latchkey::app::oauth::OutgoingRequest,
    ) -> Result<latchkey::app::oauth::OutgoingResponse, String> {
        let agent = ureq::AgentBuilder::new().redirects(0).timeout(std::time::Duration::from_secs(10)).build();
        let mut call = agent.request(req.method, &req.url);
        for (k, v) in &req.headers {
            call = call.set(k, v);
        }
        let result = match &req.body {
            Some(body) => call.send_string(body),
            None => call.call(),
        };
        let resp = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.to_string()),
        };
        let status = resp.status();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).map_err(|e| e.to_string())?;
        Ok(latchkey::app::oauth::OutgoingResponse { status, body })
    }
}

/// The harness's SQLite as the router sees it: the same connection as
/// [`TestApp::db`], behind [`Counted`] (the Worker's `Server-Timing` counter),
/// so a test can read how many round trips a request made.
pub struct SharedDb {
    db: Rc<SqliteDb>,
    /// One line per round trip since the last request began: its statements' heads.
    log: Rc<RefCell<Vec<String>>>,
}
impl SharedDb {
    fn note(&self, stmts: &[&Stmt]) {
        let heads: Vec<String> =
            stmts.iter().map(|s| s.sql.split_whitespace().take(6).collect::<Vec<_>>().join(" ")).collect();
        self.log.borrow_mut().push(heads.join(" | "));
    }
}
#[async_trait(?Send)]
impl Db for SharedDb {
    async fn run(&self, stmt: Stmt) -> Result<Outcome, DbError> {
        self.note(&[&stmt]);
        self.db.run(stmt).await
    }
    async fn batch(&self, stmts: Vec<Stmt>) -> Result<Vec<Outcome>, DbError> {
        self.note(&stmts.iter().collect::<Vec<_>>());
        self.db.batch(stmts).await
    }
}

/// No timing natively: only the count matters.
fn no_time() -> f64 {
    0.0
}

pub const START: i64 = 1_795_000_000;

use crate::client;
pub use client::*;

pub fn config() -> Config {
    config_with(&[])
}

/// The test configuration with some variables added or overridden.
pub fn config_with(extra: &[(&str, &str)]) -> Config {
    try_config_with(extra).expect("test config")
}

/// [`config_with`], or why the configuration is refused.
pub fn try_config_with(extra: &[(&str, &str)]) -> Result<Config, String> {
    let base = [
        ("ENVIRONMENT", "development"),
        ("MAILER", "dev"),
        ("APP_URL", "http://app.test"),
        ("MAIL_FROM", "Latchkey <no-reply@app.test>"),
        ("JWT_SIGNING_KEY", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
        ("JWT_ISSUER", "http://app.test"),
        ("JWT_AUDIENCE", "latchkey"),
        ("TOKEN_SECRET", "native-test-token-secret-0123456789abcdef"),
        ("TOTP_ENCRYPTION_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
    ];
    let get = |k: &str| extra.iter().chain(base.iter()).find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
    Config::from_env(get).map_err(|e| e.to_string())
}

/// An HTTP answer (the shared [`Reply`]).
pub type Resp = Reply;

pub struct TestApp {
    pub deps: Deps,
    pub clock: Rc<ManualClock>,
    pub outbox: Rc<MemoryOutbox>,
    pub db: Rc<SqliteDb>,
    pub limiter: Rc<CountingLimiter>,
    /// The per-client-IP limit of the sign-in routes (on with `IP_RATE_LIMIT=on`).
    pub ip_limiter: Rc<CountingLimiter>,
    /// Every round trip the router made to the database.
    pub counted: Rc<Counted<SharedDb>>,
    /// The round trips of the last request (see [`TestApp::last_round_trips`]).
    last_trips: Cell<u32>,
    trip_log: Rc<RefCell<Vec<String>>>,
}

/// Allows `limit` requests per key, like the rate-limiting binding within one period.
pub struct CountingLimiter {
    pub limit: Cell<u32>,
    pub seen: RefCell<Vec<String>>,
}
#[async_trait(?Send)]
impl latchkey::app::RateLimiter for CountingLimiter {
    async fn allow(&self, key: &str) -> bool {
        let mut seen = self.seen.borrow_mut();
        seen.push(key.to_owned());
        seen.iter().filter(|k| *k == key).count() as u32 <= self.limit.get()
    }
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_config(config())
    }

    pub fn with_config(config: Config) -> Self {
        let clock = Rc::new(ManualClock(Cell::new(START)));
        let outbox = Rc::new(MemoryOutbox::default());
        let db = Rc::new(SqliteDb::migrated().expect("migrations apply"));
        let limiter = Rc::new(CountingLimiter { limit: Cell::new(u32::MAX), seen: RefCell::new(Vec::new()) });
        let ip_limiter = Rc::new(CountingLimiter { limit: Cell::new(u32::MAX), seen: RefCell::new(Vec::new()) });
        let trip_log: Rc<RefCell<Vec<String>>> = Rc::default();
        let counted = Rc::new(Counted::with_timer(SharedDb { db: db.clone(), log: trip_log.clone() }, no_time));
        let deps = Deps {
            db: counted.clone(),
            clock: clock.clone(),
            rng: Rc::new(SystemRng),
            outbox: outbox.clone(),
            config: Rc::new(config),
            limiter: limiter.clone(),
            ip_limiter: ip_limiter.clone(),
            http: Rc::new(BlockingHttp),
            tokens: Rc::default(),
            deferred: Rc::default(),
            notified: Rc::default(),
        };
        Self { deps, clock, outbox, db, limiter, ip_limiter, counted, last_trips: Cell::new(0), trip_log }
    }

    pub fn clock_now(&self) -> i64 {
        self.clock.0.get()
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.0.set(self.clock.0.get() + seconds);
    }

    /// The database round trips the last request made before its answer,
    /// as the Worker's `Server-Timing` counts them: what runs after the
    /// response (deferred bookkeeping, webhook enqueueing) is not counted.
    pub fn last_round_trips(&self) -> u32 {
        self.last_trips.get()
    }

    /// What each round trip of the last request ran (the first words of
    /// each statement), to say why a route makes the round trips it makes.
    pub fn last_round_trip_sql(&self) -> Vec<String> {
        // The log also holds what ran after the answer (webhook enqueueing).
        self.trip_log.borrow().iter().take(self.last_trips.get() as usize).cloned().collect()
    }

    pub fn request(&self, req: Request) -> Resp {
        self.trip_log.borrow_mut().clear();
        let before = self.counted.calls();
        let res = pollster::block_on(http::handle(&self.deps, req));
        self.last_trips.set(self.counted.calls() - before);
        // What the Worker runs in ctx.wait_until, after the response.
        let deferred = self.deps.take_deferred();
        if !deferred.is_empty() {
            pollster::block_on(latchkey::store::Db::batch(self.db.as_ref(), deferred)).expect("deferred writes");
        }
        // The Worker enqueues the request's webhook deliveries in ctx.wait_until too.
        pollster::block_on(latchkey::app::notifications::enqueue_recorded(&self.deps));
        Reply::new(res.status, res.headers, String::from_utf8_lossy(&res.body).into_owned())
    }

    pub fn call(&self, method: &str, path_and_query: &str, bearer: Option<&str>, body: Option<Value>) -> Resp {
        let body = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
        self.send(method, path_and_query, bearer, &[("user-agent", "native-test")], &body)
    }

    /// [`TestApp::call`] with extra headers (e.g. `cookie`).
    pub fn call_with(
        &self,
        method: &str,
        path_and_query: &str,
        bearer: Option<&str>,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let body = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
        let mut headers = vec![("user-agent", "native-test")];
        headers.extend_from_slice(extra);
        self.send(method, path_and_query, bearer, &headers, &body)
    }

    /// Sends any request: `bearer` becomes `Authorization: Bearer …`, the
    /// body goes as given (malformed JSON included).
    pub fn send(
        &self,
        method: &str,
        path_and_query: &str,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let mut headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some(b) = bearer {
            headers.push(("authorization".into(), format!("Bearer {b}")));
        }
        self.request(Request {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers,
            body: body.to_vec(),
        })
    }

    /// Runs the queue consumer over every enqueued job (with the dev mailer).
    pub fn deliver_emails(&self) -> Vec<Disposition> {
        let jobs: Vec<Job> = self.outbox.jobs.borrow_mut().drain(..).collect();
        let mailer = DevMailer { db: self.db.as_ref(), clock: self.clock.as_ref() };
        jobs.iter()
            .map(|job| {
                pollster::block_on(jobs::process(
                    job,
                    self.db.as_ref(),
                    &mailer,
                    self.clock.as_ref(),
                    &self.deps.config,
                ))
            })
            .collect()
    }

    /// Runs the webhook consumer over every enqueued delivery message whose
    /// delay has passed (`delay == 0` or the test advanced past it is the
    /// test's business: every message is consumed now, as the queue would
    /// once its delay passed). Returns what each message came to.
    pub fn deliver_webhooks(
        &self,
        sender: &dyn jobs::webhooks::WebhookSender,
    ) -> Vec<(jobs::webhooks::Next, Option<jobs::webhooks::Disabled>)> {
        let messages: Vec<(String, u32)> = self.outbox.webhooks.borrow_mut().drain(..).collect();
        let config = &self.deps.config;
        let (development, own) = latchkey::app::notifications::url_policy(config);
        let settings = jobs::webhooks::WebhookSettings {
            key: &config.totp_key,
            schedule: &config.webhook_retry_schedule,
            development,
            own_host: own.as_deref(),
            app_url: &config.app_url,
        };
        let mut out = Vec::new();
        for (id, _) in messages {
            let result = pollster::block_on(jobs::webhooks::deliver(
                &id,
                self.db.as_ref(),
                sender,
                self.outbox.as_ref(),
                self.clock.as_ref(),
                &SystemRng,
                &settings,
            ));
            if let Some(d) = &result.1 {
                pollster::block_on(latchkey::app::notifications::tell_admins_disabled(
                    self.db.as_ref(),
                    self.outbox.as_ref(),
                    &SystemRng,
                    d,
                ));
            }
            if let jobs::webhooks::Next::Later(delay) = result.0 {
                self.outbox.webhooks.borrow_mut().push((id.clone(), delay));
            }
            out.push(result);
        }
        out
    }

    /// The scheduled sweep, as the Cron Trigger runs it.
    pub fn sweep(&self) -> usize {
        pollster::block_on(latchkey::app::notifications::sweep(
            self.db.as_ref(),
            self.outbox.as_ref(),
            self.clock_now(),
        ))
        .expect("sweep")
    }

    /// API keys' expiry warnings, as the Cron Trigger runs them (before the sweep).
    pub fn sweep_keys(&self) -> latchkey::app::key_policy::KeySweep {
        pollster::block_on(latchkey::app::key_policy::sweep_key_expiry(
            self.db.as_ref(),
            self.outbox.as_ref(),
            &SystemRng,
            self.clock_now(),
        ))
        .expect("key expiry sweep")
    }

    /// The re-check of verified domains, as the Cron Trigger runs it (before the sweep).
    pub fn recheck_domains(&self) -> latchkey::app::domains::Rechecked {
        pollster::block_on(latchkey::app::domains::recheck_domains(
            self.db.as_ref(),
            &BlockingHttp,
            &SystemRng,
            &self.deps.config,
            self.clock_now(),
        ))
        .expect("domain re-check")
    }

    /// Rows of a statement on the harness's database, as JSON objects.
    pub fn rows(&self, stmt: Stmt) -> Vec<Value> {
        let out = pollster::block_on(self.db.run(stmt)).expect("query");
        out.rows.into_iter().map(Value::Object).collect()
    }

    /// Delivers pending mail, then reads the dev sink for `to`.
    pub fn emails_to(&self, to: &str) -> Vec<Value> {
        self.deliver_emails();
        let r = self.get(&format!("/v1/dev/emails?to={}", url_encode(to)), None).expect(200);
        r.body["data"].as_array().cloned().unwrap_or_default()
    }

    /// The token of the newest link to `path` emailed to `to`.
    pub fn token_from_email(&self, to: &str, path: &str) -> String {
        let emails = self.emails_to(to);
        let last = emails.last().unwrap_or_else(|| panic!("no email to {to}"));
        extract_token(last["text"].as_str().unwrap(), path)
    }

    pub fn signup(&self, email: &str) -> Resp {
        self.api().signup(email, PASSWORD, NAME)
    }

    /// Signs up, verifies through the emailed link; returns the session body.
    pub fn verified_user(&self, email: &str) -> Value {
        self.api().verified(email).session
    }

    pub fn login(&self, email: &str, password: &str) -> Resp {
        self.api().login(email, password)
    }
}

impl Transport for TestApp {
    fn exchange(&self, call: Call<'_>) -> Reply {
        self.call_with(call.method, call.path, call.bearer, call.body, call.headers)
    }

    /// Runs the queue consumer first: what the Worker's queue does by itself.
    fn emails(&self, to: &str, at_least: usize) -> Vec<Value> {
        let emails = self.emails_to(to);
        assert!(emails.len() >= at_least, "{at_least} email(s) to {to} expected, {} sent", emails.len());
        emails
    }

    fn now(&self) -> i64 {
        self.clock_now()
    }

    fn origin(&self) -> String {
        self.deps.config.app_url.clone()
    }
}

/// Keeps `AppError` referenced for tests that match on it.
pub fn _unused(_: AppError) {}

impl TestApp {
    /// Creates an org as `session`'s user.
    pub fn create_org(&self, session: &impl Session, name: &str) -> Value {
        self.api().create_org(session.session(), name).expect(201).body
    }

    /// Invites `email` with `role`, and has them sign up through the invitation. Returns their session.
    pub fn join(&self, org_id: &str, inviter: &impl Session, email: &str, role: &str) -> Value {
        self.api().join(inviter.session(), Tenant::Org(org_id), email, role).session
    }

    pub fn user_id(session: &impl Session) -> String {
        user_id(session)
    }
}
