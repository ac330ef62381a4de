//! SCIM 2.0 (RFC 7643, RFC 7644) as this service speaks it: the schema URNs,
//! the filters it takes (`attribute eq "value"`), paging, and what a User or
//! Group body (POST, PUT) or a PATCH says, read the way Okta and Entra ID
//! send them: attribute names and `op` in any case, booleans as JSON
//! booleans or the strings `"True"`/`"False"`, an `op` without a `path`
//! whose value is an object of attributes, and `members[value eq "…"]`.
//!
//! Only the attributes this service keeps are read (`userName`,
//! `externalId`, `name.givenName`, `name.familyName`, `active`; a Group's
//! `displayName`, `externalId`, `members`); any other attribute a directory
//! sends (emails, titles, the enterprise extension) is accepted and ignored.
use serde_json::{Map, Value};

/// The User resource's schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Group resource's schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// A list answer.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH body.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// An error answer.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The service provider configuration.
pub const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// A resource type.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// A schema description.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// SCIM's media type (RFC 7644 §3.1).
pub const MEDIA_TYPE: &str = "application/scim+json";
/// The most resources one list answer holds (`count` above it is cut).
pub const MAX_COUNT: i64 = 100;
/// The most SCIM tokens an org holds at once.
pub const MAX_TOKENS_PER_ORG: i64 = 10;

/// What is wrong with a request, as SCIM's `scimType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadKind {
    /// `invalidFilter`.
    InvalidFilter,
    /// `invalidValue`.
    InvalidValue,
    /// `invalidSyntax`.
    InvalidSyntax,
    /// `invalidPath`.
    InvalidPath,
    /// `mutability`.
    Mutability,
}

/// A refused request: its `scimType` and what to tell the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    /// The kind.
    pub kind: BadKind,
    /// The detail.
    pub detail: String,
}

fn bad(kind: BadKind, detail: impl Into<String>) -> Bad {
    Bad { kind, detail: detail.into() }
}

/// A filter of the one form this service takes: `attribute eq "value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The attribute, spelled as in `allowed`.
    pub attribute: &'static str,
    /// The value (a JSON string's contents).
    pub value: String,
}

/// Parses `raw` as `attribute eq "value"` where the attribute is one of
/// `allowed` (compared case-insensitively, as RFC 7644 §3.4.2.2 asks).
pub fn parse_filter(raw: &str, allowed: &[&'static str]) -> Result<Filter, Bad> {
    let refuse = || {
        bad(
            BadKind::InvalidFilter,
            format!("only `attribute eq \"value\"` filters on {} are supported", allowed.join(", ")),
        )
    };
    let raw = raw.trim();
    let (attribute, rest) = raw.split_once(char::is_whitespace).ok_or_else(refuse)?;
    let (op, value) = rest.trim_start().split_once(char::is_whitespace).ok_or_else(refuse)?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(refuse());
    }
    let attribute = allowed.iter().find(|a| a.eq_ignore_ascii_case(attribute)).ok_or_else(refuse)?;
    let value: String = serde_json::from_str(value.trim()).map_err(|_| refuse())?;
    Ok(Filter { attribute, value })
}

/// A page: `startIndex` (1-based) and `count`, clamped as RFC 7644 §3.4.2.4
/// says (below 1 is 1; a negative count is 0), `count` at most [`MAX_COUNT`].
pub fn page(start_index: Option<&str>, count: Option<&str>) -> Result<(i64, i64), Bad> {
    let number = |name: &str, raw: Option<&str>, default: i64| -> Result<i64, Bad> {
        match raw {
            None => Ok(default),
            Some(v) => {
                v.trim().parse::<i64>().map_err(|_| bad(BadKind::InvalidValue, format!("{name} must be an integer")))
            }
        }
    };
    let start = number("startIndex", start_index, 1)?.max(1);
    let count = number("count", count, MAX_COUNT)?.clamp(0, MAX_COUNT);
    Ok((start, count))
}

/// A boolean as directories send it: `true`, or (Entra ID) `"True"`.
pub fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// An attribute of an object by name, case-insensitively (RFC 7643 §2.1).
pub fn get<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// A string attribute: absent is None, `null` or `""` is `Some(None)`.
fn optional_text(v: &Value, name: &str, max: usize) -> Result<Option<String>, Bad> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) if s.chars().count() <= max && !s.chars().any(char::is_control) => {
            Ok(Some(s.trim().to_owned()))
        }
        _ => Err(bad(BadKind::InvalidValue, format!("{name} must be a string of at most {max} characters"))),
    }
}

/// The attributes of a User this service keeps, as a request gave them:
/// `None` where it said nothing; `Some(None)` where it cleared one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAttrs {
    /// `userName` (an email address; checked by the use case).
    pub user_name: Option<String>,
    /// `externalId`.
    pub external_id: Option<Option<String>>,
    /// `name.givenName`.
    pub given_name: Option<Option<String>>,
    /// `name.familyName`.
    pub family_name: Option<Option<String>>,
    /// `name.formatted` or `displayName`: the account's name when it is made.
    pub display_name: Option<String>,
    /// `active`.
    pub active: Option<bool>,
}

impl UserAttrs {
    /// Sets the attribute `path` (lower-cased, e.g. `name.givenname`) to
    /// `value`; attributes this service does not keep are ignored.
    fn set(&mut self, path: &str, value: &Value) -> Result<(), Bad> {
        match path {
            "username" => {
                self.user_name = Some(
                    value
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad(BadKind::InvalidValue, "userName must be a string"))?,
                )
            }
            "externalid" => self.external_id = Some(optional_text(value, "externalId", 255)?),
            "name.givenname" => self.given_name = Some(optional_text(value, "name.givenName", 100)?),
            "name.familyname" => self.family_name = Some(optional_text(value, "name.familyName", 100)?),
            "name.formatted" | "displayname" => {
                if let Some(n) = optional_text(value, "displayName", 100)? {
                    self.display_name = Some(n);
                }
            }
            "name" => match value {
                Value::Object(name) => {
                    for (k, v) in name {
                        self.set(&format!("name.{}", k.to_ascii_lowercase()), v)?;
                    }
                }
                Value::Null => {
                    self.given_name = Some(None);
                    self.family_name = Some(None);
                }
                _ => return Err(bad(BadKind::InvalidValue, "name must be an object")),
            },
            "active" => {
                self.active =
                    Some(boolean(value).ok_or_else(|| bad(BadKind::InvalidValue, "active must be true or false"))?)
            }
            _ => {}
        }
        Ok(())
    }
}

/// How a body changes an existing resource: `PUT` replaces it whole (what it
/// leaves out is cleared), `PATCH` applies RFC 7644 operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `PUT`.
    Replace,
    /// `PATCH`.
    Patch,
}

/// A User `PUT` or `PATCH` body, read as `how` says.
pub fn user_change(how: Write, body: &Map<String, Value>) -> Result<UserAttrs, Bad> {
    match how {
        Write::Patch => user_patch(body),
        Write::Replace => user_resource(body).map(|mut attrs| {
            attrs.external_id.get_or_insert(None);
            attrs.given_name.get_or_insert(None);
            attrs.family_name.get_or_insert(None);
            attrs
        }),
    }
}

/// A Group `PUT` or `PATCH` body, read as `how` says.
pub fn group_change(how: Write, body: &Map<String, Value>) -> Result<GroupAttrs, Bad> {
    match how {
        Write::Patch => group_patch(body),
        Write::Replace => group_resource(body).map(|mut attrs| {
            if attrs.members.is_empty() {
                attrs.members.push(MemberOp::Replace(Vec::new()));
            }
            attrs.external_id.get_or_insert(None);
            attrs
        }),
    }
}

/// A User body (POST, PUT): its attributes; `userName` is required.
pub fn user_resource(body: &Map<String, Value>) -> Result<UserAttrs, Bad> {
    let mut attrs = UserAttrs::default();
    for (k, v) in body {
        attrs.set(&k.to_ascii_lowercase(), v)?;
    }
    if attrs.user_name.is_none() {
        return Err(bad(BadKind::InvalidValue, "userName is required"));
    }
    Ok(attrs)
}

/// A PATCH operation's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `add`.
    Add,
    /// `remove`.
    Remove,
    /// `replace`.
    Replace,
}

/// One PATCH operation, its `op` read case-insensitively (Entra ID sends
/// `Replace`), its `path` lower-cased.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The verb.
    pub op: Op,
    /// The path, lower-cased; None: the value is an object of attributes.
    pub path: Option<String>,
    /// The original path (filters keep their value's case).
    pub raw_path: Option<String>,
    /// The value.
    pub value: Option<Value>,
}

/// The operations of a PATCH body (`Operations`, at least one).
pub fn operations(body: &Map<String, Value>) -> Result<Vec<Operation>, Bad> {
    let syntax = |d: &str| bad(BadKind::InvalidSyntax, d.to_owned());
    let ops = get(body, "Operations").and_then(Value::as_array).ok_or_else(|| syntax("Operations must be an array"))?;
    if ops.is_empty() {
        return Err(syntax("Operations must not be empty"));
    }
    ops.iter()
        .map(|o| {
            let o = o.as_object().ok_or_else(|| syntax("each operation must be an object"))?;
            let op = match get(o, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                Some("add") => Op::Add,
                Some("remove") => Op::Remove,
                Some("replace") => Op::Replace,
                _ => return Err(syntax("op must be add, remove or replace")),
            };
            let raw_path = match get(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if !p.trim().is_empty() => Some(p.trim().to_owned()),
                Some(_) => return Err(bad(BadKind::InvalidPath, "path must be a non-empty string")),
            };
            let value = get(o, "value").cloned().filter(|v| !v.is_null());
            if raw_path.is_none() && op != Op::Remove && !value.as_ref().is_some_and(Value::is_object) {
                return Err(bad(BadKind::InvalidValue, "an operation without a path takes an object of attributes"));
            }
            if raw_path.is_none() && op == Op::Remove {
                return Err(bad(BadKind::InvalidPath, "remove needs a path"));
            }
            if op != Op::Remove && value.is_none() {
                return Err(bad(BadKind::InvalidValue, "add and replace need a value"));
            }
            Ok(Operation { op, path: raw_path.as_deref().map(str::to_ascii_lowercase), raw_path, value })
        })
        .collect()
}

/// Strips a schema URN prefix from a path (`urn:…:User:active` → `active`).
fn attribute_path(path: &str) -> &str {
    if path.starts_with("urn:") {
        return path.rsplit_once(':').map_or(path, |(_, attr)| attr);
    }
    path
}

/// What a User PATCH changes. `remove` clears an attribute (`active` cannot
/// be removed: it is refused).
pub fn user_patch(body: &Map<String, Value>) -> Result<UserAttrs, Bad> {
    let mut attrs = UserAttrs::default();
    for op in operations(body)? {
        match (op.op, op.path.as_deref().map(attribute_path), op.value) {
            (Op::Remove, Some("active"), _) => return Err(bad(BadKind::Mutability, "active cannot be removed")),
            (Op::Remove, Some(path), _) => attrs.set(path, &Value::Null)?,
            (_, Some(path), Some(value)) => attrs.set(path, &value)?,
            (_, None, Some(Value::Object(values))) => {
                for (k, v) in &values {
                    attrs.set(&k.to_ascii_lowercase(), v)?;
                }
            }
            _ => return Err(bad(BadKind::InvalidValue, "an operation without a usable value")),
        }
    }
    Ok(attrs)
}

/// A Group's `displayName`: 1 to 100 characters.
pub fn display_name(v: &Value) -> Result<String, Bad> {
    match optional_text(v, "displayName", 100)? {
        Some(n) => Ok(n),
        None => Err(bad(BadKind::InvalidValue, "displayName must not be empty")),
    }
}

/// The role key a group's name stands for: its name trimmed and lower-cased.
/// A group gives its members that role when it is `admin`, `member` or one
/// of the org's custom roles; any other name (`owner` among them) gives
/// nothing.
pub fn role_key(display_name: &str) -> String {
    display_name.trim().to_lowercase()
}

/// The ids a `members` value names: an array of `{"value": id}`.
fn member_ids(v: &Value) -> Result<Vec<String>, Bad> {
    let refuse = || bad(BadKind::InvalidValue, "members must be an array of {\"value\": id}");
    let items = match v {
        Value::Array(items) => items.as_slice(),
        Value::Object(_) => std::slice::from_ref(v),
        _ => return Err(refuse()),
    };
    items
        .iter()
        .map(|m| {
            m.as_object().and_then(|o| get(o, "value")).and_then(Value::as_str).map(str::to_owned).ok_or_else(refuse)
        })
        .collect()
}

/// What a Group body (POST, PUT) or PATCH says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupAttrs {
    /// `displayName`.
    pub display_name: Option<String>,
    /// `externalId`.
    pub external_id: Option<Option<String>>,
    /// The member changes, in order.
    pub members: Vec<MemberOp>,
}

/// A change to a group's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    /// Add these.
    Add(Vec<String>),
    /// Remove these.
    Remove(Vec<String>),
    /// Remove everyone.
    RemoveAll,
    /// Exactly these.
    Replace(Vec<String>),
}

impl GroupAttrs {
    fn set(&mut self, path: &str, op: Op, value: Option<&Value>) -> Result<(), Bad> {
        match (path, op, value) {
            ("displayname", Op::Remove, _) => return Err(bad(BadKind::Mutability, "displayName cannot be removed")),
            ("displayname", _, Some(v)) => self.display_name = Some(display_name(v)?),
            ("externalid", Op::Remove, _) => self.external_id = Some(None),
            ("externalid", _, Some(v)) => self.external_id = Some(optional_text(v, "externalId", 255)?),
            ("members", Op::Add, Some(v)) => self.members.push(MemberOp::Add(member_ids(v)?)),
            ("members", Op::Replace, Some(v)) => self.members.push(MemberOp::Replace(member_ids(v)?)),
            // Entra ID names the members to remove in the value.
            ("members", Op::Remove, Some(v)) => self.members.push(MemberOp::Remove(member_ids(v)?)),
            ("members", Op::Remove, None) => self.members.push(MemberOp::RemoveAll),
            _ => {}
        }
        Ok(())
    }
}

/// A Group body (POST, PUT); `displayName` is required.
pub fn group_resource(body: &Map<String, Value>) -> Result<GroupAttrs, Bad> {
    let mut attrs = GroupAttrs::default();
    for (k, v) in body {
        match k.to_ascii_lowercase().as_str() {
            "members" => attrs.members.push(MemberOp::Replace(if v.is_null() { Vec::new() } else { member_ids(v)? })),
            other => attrs.set(other, Op::Replace, Some(v))?,
        }
    }
    if attrs.display_name.is_none() {
        return Err(bad(BadKind::InvalidValue, "displayName is required"));
    }
    Ok(attrs)
}

/// What a Group PATCH says: `displayName`, `externalId`, and members added,
/// removed (by `members[value eq "…"]` (Okta) or a value (Entra ID)) or
/// replaced.
pub fn group_patch(body: &Map<String, Value>) -> Result<GroupAttrs, Bad> {
    let mut attrs = GroupAttrs::default();
    for op in operations(body)? {
        match (op.path.as_deref().map(attribute_path), op.raw_path.as_deref(), op.value.as_ref()) {
            (Some(p), Some(raw), _) if p.starts_with("members[") => {
                let inner = raw
                    .get("members[".len()..raw.len().saturating_sub(1))
                    .filter(|_| raw.ends_with(']'))
                    .ok_or_else(|| bad(BadKind::InvalidPath, "members[value eq \"id\"] expected"))?;
                let filter = parse_filter(inner, &["value"]).map_err(|e| Bad { kind: BadKind::InvalidPath, ..e })?;
                if op.op != Op::Remove {
                    return Err(bad(BadKind::InvalidPath, "a members[…] path is for remove only"));
                }
                attrs.members.push(MemberOp::Remove(vec![filter.value]));
            }
            (Some(path), _, value) => attrs.set(path, op.op, value)?,
            (None, _, Some(Value::Object(values))) => {
                for (k, v) in values {
                    attrs.set(&k.to_ascii_lowercase(), op.op, Some(v))?;
                }
            }
            _ => return Err(bad(BadKind::InvalidValue, "an operation without a usable value")),
        }
    }
    Ok(attrs)
}

/// The members after `ops`, from `current` (order kept, no duplicates).
pub fn apply_members(current: &[String], ops: &[MemberOp]) -> Vec<String> {
    let mut out: Vec<String> = current.to_vec();
    for op in ops {
        match op {
            MemberOp::Add(ids) => {
                for id in ids {
                    if !out.contains(id) {
                        out.push(id.clone());
                    }
                }
            }
            MemberOp::Remove(ids) => out.retain(|m| !ids.contains(m)),
            MemberOp::RemoveAll => out.clear(),
            MemberOp::Replace(ids) => {
                out.clear();
                for id in ids {
                    if !out.contains(id) {
                        out.push(id.clone());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn filters_are_eq_on_the_listed_attributes_only() {
        let f = parse_filter(r#"userName eq "Ann@Example.com""#, &["userName", "externalId"]).unwrap();
        assert_eq!((f.attribute, f.value.as_str()), ("userName", "Ann@Example.com"));
        let f = parse_filter(r#"  EXTERNALID Eq "a \"q\"" "#, &["userName", "externalId"]).unwrap();
        assert_eq!((f.attribute, f.value.as_str()), ("externalId", "a \"q\""));
        for raw in [
            r#"userName co "a""#,
            r#"name.givenName eq "a""#,
            r#"userName eq a"#,
            r#"userName eq "a" and active eq true"#,
            "userName",
            "",
        ] {
            assert_eq!(parse_filter(raw, &["userName"]).map_err(|e| e.kind), Err(BadKind::InvalidFilter), "{raw}");
        }
    }

    #[test]
    fn paging_is_clamped_as_the_rfc_says() {
        assert_eq!(page(None, None), Ok((1, 100)));
        assert_eq!(page(Some("0"), Some("-3")), Ok((1, 0)));
        assert_eq!(page(Some("5"), Some("1000")), Ok((5, 100)));
        assert!(page(Some("x"), None).is_err());
    }

    #[test]
    fn entra_and_okta_deactivations_read_alike() {
        let entra = obj(json!({"schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}));
        let okta = obj(json!({"schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "value": {"active": false}}]}));
        assert_eq!(user_patch(&entra).unwrap().active, Some(false));
        assert_eq!(user_patch(&okta).unwrap().active, Some(false));
        let on = obj(json!({"Operations": [{"op": "Replace", "path": "active", "value": "True"}]}));
        assert_eq!(user_patch(&on).unwrap().active, Some(true));
        let junk = obj(json!({"Operations": [{"op": "replace", "path": "active", "value": "maybe"}]}));
        assert_eq!(user_patch(&junk).map_err(|e| e.kind), Err(BadKind::InvalidValue));
        let unknown_op = obj(json!({"Operations": [{"op": "move", "path": "active", "value": true}]}));
        assert_eq!(user_patch(&unknown_op).map_err(|e| e.kind), Err(BadKind::InvalidSyntax));
    }

    #[test]
    fn entra_attribute_updates_keep_what_we_keep_and_ignore_the_rest() {
        let body = obj(json!({"Operations": [
            {"op": "Add", "path": "externalId", "value": "e-1"},
            {"op": "Replace", "path": "name.givenName", "value": "Ann"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "x@example.com"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"}
        ]}));
        let a = user_patch(&body).unwrap();
        assert_eq!(a.external_id, Some(Some("e-1".into())));
        assert_eq!(a.given_name, Some(Some("Ann".into())));
        assert_eq!(a.active, None);
        assert_eq!(a.user_name, None);
    }

    #[test]
    fn a_user_body_needs_a_user_name() {
        let u = user_resource(&obj(json!({"schemas": [USER_SCHEMA], "UserName": "a@example.com",
            "name": {"givenName": "A", "familyName": "B"}, "active": true})))
        .unwrap();
        assert_eq!(u.user_name.as_deref(), Some("a@example.com"));
        assert_eq!(u.family_name, Some(Some("B".into())));
        assert!(user_resource(&obj(json!({"active": true}))).is_err());
    }

    #[test]
    fn group_patches_in_both_dialects() {
        let okta_remove = obj(json!({"Operations": [{"op": "remove", "path": "members[value eq \"usr_1\"]"}]}));
        assert_eq!(group_patch(&okta_remove).unwrap().members, [MemberOp::Remove(vec!["usr_1".into()])]);
        let entra_remove =
            obj(json!({"Operations": [{"op": "Remove", "path": "members", "value": [{"value": "usr_2"}]}]}));
        assert_eq!(group_patch(&entra_remove).unwrap().members, [MemberOp::Remove(vec!["usr_2".into()])]);
        let add = obj(json!({"Operations": [{"op": "Add", "path": "members", "value": [{"value": "usr_3"}]}]}));
        assert_eq!(group_patch(&add).unwrap().members, [MemberOp::Add(vec!["usr_3".into()])]);
        let rename = obj(json!({"Operations": [{"op": "replace", "value": {"id": "scg_1", "displayName": "Admin"}}]}));
        assert_eq!(group_patch(&rename).unwrap().display_name.as_deref(), Some("Admin"));
        let bad_path = obj(json!({"Operations": [{"op": "remove", "path": "members[display eq \"x\"]"}]}));
        assert_eq!(group_patch(&bad_path).map_err(|e| e.kind), Err(BadKind::InvalidPath));
    }

    #[test]
    fn member_changes_apply_in_order_without_duplicates() {
        let now = apply_members(
            &["a".into(), "b".into()],
            &[MemberOp::Add(vec!["c".into(), "a".into()]), MemberOp::Remove(vec!["b".into()])],
        );
        assert_eq!(now, ["a", "c"]);
        assert!(apply_members(&now, &[MemberOp::RemoveAll]).is_empty());
        assert_eq!(apply_members(&now, &[MemberOp::Replace(vec!["d".into(), "d".into()])]), ["d"]);
    }

    #[test]
    fn a_group_stands_for_the_role_its_name_spells() {
        assert_eq!(role_key("  Admin "), "admin");
        assert_eq!(role_key("Billing-Viewer"), "billing-viewer");
    }
}
