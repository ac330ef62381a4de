//! Pure domain: types that parse and rules that decide. No I/O, no async,
//! no clock: times come in as arguments (unix seconds).
pub mod access_review;
pub mod api_key;
pub mod browser;
pub mod channel;
pub mod custom_role;
pub mod device;
pub mod email;
pub mod ids;
pub mod join_link;
pub mod key_policy;
pub mod name;
pub mod oauth;
pub mod org_domain;
pub mod password;
pub mod policy;
pub mod saml;
pub mod scim;
pub mod sealed;
pub mod session;
pub mod slug;
pub mod sso;
pub mod tenant;
pub mod time;
pub mod token;
pub mod totp;
pub mod webhook;
pub mod workload;

/// A rule broken by one field of a request, reported in a 422 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The request field, e.g. `email`.
    pub field: &'static str,
    /// A stable machine-readable code, e.g. `invalid_email`.
    pub code: &'static str,
    /// A human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// A field error with a code and message.
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self { field, code, message: message.into() }
    }
}
