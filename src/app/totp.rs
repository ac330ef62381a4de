//! Two-factor authentication: enrolment with a QR code, confirmation with
//! recovery codes, disabling, regeneration, and the second step of a login.
//! A time step is accepted once (guarded UPDATE on `last_step`), so a code
//! cannot succeed twice, even from parallel requests.
use super::access::Credential;
use super::auth::UserPrincipal;
use super::sessions::{create_session_via, SessionIssued, METHOD_PASSWORD};
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

/// The person and their TOTP credential, read in the same round trip.
async fn with_credential(deps: &Deps, who: &Credential) -> Result<(UserPrincipal, Option<TotpCredential>), AppError> {
    let mut batch = Batch::new();
    let cred = who.user_id().map(|u| batch.read::<TotpCredential>(stmt!(sql::TOTP_CREDENTIAL, u)));
    let (who, mut results) = who.person_with(deps, batch).await?;
    let cred = match cred {
        Some(c) => results.first(c)?,
        None => None,
    };
    Ok((who, cred))
}

/// Checks `code` for the user and accepts its time step in `first` (a batch
/// whose first statement is the guarded step update); the rest of the batch
/// runs in the same transaction. Returns whether the step was accepted.
async fn accept_code(
    deps: &Deps,
    user_id: &str,
    cred: Option<TotpCredential>,
    code: &str,
    confirmed_only: bool,
    then: Vec<Stmt>,
) -> Result<(), AppError> {
    let now = deps.now();
    let cred = cred.ok_or_else(invalid_otp)?;
    if confirmed_only && cred.confirmed_at.is_none() {
        return Err(invalid_otp());
    }
    // Count the attempt first (one guarded statement): parallel guesses
    // cannot get past the account's limit.
    let reserved = deps
        .db
        .run(stmt!(
            sql::RESERVE_TOTP_ATTEMPT,
            user_id,
            now,
            ACCOUNT_ATTEMPTS,
            ACCOUNT_LOCK_SECONDS,
            ACCOUNT_DECAY_SECONDS
        ))
        .await?;
    if reserved.changes == 0 {
        let retry_after = cred.locked_until.map_or(ACCOUNT_LOCK_SECONDS, |until| (until - now).max(1));
        return Err(AppError::TooManyAttempts { retry_after });
    }
    let (secret, stale) = totp::open_secret(key(deps), user_id, &cred.secret_enc)
        .map_err(|_| AppError::internal(format!("TOTP secret of {user_id} does not decrypt")))?;
    let Some(step) = totp::verify(&secret, code, now, cred.last_step) else {
        return Err(invalid_otp());
    };
    // The guard right after the step update rolls the whole batch back if
    // another request accepted this step (or a later one) first: a replay
    // then changes nothing at all.
    let mut stmts = vec![stmt!(sql::ACCEPT_TOTP_STEP, user_id, step, confirmed_only), stmt!(sql::GUARD_CHANGED)];
    stmts.extend(then);
    // A secret sealed under the previous key, or before key ids, is sealed
    // again under the current key in the same transaction (guarded on the
    // value read: a concurrent re-enrolment is never overwritten).
    if stale {
        let fresh = totp::seal_secret(key(deps), user_id, random(deps.rng.as_ref())?, &secret);
        stmts.push(stmt!(sql::RESEAL_TOTP_SECRET, user_id, fresh, &cred.secret_enc));
    }
    match deps.db.batch(stmts).await {
        Ok(_) => Ok(()),
        Err(DbError::Guard(_)) => Err(invalid_otp()),
        Err(e) => Err(e.into()),
    }
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

/// Confirms enrolment with a first code: 2FA is on, and 10 recovery codes are shown once.
pub async fn confirm(deps: &Deps, who: &Credential, code: &str) -> Result<RecoveryCodes, AppError> {
    let (who, cred) = with_credential(deps, who).await?;
    let (codes, mut then) = new_codes(deps, &who.user.id)?;
    let now = deps.now();
    then.insert(0, stmt!(sql::CONFIRM_TOTP, &who.user.id, now));
    then.insert(1, stmt!(sql::SET_TOTP_ENABLED, &who.user.id, true, now));
    accept_code(deps, &who.user.id, cred, code, false, then).await?;
    Ok(RecoveryCodes { recovery_codes: codes })
}

/// Turns 2FA off (needs a current code).
pub async fn disable(deps: &Deps, who: &Credential, code: &str) -> Result<(), AppError> {
    let (who, cred) = with_credential(deps, who).await?;
    let now = deps.now();
    let then = vec![
        stmt!(sql::DELETE_RECOVERY_CODES, &who.user.id),
        stmt!(sql::SET_TOTP_ENABLED, &who.user.id, false, now),
        stmt!(sql::DELETE_TOTP, &who.user.id),
    ];
    accept_code(deps, &who.user.id, cred, code, true, then).await?;
    Ok(())
}

/// Replaces the recovery codes (needs a current code); the old ones die.
pub async fn regenerate_recovery_codes(deps: &Deps, who: &Credential, code: &str) -> Result<RecoveryCodes, AppError> {
    let (who, cred) = with_credential(deps, who).await?;
    let (codes, then) = new_codes(deps, &who.user.id)?;
    accept_code(deps, &who.user.id, cred, code, true, then).await?;
    Ok(RecoveryCodes { recovery_codes: codes })
}

/// The first step of a login with 2FA on: a single-use token for the second.
pub async fn issue_mfa_token(deps: &Deps, user: &UserRow, user_agent: Option<&str>) -> Result<String, AppError> {
    issue_mfa_token_via(deps, user, user_agent, METHOD_PASSWORD).await
}

/// [`issue_mfa_token`] for a first step other than a password (`oauth:<provider>`);
/// the session the second step opens records it.
pub async fn issue_mfa_token_via(
    deps: &Deps,
    user: &UserRow,
    user_agent: Option<&str>,
    method: &str,
) -> Result<String, AppError> {
    let token = Secret::random(random(deps.rng.as_ref())?);
    let now = deps.now();
    let ua: Option<String> = user_agent.map(|u| u.chars().take(200).collect());
    deps.db
        .run(stmt!(sql::INSERT_MFA_TOKEN, token.digest(), &user.id, now, now + MFA_TOKEN_SECONDS, ua, method))
        .await?;
    Ok(token.expose().to_owned())
}

/// The second step: a TOTP code or a recovery code for a live MFA token.
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
    let now = deps.now();
    let digest = Secret::from_client(raw_token).digest();
    // Count the attempt before checking the code (one guarded statement), so
    // parallel guesses cannot exceed the limit.
    let reserved: Option<ReservedMfaToken> =
        deps.db.run(stmt!(sql::RESERVE_MFA_ATTEMPT, &digest, now, MFA_TOKEN_ATTEMPTS)).await?.first()?;
    let Some(live) = reserved else {
        let exists: Option<MfaTokenUser> = deps.db.run(stmt!(sql::LIVE_MFA_TOKEN, &digest, now)).await?.first()?;
        return Err(match exists {
            Some(_) => AppError::TooManyAttempts { retry_after: MFA_TOKEN_SECONDS },
            None => AppError::InvalidToken,
        });
    };
    let consume = stmt!(sql::CONSUME_MFA_TOKEN_IF_CHANGED, &digest, now, MFA_TOKEN_ATTEMPTS);
    let accepted = match (code, recovery_code) {
        (Some(code), None) => {
            // The guard after the consume rolls everything back unless the
            // token was spent by this request: success means it was.
            let cred = deps.db.run(stmt!(sql::TOTP_CREDENTIAL, &live.user_id)).await?.first()?;
            accept_code(deps, &live.user_id, cred, code, true, vec![consume, stmt!(sql::GUARD_CHANGED)]).await?;
            true
        }
        (None, Some(recovery)) => {
            let result = deps
                .db
                .batch(vec![
                    stmt!(sql::USE_RECOVERY_CODE, &live.user_id, totp::recovery_code_digest(recovery), now),
                    stmt!(sql::GUARD_CHANGED),
                    consume,
                    stmt!(sql::GUARD_CHANGED),
                ])
                .await;
            match result {
                Ok(_) => true,
                Err(DbError::Guard(_)) => return Err(invalid_otp()),
                Err(e) => return Err(e.into()),
            }
        }
        _ => {
            return Err(AppError::field(crate::domain::FieldError::new(
                "code",
                "one_required",
                "give exactly one of code and recovery_code",
            )))
        }
    };
    if !accepted {
        return Err(AppError::InvalidToken);
    }
    let user: Option<UserRow> = deps.db.run(stmt!(sql::USER_BY_ID, &live.user_id)).await?.first()?;
    create_session_via(deps, user.ok_or(AppError::InvalidToken)?, user_agent, &live.method).await
}
