//! Worker glue (wasm32 only): the fetch and queue entry points and the
//! adapters from `worker::` types to the app's ports.
use crate::app::config::MailerKind;
use crate::app::{log_error, Clock, Config, Deps, RateLimiter, SystemRng};
use crate::jobs::{self, DevMailer, Disposition, Job, Mailer};
use crate::store::Counted;
use std::rc::Rc;
use worker::{event, Context, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder};

mod d1;
mod mailer;
mod outbox;

use d1::D1Db;

/// `Date.now()` in seconds.
pub struct JsClock;

impl Clock for JsClock {
    fn now(&self) -> i64 {
        (worker::Date::now().as_millis() / 1000) as i64
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn config(env: &Env) -> Result<Config, String> {
    Config::from_env(|name| {
        env.secret(name).map(|s| s.to_string()).ok().or_else(|| env.var(name).ok().map(|v| v.to_string()))
    })
    .map_err(|e| e.to_string())
}

fn misconfigured(why: &str) -> worker::Result<worker::Response> {
    log_error(why);
    let body = serde_json::json!({"type": "about:blank", "title": "Service misconfigured", "status": 503,
        "detail": "The service is not configured; the operator has been told.", "code": "service_unavailable"});
    let mut response = worker::Response::from_json(&body)?.with_status(503);
    response.headers_mut().set("content-type", "application/problem+json")?;
    Ok(response)
}

/// The `KEY_LIMITER` rate-limiting binding, per API key. If the binding is
/// missing or fails, requests are allowed: the limit protects capacity, and
/// failing closed would turn a platform hiccup into an outage.
struct BindingLimiter(Option<worker::RateLimiter>);

#[async_trait::async_trait(?Send)]
impl RateLimiter for BindingLimiter {
    async fn allow(&self, key: &str) -> bool {
        match &self.0 {
            Some(limiter) => limiter.limit(key.to_owned()).await.map(|o| o.success).unwrap_or(true),
            None => true,
        }
    }
}

#[event(fetch)]
async fn fetch(mut req: worker::Request, env: Env, ctx: Context) -> worker::Result<worker::Response> {
    console_error_panic_hook::set_once();
    let config = match config(&env) {
        Ok(c) => c,
        Err(e) => return misconfigured(&e),
    };
    let development = config.development;
    let db = Rc::new(Counted::with_timer(D1Db::new(env.d1("DB")?), now_ms));
    let deps = Deps {
        db: db.clone(),
        clock: Rc::new(JsClock),
        rng: Rc::new(SystemRng),
        outbox: Rc::new(outbox::QueueOutbox::new(env.queue("EMAILS")?)),
        config: Rc::new(config),
        limiter: Rc::new(BindingLimiter(env.rate_limiter("KEY_LIMITER").ok())),
        deferred: Rc::default(),
    };
    let request = read_request(&mut req).await?;
    let mut response = crate::http::handle(&deps, request).await;
    let deferred = deps.take_deferred();
    if !deferred.is_empty() {
        // Bookkeeping after the response: the request path stays read-only.
        let db = D1Db::new(env.d1("DB")?);
        ctx.wait_until(async move {
            if let Err(e) = crate::store::Db::batch(&db, deferred).await {
                log_error(&format!("deferred write failed: {e}"));
            }
        });
    }
    if development {
        // Lets benchmarks and tests check the D1 round-trip budget from outside.
        response.headers.push((
            "server-timing".into(),
            format!(
                "d1;desc=\"{} call{}\";dur={:.1}",
                db.calls(),
                if db.calls() == 1 { "" } else { "s" },
                db.elapsed_ms()
            ),
        ));
    }
    write_response(response)
}

async fn read_request(req: &mut worker::Request) -> worker::Result<crate::http::Request> {
    let url = req.url()?;
    let mut headers = Vec::new();
    for (k, v) in req.headers().entries() {
        headers.push((k.to_ascii_lowercase(), v));
    }
    let declared: Option<usize> = req.headers().get("content-length")?.and_then(|v| v.parse().ok());
    // Refuse a declared oversize body without reading it; `handle` answers 413.
    let body = match declared {
        Some(n) if n > crate::http::MAX_BODY_BYTES => vec![0; crate::http::MAX_BODY_BYTES + 1],
        _ => req.bytes().await.unwrap_or_default(),
    };
    Ok(crate::http::Request {
        method: req.method().to_string(),
        path: url.path().to_owned(),
        query: url.query().unwrap_or("").to_owned(),
        headers,
        body,
    })
}

fn write_response(response: crate::http::Response) -> worker::Result<worker::Response> {
    let headers = worker::Headers::new();
    for (k, v) in &response.headers {
        headers.append(k, v)?;
    }
    let out = if response.body.is_empty() {
        worker::Response::empty()?
    } else {
        worker::Response::from_bytes(response.body)?
    };
    Ok(out.with_status(response.status).with_headers(headers))
}

/// Seconds before a failed email is tried again.
const RETRY_DELAY_SECONDS: u32 = 2;

#[event(queue)]
async fn queue(batch: MessageBatch<serde_json::Value>, env: Env, _ctx: Context) -> worker::Result<()> {
    console_error_panic_hook::set_once();
    let config = match config(&env) {
        Ok(c) => c,
        Err(e) => {
            // Nothing can be sent; keep every message for a later try (then the dead-letter queue).
            log_error(&e);
            batch.retry_all();
            return Ok(());
        }
    };
    let db = D1Db::new(env.d1("DB")?);
    let clock = JsClock;
    let http_mailer;
    let dev_mailer;
    let mailer: &dyn Mailer = match &config.mailer {
        MailerKind::Dev => {
            dev_mailer = DevMailer { db: &db, clock: &clock };
            &dev_mailer
        }
        MailerKind::Http { url, api_key } => {
            http_mailer =
                mailer::HttpMailer { url: url.clone(), api_key: api_key.clone(), from: config.mail_from.clone() };
            &http_mailer
        }
    };
    for message in batch.messages()? {
        let job: Job = match serde_json::from_value(message.body().clone()) {
            Ok(job) => job,
            Err(e) => {
                log_error(&format!("unreadable queue message {}: {e}", message.id()));
                message.retry();
                continue;
            }
        };
        match jobs::process(&job, &db, mailer, &clock, &config).await {
            Disposition::Ack => message.ack(),
            Disposition::Retry(why) | Disposition::Fail(why) => {
                // Permanent failures are retried too: after max_retries the
                // message lands in the dead-letter queue, so nothing is lost.
                log_error(&format!("job {} not delivered: {why}", job.id()));
                message.retry_with_options(
                    &QueueRetryOptionsBuilder::new().with_delay_seconds(RETRY_DELAY_SECONDS).build(),
                );
            }
        }
    }
    Ok(())
}
