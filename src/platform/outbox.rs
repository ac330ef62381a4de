//! The `EMAILS` and `WEBHOOKS` queues as the app's [`Outbox`].
use crate::app::Outbox;
use crate::jobs::Job;
use async_trait::async_trait;
use worker::MessageBuilder;

/// The producer bindings.
pub struct QueueOutbox {
    emails: worker::Queue,
    webhooks: Option<worker::Queue>,
}

impl QueueOutbox {
    /// Wraps the bindings (a deployment without `WEBHOOKS` enqueues no
    /// deliveries; they stay pending in D1).
    pub fn new(emails: worker::Queue, webhooks: Option<worker::Queue>) -> Self {
        Self { emails, webhooks }
    }
}

/// A webhook queue message: the delivery id.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct WebhookMessage {
    /// `dlv_…`
    pub delivery_id: String,
}

#[async_trait(?Send)]
impl Outbox for QueueOutbox {
    async fn enqueue(&self, job: &Job) -> Result<(), String> {
        self.emails.send(job).await.map_err(|e| e.to_string())
    }

    async fn enqueue_webhook(&self, delivery_id: &str, delay_seconds: u32) -> Result<(), String> {
        let queue = self.webhooks.as_ref().ok_or("no WEBHOOKS binding")?;
        let message = WebhookMessage { delivery_id: delivery_id.to_owned() };
        let mut builder = MessageBuilder::new(message);
        if delay_seconds > 0 {
            builder = builder.delay_seconds(delay_seconds);
        }
        queue.send(builder.build()).await.map_err(|e| e.to_string())
    }
}
