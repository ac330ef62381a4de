//! [`AppError`] → RFC 9457 problem+json, in one place.
use super::Response;
use crate::app::{log_error, AppError};
use serde_json::json;

/// Status, stable code and title of an error.
pub fn classify(e: &AppError) -> (u16, &'static str, &'static str) {
    match e {
        AppError::Validation(fields) if fields.iter().any(|f| f.code == "password_too_common") => {
            (422, "password_too_common", "Password too common")
        }
        AppError::Validation(_) => (422, "validation_failed", "Validation failed"),
        AppError::InvalidJson(_) => (400, "invalid_json", "Malformed JSON"),
        AppError::PayloadTooLarge => (413, "payload_too_large", "Payload too large"),
        AppError::Unauthenticated => (401, "unauthenticated", "Authentication required"),
        AppError::InvalidCredentials => (401, "invalid_credentials", "Invalid email or password"),
        AppError::InvalidToken => (400, "invalid_token", "Invalid or expired token"),
        AppError::InvalidRefreshToken => (401, "invalid_token", "Invalid or expired refresh token"),
        AppError::EmailNotVerified => (403, "email_not_verified", "Email not verified"),
        AppError::Forbidden => (403, "forbidden", "Forbidden"),
        AppError::NotFound => (404, "not_found", "Not found"),
        AppError::MethodNotAllowed => (405, "method_not_allowed", "Method not allowed"),
        AppError::TooManyAttempts { .. } => (429, "too_many_attempts", "Too many attempts"),
        AppError::RateLimited { .. } => (429, "rate_limited", "Rate limited"),
        AppError::ApiKeyInUrl => (400, "api_key_in_url", "API key in URL"),
        AppError::UserRequired => (403, "user_required", "A person is required"),
        AppError::ScopeNotAllowedForKeys { .. } => {
            (422, "scope_not_allowed_for_keys", "Scope not allowed for API keys")
        }
        AppError::Coded { status, code, .. } => (*status, code, "Request refused"),
        AppError::Internal(_) => (500, "internal_error", "Internal error"),
    }
}

/// The problem+json response for `e`.
pub fn problem(e: &AppError) -> Response {
    let (status, code, title) = classify(e);
    let detail = match e {
        AppError::Internal(context) => {
            log_error(context);
            "Something went wrong on our side. It has been logged.".to_owned()
        }
        AppError::Validation(fields) => {
            fields.iter().map(|f| format!("{} {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        AppError::InvalidJson(why) => format!("The body is not valid JSON: {why}"),
        AppError::Coded { detail, .. } | AppError::RateLimited { detail, .. } => detail.clone(),
        other => other.to_string(),
    };
    let mut body = json!({ "type": "about:blank", "title": title, "status": status, "detail": detail, "code": code });
    if let AppError::Validation(fields) = e {
        body["errors"] =
            fields.iter().map(|f| json!({ "field": f.field, "code": f.code, "message": f.message })).collect();
    }
    let mut response = Response::json(status, &body);
    response.headers = vec![("content-type".into(), "application/problem+json".into())];
    match e {
        AppError::Unauthenticated | AppError::InvalidRefreshToken => {
            response = response.with_header("www-authenticate", "Bearer error=\"invalid_token\"");
        }
        AppError::InvalidCredentials => response = response.with_header("www-authenticate", "Bearer"),
        AppError::Coded { status: 401, .. } => response = response.with_header("www-authenticate", "Bearer"),
        AppError::TooManyAttempts { retry_after } | AppError::RateLimited { retry_after, .. } => {
            response = response.with_header("retry-after", retry_after.max(&1).to_string());
        }
        _ => {}
    }
    response
}
