-- A verification token carries the password hash chosen by the sign-up that
-- asked for it. Verifying a never-verified account sets that password, so a
-- stranger who signed up first with someone else's address never keeps a
-- password on it (pre-account-takeover).
ALTER TABLE email_tokens ADD COLUMN password_hash TEXT;
