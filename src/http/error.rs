//! [`AppError`] → RFC 9457 problem+json, in one place: the only code that
//! knows which HTTP status an [`ErrorCode`] answers.
use super::Response;
use crate::app::{log_error, AppError, ErrorCode};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document (`application/problem+json`); `code` is stable.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `about:blank`.
    #[schema(example = "about:blank")]
    pub r#type: &'static str,
    /// Short summary of the code.
    pub title: &'static str,
    /// The HTTP status, repeated.
    pub status: u16,
    /// Human-readable explanation.
    pub detail: String,
    /// Stable machine-readable code clients switch on.
    pub code: ErrorCode,
    /// The broken field rules (`validation_failed`, `password_too_common` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldProblem>>,
    /// `slow_down` only (device sign-in): the polling interval from now
    /// on, in seconds (RFC 8628 §3.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
}

/// One broken field rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The request field, e.g. `email`.
    pub field: &'static str,
    /// A machine-readable code for the rule, e.g. `invalid_email`.
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
}

/// The HTTP status and title of a code. Exhaustive: a new code does not
/// compile until it has both.
pub fn status_and_title(code: ErrorCode) -> (u16, &'static str) {
    use ErrorCode as C;
    match code {
        C::InvalidJson => (400, "Malformed JSON"),
        C::ValidationFailed => (422, "Validation failed"),
        C::PasswordTooCommon => (422, "Password too common"),
        C::PayloadTooLarge => (413, "Payload too large"),
        C::Unauthenticated => (401, "Authentication required"),
        C::InvalidCredentials => (401, "Invalid email or password"),
        C::InvalidToken => (400, "Invalid or expired token"),
        C::EmailNotVerified => (403, "Email not verified"),
        C::Forbidden => (403, "Forbidden"),
        C::NotFound => (404, "Not found"),
        C::MethodNotAllowed => (405, "Method not allowed"),
        C::TooManyAttempts => (429, "Too many attempts"),
        C::RateLimited => (429, "Rate limited"),
        C::UserRequired => (403, "A person is required"),
        C::ScopeNotAllowedForKeys => (422, "Scope not allowed for API keys"),
        C::ApiKeyPolicyViolation => (422, "Beyond the API key policy"),
        C::ApiKeyInUrl => (400, "API key in URL"),
        C::InternalError => (500, "Internal error"),
        C::OidcInvalidToken => (401, "OIDC token invalid"),
        C::OidcUnknownIssuer => (401, "Unknown OIDC issuer"),
        C::OidcIssuerUnavailable => (401, "OIDC issuer unavailable"),
        C::OidcTokenExpired => (401, "OIDC token expired"),
        C::OidcTokenNotYetValid => (401, "OIDC token not yet valid"),
        C::OidcAudienceMismatch => (401, "OIDC audience mismatch"),
        C::OidcConditionMismatch => (401, "OIDC condition mismatch"),
        C::OidcTokenReplayed => (401, "OIDC token replayed"),
        C::OidcForkRefused => (401, "OIDC token from a fork"),
        C::OidcPolicyCreatorLacksScope => (401, "Policy creator lacks scope"),
        C::PasswordMismatch => (401, "Password mismatch"),
        C::TwoFactorRequired => (403, "Two-factor authentication required"),
        C::CannotRemoveOwner => (409, "Cannot remove an owner"),
        C::LastOwner => (409, "Last owner"),
        C::Conflict => (409, "Conflict"),
        C::AccessThroughGrant => (409, "Access through a grant"),
        C::GrantExists => (409, "Grant exists"),
        C::OrgNotFound => (404, "Organization not found"),
        C::GrantRefused => (403, "Grant refused"),
        C::InstallLinkNotFound => (404, "Install link not found"),
        C::InstallLinkUnavailable => (410, "Install link unavailable"),
        C::JoinLinkNotFound => (404, "Join link not found"),
        C::JoinLinkUnavailable => (410, "Join link unavailable"),
        C::JoinLinkDomainMismatch => (403, "Email domain not allowed"),
        C::AccountSuspended => (403, "Account suspended"),
        C::PlatformAdminRequired => (403, "Platform administrator required"),
        C::MembershipRequestExists => (409, "Membership request pending"),
        C::MembershipRequestNotPending => (409, "Membership request not pending"),
        C::InvalidApiKey => (401, "Invalid API key"),
        C::ScopeExceedsRole => (403, "Scope exceeds role"),
        C::ApiKeyNotActive => (409, "API key not active"),
        C::ApiKeyRequired => (400, "API key required"),
        C::CannotInviteSelf => (403, "Cannot invite yourself"),
        C::InvitationExists => (409, "Invitation exists"),
        C::RoleInUse => (409, "Role in use"),
        C::RoleExists => (409, "Role exists"),
        C::RoleLimitReached => (409, "Too many roles"),
        C::BuiltinRole => (409, "Built-in role"),
        C::AlreadyMember => (409, "Already a member"),
        C::InvitationNotPending => (409, "Invitation not pending"),
        C::InvitationNotFound => (404, "Invitation not found"),
        C::InvitationAlreadyAccepted => (409, "Invitation already accepted"),
        C::InvitationRevoked => (410, "Invitation revoked"),
        C::InvitationDeclined => (410, "Invitation declined"),
        C::InvitationExpired => (410, "Invitation expired"),
        C::InvitationEmailMismatch => (403, "Invitation email mismatch"),
        C::AccountExists => (409, "Account exists"),
        C::InsufficientScope => (403, "Insufficient scope"),
        C::SlugTaken => (409, "Slug taken"),
        C::InvalidOtp => (401, "Invalid one-time code"),
        C::TotpAlreadyEnabled => (409, "Two-factor authentication already on"),
        C::ProviderNotFound => (404, "Provider not found"),
        C::InvalidRedirectUri => (400, "Invalid redirect URI"),
        C::InvalidState => (400, "Invalid state"),
        C::LastLoginMethod => (409, "Last login method"),
        C::ReauthenticationRequired => (403, "Reauthentication required"),
        C::IdentityInUse => (409, "Identity in use"),
        C::EmailTaken => (409, "Email taken"),
        C::ProviderEmailUnverified => (403, "Provider email unverified"),
        C::ProviderAlreadyLinked => (409, "Provider already linked"),
        C::InvalidWebhookUrl => (422, "Invalid webhook URL"),
        C::DeliveryNotFailed => (409, "Delivery not failed"),
        C::ChannelKindMismatch => (409, "Channel kind mismatch"),
        C::CsrfRejected => (403, "Cross-site request refused"),
        C::DomainNotVerified => (422, "Domain not verified"),
        C::SsoRequired => (403, "Single sign-on required"),
        C::SsoDomainTaken => (409, "Domain on another SSO connection"),
        C::SsoDiscoveryFailed => (422, "Issuer discovery failed"),
        C::DomainClaimed => (409, "Domain claimed"),
        C::PublicEmailDomain => (422, "Public email domain"),
        C::DomainExists => (409, "Domain exists"),
        C::AuthorizationPending => (400, "Authorization pending"),
        C::SlowDown => (400, "Slow down"),
        C::ExpiredToken => (400, "Device code expired"),
        C::AccessDenied => (400, "Access denied"),
        C::UnsupportedGrantType => (400, "Unsupported grant type"),
        C::InvalidScimToken => (401, "Invalid SCIM token"),
        C::ManagedByScim => (409, "Managed by SCIM"),
        C::ScimInvalidFilter => (400, "Invalid SCIM filter"),
        C::ScimInvalidValue => (400, "Invalid SCIM value"),
        C::ScimInvalidSyntax => (400, "Invalid SCIM syntax"),
        C::ScimInvalidPath => (400, "Invalid SCIM path"),
        C::ScimMutability => (400, "Immutable SCIM attribute"),
        C::ScimUniqueness => (409, "SCIM resource exists"),
    }
}

/// Status, stable code and title of an error.
pub fn classify(e: &AppError) -> (u16, ErrorCode, &'static str) {
    let code = e.code();
    let (status, title) = match e {
        // The one code with two statuses: a refresh token is a credential (401),
        // an emailed link's token is input (400).
        AppError::InvalidRefreshToken => (401, "Invalid or expired refresh token"),
        _ => status_and_title(code),
    };
    (status, code, title)
}

/// What an error says to people (an internal error is logged, not echoed).
fn detail_of(e: &AppError) -> String {
    match e {
        AppError::Internal(internal) => {
            log_error(&internal.chain());
            "Something went wrong on our side. It has been logged.".to_owned()
        }
        AppError::Validation(fields) => {
            fields.iter().map(|f| format!("{} {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        AppError::InvalidJson(why) => format!("The body is not valid JSON: {why}"),
        AppError::Refused { detail, .. } => detail.to_string(),
        AppError::RateLimited { detail, .. } => detail.clone(),
        other => other.to_string(),
    }
}

/// The problem+json response for `e`.
pub fn problem(e: &AppError) -> Response {
    let (status, code, title) = classify(e);
    let detail = detail_of(e);
    let errors = match e {
        AppError::Validation(fields) => Some(
            fields.iter().map(|f| FieldProblem { field: f.field, code: f.code, message: f.message.clone() }).collect(),
        ),
        _ => None,
    };
    let interval = match e {
        AppError::SlowDown { interval } => Some(*interval),
        _ => None,
    };
    let body = Problem { r#type: "about:blank", title, status, detail, code, errors, interval };
    let mut response = Response::json(status, &body);
    response.headers = vec![("content-type".into(), "application/problem+json".into())];
    match e {
        AppError::Unauthenticated | AppError::InvalidRefreshToken => {
            response = response.with_header("www-authenticate", "Bearer error=\"invalid_token\"");
        }
        AppError::TooManyAttempts { retry_after } | AppError::RateLimited { retry_after, .. } => {
            response = response.with_header("retry-after", retry_after.max(&1).to_string());
        }
        _ if status == 401 => response = response.with_header("www-authenticate", "Bearer"),
        _ => {}
    }
    response
}

/// A SCIM error (RFC 7644 §3.12), what `/scim/v2` answers: directories
/// read `status` (a string) and `scimType`; `code` is this service's stable
/// code, the same one problem+json carries elsewhere.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimError {
    /// `["urn:ietf:params:scim:api:messages:2.0:Error"]`.
    pub schemas: Vec<&'static str>,
    /// The HTTP status, as a string.
    #[schema(example = "400")]
    pub status: String,
    /// SCIM's error type (`invalidFilter`, `invalidValue`, `invalidSyntax`,
    /// `invalidPath`, `mutability`, `uniqueness`), where one applies.
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<&'static str>,
    /// Human-readable explanation.
    pub detail: String,
    /// Stable machine-readable code (as in problem+json).
    pub code: ErrorCode,
}

/// The SCIM error response for `e`: SCIM's status for bad input is 400
/// (where problem+json says 422), and its `scimType` names the kind.
pub fn scim_error(e: &AppError) -> Response {
    let (status, code, _) = classify(e);
    let body_shape = matches!(e, AppError::Validation(f) if f.iter().any(|f| f.field == "body"));
    let scim_type = match code {
        ErrorCode::ScimInvalidFilter => Some("invalidFilter"),
        ErrorCode::ScimInvalidValue => Some("invalidValue"),
        ErrorCode::ScimInvalidPath => Some("invalidPath"),
        ErrorCode::ScimMutability => Some("mutability"),
        ErrorCode::ScimUniqueness => Some("uniqueness"),
        ErrorCode::ScimInvalidSyntax | ErrorCode::InvalidJson => Some("invalidSyntax"),
        ErrorCode::ValidationFailed if body_shape => Some("invalidSyntax"),
        ErrorCode::ValidationFailed => Some("invalidValue"),
        _ => None,
    };
    let status = if status == 422 { 400 } else { status };
    let body = ScimError {
        schemas: vec![crate::domain::scim::ERROR_SCHEMA],
        status: status.to_string(),
        scim_type,
        detail: detail_of(e),
        code,
    };
    let mut response = Response::json(status, &body);
    response.headers = vec![("content-type".into(), crate::domain::scim::MEDIA_TYPE.into())];
    match e {
        AppError::TooManyAttempts { retry_after } | AppError::RateLimited { retry_after, .. } => {
            response = response.with_header("retry-after", retry_after.max(&1).to_string());
        }
        _ if status == 401 => response = response.with_header("www-authenticate", "Bearer"),
        _ => {}
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_answers_an_error_status() {
        for code in ErrorCode::ALL {
            let (status, title) = status_and_title(*code);
            assert!((400..=599).contains(&status), "{code}: {status}");
            assert!(!title.is_empty(), "{code}");
        }
    }

    #[test]
    fn every_401_carries_www_authenticate_and_every_429_retry_after() {
        let cases = [
            AppError::Unauthenticated,
            AppError::InvalidCredentials,
            AppError::InvalidRefreshToken,
            AppError::refused(ErrorCode::InvalidOtp, "wrong"),
            AppError::refused(ErrorCode::PasswordMismatch, "wrong"),
            AppError::TooManyAttempts { retry_after: 30 },
            AppError::RateLimited { retry_after: 0, detail: "limit".into() },
        ];
        for e in cases {
            let r = problem(&e);
            assert_eq!(r.header("content-type"), Some("application/problem+json"), "{e}");
            match r.status {
                401 => assert!(r.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{e}"),
                429 => assert!(r.header("retry-after").is_some_and(|v| v.parse::<i64>().is_ok_and(|s| s >= 1)), "{e}"),
                other => panic!("{e}: unexpected {other}"),
            }
        }
    }

    #[test]
    fn scim_errors_carry_a_string_status_their_scim_type_and_our_code() {
        let body = |r: &Response| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap();
        let r = scim_error(&AppError::refused(ErrorCode::ScimInvalidFilter, "only eq"));
        assert_eq!(r.status, 400);
        assert_eq!(r.header("content-type"), Some("application/scim+json"));
        let b = body(&r);
        assert_eq!(b["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
        assert_eq!((b["status"].as_str(), b["scimType"].as_str()), (Some("400"), Some("invalidFilter")));
        assert_eq!(b["code"], "scim_invalid_filter");
        // Field rules broken: 400 invalidValue (problem+json would say 422).
        let r = scim_error(&AppError::field(crate::domain::FieldError::new("name", "too_long", "too long")));
        assert_eq!((r.status, body(&r)["scimType"].as_str()), (400, Some("invalidValue")));
        let r = scim_error(&AppError::InvalidJson("cut short".into()));
        assert_eq!((r.status, body(&r)["scimType"].as_str()), (400, Some("invalidSyntax")));
        let r = scim_error(&AppError::Unauthenticated);
        assert_eq!(r.status, 401);
        assert!(r.header("www-authenticate").is_some());
        assert!(body(&r).get("scimType").is_none());
        assert_eq!(body(&r)["status"], "401");
    }

    #[test]
    fn an_internal_error_is_never_echoed() {
        let e = AppError::internal_from("reading secrets", crate::store::DbError::Other("token=hunter2".into()));
        let r = problem(&e);
        assert_eq!(r.status, 500);
        let body = String::from_utf8_lossy(&r.body);
        assert!(!body.contains("hunter2") && !body.contains("reading secrets"), "{body}");
        assert!(body.contains("\"code\":\"internal_error\""), "{body}");
    }
}
