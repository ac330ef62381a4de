-- A login code is redeemed only by the browser that ran its flow (login CSRF):
-- the digest of the flow cookie travels with the code and must match at
-- POST /v1/auth/oauth/complete. Codes made before this column (60 s of life)
-- have NULL here and can no longer be redeemed, which is the safe side.
ALTER TABLE oauth_login_codes ADD COLUMN browser_hash TEXT;
