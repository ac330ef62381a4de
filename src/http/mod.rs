//! HTTP: one entry point, [`handle`], from a plain request to a plain
//! response, so the very same routing runs in workerd and in native tests.
//!
//! Why not axum: D1 futures are `!Send` and axum wants `Send` handlers; a
//! route table over `matchit` (the router inside axum) keeps handlers plain
//! `async fn`s and the bundle smaller, with the same shape: extract → parse →
//! call `app` → view.
use crate::app::{AppError, Deps};

pub mod error;
pub mod extract;
pub mod handlers;
pub mod openapi;
pub mod routes;

/// Where the SCIM endpoints live (`/scim/v2/{org_id}/…`).
pub const SCIM_PREFIX: &str = "/scim/v2/";

/// Largest request body accepted (64 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An HTTP request, as the platform hands it over.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without query.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Decoded query pairs.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes()).into_owned().collect()
    }

    /// One decoded query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// Path and raw query of an already-serialized WHATWG URL (what workerd's
/// `request.url` gives), without a URL parser: a special scheme's
/// serialization always has a path after the host, and `?` and `#` within
/// the path are always percent-encoded, so the first `/` after `://` begins
/// the path and the first `?` ends it. The path stays percent-encoded, as a
/// URL parser would leave it.
pub fn split_url(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let rest = &rest[rest.find('/').unwrap_or(rest.len())..];
    let rest = &rest[..rest.find('#').unwrap_or(rest.len())];
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    (if path.is_empty() { "/" } else { path }, query)
}

/// What a handler answers: a response, or an error that becomes problem+json.
pub type Answer = Result<Response, crate::app::AppError>;

/// What dispatch hands the handler of a route that takes credentials, before
/// the route's path parameters: the dependencies, the request, and the
/// caller's credential, read from the bearer token with no database (the
/// use case confirms it in its first D1 batch). A handler takes what it uses:
/// `Call { deps, cred, .. }: Call<'_>`.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// Configuration, database, clock and randomness.
    pub deps: &'a Deps,
    /// The request.
    pub req: &'a Request,
    /// The caller's credential (a session or an API key).
    pub cred: &'a crate::app::access::Credential,
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, value: &impl serde::Serialize) -> Self {
        Self::json_body(status, serde_json::to_vec(value))
    }

    /// The part of [`Response::json`] that does not depend on the type,
    /// compiled once rather than for every view.
    fn json_body(status: u16, body: serde_json::Result<Vec<u8>>) -> Self {
        match body {
            Ok(body) => Self { status, headers: vec![("content-type".into(), "application/json".into())], body },
            Err(e) => error::problem(&AppError::internal_from("serializing a response", e)),
        }
    }

    /// An empty response (204, 202 …).
    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Handles one request. Never panics, never answers 500 for bad input.
pub async fn handle(deps: &Deps, req: Request) -> Response {
    let response = match guard(&req) {
        Err(e) => Err(e),
        Ok(()) => routes::dispatch(deps, &req).await,
    };
    // The directory's endpoints answer SCIM's error shape (with our code).
    let scim = req.path.starts_with(SCIM_PREFIX);
    let mut response = response.unwrap_or_else(|e| if scim { error::scim_error(&e) } else { error::problem(&e) });
    // Tokens travel in these bodies: no cache may keep them.
    if response.header("cache-control").is_none() {
        response.headers.push(("cache-control".into(), "no-store".into()));
    }
    response.headers.push(("x-content-type-options".into(), "nosniff".into()));
    response
}

/// Checks that apply to every request before routing.
fn guard(req: &Request) -> Result<(), AppError> {
    if req.body.len() > MAX_BODY_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    // A key in a URL ends up in logs and browser history: refuse it, and let it authenticate nothing.
    if req.query_pairs().iter().any(|(k, v)| k.starts_with("lk_") || v.starts_with("lk_")) {
        return Err(AppError::ApiKeyInUrl);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn split_url_gives_what_a_url_parser_gives_for_serialized_urls() {
        for (url, path, query) in [
            ("https://h.example/v1/orgs/org_1", "/v1/orgs/org_1", ""),
            ("http://127.0.0.1:8787/v1/orgs?limit=2&cursor=a%3Fb", "/v1/orgs", "limit=2&cursor=a%3Fb"),
            ("http://127.0.0.1:8787/", "/", ""),
            ("http://127.0.0.1:8787", "/", ""),
            ("http://h/a%2Fb?x=1?y#frag", "/a%2Fb", "x=1?y"),
            ("http://h/p?", "/p", ""),
            ("http://user:pw@h:1/p/q?lk_x=1", "/p/q", "lk_x=1"),
            ("http://h/p#f?x", "/p", ""),
        ] {
            assert_eq!(split_url(url), (path, query), "{url}");
        }
    }
}
