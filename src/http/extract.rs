//! Extractors: the JSON body with our errors, the bearer value, paging.
use super::Request;
use crate::app::page::PageRequest;
use crate::app::sessions::{self, Delivery};
use crate::app::{AppError, Deps};
use crate::domain::browser::{HostCookie, CLIENT_HEADER};
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, Visitor};
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
    if !opens_an_object(text) {
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Err(syntax) => AppError::InvalidJson(syntax.to_string()),
            Ok(_) => AppError::Validation(vec![crate::domain::FieldError::new(
                "body",
                "invalid_shape",
                "the body must be a JSON object",
            )]),
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    // What `serde_json::from_str` does, with the top level read as the object
    // it is (see [`Object`]).
    T::deserialize(Object(&mut de)).and_then(|body| de.end().map(|()| body)).map_err(|e| body_error(text, e))
}

/// A typed parse's error: a shape error is 400 if the text is not JSON at all.
fn body_error(text: &str, e: serde_json::Error) -> AppError {
    match e.classify() {
        Category::Data => match serde_json::from_str::<IgnoredAny>(text) {
            Err(syntax) => AppError::InvalidJson(syntax.to_string()),
            Ok(_) => AppError::Validation(vec![crate::domain::FieldError::new(
                "body",
                "invalid_shape",
                strip_position(&e.to_string()),
            )]),
        },
        Category::Syntax | Category::Eof | Category::Io => AppError::InvalidJson(e.to_string()),
    }
}

/// serde_json's deserializer, whose top-level struct is read as a map: a body
/// has been checked to open an object, so a derived struct's sequence
/// visitor (the `[…]` form, which serde_json reads the same way for a map
/// only when the text opens with `[`) would be dead code for every body type.
/// Everything else, nested values included, is serde_json's own.
struct Object<'a, 'de>(&'a mut serde_json::Deserializer<serde_json::de::StrRead<'de>>);

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
                self.0.$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Object<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(visitor)
    }

    forward! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_i128(), deserialize_u8(), deserialize_u16(), deserialize_u32(),
        deserialize_u64(), deserialize_u128(), deserialize_f32(), deserialize_f64(), deserialize_char(),
        deserialize_str(), deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_option(), deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str), deserialize_seq(), deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize), deserialize_map(),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    }
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
