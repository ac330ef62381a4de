//! The `EMAILS` queue as the app's [`Outbox`].
use crate::app::Outbox;
use crate::jobs::Job;
use async_trait::async_trait;

/// The producer binding.
pub struct QueueOutbox(worker::Queue);

impl QueueOutbox {
    /// Wraps the binding.
    pub fn new(queue: worker::Queue) -> Self {
        Self(queue)
    }
}

#[async_trait(?Send)]
impl Outbox for QueueOutbox {
    async fn enqueue(&self, job: &Job) -> Result<(), String> {
        self.0.send(job).await.map_err(|e| e.to_string())
    }
}
