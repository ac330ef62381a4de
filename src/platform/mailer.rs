//! A Resend-compatible HTTP mail API.
use crate::jobs::{MailError, Mailer, OutgoingEmail};
use async_trait::async_trait;
use worker::{Fetch, Headers, Method, Request, RequestInit};

/// POSTs `{from, to, subject, text, html}` to `url` with a bearer key and an `Idempotency-Key`.
pub struct HttpMailer {
    /// `MAIL_API_URL`.
    pub url: String,
    /// `MAIL_API_KEY`.
    pub api_key: String,
    /// `MAIL_FROM`.
    pub from: String,
}

#[async_trait(?Send)]
impl Mailer for HttpMailer {
    async fn send(&self, email: &OutgoingEmail, idempotency_key: &str) -> Result<(), MailError> {
        let body = serde_json::json!({
            "from": self.from, "to": [email.to], "subject": email.subject, "text": email.text, "html": email.html,
        });
        let transient = |e: worker::Error| MailError::Transient(e.to_string());
        let headers = Headers::new();
        headers.set("content-type", "application/json").map_err(transient)?;
        headers.set("authorization", &format!("Bearer {}", self.api_key)).map_err(transient)?;
        headers.set("idempotency-key", idempotency_key).map_err(transient)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(body.to_string().into()));
        let request = Request::new_with_init(&self.url, &init).map_err(|e| MailError::Permanent(e.to_string()))?;
        let response = Fetch::Request(request).send().await.map_err(transient)?;
        match response.status_code() {
            200..=299 => Ok(()),
            status @ (408 | 429 | 500..=599) => Err(MailError::Transient(format!("mail API answered {status}"))),
            status => Err(MailError::Permanent(format!("mail API answered {status}"))),
        }
    }
}
