//! Accounts: sign-up with email verification, login with a per-account
//! failure limit, password change and reset, and the profile.
use super::access::Credential;
use super::error::collect_fields;
use super::messages::Job;
use super::sessions::{create_session_after, NewSession, SessionIssued, UserView, METHOD_PASSWORD};
use super::ErrorCode;
use super::{random, AppError, Deps};
use crate::domain::email::Email;
use crate::domain::ids::IdKind;
use crate::domain::name::DisplayName;
use crate::domain::oauth::Provider;
use crate::domain::password::{self, Password};
use crate::domain::time::{rfc3339, DAY, HOUR};
use crate::domain::token::{self, Secret};
use crate::domain::FieldError;
use crate::stmt;
use crate::store::sql::{ClaimableSignup, ConsumedEmailToken, IdentityRow, JoinLinkRow, UserRow, VerifyClaim};
use crate::store::{sql, Batch, DbError};
use serde::Serialize;
use utoipa::ToSchema;

/// Verification links live 24 hours.
pub const VERIFY_EMAIL_SECONDS: i64 = DAY;
/// Reset links live 1 hour.
pub const PASSWORD_RESET_SECONDS: i64 = HOUR;
/// At most this many verification (or reset) emails an hour per address.
pub const EMAILS_PER_HOUR: i64 = 5;
/// A resend's link accepts the password of a sign-up this recent…
pub const SIGNUP_CLAIM_SECONDS: i64 = 7 * DAY;
/// …among the newest this many (each a full argon2 verification).
pub const CLAIMABLE_SIGNUPS: i64 = 5;
/// Consecutive failures before an address backs off.
pub const LOGIN_FAILURE_LIMIT: i64 = 10;
/// The first back-off, doubled for each further failure.
pub const LOCK_BASE_SECONDS: i64 = 30;
/// The longest back-off.
pub const LOCK_MAX_SECONDS: i64 = 15 * 60;
/// Each 15 quiet minutes since the last failure forgive one: counts decay
/// instead of re-locking forever, while a guesser waiting out each back-off
/// stays at the longest one (one guess per 15 minutes).
pub const LOGIN_DECAY_SECONDS: i64 = 15 * 60;
/// Failure rows this old have decayed to zero (counts stay far below 96).
pub const LOGIN_FAILURE_MEMORY_SECONDS: i64 = DAY;

/// What a sign-up answers. Always the same for a new and an existing email.
#[derive(Debug)]
pub enum SignupOutcome {
    /// 202: a verification email is on its way (or, for an existing account, a notice).
    VerificationSent,
}

/// A sign-up request, raw from the client.
#[derive(Debug)]
pub struct SignupInput<'a> {
    /// Email.
    pub email: &'a str,
    /// Password.
    pub password: &'a str,
    /// Display name.
    pub name: &'a str,
    /// A join link's token: once the address is verified, the person joins
    /// through it if it still admits them.
    pub join_token: Option<&'a str>,
}

pub use crate::domain::token::{email_token, TokenPurpose};

/// How long a link of `purpose` lives.
fn lifetime(purpose: TokenPurpose) -> i64 {
    match purpose {
        TokenPurpose::VerifyEmail => VERIFY_EMAIL_SECONDS,
        TokenPurpose::PasswordReset => PASSWORD_RESET_SECONDS,
    }
}

fn hash_password(deps: &Deps, password: &str) -> Result<String, AppError> {
    let salt: [u8; 16] = random(deps.rng.as_ref())?;
    password::hash(password, &salt).map_err(|e| AppError::internal_from("hashing a password", e))
}

/// Signs up. The answer is the same whether or not the email has an account
/// (and costs the same argon2 hash); an existing account gets a notice or,
/// if unverified, a new verification link, never a second account.
pub async fn signup(deps: &Deps, input: SignupInput<'_>) -> Result<SignupOutcome, AppError> {
    let email = Email::parse(input.email);
    let password = Password::parse("password", input.password);
    let name = DisplayName::parse("name", input.name);
    collect_fields([email.as_ref().err().cloned(), password.as_ref().err().cloned(), name.as_ref().err().cloned()])?;
    let (Ok(email), Ok(password), Ok(name)) = (email, password, name) else {
        return Err(AppError::internal("unreachable: fields checked above"));
    };
    let phc = hash_password(deps, password.expose())?;
    let now = deps.now();
    let user_id = deps.new_id(IdKind::User)?;
    let token_id = deps.new_id(IdKind::EmailToken)?;
    let purpose = TokenPurpose::VerifyEmail;
    let digest = email_token(&deps.config.token_secret, purpose, &token_id).digest();
    let mut writes = vec![
        stmt!(sql::INSERT_USER, &user_id, email.as_str(), name.as_str(), &phc, None::<i64>, now),
        stmt!(
            sql::INSERT_EMAIL_TOKEN,
            &token_id,
            &user_id,
            purpose.as_str(),
            digest,
            now,
            now + lifetime(purpose),
            &phc,
            name.as_str()
        ),
    ];
    writes.extend(input.join_token.and_then(|t| super::join_links::intent_stmt(&token_id, t, now)));
    let created = deps.db.batch(writes).await;
    match created {
        Ok(_) => {
            deps.enqueue_logged(&Job::EmailToken { job_id: deps.new_id(IdKind::Job)?, token_id }).await;
        }
        Err(DbError::Unique(_)) => {
            let binding = SignupBinding { phc: &phc, name: name.as_str(), join_token: input.join_token };
            existing_account_signup(deps, &email, binding).await?
        }
        Err(e) => return Err(e.into()),
    }
    Ok(SignupOutcome::VerificationSent)
}

/// What a sign-up's verification link carries: the password and name chosen.
#[derive(Debug, Clone, Copy)]
struct SignupBinding<'a> {
    phc: &'a str,
    name: &'a str,
    /// The join link it came through, if any (bound to this link alone).
    join_token: Option<&'a str>,
}

async fn existing_account_signup(deps: &Deps, email: &Email, signup: SignupBinding<'_>) -> Result<(), AppError> {
    let user: Option<UserRow> = deps.db.run(stmt!(sql::USER_BY_EMAIL, email.as_str())).await?.first()?;
    let Some(user) = user else { return Ok(()) };
    if user.email_verified_at.is_none() {
        // The new link belongs to this sign-up: it verifies only with this
        // sign-up's password, and sets this sign-up's name (see `verify_email`).
        send_token_email(deps, email, TokenPurpose::VerifyEmail, Some(signup)).await
    } else {
        // One notice an hour at most: the job id repeats within the hour, and
        // the consumer sends a job id once.
        let hour = deps.now() / HOUR;
        let job_id = format!("job_exists_{}_{hour}", user.id);
        deps.enqueue_logged(&Job::AccountExists { job_id, user_id: user.id }).await;
        Ok(())
    }
}

/// Creates a verification or reset token for `email` (if it has an account,
/// within the hourly limit) and enqueues its email. Silent either way.
async fn send_token_email(
    deps: &Deps,
    email: &Email,
    purpose: TokenPurpose,
    signup: Option<SignupBinding<'_>>,
) -> Result<(), AppError> {
    let now = deps.now();
    let token_id = deps.new_id(IdKind::EmailToken)?;
    let digest = email_token(&deps.config.token_secret, purpose, &token_id).digest();
    let unverified_only = purpose == TokenPurpose::VerifyEmail;
    let mut batch = Batch::new();
    let inserted = batch.write(stmt!(
        sql::INSERT_EMAIL_TOKEN_LIMITED,
        &token_id,
        purpose.as_str(),
        digest,
        now,
        now + lifetime(purpose),
        email.as_str(),
        unverified_only,
        EMAILS_PER_HOUR,
        signup.map(|s| s.phc),
        signup.map(|s| s.name)
    ));
    if let Some(intent) =
        signup.and_then(|s| s.join_token).and_then(|t| super::join_links::intent_stmt(&token_id, t, now))
    {
        batch.add(intent);
    }
    if batch.run(deps.db.as_ref()).await?.changed(inserted) == 1 {
        deps.enqueue_logged(&Job::EmailToken { job_id: deps.new_id(IdKind::Job)?, token_id }).await;
    }
    Ok(())
}

/// Sends a new verification link (202 always; at most 5 an hour per address).
pub async fn resend_verification(deps: &Deps, raw_email: &str) -> Result<(), AppError> {
    match Email::parse(raw_email) {
        Ok(email) => send_token_email(deps, &email, TokenPurpose::VerifyEmail, None).await,
        // 202 always: a malformed address simply has no account.
        Err(_) => Ok(()),
    }
}

impl VerifyClaim {
    /// A sign-up's link: that sign-up only. A resend's link: any recent
    /// sign-up of the address.
    fn candidates(&self) -> Result<Vec<ClaimableSignup>, AppError> {
        if let Some(hash) = &self.bound_hash {
            return Ok(vec![ClaimableSignup { hash: hash.clone(), name: self.bound_name.clone() }]);
        }
        let raw = self.claimable_signups.as_deref().unwrap_or("[]");
        serde_json::from_str(raw).map_err(|e| AppError::internal_from("reading claimable sign-ups", e))
    }
}

fn password_mismatch() -> AppError {
    AppError::refused(
        ErrorCode::PasswordMismatch,
        "password: this is not the password chosen when signing up with this address",
    )
}

/// Verifies the email behind a link. The link proves the inbox; the password
/// proves which sign-up the verifier made, and becomes the account's. So a
/// stranger's earlier or later sign-up never sets the password of whoever
/// verifies (pre-account takeover). A missing or wrong password changes
/// nothing and keeps the link alive. Every other verification and reset link
/// of the account ends; an already verified account gets no session.
pub async fn verify_email(
    deps: &Deps,
    raw_token: &str,
    raw_password: Option<&str>,
    user_agent: Option<&str>,
) -> Result<LoginOutcome, AppError> {
    if !token::plausible(raw_token) {
        return Err(AppError::InvalidToken);
    }
    let now = deps.now();
    let digest = Secret::from_client(raw_token).digest();
    let mut first = Batch::new();
    let claim = first.read::<VerifyClaim>(stmt!(
        sql::VERIFY_TOKEN_CLAIM,
        &digest,
        now,
        SIGNUP_CLAIM_SECONDS,
        CLAIMABLE_SIGNUPS
    ));
    // An org that signs in this address through SSO: the inbox is proven,
    // but the session comes from its provider.
    let sso = first.read::<sql::SsoRequirementRow>(stmt!(sql::SSO_REQUIREMENT_OF_VERIFY_TOKEN, &digest));
    let mut read = first.run(deps.db.as_ref()).await?;
    let claim = read.first(claim)?.ok_or(AppError::InvalidToken)?;
    let sso_refusal = super::sso::refusal(read.first(sso)?).err();
    let password = match raw_password {
        Some(p) if !p.is_empty() => p,
        _ => {
            return Err(AppError::field(crate::domain::FieldError::new(
                "password",
                "required",
                "is required: the password chosen when signing up",
            )))
        }
    };
    if password.chars().count() > password::MAX_CHARS {
        return Err(password_mismatch());
    }
    let matched = claim.candidates()?.into_iter().find(|c| password::verify(password, &c.hash));
    let Some(signup) = matched else { return Err(password_mismatch()) };
    let mut batch = Batch::new();
    batch.add(stmt!(sql::CONSUME_VERIFY_TOKEN, &claim.token_id, now));
    batch.add(stmt!(sql::GUARD_CHANGED));
    batch.add(stmt!(sql::VERIFY_ACCOUNT, &claim.user_id, &signup.hash, now, signup.name));
    batch.add(stmt!(sql::END_EMAIL_TOKENS, &claim.user_id, now));
    // The inbox is proven and the password chosen: any login back-off ends.
    batch.add(stmt!(sql::CLEAR_LOGIN_FAILURES, login_key(&claim.email)));
    let user = batch.read::<UserRow>(stmt!(sql::USER_BY_ID, &claim.user_id));
    // A sign-up through a join link: the link, read once the address is verified.
    let link = batch.read::<JoinLinkRow>(stmt!(sql::JOIN_LINK_OF_SIGNUP, &claim.token_id, &claim.user_id));
    // The session (or, with 2FA on, the MFA token: an emailed link never
    // skips the second factor) is written in the same batch: two round trips.
    let next = if sso_refusal.is_some() {
        None
    } else if claim.totp_enabled != 0 {
        let (token, row) = super::totp::mfa_token_row(deps, &claim.user_id, user_agent, METHOD_PASSWORD)?;
        batch.add(row);
        Some(Err(token))
    } else {
        let (session, rows) = NewSession::rows(deps, &claim.user_id, user_agent, METHOD_PASSWORD)?;
        rows.into_iter().for_each(|row| batch.add(row));
        Some(Ok(session))
    };
    let mut results = match batch.run(deps.db.as_ref()).await {
        Ok(results) => results,
        // Another request verified the account (or spent this link) first.
        Err(DbError::Guard(_)) => return Err(AppError::InvalidToken),
        Err(e) => return Err(e.into()),
    };
    let user: UserRow = results.first(user)?.ok_or(AppError::InvalidToken)?;
    if let Some(link) = results.first(link)? {
        // One more round trip, only for sign-ups through a join link.
        super::join_links::join_after_signup(deps, &user, &claim.token_id, link).await;
    }
    match (next, sso_refusal) {
        (Some(Ok(session)), _) => Ok(LoginOutcome::Session(Box::new(session.issue(deps, user)?))),
        (Some(Err(mfa_token)), _) => Ok(LoginOutcome::MfaRequired { mfa_token }),
        (None, Some(refused)) => Err(refused),
        (None, None) => Err(AppError::internal("a verification with neither a session nor a refusal")),
    }
}

/// What a correct login leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Signed in.
    Session(Box<SessionIssued>),
    /// The password was right; a second factor is needed with this token.
    MfaRequired {
        /// Single use, 5 minutes.
        mfa_token: String,
    },
}

/// The key of an address's failure counter: SHA-256 of the address as
/// [`Email::parse`] normalises it (trimmed, lowercased), also for strings
/// that are no address, so every login attempt is counted the same way.
fn login_key(raw_email: &str) -> String {
    token::sha256_hex(raw_email.trim().to_lowercase().as_bytes())
}

/// Logs in. Unknown email and wrong password answer alike and cost the same
/// argon2 verification. Every attempt is counted per address (hashed)
/// before the password is checked, with or without an account, in the same
/// D1 round trip that reads the user: an unknown address backs off exactly
/// like an account (same status, code, headers and statements), and
/// parallel guesses cannot get past the limit. A success resets the count.
pub async fn login(
    deps: &Deps,
    raw_email: &str,
    raw_password: &str,
    user_agent: Option<&str>,
) -> Result<LoginOutcome, AppError> {
    // Bounded before any work: a 1 MB "password" must not cost a hash.
    if raw_password.chars().count() > password::MAX_CHARS || raw_email.len() > 320 {
        return Err(AppError::InvalidCredentials);
    }
    let now = deps.now();
    let key = login_key(raw_email);
    let normalised = raw_email.trim().to_lowercase();
    let mut batch = Batch::new();
    batch.add(stmt!(sql::FORGET_LOGIN_FAILURES, now - LOGIN_FAILURE_MEMORY_SECONDS));
    let reserved = batch.read::<sql::Reserved>(sql::reserve_login_failure(
        &key,
        now,
        &sql::Backoff {
            limit: LOGIN_FAILURE_LIMIT,
            base_seconds: LOCK_BASE_SECONDS,
            max_seconds: LOCK_MAX_SECONDS,
            decay_seconds: LOGIN_DECAY_SECONDS,
        },
    ));
    let state = batch.read::<sql::FailureState>(stmt!(sql::LOGIN_FAILURE_STATE, &key));
    let user = batch.read::<UserRow>(stmt!(sql::USER_BY_EMAIL, &normalised));
    let sso = batch.read::<sql::SsoRequirementRow>(stmt!(sql::SSO_REQUIREMENT, &normalised));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let user = results.first(user)?;
    let state = results.first(state)?;
    if results.first(reserved)?.is_none() {
        let retry_after = state.and_then(|s| s.locked_until).map_or(LOCK_BASE_SECONDS, |until| (until - now).max(1));
        return Err(AppError::TooManyAttempts { retry_after });
    }
    let phc = user.as_ref().and_then(|u| u.password_hash.clone());
    // The dummy hash costs what a real one does, so no timing tells them apart.
    let right = password::verify(raw_password, phc.as_deref().unwrap_or(password::DUMMY_HASH)) && phc.is_some();
    let (Some(user), Some(phc)) = (user.filter(|_| right), phc) else {
        return Err(AppError::InvalidCredentials);
    };
    if user.email_verified_at.is_none() {
        deps.db.run(stmt!(sql::CLEAR_LOGIN_FAILURES, &key)).await?;
        return Err(AppError::EmailNotVerified);
    }
    // Told only to whoever knows the password.
    if user.suspended_at.is_some() {
        deps.db.run(stmt!(sql::CLEAR_LOGIN_FAILURES, &key)).await?;
        return Err(super::access::suspended());
    }
    // Told only to whoever knows the password: the org signs this address
    // in through SSO (an owner with 2FA keeps a way in).
    if let Err(e) = super::sso::refusal(results.first(sso)?) {
        deps.db.run(stmt!(sql::CLEAR_LOGIN_FAILURES, &key)).await?;
        return Err(e);
    }
    // The counter's reset (and a stronger hash) travel with the session or
    // the MFA token: the second and last round trip.
    let mut writes = vec![stmt!(sql::CLEAR_LOGIN_FAILURES, &key)];
    if password::needs_rehash(&phc) {
        writes.push(stmt!(sql::SET_PASSWORD_HASH, &user.id, hash_password(deps, raw_password)?, now));
    }
    if user.totp_enabled != 0 {
        let mfa_token = super::totp::issue_mfa_token_after(deps, writes, &user, user_agent, METHOD_PASSWORD).await?;
        return Ok(LoginOutcome::MfaRequired { mfa_token });
    }
    let session = create_session_after(deps, writes, user, user_agent, METHOD_PASSWORD).await?;
    Ok(LoginOutcome::Session(Box::new(session)))
}

/// Emails a reset link if the address has an account (202 always).
pub async fn request_password_reset(deps: &Deps, raw_email: &str) -> Result<(), AppError> {
    match Email::parse(raw_email) {
        Ok(email) => send_token_email(deps, &email, TokenPurpose::PasswordReset, None).await,
        Err(_) => Ok(()),
    }
}

/// How far back a password reset looks for sign-in methods to end: someone
/// holding a fresh session (10 minutes) could have linked their own provider.
pub const RESET_UNLINKS_WITHIN: i64 = 7 * DAY;

/// What a reset link's screen shows before the new password is set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResetPreview {
    /// Providers linked in the 7 days before now: the reset unlinks them
    /// unless the person keeps them (`keep_identities`).
    pub recent_identities: Vec<RecentIdentity>,
}

/// A recently linked provider.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecentIdentity {
    /// `github`, `google` or `gitlab`.
    pub provider: String,
    /// The address the provider last gave, if any.
    pub email: Option<String>,
    /// RFC 3339.
    pub linked_at: String,
}

/// Reads a live reset link without spending it: the providers a reset would unlink.
pub async fn preview_password_reset(deps: &Deps, raw_token: &str) -> Result<ResetPreview, AppError> {
    if !token::plausible(raw_token) {
        return Err(AppError::InvalidToken);
    }
    let digest = Secret::from_client(raw_token).digest();
    let now = deps.now();
    let row: Option<ConsumedEmailToken> =
        deps.db.run(stmt!(sql::PEEK_EMAIL_TOKEN, now, digest, TokenPurpose::PasswordReset.as_str())).await?.first()?;
    let user_id = row.ok_or(AppError::InvalidToken)?.user_id;
    let rows: Vec<IdentityRow> =
        deps.db.run(stmt!(sql::RECENT_IDENTITIES, &user_id, now - RESET_UNLINKS_WITHIN)).await?.decode()?;
    Ok(ResetPreview {
        recent_identities: rows
            .into_iter()
            .map(|r| RecentIdentity { provider: r.provider, email: r.email, linked_at: rfc3339(r.created_at) })
            .collect(),
    })
}

/// Sets a new password from a reset link, revokes every session, ends every
/// other verification and reset link, and unlinks the providers linked in the
/// 7 days before (a thief's way back in) but those in `keep_identities`.
pub async fn confirm_password_reset(
    deps: &Deps,
    raw_token: &str,
    new_password: &str,
    keep_identities: &[String],
) -> Result<(), AppError> {
    // Check the input first: a refused password must not burn the link.
    let password = Password::parse("new_password", new_password)?;
    if let Some(bad) = keep_identities.iter().find(|p| Provider::parse(p).is_none()) {
        let message = format!("unknown provider {bad:?}: github, google or gitlab");
        return Err(AppError::field(FieldError::new("keep_identities", "invalid_provider", message)));
    }
    let phc = hash_password(deps, password.expose())?;
    // The link is spent with its account's address read (for the login
    // back-off's key): the reset is the second and last round trip.
    if !token::plausible(raw_token) {
        return Err(AppError::InvalidToken);
    }
    let digest = Secret::from_client(raw_token).digest();
    let mut first = Batch::new();
    let spent = first.read::<ConsumedEmailToken>(stmt!(
        sql::CONSUME_EMAIL_TOKEN,
        deps.now(),
        &digest,
        TokenPurpose::PasswordReset.as_str()
    ));
    let email = first.read::<EmailRow>(stmt!(sql::EMAIL_OF_EMAIL_TOKEN, &digest));
    let mut read = first.run(deps.db.as_ref()).await?;
    let user_id = read.first(spent)?.ok_or(AppError::InvalidToken)?.user_id;
    let email = read.first(email)?.map(|e| e.email);
    let now = deps.now();
    // Provider names are parsed above, so none holds a comma.
    let keep = format!(",{},", keep_identities.join(","));
    let mut batch = Batch::new();
    batch.add(stmt!(sql::RESET_PASSWORD, &user_id, phc, now));
    batch.add(stmt!(sql::REVOKE_ALL_SESSIONS, &user_id, now));
    batch.add(stmt!(sql::END_EMAIL_TOKENS, &user_id, now));
    batch.add(stmt!(sql::DELETE_RECENT_IDENTITIES, &user_id, now - RESET_UNLINKS_WITHIN, keep));
    // The inbox is proven and the password new: the login back-off ends too.
    if let Some(email) = email {
        batch.add(stmt!(sql::CLEAR_LOGIN_FAILURES, login_key(&email)));
    }
    batch.run(deps.db.as_ref()).await?;
    Ok(())
}

/// An account's address.
#[derive(Debug, serde::Deserialize)]
struct EmailRow {
    email: String,
}

/// Changes my password; every other session and every outstanding
/// verification and reset link end.
pub async fn change_password(deps: &Deps, who: &Credential, current: &str, new_password: &str) -> Result<(), AppError> {
    // The stored hash rides along with the session check; the write waits
    // for the hash of the new password (a second trip).
    let mut batch = Batch::new();
    let user = who.user_id().map(|id| batch.read::<UserRow>(stmt!(sql::USER_BY_ID, id)));
    let (who, mut results) = who.person_with(deps, batch).await?;
    let password = Password::parse("new_password", new_password)?;
    let user = results.first_if(user)?;
    let phc = user.and_then(|u| u.password_hash).unwrap_or_else(|| password::DUMMY_HASH.to_owned());
    if current.chars().count() > password::MAX_CHARS || !password::verify(current, &phc) {
        return Err(AppError::InvalidCredentials);
    }
    let new_phc = hash_password(deps, password.expose())?;
    let now = deps.now();
    deps.db
        .batch(vec![
            stmt!(sql::SET_PASSWORD_HASH, &who.user.id, new_phc, now),
            stmt!(sql::REVOKE_OTHER_SESSIONS, &who.user.id, &who.session_id, now),
            stmt!(sql::END_EMAIL_TOKENS, &who.user.id, now),
        ])
        .await?;
    Ok(())
}

/// My profile.
pub async fn get_me(deps: &Deps, who: &Credential) -> Result<UserView, AppError> {
    let user = who.person(deps).await?.user;
    let admin = super::admin::is_admin(deps, &user.email);
    Ok(UserView { platform_admin: admin.then_some(true), ..user.view() })
}

/// Renames me.
pub async fn update_me(deps: &Deps, who: &Credential, raw_name: &str) -> Result<UserView, AppError> {
    let name = DisplayName::parse("name", raw_name)?;
    let now = deps.now();
    let wrote = who
        .person_write(deps, false, |user_id, batch| {
            Ok(batch.read::<UserRow>(stmt!(sql::UPDATE_USER_NAME, user_id, name.as_str(), now)))
        })
        .await?;
    let user: Option<UserRow> = wrote.ran?.first(wrote.handles)?;
    user.map(|u| u.view()).ok_or(AppError::NotFound)
}
