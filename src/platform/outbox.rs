//! The `EMAILS` and `WEBHOOKS` queues as the app's [`Outbox`].
use crate::app::Outbox;
use crate::jobs::Job;
use async_trait::async_trait;
use worker::MessageBuilder;

/// The producer bindings.
pub struct QueueOutbox {
    env: worker::Env,
}

impl QueueOutbox {
    /// The `EMAILS` and `WEBHOOKS` queues of `env`, looked up when a message
    /// is sent (most requests send none). A deployment without `WEBHOOKS`
    /// enqueues no deliveries; they stay pending in D1.
    pub fn new(env: &worker::Env) -> Self {
        Self { env: env.clone() }
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
        let emails = self.env.queue("EMAILS").map_err(|e| e.to_string())?;
        emails.send(job).await.map_err(|e| e.to_string())
    }

    async fn enqueue_webhook(&self, delivery_id: &str, delay_seconds: u32) -> Result<(), String> {
        let queue = self.env.queue("WEBHOOKS").map_err(|_| "no WEBHOOKS binding")?;
        let message = WebhookMessage { delivery_id: delivery_id.to_owned() };
        let mut builder = MessageBuilder::new(message);
        if delay_seconds > 0 {
            builder = builder.delay_seconds(delay_seconds);
        }
        queue.send(builder.build()).await.map_err(|e| e.to_string())
    }
}
