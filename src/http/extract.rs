//! Extractors: the JSON body with our errors, the bearer value, paging.
use super::Request;
use crate::app::page::PageRequest;
use crate::app::sessions::{self, Delivery};
use crate::app::{AppError, Deps};
use crate::domain::browser::{HostCookie, CLIENT_HEADER};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::error::Category;

/// Parses the body, a JSON object, as `T`: malformed JSON is 400, any other
/// shape (an array, a string, a number, `true`, `null`, or an object with
/// wrong fields) is 422.
///
/// Every request body of the API is an object, and the check is here, once,
/// because serde's derived structs also accept the sequence form: `[]` is a
/// complete `UpdateOrgBody` when every field has a default, and `[null]` its
/// first field. Syntax is judged on the whole body before shape, so a body
/// that is both cut short and wrongly shaped is still 400: the typed parse
/// stops at its first shape error and would never see the truncation. A body
/// that parses as `T` has been read to its end by serde_json, so the happy
/// path stays one pass; only a shape error pays for a second, allocation-free
/// syntax pass.
pub fn json<T: DeserializeOwned>(req: &Request) -> Result<T, AppError> {
    if req.body.is_empty() {
        return Err(AppError::InvalidJson("the body is empty".into()));
    }
    // JSON is UTF-8 (RFC 8259); serde_json skips unknown strings unchecked
    // when reading bytes, so check it once here and parse the `str`.
    let text = std::str::from_utf8(&req.body)
        .map_err(|e| AppError::InvalidJson(format!("not UTF-8 (byte {})", e.valid_up_to())))?;
    let wrong_shape =
        |why: String| AppError::Validation(vec![crate::domain::FieldError::new("body", "invalid_shape", why)]);
    if !opens_an_object(text) {
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Err(syntax) => AppError::InvalidJson(syntax.to_string()),
            Ok(_) => wrong_shape("the body must be a JSON object".into()),
        });
    }
    serde_json::from_str(text).map_err(|e| match e.classify() {
        Category::Data => match serde_json::from_str::<IgnoredAny>(text) {
            Err(syntax) => AppError::InvalidJson(syntax.to_string()),
            Ok(_) => wrong_shape(strip_position(&e.to_string())),
        },
        Category::Syntax | Category::Eof | Category::Io => AppError::InvalidJson(e.to_string()),
    })
}

/// Whether the first byte after JSON's own whitespace (RFC 8259 §2: space,
/// tab, line feed, carriage return; not Unicode's) opens an object.
fn opens_an_object(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r']).starts_with('{')
}

fn strip_position(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

/// The bearer credential, if the header has one (read by dispatch only:
/// handlers get the [`crate::app::access::Credential`] it makes).
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// `?limit=` and `?cursor=`.
pub fn page(req: &Request) -> Result<PageRequest, AppError> {
    PageRequest::parse(req.query_param("limit").as_deref(), req.query_param("cursor").as_deref())
        .map_err(AppError::from)
}

/// The client's `User-Agent`.
pub fn user_agent(req: &Request) -> Option<&str> {
    req.header("user-agent")
}

/// The client's IP address as Cloudflare reports it (`CF-Connecting-IP`).
pub fn client_ip(req: &Request) -> Option<&str> {
    req.header("cf-connecting-ip")
}

/// Where this request wants its session's refresh token: the body (no
/// `X-Latchkey-Client` header, as always) or the cookie (`browser`, with our
/// own `Origin`, else 403 `csrf_rejected`).
pub fn delivery(deps: &Deps, req: &Request) -> Result<Delivery, AppError> {
    sessions::delivery(deps, req.header(CLIENT_HEADER), req.header("origin"))
}

/// A cookie of ours from the `Cookie` header. Read by the routes that own it
/// only: a cookie is never a credential anywhere else.
pub fn cookie<'a>(req: &'a Request, jar: &HostCookie) -> Option<&'a str> {
    req.header("cookie").and_then(|h| jar.read(h))
}
