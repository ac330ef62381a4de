//! The one error type of the use cases; `http::error` maps it to problem+json once.
use crate::domain::FieldError;
use crate::store::DbError;

/// Why an operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Field rules broken (422 `validation_failed`, or `password_too_common`).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The body is not JSON (400 `invalid_json`).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The body is over 64 KiB (413).
    #[error("payload too large")]
    PayloadTooLarge,
    /// No usable credentials (401 `unauthenticated`).
    #[error("authentication required")]
    Unauthenticated,
    /// Unknown email or wrong password (401 `invalid_credentials`).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A single-use token that is unknown, used or expired (400 `invalid_token`).
    #[error("invalid token")]
    InvalidToken,
    /// A refresh token that is unknown, used or expired (401 `invalid_token`).
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// The account's email is not verified yet (403).
    #[error("email not verified")]
    EmailNotVerified,
    /// Visible but not permitted (403 `forbidden`).
    #[error("forbidden")]
    Forbidden,
    /// Not there, or not the caller's to see (404 `not_found`).
    #[error("not found")]
    NotFound,
    /// The path exists with other methods (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Too many failed logins (429 `too_many_attempts`).
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until the next attempt may succeed.
        retry_after: i64,
    },
    /// A limit was reached (429 `rate_limited`).
    #[error("rate limited: {detail}")]
    RateLimited {
        /// Seconds until it is worth trying again.
        retry_after: i64,
        /// What limit.
        detail: String,
    },
    /// A person-only action (or a route for people) tried with an API key
    /// (403 `user_required`).
    #[error("this needs a signed-in person, not an API key")]
    UserRequired,
    /// An API key asked for with a person-only scope (422 `scope_not_allowed_for_keys`).
    #[error(
        "API keys cannot hold the {scope} scope: only a signed-in person deletes organizations and manages billing"
    )]
    ScopeNotAllowedForKeys {
        /// The refused scope.
        scope: &'static str,
    },
    /// An API key in a query string (400 `api_key_in_url`).
    #[error("API key in URL")]
    ApiKeyInUrl,
    /// Any other contract error with its own status and code (409s, 410s, …).
    #[error("{code}: {detail}")]
    Coded {
        /// HTTP status.
        status: u16,
        /// Stable code.
        code: &'static str,
        /// Human-readable detail.
        detail: String,
    },
    /// A failure of ours: logged with context, never echoed (500).
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    /// A one-field validation error.
    pub fn field(e: FieldError) -> Self {
        AppError::Validation(vec![e])
    }

    /// A contract error with its own status and code.
    pub fn coded(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Coded { status, code, detail: detail.into() }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::field(e)
    }
}

/// Collects the errors of several independent field parses into one 422.
pub fn collect_fields<const N: usize>(results: [Option<FieldError>; N]) -> Result<(), AppError> {
    let errors: Vec<FieldError> = results.into_iter().flatten().collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}
