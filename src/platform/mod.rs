//! Worker glue (wasm32 only): the fetch and queue entry points and the
//! adapters from `worker::` types to the app's ports. Built with the `edge`
//! feature (the edge Worker), fetch hands the routes the edge does not serve
//! to the management Worker, and the queue consumer is left out (the
//! management Worker consumes the queues).
use crate::app::config::MailerKind;
use crate::app::{log_error, Clock, Config, Deps, RateLimiter, SystemRng};
use crate::jobs::{consume, DevMailer, Mailer};
use crate::store::Counted;
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use worker::worker_sys::web_sys;
use worker::{event, wasm_bindgen_futures, Context, Env, Message, MessageBatch, MessageExt, QueueRetryOptionsBuilder};

mod d1;
mod http;
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

thread_local! {
    /// The configuration, parsed once per isolate. Vars and secrets are fixed
    /// for an isolate's life (changing one deploys a new version, served by
    /// new isolates), so re-reading them, and re-deriving the Ed25519 key
    /// from its seed, on every request would only burn CPU. A failed parse
    /// is not kept: the next request tries again.
    static CONFIG: std::cell::OnceCell<Rc<Config>> = const { std::cell::OnceCell::new() };
    /// Access tokens verified in this isolate (see `VerifiedTokens`).
    static TOKENS: Rc<crate::app::auth::VerifiedTokens> = Rc::default();
}

fn config(env: &Env) -> Result<Rc<Config>, String> {
    CONFIG.with(|cell| {
        if let Some(config) = cell.get() {
            return Ok(config.clone());
        }
        let config = Rc::new(
            Config::from_env(|name| {
                env.secret(name).map(|s| s.to_string()).ok().or_else(|| env.var(name).ok().map(|v| v.to_string()))
            })
            .map_err(|e| e.to_string())?,
        );
        Ok(cell.get_or_init(|| config).clone())
    })
}

fn misconfigured(why: &str) -> worker::Result<web_sys::Response> {
    log_error(why);
    let body = serde_json::json!({"type": "about:blank", "title": "Service misconfigured", "status": 503,
        "detail": "The service is not configured; the operator has been told.", "code": "service_unavailable"});
    write_response(crate::http::Response {
        status: 503,
        headers: vec![("content-type".into(), "application/problem+json".into())],
        body: body.to_string().into_bytes(),
    })
}

/// A rate-limiting binding (`KEY_LIMITER` per API key, `IP_LIMITER` per
/// client IP on the sign-in routes). If the binding is
/// missing or fails, requests are allowed: the limit protects capacity, and
/// failing closed would turn a platform hiccup into an outage.
/// The binding is looked up when asked (most routes ask neither), and
/// called directly: `{key}` built and `success` read with two property
/// accesses, where `worker::RateLimiter::limit` goes through
/// serde_wasm_bindgen both ways.
struct BindingLimiter(Env, &'static str);

#[async_trait::async_trait(?Send)]
impl RateLimiter for BindingLimiter {
    async fn allow(&self, key: &str) -> bool {
        use js_sys::Reflect;
        use wasm_bindgen::JsCast;
        let binding = match Reflect::get(self.0.as_ref(), &JsValue::from_str(self.1)) {
            Ok(b) if b.is_object() => b.unchecked_into::<worker::worker_sys::RateLimiter>(),
            _ => return true,
        };
        let options = js_sys::Object::new();
        if Reflect::set(&options, &JsValue::from_str("key"), &JsValue::from_str(key)).is_err() {
            return true;
        }
        let Ok(promise) = binding.limit(options) else { return true };
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(outcome) => {
                Reflect::get(&outcome, &JsValue::from_str("success")).ok().and_then(|s| s.as_bool()).unwrap_or(true)
            }
            Err(_) => true,
        }
    }
}

/// The fetch entry point. It takes and returns the raw `web_sys` types:
/// `worker::Request::from` reads `request.cf` on every request (a getter
/// that builds an object; we use none of it), and [`read_request`] and
/// [`write_response`] cross between JS and wasm a few times per request
/// instead of a few times per header.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    console_error_panic_hook::set_once();
    #[cfg(feature = "edge")]
    {
        let url = req.url();
        if crate::http::routes::served_elsewhere(&req.method(), crate::http::split_url(&url).0) {
            return to_management(&env, &req).await;
        }
    }
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
        outbox: Rc::new(outbox::QueueOutbox::new(&env)),
        config,
        limiter: Rc::new(BindingLimiter(env.clone(), "KEY_LIMITER")),
        ip_limiter: Rc::new(BindingLimiter(env.clone(), "IP_LIMITER")),
        http: Rc::new(http::FetchClient),
        tokens: TOKENS.with(Rc::clone),
        deferred: Rc::default(),
        notified: Rc::default(),
    };
    let request = read_request(&req).await?;
    let mut response = crate::http::handle(&deps, request).await;
    if !deps.notified.borrow().is_empty() {
        // The change and its events are committed; hand the deliveries to
        // the webhook queue after the response (the sweep covers a failure).
        let deps = deps.clone();
        ctx.wait_until(async move { crate::app::notifications::enqueue_recorded(&deps).await });
    }
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
            // Tenths of a millisecond by integer arithmetic: `{:.1}` on an
            // f64 links core's float formatter (~14 KB) for this one header.
            {
                let tenths = (db.elapsed_ms() * 10.0).round().max(0.0) as u64;
                format!(
                    "d1;desc=\"{} call{}\";dur={}.{}",
                    db.calls(),
                    if db.calls() == 1 { "" } else { "s" },
                    tenths / 10,
                    tenths % 10
                )
            },
        ));
    }
    write_response(response)
}

/// Hands a request, body unread, to the management Worker through the
/// `MANAGE` service binding (same account, no public hop) and its answer
/// back unchanged.
#[cfg(feature = "edge")]
async fn to_management(env: &Env, req: &web_sys::Request) -> worker::Result<web_sys::Response> {
    use wasm_bindgen::JsCast;
    let Ok(service) = env.service("MANAGE") else {
        return misconfigured("the MANAGE service binding (the management Worker) is missing");
    };
    let fetcher: worker::worker_sys::Fetcher = service.into_rpc();
    let answer = wasm_bindgen_futures::JsFuture::from(fetcher.fetch(req)?).await?;
    Ok(answer.dyn_into()?)
}

async fn read_request(req: &web_sys::Request) -> worker::Result<crate::http::Request> {
    // The serialized URL, split without the `url` crate (a parser and its
    // IDNA tables in the bundle, and a second parse of what workerd parsed).
    let url = req.url();
    let (path, query) = crate::http::split_url(&url);
    // Every header in one crossing: `JSON.stringify(Object.fromEntries(headers))`.
    // Headers iterate with lower-case names, repeated ones already joined.
    let entries = js_sys::Object::from_entries(&req.headers())?;
    let text = String::from(js_sys::JSON::stringify(&entries)?);
    let headers: Vec<(String, String)> = serde_json::from_str::<std::collections::BTreeMap<String, String>>(&text)
        .map_err(|e| worker::Error::RustError(format!("request headers: {e}")))?
        .into_iter()
        .collect();
    let declared: Option<usize> = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok());
    // Refuse a declared oversize body without reading it; `handle` answers 413
    // to anything over the limit. An undeclared (chunked) one is read with a
    // running count up to one byte past the limit and kept no further (see
    // `http::Rest::Drain` for what becomes of the rest): a body without end
    // is refused once it passes 64 KiB, never held.
    // A request without a body (most GETs) awaits nothing.
    let too_large = || vec![0; crate::http::MAX_BODY_BYTES + 1];
    let body = match (declared, req.body()) {
        (Some(n), _) if n > crate::http::MAX_BODY_BYTES => too_large(),
        (_, None) => Vec::new(),
        (_, Some(stream)) => match http::read_capped(&stream, crate::http::MAX_BODY_BYTES + 1, http::Rest::Drain).await
        {
            Ok(read) if read.over => too_large(),
            Ok(read) => read.bytes,
            Err(_) => Vec::new(),
        },
    };
    Ok(crate::http::Request { method: req.method(), path: path.to_owned(), query: query.to_owned(), headers, body })
}

fn write_response(response: crate::http::Response) -> worker::Result<web_sys::Response> {
    let init = web_sys::ResponseInit::new();
    init.set_status(response.status);
    // All headers in one crossing: `[[name, value], …]` as JSON, parsed by V8.
    let pairs = serde_json::to_string(&response.headers)
        .map_err(|e| worker::Error::RustError(format!("response headers: {e}")))?;
    init.set_headers(&js_sys::JSON::parse(&pairs)?);
    let mut body = response.body;
    let out = if body.is_empty() {
        web_sys::Response::new_with_opt_str_and_init(None, &init)?
    } else {
        web_sys::Response::new_with_opt_u8_array_and_init(Some(&mut body), &init)?
    };
    Ok(out)
}

#[cfg(not(feature = "edge"))]
/// The queue entry point, written out instead of `#[event(queue)]`: workers-rs
/// 0.8.7's `Message` does not expose `attempts`, which the backoff needs, and
/// only the raw batch does. Otherwise the same glue the macro generates.
mod queue_export {
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::JsValue;

    #[wasm_bindgen(wasm_bindgen = ::worker::wasm_bindgen, wasm_bindgen_futures = ::worker::wasm_bindgen_futures, js_sys = ::worker::js_sys)]
    pub async fn queue(
        batch: ::worker::worker_sys::MessageBatch,
        env: ::worker::Env,
        ctx: ::worker::worker_sys::Context,
    ) -> Result<JsValue, JsValue> {
        ::std::panic::AssertUnwindSafe(async move {
            super::queue(batch, env, ::worker::Context::new(ctx))
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(|e| JsValue::from_str(&e.to_string()))
        })
        .await
    }
}

#[cfg(not(feature = "edge"))]
/// `message.attempts` (deliveries so far, from 1) by message id.
fn attempts_by_id(batch: &worker::worker_sys::MessageBatch) -> HashMap<String, u32> {
    let Ok(messages) = batch.messages() else { return HashMap::new() };
    let field = |m: &JsValue, name: &str| js_sys::Reflect::get(m, &JsValue::from_str(name)).ok();
    messages
        .iter()
        .filter_map(|m| {
            let id = field(&m, "id")?.as_string()?;
            let attempts = field(&m, "attempts")?.as_f64()?;
            Some((id, attempts as u32))
        })
        .collect()
}

#[cfg(not(feature = "edge"))]
/// The queue consumer: the batch's messages go to `jobs::consume`, which
/// decides what each comes to; this carries the answers out.
async fn queue(raw: worker::worker_sys::MessageBatch, env: Env, _ctx: Context) -> worker::Result<()> {
    console_error_panic_hook::set_once();
    let attempts = attempts_by_id(&raw);
    let batch = MessageBatch::<serde_json::Value>::from(raw);
    let messages = batch.messages()?;
    let incoming: Vec<consume::Incoming> = messages
        .iter()
        .map(|m| consume::Incoming {
            id: m.id(),
            attempts: attempts.get(&m.id()).copied().unwrap_or(1),
            body: m.body().clone(),
        })
        .collect();
    let config = config(&env);
    let db = D1Db::new(env.d1("DB")?);
    let clock = JsClock;
    let http_mailer;
    let dev_mailer;
    let mailer: Option<&dyn Mailer> = match config.as_deref().map(|c| &c.mailer) {
        Ok(MailerKind::Dev) => {
            dev_mailer = DevMailer { db: &db, clock: &clock };
            Some(&dev_mailer)
        }
        Ok(MailerKind::Http { url, api_key }) => {
            let from = config.as_ref().map(|c| c.mail_from.clone()).unwrap_or_default();
            http_mailer = mailer::HttpMailer { url: url.clone(), api_key: api_key.clone(), from };
            Some(&http_mailer)
        }
        Err(_) => None,
    };
    let outbox = outbox::QueueOutbox::new(&env);
    let ports = consume::Ports {
        db: &db,
        clock: &clock,
        rng: &SystemRng,
        config: config.as_deref().map_err(String::as_str),
        mailer,
        webhooks: &http::WebhookFetch,
        outbox: &outbox,
    };
    let actions = consume::consume(consume::QueueKind::of(&batch.queue()), &incoming, &ports).await;
    let dead_letters = env.queue("EMAILS_DLQ").ok();
    for (message, action) in messages.iter().zip(actions) {
        match action {
            consume::Action::Ack => message.ack(),
            consume::Action::Retry { delay_seconds } => retry_after(message, delay_seconds),
            consume::Action::DeadLetter { letter, or_retry_after } => {
                let sent = match &dead_letters {
                    Some(queue) => queue.send(&letter).await.map_err(|e| e.to_string()),
                    None => Err("no EMAILS_DLQ binding".to_owned()),
                };
                match sent {
                    Ok(()) => message.ack(),
                    Err(e) => {
                        log_error(&format!("moving message {} to the dead-letter queue failed: {e}", message.id()));
                        retry_after(message, or_retry_after);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(not(feature = "edge"))]
fn retry_after(message: &Message<serde_json::Value>, delay_seconds: u32) {
    message.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(delay_seconds).build());
}

/// The Cron Trigger: re-checks verified domains that are due, warns before
/// API keys expire, records expired invitations' events and enqueues due deliveries the queue does
/// not hold (a failed enqueue loses nothing).
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    console_error_panic_hook::set_once();
    let Ok(d1) = env.d1("DB") else {
        log_error("sweep: the DB binding is missing");
        return;
    };
    let db = D1Db::new(d1);
    let outbox = outbox::QueueOutbox::new(&env);
    let config = config(&env);
    // Verified domains due for their daily look-up (`app::domains`), before
    // the sweep, which enqueues the notifications of any lapse.
    if let Ok(c) = &config {
        match crate::app::domains::recheck_domains(&db, &http::FetchClient, &SystemRng, c, JsClock.now()).await {
            Ok(done) if done.lapsed + done.unknown > 0 => log_error(&format!("domain re-check: {done:?}")),
            Ok(_) => {}
            Err(e) => log_error(&format!("domain re-check failed: {e}")),
        }
    }
    // API keys' expiry warnings (`app::key_policy`), before the sweep, which
    // enqueues the channel deliveries of their `api_key.expiring`/`expired` rows.
    if let Err(e) = crate::app::key_policy::sweep_key_expiry(&db, &outbox, &SystemRng, JsClock.now()).await {
        log_error(&format!("key expiry sweep failed: {e}"));
    }
    if let Err(e) = crate::app::notifications::sweep(&db, &outbox, JsClock.now()).await {
        log_error(&format!("sweep failed: {e}"));
    }
    // While a previous sealing key is configured, secrets at rest are sealed
    // again under the current one (`app::sealing`).
    match config {
        Ok(c) if c.totp_key.rotating() => match crate::app::sealing::reseal_stale(&db, &c.totp_key, &SystemRng).await {
            Ok(done) => log_error(&format!("reseal: {} sealed again, {} unreadable", done.resealed, done.unreadable)),
            Err(e) => log_error(&format!("reseal failed: {e}")),
        },
        Ok(_) => {}
        Err(e) => log_error(&e),
    }
}
