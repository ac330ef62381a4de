//! Outgoing HTTP to sign-in providers: workerd's `fetch` with
//! `redirect: "manual"` (a redirect is returned, never followed) and an abort
//! after [`FETCH_TIMEOUT_MS`], covering the body too.
use crate::app::oauth::{HttpClient, OutgoingRequest, OutgoingResponse, FETCH_TIMEOUT_MS, MAX_RESPONSE_BYTES};
use async_trait::async_trait;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

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
    let mut response =
        Fetch::Request(request).send_with_signal(&controller.signal()).await.map_err(|e| e.to_string())?;
    let status = response.status_code();
    let mut body = response.bytes().await.map_err(|e| e.to_string())?;
    body.truncate(MAX_RESPONSE_BYTES);
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
    let mut response =
        Fetch::Request(request).send_with_signal(&controller.signal()).await.map_err(|e| e.to_string())?;
    let status = response.status_code();
    let retry_after = response.headers().get("retry-after").ok().flatten();
    let mut body = response.bytes().await.unwrap_or_default();
    body.truncate(crate::jobs::webhooks::RESPONSE_EXCERPT_BYTES);
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
