//! Signing in from a terminal: the OAuth 2.0 device authorization grant
//! (RFC 8628). `POST /v1/auth/device` hands out a user code and a URL to
//! approve it at (the console's `/device`); the client polls
//! `POST /v1/auth/device/token` until the person approves (a session),
//! denies, or the code expires.
use std::time::Duration;

pub use latchkey::app::device::{DeviceAuthorizationIssued as DeviceAuthorization, GRANT_TYPE as DEVICE_GRANT_TYPE};
pub use latchkey::http::handlers::device::{DeviceRequestBody, DeviceTokenBody};

use crate::{api_error, method, Auth, Client, Error, SessionIssued, Tokens};

/// RFC 8628 §3.5: a `slow_down` without a new interval adds 5 seconds.
const SLOW_DOWN_STEP: u64 = 5;

/// One poll's outcome, when it is not a refusal.
#[derive(Debug, Clone)]
pub enum DevicePoll {
    /// `authorization_pending`: not yet approved; poll again.
    Pending,
    /// `slow_down`: poll less often, every this many seconds from now on.
    SlowDown(u64),
    /// Approved: the new session.
    Approved(Box<SessionIssued>),
}

impl Client {
    /// `POST /v1/auth/device`: starts a sign-in to be approved in the console.
    pub fn device_start(&self, client_name: Option<&str>) -> Result<DeviceAuthorization, Error> {
        let body = DeviceRequestBody { client_name: client_name.map(str::to_owned) };
        self.json(method::POST, "/v1/auth/device", Some(&body))
    }

    /// `POST /v1/auth/device/token` once. `expired_token`, `access_denied`,
    /// `invalid_token` (and anything else) are errors: stop polling.
    pub fn device_poll(&self, grant: &DeviceAuthorization, interval: u64) -> Result<DevicePoll, Error> {
        let body =
            DeviceTokenBody { device_code: grant.device_code.clone(), grant_type: Some(DEVICE_GRANT_TYPE.to_owned()) };
        match self.json::<SessionIssued>(method::POST, "/v1/auth/device/token", Some(&body)) {
            Ok(session) => Ok(DevicePoll::Approved(Box::new(session))),
            Err(Error::Api(e)) if e.status == 400 && e.code == "authorization_pending" => Ok(DevicePoll::Pending),
            Err(Error::Api(e)) if e.status == 400 && e.code == "slow_down" => {
                let given = e.body.get("interval").and_then(serde_json::Value::as_u64);
                Ok(DevicePoll::SlowDown(given.unwrap_or(interval + SLOW_DOWN_STEP)))
            }
            Err(e) => Err(e),
        }
    }

    /// Polls at the grant's interval (`sleep` waits; tests pass their own)
    /// until the person approves, then holds the new session and returns it.
    pub fn device_wait(
        &self,
        grant: &DeviceAuthorization,
        sleep: impl FnMut(Duration),
    ) -> Result<SessionIssued, Error> {
        let session = wait_with(grant, sleep, |interval| self.device_poll(grant, interval))?;
        self.set_auth(Auth::Session(Tokens::from(&session)));
        Ok(session)
    }
}

/// The polling loop: wait the interval, poll, obey `slow_down`, give up
/// with `expired_token` once the codes' lifetime has been waited out.
fn wait_with(
    grant: &DeviceAuthorization,
    mut sleep: impl FnMut(Duration),
    mut poll: impl FnMut(u64) -> Result<DevicePoll, Error>,
) -> Result<SessionIssued, Error> {
    let mut interval = u64::try_from(grant.interval).unwrap_or(0).max(1);
    let lifetime = u64::try_from(grant.expires_in).unwrap_or(0);
    let mut waited = 0u64;
    loop {
        if waited >= lifetime {
            let detail = r#"{"code":"expired_token","detail":"the code expired before it was approved"}"#;
            return Err(Error::Api(api_error(400, detail)));
        }
        sleep(Duration::from_secs(interval));
        waited += interval;
        match poll(interval)? {
            DevicePoll::Pending => {}
            DevicePoll::SlowDown(next) => interval = next.max(interval),
            DevicePoll::Approved(session) => return Ok(*session),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires_in: i64, interval: i64) -> DeviceAuthorization {
        DeviceAuthorization {
            device_code: "dc".into(),
            user_code: "BCDF-GHJK".into(),
            verification_uri: "http://x/device".into(),
            verification_uri_complete: "http://x/device#user_code=BCDF-GHJK".into(),
            expires_in,
            interval,
        }
    }

    fn session() -> SessionIssued {
        serde_json::from_value(serde_json::json!({
            "access_token": "at", "token_type": "Bearer", "expires_in": 900, "refresh_token": "rt",
            "user": {"id": "usr_1", "email": "a@example.com", "name": "A", "email_verified": true,
                     "totp_enabled": false, "created_at": "2026-12-06T00:00:00Z"}
        }))
        .unwrap()
    }

    #[test]
    fn pending_polls_again_and_slow_down_stretches_the_interval() {
        let mut slept = Vec::new();
        let mut answers = vec![
            Ok(DevicePoll::Pending),
            Ok(DevicePoll::SlowDown(10)),
            Ok(DevicePoll::Pending),
            Ok(DevicePoll::Approved(Box::new(session()))),
        ]
        .into_iter();
        let s = wait_with(&grant(600, 5), |d| slept.push(d.as_secs()), |_| answers.next().unwrap()).unwrap();
        assert_eq!(s.access_token, "at");
        assert_eq!(slept, [5, 5, 10, 10]);
    }

    #[test]
    fn slow_down_without_an_interval_adds_five_seconds() {
        // What device_poll answers for a slow_down body without `interval`.
        let e = api_error(400, r#"{"code":"slow_down","detail":"slow"}"#);
        let given = e.body.get("interval").and_then(serde_json::Value::as_u64);
        assert_eq!(given.unwrap_or(7 + SLOW_DOWN_STEP), 12);
        // A slow_down never shortens the interval.
        let mut slept = Vec::new();
        let mut answers = vec![Ok(DevicePoll::SlowDown(1)), Ok(DevicePoll::Approved(Box::new(session())))].into_iter();
        wait_with(&grant(600, 5), |d| slept.push(d.as_secs()), |_| answers.next().unwrap()).unwrap();
        assert_eq!(slept, [5, 5]);
    }

    #[test]
    fn a_refusal_stops_polling_and_the_lifetime_ends_it() {
        let mut polls = 0;
        let denied = wait_with(
            &grant(600, 5),
            |_| {},
            |_| {
                polls += 1;
                Err(Error::Api(api_error(400, r#"{"code":"access_denied","detail":"no"}"#)))
            },
        );
        assert_eq!(denied.unwrap_err().api().unwrap().code, "access_denied");
        assert_eq!(polls, 1);

        let mut polls = 0;
        let expired = wait_with(
            &grant(12, 5),
            |_| {},
            |_| {
                polls += 1;
                Ok(DevicePoll::Pending)
            },
        );
        assert_eq!(expired.unwrap_err().api().unwrap().code, "expired_token");
        assert_eq!(polls, 3, "polled at 5, 10 and 15 s; no fourth after 12 s had passed");
    }

    #[test]
    fn the_poll_body_names_the_grant_type() {
        let body = DeviceTokenBody { device_code: "dc".into(), grant_type: Some(DEVICE_GRANT_TYPE.into()) };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"device_code": "dc", "grant_type": "urn:ietf:params:oauth:grant-type:device_code"})
        );
    }
}
