-- The display name a sign-up chose travels with its verification link, like
-- its password: whoever verifies gets the name they typed, never the one of
-- a stranger's earlier sign-up with the same address.
ALTER TABLE email_tokens ADD COLUMN name TEXT;
