//! The dead-letter queue's consumer: every email the queue gave up on is
//! recorded in `mail_failures`, so it is visible (an invitation lists
//! `"delivery": "failed"`) and can be resent.
//!
//! Two ways lead there. Queues moves a job after `max_retries` failed
//! deliveries (transient failures that outlasted the backoff); the email
//! consumer sends a job at once, wrapped with its reason, when retrying cannot
//! help (the mail API refused it with a 4xx).
use super::{Disposition, Job};
use crate::app::Clock;
use crate::stmt;
use crate::store::{sql, Db};
use serde::{Deserialize, Serialize};

/// How much of a failure's reason is kept.
const MAX_REASON_CHARS: usize = 500;

/// A message on the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DeadLetter {
    /// Sent by the email consumer at once: a permanent failure.
    Rejected {
        /// The job that failed.
        job: Job,
        /// Why (e.g. `mail API answered 422`).
        reason: String,
    },
    /// Moved by Queues after `max_retries` failed deliveries: the job itself.
    Exhausted(Job),
}

impl DeadLetter {
    /// The job that was not delivered.
    pub fn job(&self) -> &Job {
        match self {
            DeadLetter::Rejected { job, .. } | DeadLetter::Exhausted(job) => job,
        }
    }

    /// Why it was not delivered.
    pub fn reason(&self) -> &str {
        match self {
            DeadLetter::Rejected { reason, .. } => reason,
            DeadLetter::Exhausted(_) => "retries exhausted",
        }
    }
}

/// Records a job the queue gave up on. Idempotent (one row per job id), and
/// nothing is recorded if the job was delivered after all (its sent-marker
/// exists). A D1 failure asks for a retry: the dead-letter queue has retries
/// of its own.
pub async fn record_dead_letter(letter: &DeadLetter, db: &dyn Db, clock: &dyn Clock) -> Disposition {
    let job = letter.job();
    record(db, job.id(), job.kind(), job.subject_id(), letter.reason(), clock.now()).await
}

/// Records a dead letter nobody can read, under the queue's message id, so it
/// is visible too.
pub async fn record_unreadable(message_id: &str, reason: &str, db: &dyn Db, clock: &dyn Clock) -> Disposition {
    record(db, message_id, "unreadable", "", reason, clock.now()).await
}

async fn record(db: &dyn Db, job_id: &str, kind: &str, subject_id: &str, reason: &str, now: i64) -> Disposition {
    let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
    match db.run(stmt!(sql::RECORD_MAIL_FAILURE, job_id, kind, subject_id, reason, now)).await {
        Ok(_) => Disposition::Ack,
        Err(e) => Disposition::Retry(format!("recording the failed delivery of {job_id}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation_job() -> Job {
        Job::Invitation { job_id: "job_1".into(), invitation_id: "inv_1".into(), nonce: "n1".into() }
    }

    #[test]
    fn a_job_moved_by_the_queue_reads_as_exhausted() {
        let body = serde_json::to_value(invitation_job()).unwrap();
        let letter: DeadLetter = serde_json::from_value(body).unwrap();
        assert_eq!(letter, DeadLetter::Exhausted(invitation_job()));
        assert_eq!(letter.reason(), "retries exhausted");
    }

    #[test]
    fn a_rejected_job_keeps_its_reason_through_the_queue() {
        let sent = DeadLetter::Rejected { job: invitation_job(), reason: "mail API answered 422".into() };
        let letter: DeadLetter = serde_json::from_value(serde_json::to_value(&sent).unwrap()).unwrap();
        assert_eq!(letter, sent);
        assert_eq!((letter.job().id(), letter.reason()), ("job_1", "mail API answered 422"));
    }

    #[test]
    fn anything_else_is_unreadable() {
        assert!(serde_json::from_value::<DeadLetter>(serde_json::json!({"kind": "nope"})).is_err());
        assert!(serde_json::from_value::<DeadLetter>(serde_json::json!({"reason": "x"})).is_err());
    }
}
