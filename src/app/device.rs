//! Device sign-in: the OAuth 2.0 Device Authorization Grant (RFC 8628) for
//! the CLI. A client asks for a device code and a user code; a signed-in
//! person opens `/device` in the console, sees what asks (client name,
//! address, user agent, time) and approves or denies; the client's polling
//! redeems the device code, once, for a session of the person who approved.
//!
//! The person who approves is the one signed in: whoever approves a code
//! someone else started (a phishing message: "enter BCDF-GHJK at /device")
//! hands that someone a session of their own account. The console says so
//! before the buttons, and shows where the request came from.
//!
//! Both codes are stored as digests only (the user code's keyed with the
//! server's token secret, as it has only ~34 bits). Guessing user codes
//! costs a signed-in session and passes the per-client-IP limit.
use super::access::Credential;
use super::sessions::{NewSession, SessionIssued};
use super::{random, AppError, Deps, ErrorCode};
use crate::domain::device::{self, Poll, PollState, Status, UserCode};
use crate::domain::ids::IdKind;
use crate::domain::time::rfc3339;
use crate::domain::token::{self, Secret};
use crate::stmt;
use crate::store::sql::{self, DecidedDeviceRow, DevicePollRow, PendingDeviceRow, UserRow};
use crate::store::Batch;
use serde::Serialize;
use utoipa::ToSchema;

/// The `grant_type` of the token request (RFC 8628 §3.4).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How a device sign-in's session is labelled in the session list.
pub const METHOD_DEVICE: &str = "device";
/// How long the sweep keeps an expired request, so a client still polling
/// hears `expired_token` rather than `invalid_token`.
pub const SWEEP_GRACE_SECONDS: i64 = 3_600;
/// The HMAC label of stored user codes.
const USER_CODE_PURPOSE: &str = "device_user_code";

/// What a client gets when it asks to sign in (RFC 8628 §3.2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceAuthorizationIssued {
    /// Secret: poll `POST /v1/auth/device/token` with it (32 random bytes, base64url).
    pub device_code: String,
    /// What the person types at `verification_uri`: `XXXX-XXXX`, letters of `BCDFGHJKLMNPQRSTVWXZ`.
    pub user_code: String,
    /// The console page where the person approves: `{APP_URL}/device`.
    pub verification_uri: String,
    /// The same page with the code filled in: `{APP_URL}/device#user_code=XXXX-XXXX`.
    pub verification_uri_complete: String,
    /// Seconds until both codes expire (600).
    pub expires_in: i64,
    /// Seconds to wait between polls (5).
    pub interval: i64,
}

/// What the console shows before a person approves.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DevicePreview {
    /// The name the client gave (default `Latchkey CLI`).
    pub client_name: String,
    /// The address the request came from.
    pub requested_ip: Option<String>,
    /// The requesting client's `User-Agent`.
    pub requested_user_agent: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// An approval or a denial.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceDecision {
    /// `approved` or `denied`.
    pub status: &'static str,
    /// The approved client's name (approvals only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}

/// Where a request came from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Requester<'a> {
    /// `CF-Connecting-IP`.
    pub ip: Option<&'a str>,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
}

fn user_code_digest(deps: &Deps, code: &UserCode) -> String {
    token::derive(&deps.config.token_secret, USER_CODE_PURPOSE, code.canonical()).expose().to_owned()
}

/// Starts a device sign-in. One round trip (a user code that is live for
/// another request, ~1 in 10^10, is drawn again: another trip).
pub async fn request(
    deps: &Deps,
    client_name: Option<&str>,
    from: Requester<'_>,
) -> Result<DeviceAuthorizationIssued, AppError> {
    let client_name = device::client_name(client_name).map_err(AppError::field)?;
    let now = deps.now();
    let ip: Option<String> = from.ip.map(|ip| ip.trim().chars().take(64).collect());
    let agent: Option<String> = from.user_agent.map(|ua| ua.chars().take(200).collect());
    for _ in 0..3 {
        let Some(user_code) = UserCode::from_random(&random(deps.rng.as_ref())?) else { continue };
        let device_code = Secret::random(random(deps.rng.as_ref())?);
        let id = deps.new_id(IdKind::DeviceAuthorization)?;
        let user_digest = user_code_digest(deps, &user_code);
        let mut batch = Batch::new();
        batch.add(stmt!(sql::FORGET_EXPIRED_USER_CODE, &user_digest, now));
        let inserted = batch.write(stmt!(
            sql::INSERT_DEVICE_AUTHORIZATION,
            &id,
            device_code.digest(),
            &user_digest,
            &client_name,
            ip.as_deref(),
            agent.as_deref(),
            device::INTERVAL,
            now,
            now + device::EXPIRES_IN
        ));
        if batch.run(deps.db.as_ref()).await?.changed(inserted) == 0 {
            continue;
        }
        let verification_uri = format!("{}/device", deps.config.app_url);
        return Ok(DeviceAuthorizationIssued {
            device_code: device_code.expose().to_owned(),
            verification_uri_complete: format!("{verification_uri}#user_code={}", user_code.display()),
            user_code: user_code.display(),
            verification_uri,
            expires_in: device::EXPIRES_IN,
            interval: device::INTERVAL,
        });
    }
    Err(AppError::internal("no free user code in three draws"))
}

/// A client's poll (RFC 8628 §3.4–3.5). The state before the poll is read,
/// the redemption tried (one guarded statement: of two polls at once, one
/// session) and the poll recorded, in one batch; the answer is
/// `domain::device::poll` of that state. A redemption writes the session in
/// a second round trip.
pub async fn poll(deps: &Deps, raw_device_code: &str, user_agent: Option<&str>) -> Result<SessionIssued, AppError> {
    if !token::plausible(raw_device_code) {
        return Err(AppError::InvalidToken);
    }
    let now = deps.now();
    let digest = Secret::from_client(raw_device_code).digest();
    let mut batch = Batch::new();
    let before = batch.read::<DevicePollRow>(stmt!(sql::DEVICE_POLL_STATE, &digest));
    let redeemed = batch.write(stmt!(sql::REDEEM_DEVICE_AUTHORIZATION, &digest, now));
    batch.add(stmt!(sql::RECORD_DEVICE_POLL, &digest, now, device::SLOW_DOWN_STEP));
    let approver = batch.read::<UserRow>(stmt!(sql::USER_OF_DEVICE_AUTHORIZATION, &digest));
    let mut results = batch.run(deps.db.as_ref()).await?;
    let row = results.first(before)?;
    let state = match &row {
        Some(r) => Some(PollState {
            status: Status::parse(&r.status)
                .ok_or_else(|| AppError::internal(format!("device authorization status {}", r.status)))?,
            interval: r.poll_interval,
            last_polled_at: r.last_polled_at,
            expires_at: r.expires_at,
        }),
        None => None,
    };
    match device::poll(state.as_ref(), now) {
        Poll::Invalid => Err(AppError::InvalidToken),
        Poll::Expired => {
            Err(AppError::refused(ErrorCode::ExpiredToken, "the device code expired; start the sign-in again"))
        }
        Poll::SlowDown { interval } => Err(AppError::SlowDown { interval }),
        Poll::Denied => Err(AppError::refused(ErrorCode::AccessDenied, "the sign-in was denied in the console")),
        Poll::Pending => Err(AppError::refused(
            ErrorCode::AuthorizationPending,
            "nobody has approved this sign-in yet; poll again after the interval",
        )),
        Poll::Redeem => {
            let user = results.first(approver)?;
            let spent = results.changed(redeemed) == 1;
            match (user, spent) {
                (Some(user), _) if user.suspended_at.is_some() => Err(super::access::suspended()),
                (Some(user), true) => {
                    let client_name = row.map(|r| r.client_name);
                    let (session, rows) =
                        NewSession::rows_for_client(deps, &user.id, user_agent, METHOD_DEVICE, client_name.as_deref())?;
                    deps.db.batch(rows).await?;
                    session.issue(deps, user)
                }
                // Spent by another poll in the meantime, or its approver is gone.
                _ => Err(AppError::InvalidToken),
            }
        }
    }
}

/// The request a user code names, for the console, while it is pending and
/// unexpired (anything else: 400 `invalid_token`). One round trip with the
/// session check.
pub async fn preview(deps: &Deps, who: &Credential, raw_user_code: &str) -> Result<DevicePreview, AppError> {
    let code = UserCode::parse(raw_user_code);
    let mut batch = Batch::new();
    let row = code.as_ref().map(|c| {
        batch.read::<PendingDeviceRow>(stmt!(sql::PENDING_DEVICE_AUTHORIZATION, user_code_digest(deps, c), deps.now()))
    });
    let (_, mut results) = who.person_with(deps, batch).await?;
    let row = results.first_if(row)?.ok_or(AppError::InvalidToken)?;
    Ok(DevicePreview {
        client_name: row.client_name,
        requested_ip: row.requested_ip,
        requested_user_agent: row.requested_user_agent,
        created_at: rfc3339(row.created_at),
        expires_at: rfc3339(row.expires_at),
    })
}

/// What a person decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The client gets a session of this person.
    Approve,
    /// The client hears `access_denied`.
    Deny,
}

/// Approves or denies a pending, unexpired request as the signed-in person
/// (never an API key: the route is for people). One round trip: the
/// live-session guard, one guarded statement (of an approval and a denial
/// at once, exactly one wins; the other is 400 `invalid_token`), the entry
/// in the person's security log, and the client's name read back.
pub async fn decide(
    deps: &Deps,
    who: &Credential,
    raw_user_code: &str,
    decision: Decision,
) -> Result<DeviceDecision, AppError> {
    let code = UserCode::parse(raw_user_code).ok_or(AppError::InvalidToken)?;
    let digest = user_code_digest(deps, &code);
    let now = deps.now();
    let event_id = deps.new_id(IdKind::Event)?;
    let (status, action) = match decision {
        Decision::Approve => (Status::Approved, "device.approved"),
        Decision::Deny => (Status::Denied, "device.denied"),
    };
    let wrote = who
        .person_write(deps, false, |user_id, batch| {
            let decided = batch.write(stmt!(sql::DECIDE_DEVICE_AUTHORIZATION, &digest, user_id, status.as_str(), now));
            batch.add(stmt!(sql::AUDIT_DEVICE_DECISION, &digest, user_id, &event_id, now, action));
            let row = batch.read::<DecidedDeviceRow>(stmt!(sql::DECIDED_DEVICE_AUTHORIZATION, &digest, user_id));
            Ok((decided, row))
        })
        .await?;
    let (decided, row) = wrote.handles;
    let mut results = wrote.ran?;
    if results.changed(decided) == 0 {
        return Err(AppError::InvalidToken);
    }
    let row = results.first(row)?.ok_or_else(|| AppError::internal("a decided device authorization vanished"))?;
    Ok(match decision {
        Decision::Approve => DeviceDecision { status: "approved", client_name: Some(row.client_name) },
        Decision::Deny => DeviceDecision { status: "denied", client_name: None },
    })
}
