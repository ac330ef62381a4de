//! Two-factor authentication: enrolment with a QR code, confirmation with
//! recovery codes, disabling, regeneration, and the second step of a login.
//! A time step is accepted once (guarded UPDATE on `last_step`), so a code
//! cannot succeed twice, even from parallel requests.
use super::access::Credential;
use super::sessions::{NewSession, SessionIssued};
use super::ErrorCode;
use super::{random, AppError, Deps};
use crate::domain::time::MINUTE;
use crate::domain::token::{self, Secret};
use crate::domain::totp::{self, RecoveryCode, TotpSecret};
use crate::stmt;
use crate::store::sql::{MfaTokenUser, ReservedMfaToken, TotpCredential, UserRow};
use crate::store::{sql, Batch, DbError, Stmt};
use serde::Serialize;
use utoipa::ToSchema;

/// MFA tokens live 5 minutes.
pub const MFA_TOKEN_SECONDS: i64 = 5 * MINUTE;
/// Wrong codes one MFA token survives.
pub const MFA_TOKEN_ATTEMPTS: i64 = 5;
/// Wrong codes on an account, across all its MFA tokens (a new login does
/// not reset the count), after which its second factor answers 429.
pub const ACCOUNT_ATTEMPTS: i64 = 5;
/// How long that lock lasts.
pub const ACCOUNT_LOCK_SECONDS: i64 = 15 * MINUTE;
/// Each 15 quiet minutes since the last wrong code forgive one; a right code
/// forgives all. After a lock, a guesser gets one code per 15 minutes.
pub const ACCOUNT_DECAY_SECONDS: i64 = 15 * MINUTE;

fn invalid_otp() -> AppError {
    AppError::refused(ErrorCode::InvalidOtp, "the code is wrong, was already used, or is too old")
}

/// What enrolment shows: scan the QR code or type the secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Enrolment {
    /// Base32 secret, for manual entry.
    pub secret: String,
    /// `otpauth://totp/Latchkey:<email>?…`
    pub otpauth_uri: String,
    /// The URI as a QR code, SVG.
    pub qr_svg: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// 10 single-use codes.
    pub recovery_codes: Vec<String>,
}

fn key(deps: &Deps) -> &crate::domain::sealed::SealingKeys {
    &deps.config.totp_key
}

/// Starts (or restarts) enrolment: a fresh secret, pending until confirmed.
pub async fn enrol(deps: &Deps, who: &Credential) -> Result<Enrolment, AppError> {
    let secret = TotpSecret::random(random(deps.rng.as_ref())?);
    let (sealing, now) = (random(deps.rng.as_ref())?, deps.now());
    // One round trip: the upsert changes nothing once 2FA is on.
    let wrote = who
        .person_write(deps, false, |user_id, batch| {
            let stored = totp::seal_secret(key(deps), user_id, sealing, &secret);
            Ok(batch.write(stmt!(sql::UPSERT_PENDING_TOTP, user_id, stored, now)))
        })
        .await?;
    let who = wrote.who;
    if wrote.ran?.changed(wrote.handles) == 0 {
        return Err(AppError::refused(ErrorCode::TotpAlreadyEnabled, "two-factor authentication is already on"));
    }
    let uri = totp::otpauth_uri(&secret, &who.user.email);
    let qr_svg = totp::qr_svg(&uri).map_err(|e| AppError::internal_from("rendering the enrolment QR code", e))?;
    Ok(Enrolment { secret: secret.base32(), otpauth_uri: uri, qr_svg })
}

/// A code check of a signed-in person, in two round trips: their session
/// (guarded), their credential and the attempt counted on the account in
/// one batch; then the code's acceptance with `then` (given the user id).
async fn accept_code(
    deps: &Deps,
    who: &Credential,
    code: &str,
    confirmed_only: bool,
    then: impl FnOnce(&UserRow) -> Result<Vec<Stmt>, AppError>,
) -> Result<(), AppError> {
    let mut then = Some(then);
    let mut once = |user: &UserRow| then.take().map_or_else(|| Ok(Vec::new()), |then| then(user));
    accept_code_once(deps, who, code, confirmed_only, &mut once).await
}

/// The body of [`accept_code`], compiled once rather than for every `then`.
async fn accept_code_once(
    deps: &Deps,
    who: &Credential,
    code: &str,
    confirmed_only: bool,
    then: &mut dyn FnMut(&UserRow) -> Result<Vec<Stmt>, AppError>,
) -> Result<(), AppError> {
    let now = deps.now();
    // Count the attempt before checking the code (one guarded statement):
    // parallel guesses cannot get past the account's limit.
    let wrote = who
        .person_write(deps, false, |user_id, batch| {
            let cred = batch.read::<TotpCredential>(stmt!(sql::TOTP_CREDENTIAL, user_id));
            let (attempts, lock, decay) = (ACCOUNT_ATTEMPTS, ACCOUNT_LOCK_SECONDS, ACCOUNT_DECAY_SECONDS);
            let reserved = batch.write(stmt!(sql::RESERVE_TOTP_ATTEMPT, user_id, now, attempts, lock, decay));
            Ok((cred, reserved))
        })
        .await?;
    let (cred, reserved) = wrote.handles;
    let mut results = wrote.ran?;
    let user = wrote.who.user;
    let user_id = user.id.clone();
    let cred = results.first(cred)?.ok_or_else(invalid_otp)?;
    if confirmed_only && cred.confirmed_at.is_none() {
        return Err(invalid_otp());
    }
    if results.changed(reserved) == 0 {
        return Err(locked(&cred, now));
    }
    let stmts = accepted_step(deps, &user_id, &cred, code, confirmed_only, then(&user)?)?;
    match deps.db.batch(stmts).await {
        Ok(_) => Ok(()),
        Err(DbError::Guard(_)) => Err(invalid_otp()),
        Err(e) => Err(e.into()),
    }
}

/// The account's second factor is locked (too many wrong codes).
fn locked(cred: &TotpCredential, now: i64) -> AppError {
    AppError::TooManyAttempts {
        retry_after: cred.locked_until.map_or(ACCOUNT_LOCK_SECONDS, |until| (until - now).max(1)),
    }
}

/// Checks `code` (its attempt already counted) and gives the statements
/// that accept its time step: the guarded step update, the guard that rolls
/// the whole batch back if another request accepted this step (or a later
/// one) first, so a replay changes nothing at all; and, for a secret sealed
/// under the previous key or before key ids, its sealing under the current
/// key (guarded on the value read: a concurrent re-enrolment is never
/// overwritten). `then` goes between the guard and the re-sealing.
fn accepted_step(
    deps: &Deps,
    user_id: &str,
    cred: &TotpCredential,
    code: &str,
    confirmed_only: bool,
    then: Vec<Stmt>,
) -> Result<Vec<Stmt>, AppError> {
    let (secret, stale) = totp::open_secret(key(deps), user_id, &cred.secret_enc)
        .map_err(|_| AppError::internal(format!("TOTP secret of {user_id} does not decrypt")))?;
    let Some(step) = totp::verify(&secret, code, deps.now(), cred.last_step) else {
        return Err(invalid_otp());
    };
    let mut stmts = vec![stmt!(sql::ACCEPT_TOTP_STEP, user_id, step, confirmed_only), stmt!(sql::GUARD_CHANGED)];
    stmts.extend(then);
    if stale {
        let fresh = totp::seal_secret(key(deps), user_id, random(deps.rng.as_ref())?, &secret);
        stmts.push(stmt!(sql::RESEAL_TOTP_SECRET, user_id, fresh, &cred.secret_enc));
    }
    Ok(stmts)
}

fn new_codes(deps: &Deps, user_id: &str) -> Result<(Vec<String>, Vec<Stmt>), AppError> {
    let now = deps.now();
    let mut shown = Vec::with_capacity(totp::RECOVERY_CODES);
    let mut stmts = vec![stmt!(sql::DELETE_RECOVERY_CODES, user_id)];
    for _ in 0..totp::RECOVERY_CODES {
        let code = RecoveryCode::random(random(deps.rng.as_ref())?);
        stmts.push(stmt!(sql::INSERT_RECOVERY_CODE, user_id, code.digest(), now));
        shown.push(code.expose().to_owned());
    }
    Ok((shown, stmts))
}

/// A step-up: the signed-in person's current code (confirmed 2FA only;
/// attempt-limited and single-use like every code), accepted in one batch
/// with the statements `then` gives for them: a replayed or wrong code
/// changes nothing. Platform administrators act this way.
pub(crate) async fn step_up(
    deps: &Deps,
    who: &Credential,
    code: &str,
    then: impl FnOnce(&UserRow) -> Result<Vec<Stmt>, AppError>,
) -> Result<(), AppError> {
    accept_code(deps, who, code, true, then).await
}

/// Confirms enrolment with a first code: 2FA is on, and 10 recovery codes are shown once.
pub async fn confirm(deps: &Deps, who: &Credential, code: &str) -> Result<RecoveryCodes, AppError> {
    let mut codes = Vec::new();
    accept_code(deps, who, code, false, |user| {
        let user_id = user.id.as_str();
        let (shown, mut then) = new_codes(deps, user_id)?;
        codes = shown;
        let now = deps.now();
        then.insert(0, stmt!(sql::CONFIRM_TOTP, user_id, now));
        then.insert(1, stmt!(sql::SET_TOTP_ENABLED, user_id, true, now));
        then.push(stmt!(sql::CLEAR_TOTP_RESET, user_id));
        Ok(then)
    })
    .await?;
    Ok(RecoveryCodes { recovery_codes: codes })
}

/// Turns 2FA off (needs a current code).
pub async fn disable(deps: &Deps, who: &Credential, code: &str) -> Result<(), AppError> {
    let now = deps.now();
    accept_code(deps, who, code, true, |user| {
        let user_id = user.id.as_str();
        Ok(vec![
            stmt!(sql::DELETE_RECOVERY_CODES, user_id),
            stmt!(sql::SET_TOTP_ENABLED, user_id, false, now),
            stmt!(sql::DELETE_TOTP, user_id),
        ])
    })
    .await
}

/// Replaces the recovery codes (needs a current code); the old ones die.
pub async fn regenerate_recovery_codes(deps: &Deps, who: &Credential, code: &str) -> Result<RecoveryCodes, AppError> {
    let mut codes = Vec::new();
    accept_code(deps, who, code, true, |user| {
        let (shown, then) = new_codes(deps, &user.id)?;
        codes = shown;
        Ok(then)
    })
    .await?;
    Ok(RecoveryCodes { recovery_codes: codes })
}

/// The first step of a login with 2FA on: a single-use token for the
/// second, written with `before` (the first step's own bookkeeping) in one
/// batch. `method` is how the first step went (`password`, `oauth:<provider>`);
/// the session the second step opens records it.
pub async fn issue_mfa_token_after(
    deps: &Deps,
    mut before: Vec<Stmt>,
    user: &UserRow,
    user_agent: Option<&str>,
    method: &str,
) -> Result<String, AppError> {
    let (token, row) = mfa_token_row(deps, &user.id, user_agent, method)?;
    before.push(row);
    deps.db.batch(before).await?;
    Ok(token)
}

/// A new MFA token (to show once) and the row that stores it, for the
/// caller's own batch.
pub fn mfa_token_row(
    deps: &Deps,
    user_id: &str,
    user_agent: Option<&str>,
    method: &str,
) -> Result<(String, Stmt), AppError> {
    let token = Secret::random(random(deps.rng.as_ref())?);
    let now = deps.now();
    let ua: Option<String> = user_agent.map(|u| u.chars().take(200).collect());
    let row = stmt!(sql::INSERT_MFA_TOKEN, token.digest(), user_id, now, now + MFA_TOKEN_SECONDS, ua, method);
    Ok((token.expose().to_owned(), row))
}

/// The second step: a TOTP code or a recovery code for a live MFA token.
/// Two round trips: the attempt counts (the token's and, for a code, the
/// account's) with the user and the credential; then the code's acceptance,
/// the token spent and the session, guarded so that only this request's
/// success writes any of it.
pub async fn login_mfa(
    deps: &Deps,
    raw_token: &str,
    code: Option<&str>,
    recovery_code: Option<&str>,
    user_agent: Option<&str>,
) -> Result<SessionIssued, AppError> {
    if !token::plausible(raw_token) {
        return Err(AppError::InvalidToken);
    }
    let code = match (code, recovery_code) {
        (Some(code), None) => Ok(code),
        (None, Some(recovery)) => Err(recovery),
        _ => {
            return Err(AppError::field(crate::domain::FieldError::new(
                "code",
                "one_required",
                "give exactly one of code and recovery_code",
            )))
        }
    };
    let now = deps.now();
    let digest = Secret::from_client(raw_token).digest();
    // Count the attempt before checking the code (guarded statements), so
    // parallel guesses cannot exceed the token's limit nor the account's.
    let mut batch = Batch::new();
    let reserved = batch.read::<ReservedMfaToken>(stmt!(sql::RESERVE_MFA_ATTEMPT, &digest, now, MFA_TOKEN_ATTEMPTS));
    let account = code.is_ok().then(|| {
        batch.write(stmt!(
            sql::RESERVE_TOTP_ATTEMPT_OF_MFA_TOKEN,
            &digest,
            now,
            ACCOUNT_ATTEMPTS,
            ACCOUNT_LOCK_SECONDS,
            ACCOUNT_DECAY_SECONDS
        ))
    });
    let live = batch.read::<MfaTokenUser>(stmt!(sql::LIVE_MFA_TOKEN, &digest, now));
    let cred = batch.read::<TotpCredential>(stmt!(sql::TOTP_CREDENTIAL_OF_MFA_TOKEN, &digest));
    let user = batch.read::<UserRow>(stmt!(sql::USER_OF_MFA_TOKEN, &digest));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let Some(reserved) = results.first(reserved)? else {
        return Err(match results.first(live)? {
            Some(_) => AppError::TooManyAttempts { retry_after: MFA_TOKEN_SECONDS },
            None => AppError::InvalidToken,
        });
    };
    let user = results.first(user)?.ok_or(AppError::InvalidToken)?;
    let cred = results.first(cred)?;
    // The token is spent only right after this request's code or recovery
    // code was accepted (the guard after it), and the session comes with it.
    let (session, rows) = NewSession::rows(deps, &user.id, user_agent, &reserved.method)?;
    let mut then =
        vec![stmt!(sql::CONSUME_MFA_TOKEN_IF_CHANGED, &digest, now, MFA_TOKEN_ATTEMPTS), stmt!(sql::GUARD_CHANGED)];
    then.extend(rows);
    let stmts = match code {
        Ok(code) => {
            let cred = cred.ok_or_else(invalid_otp)?;
            if account.is_some_and(|a| results.changed(a) == 0) {
                return Err(locked(&cred, now));
            }
            accepted_step(deps, &reserved.user_id, &cred, code, true, then)?
        }
        Err(recovery) => {
            let digest = totp::recovery_code_digest(recovery);
            let mut stmts =
                vec![stmt!(sql::USE_RECOVERY_CODE, &reserved.user_id, digest, now), stmt!(sql::GUARD_CHANGED)];
            stmts.extend(then);
            stmts
        }
    };
    match deps.db.batch(stmts).await {
        Ok(_) => session.issue(deps, user),
        Err(DbError::Guard(_)) => Err(invalid_otp()),
        Err(e) => Err(e.into()),
    }
}
