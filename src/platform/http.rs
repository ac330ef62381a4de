//! Outgoing HTTP to sign-in providers: workerd's `fetch` with
//! `redirect: "manual"` (a redirect is returned, never followed) and an abort
//! after [`FETCH_TIMEOUT_MS`], covering the body too. Every body, incoming or
//! outgoing, is read with a byte cap ([`read_capped`]), never whole.
use crate::app::oauth::{HttpClient, OutgoingRequest, OutgoingResponse, FETCH_TIMEOUT_MS, MAX_RESPONSE_BYTES};
use async_trait::async_trait;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use worker::worker_sys::web_sys::{ReadableStream, ReadableStreamDefaultReader};
use worker::{wasm_bindgen_futures::JsFuture, AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};
use worker::{RequestRedirect, ResponseBody};

/// What [`read_capped`] read: at most `cap` bytes, and whether more followed.
pub struct Capped {
    /// The first bytes of the stream, at most the cap.
    pub bytes: Vec<u8>,
    /// The stream had more than the cap.
    pub over: bool,
}

/// What becomes of the bytes past the cap.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// Cancel the stream at once: the sender is told to stop (an outgoing
    /// fetch's connection is closed).
    Cancel,
    /// The incoming request's body: read on and drop what arrives (nothing
    /// is kept) for at most [`DRAIN_BYTES`] and [`DRAIN_MS`], then cancel.
    /// Cancelling a chunked request body at once makes the exchange in front
    /// of the Worker fail often (under wrangler dev, the client then gets a
    /// reset or a 500 instead of its 413): a body of a few MB ends within the
    /// budget and its sender reads a clean answer; one without end is
    /// dropped when the budget runs out.
    Drain,
}

/// How much of a refused request body is read and dropped past the cap.
pub const DRAIN_BYTES: usize = 8 << 20;
/// How long a refused request body is read and dropped past the cap.
pub const DRAIN_MS: u64 = 2_000;

/// The next chunk of `reader`, `None` at the end. A stream that fails is an
/// error (a prefix of a request body is not the body).
async fn next_chunk(reader: &ReadableStreamDefaultReader) -> Result<Option<js_sys::Uint8Array>, JsValue> {
    loop {
        let chunk = JsFuture::from(reader.read()).await?;
        if js_sys::Reflect::get(&chunk, &JsValue::from_str("done"))?.as_bool() == Some(true) {
            return Ok(None);
        }
        // A byte stream yields only Uint8Arrays; anything else carries no bytes.
        if let Ok(value) = js_sys::Reflect::get(&chunk, &JsValue::from_str("value"))?.dyn_into() {
            return Ok(Some(value));
        }
    }
}

/// Reads and drops up to [`DRAIN_BYTES`] of `reader`; whether it ended.
async fn drain(reader: &ReadableStreamDefaultReader) -> bool {
    let mut dropped = 0;
    while dropped < DRAIN_BYTES {
        match next_chunk(reader).await {
            Ok(Some(value)) => dropped += value.length() as usize,
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
    false
}

/// Reads `stream` up to `cap` bytes with a running count, and keeps no more:
/// a sender that streams without end (a chunked request body, a webhook
/// receiver's answer) costs at most `cap` bytes of memory and is stopped,
/// where `arrayBuffer()` would wait for the end and hold all of it. Only the
/// part of a chunk that fits crosses into wasm.
pub async fn read_capped(stream: &ReadableStream, cap: usize, rest: Rest) -> Result<Capped, JsValue> {
    let reader = ReadableStreamDefaultReader::new(stream)?;
    let mut bytes = Vec::new();
    while let Some(value) = next_chunk(&reader).await? {
        let room = cap - bytes.len();
        if value.length() as usize <= room {
            bytes.extend(value.to_vec());
            continue;
        }
        bytes.extend(value.subarray(0, room as u32).to_vec());
        let ended = match rest {
            Rest::Cancel => false,
            Rest::Drain => first(drain(&reader), Delay::from(Duration::from_millis(DRAIN_MS))).await.unwrap_or(false),
        };
        if !ended {
            // Tells the sender to stop; its outcome changes nothing here.
            let _ = JsFuture::from(reader.cancel()).await;
        }
        return Ok(Capped { bytes, over: true });
    }
    Ok(Capped { bytes, over: false })
}

/// A fetched response's body, at most `cap` bytes (the rest cancelled).
async fn response_body(response: &worker::Response, cap: usize) -> Result<Vec<u8>, String> {
    match response.body() {
        ResponseBody::Empty => Ok(Vec::new()),
        ResponseBody::Body(bytes) => Ok(bytes[..bytes.len().min(cap)].to_vec()),
        ResponseBody::Stream(stream) => read_capped(stream, cap, Rest::Cancel)
            .await
            .map(|c| c.bytes)
            .map_err(|e| format!("reading the answer: {e:?}")),
    }
}

/// `fetch` without redirects, with a timeout.
pub struct FetchClient;

async fn send(req: OutgoingRequest, controller: &AbortController) -> Result<OutgoingResponse, String> {
    let headers = Headers::new();
    for (name, value) in &req.headers {
        headers.set(name, value).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(if req.method == "POST" { Method::Post } else { Method::Get })
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    if let Some(body) = req.body {
        init.with_body(Some(body.into()));
    }
    let request = Request::new_with_init(&req.url, &init).map_err(|e| e.to_string())?;
    let response = Fetch::Request(request).send_with_signal(&controller.signal()).await.map_err(|e| e.to_string())?;
    let status = response.status_code();
    let body = response_body(&response, MAX_RESPONSE_BYTES).await?;
    Ok(OutgoingResponse { status, body })
}

/// Whichever of two futures finishes first.
async fn first<A: Future, B: Future>(a: A, b: B) -> Result<A::Output, B::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if let Poll::Ready(out) = b.as_mut().poll(cx) {
            return Poll::Ready(Err(out));
        }
        Poll::Pending
    })
    .await
}

#[async_trait(?Send)]
impl HttpClient for FetchClient {
    async fn send(&self, req: OutgoingRequest) -> Result<OutgoingResponse, String> {
        let url = req.url.clone();
        let controller = AbortController::default();
        let timeout = Delay::from(Duration::from_millis(u64::from(FETCH_TIMEOUT_MS)));
        match first(send(req, &controller), timeout).await {
            Ok(result) => result,
            Err(()) => {
                controller.abort();
                Err(format!("{url}: no answer within {FETCH_TIMEOUT_MS} ms"))
            }
        }
    }
}

/// Webhook deliveries: `fetch` with `redirect: "manual"` and a 15 s abort.
pub struct WebhookFetch;

async fn post_webhook(
    req: crate::jobs::webhooks::WebhookRequest,
    controller: &AbortController,
) -> Result<crate::jobs::webhooks::WebhookResponse, String> {
    let started = js_sys::Date::now();
    let headers = Headers::new();
    for (name, value) in &req.headers {
        headers.set(name, value).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_redirect(RequestRedirect::Manual);
    init.with_body(Some(req.body.into()));
    let request = Request::new_with_init(&req.url, &init).map_err(|e| e.to_string())?;
    let response = Fetch::Request(request).send_with_signal(&controller.signal()).await.map_err(|e| e.to_string())?;
    let status = response.status_code();
    let retry_after = response.headers().get("retry-after").ok().flatten();
    // The excerpt is all that is kept: read that much, cancel the rest.
    let body = response_body(&response, crate::jobs::webhooks::RESPONSE_EXCERPT_BYTES).await.unwrap_or_default();
    let latency_ms = (js_sys::Date::now() - started).max(0.0) as i64;
    Ok(crate::jobs::webhooks::WebhookResponse { status, retry_after, body, latency_ms })
}

#[async_trait(?Send)]
impl crate::jobs::webhooks::WebhookSender for WebhookFetch {
    async fn post(
        &self,
        req: crate::jobs::webhooks::WebhookRequest,
    ) -> Result<crate::jobs::webhooks::WebhookResponse, String> {
        let timeout_ms = crate::jobs::webhooks::TIMEOUT_MS;
        let controller = AbortController::default();
        let timeout = Delay::from(Duration::from_millis(u64::from(timeout_ms)));
        match first(post_webhook(req, &controller), timeout).await {
            Ok(result) => result,
            Err(()) => {
                controller.abort();
                Err(format!("no answer within {timeout_ms} ms"))
            }
        }
    }
}
