//! The email pipeline: sent-markers, the development sink, and failures recorded from the dead-letter queue.

pub const EMAIL_ALREADY_SENT: &str = "SELECT 1 AS sent FROM sent_emails WHERE job_id = ?1";
pub const MARK_EMAIL_SENT: &str = "INSERT OR IGNORE INTO sent_emails (job_id, sent_at) VALUES (?1, ?2)";
pub const INSERT_DEV_EMAIL: &str =
    "INSERT OR IGNORE INTO dev_emails (job_id, recipient, subject, text_body, html_body, sent_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub const LIST_DEV_EMAILS: &str = "SELECT recipient, subject, text_body, html_body, sent_at FROM dev_emails \
     WHERE recipient = ?1 ORDER BY rowid LIMIT 100";
/// Records an email the queue gave up on, once per job, unless it was
/// delivered after all (its sent-marker exists). A failure of an invitation
/// whose current send was already delivered is stored as resolved.
pub const RECORD_MAIL_FAILURE: &str =
    "INSERT OR IGNORE INTO mail_failures (job_id, kind, subject_id, reason, failed_at, resolved_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, \
       CASE WHEN ?2 = 'invitation' AND EXISTS \
         (SELECT 1 FROM invitations WHERE id = ?3 AND delivered_nonce = send_nonce) THEN ?5 END \
     WHERE NOT EXISTS (SELECT 1 FROM sent_emails WHERE job_id = ?1)";
/// With the sent-marker of an invitation email: the send with this nonce was
/// delivered (a resend since has a new nonce and stays undelivered).
pub const MARK_INVITATION_DELIVERED: &str =
    "UPDATE invitations SET delivered_nonce = ?2 WHERE id = ?1 AND send_nonce = ?2";
/// With the sent-marker of an invitation email: the invitation's recorded
/// failures stop showing, if its current send is the one delivered.
pub const RESOLVE_INVITATION_FAILURES: &str = "UPDATE mail_failures SET resolved_at = ?2 \
     WHERE kind = 'invitation' AND subject_id = ?1 AND resolved_at IS NULL \
       AND EXISTS (SELECT 1 FROM invitations WHERE id = ?1 AND delivered_nonce = send_nonce)";
