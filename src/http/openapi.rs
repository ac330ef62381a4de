//! The OpenAPI 3.1 document, generated from the route table
//! ([`super::routes::ROUTES`]): each route's `#[utoipa::path]` operation, its
//! security from the route's [`Auth`](super::routes::Auth), its path
//! parameters from the route's path (required strings, described by
//! `parameter_description`), and the answers every route shares
//! (problem+json 400, 401, 403, 404, 413, 422, 429). So the annotations name
//! neither security nor plain path parameters: only a path parameter with a
//! type or a description of its own, and query parameters. The
//! generated JSON is committed as `openapi.json` beside this file and served
//! as a static asset (scripts/build-console.sh copies it), so neither the
//! generator's code (about a fifth of the bundle) nor the document (350 KB)
//! is in the wasm; the native test `openapi_json_is_generated_from_the_code` fails
//! when the file differs from what the code generates (regenerate with
//! `UPDATE_OPENAPI=1 cargo test --test native orgs::openapi`).
//! The example request and response bodies (what the reference at `/docs`
//! shows and "Try it out" starts from) are kept in `examples.json` beside
//! this file, by operationId and status; a native test checks that every
//! operation has them and that their keys are the schema's.

/// The document, as served (native builds: the Worker's copy is an asset).
#[cfg(not(target_arch = "wasm32"))]
pub const DOCUMENT: &str = include_str!("openapi.json");

/// The media type of every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

#[cfg(not(target_arch = "wasm32"))]
pub use generate::{document, operation_of};

#[cfg(not(target_arch = "wasm32"))]
mod generate {
    use super::super::handlers as h;
    use super::super::routes::{Auth, Limit, Route, ROUTES};
    use super::PROBLEM_JSON;
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
    use utoipa::openapi::response::{Response, ResponseBuilder};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
    use utoipa::openapi::Required;
    use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr};
    use utoipa::{Modify, OpenApi};

    #[derive(OpenApi)]
    #[openapi(
        info(title = "Latchkey", version = "1.0.0",
             description = "Organizations and access: accounts, sessions, organizations, workspaces, API keys and authorization decisions. Errors are RFC 9457 `application/problem+json` with a stable `code` (the `ErrorCode` schema lists them all); the SCIM 2.0 endpoints (`/scim/v2/{org_id}/…`, an org's SCIM token) answer `application/scim+json`, and their errors are SCIM's (`ScimError`: `status`, `scimType`, `detail`) with the same stable `code`. Every path outside `/v1`, `/scim`, `/health`, `/openapi.json` and `/.well-known` is the web console (static assets; a browser navigation to any other path gets its entry page, which is how the emailed `/verify-email`, `/reset-password`, `/invite` and `/install` links open)."),
        components(schemas(h::Problem, super::super::error::ScimError, h::StatusBody, crate::domain::policy::Role, crate::domain::policy::Permission,
            h::invitations::InvitationStatus, h::notifications::DeliveryStatus, h::join_links::RequestStatus)),
        modifiers(&Bearer),
    )]
    struct Base;

    struct Bearer;

    impl Modify for Bearer {
        fn modify(&self, openapi: &mut Document) {
            let components = openapi.components.get_or_insert_with(Default::default);
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("An access token (EdDSA JWT) or an API key (`lk_…`)"))
                        .build(),
                ),
            );
        }
    }

    /// The operation of `method` in a path item.
    pub fn operation_of<'a>(item: &'a mut PathItem, method: &str) -> Option<&'a mut Operation> {
        match method {
            "GET" => item.get.as_mut(),
            "POST" => item.post.as_mut(),
            "PUT" => item.put.as_mut(),
            "PATCH" => item.patch.as_mut(),
            "DELETE" => item.delete.as_mut(),
            _ => None,
        }
    }

    fn problem(description: &str) -> Response {
        ResponseBuilder::new()
            .description(description)
            .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build()
    }

    /// The answers a route gives whatever its handler does, by status.
    fn shared_answers(route: &Route, op: &Operation) -> Vec<(&'static str, &'static str)> {
        if route.auth == Auth::Scim {
            // SCIM errors: bad input is 400 with its `scimType`, never 422.
            let mut answers = vec![
                ("400", "invalid_json / scim_invalid_syntax (scimType invalidSyntax), scim_invalid_value (invalidValue), api_key_in_url"),
                ("401", "unauthenticated, or invalid_scim_token: not this org's live SCIM token (an API key or a session never works here)"),
                ("413", "payload_too_large: the body is over 64 KiB"),
            ];
            if route.path.contains("{id}") {
                answers.push(("404", "not_found: no such resource in this org"));
            }
            return answers;
        }
        let mut answers = vec![
            ("400", "invalid_json: the body is not JSON, or not the JSON this route takes; api_key_in_url: an `lk_` value in the query string"),
            ("413", "payload_too_large: the body is over 64 KiB"),
        ];
        if route.auth.required() {
            answers.push(("401", "unauthenticated (no or a dead access token) or invalid_api_key"));
            answers.push((
                "403",
                "forbidden (visible but not permitted), user_required (a route or action for people, called with an API key), \
                 email_not_verified, two_factor_required or insufficient_scope",
            ));
        }
        if route.path.contains('{') {
            answers.push(("404", "not_found: not there, or not the caller's to see"));
        }
        let query = op.parameters.iter().flatten().any(|p| p.parameter_in == ParameterIn::Query);
        if op.request_body.is_some() || query {
            answers.push(("422", "validation_failed (per-field `errors`)"));
        }
        if route.auth.required() {
            answers.push(("429", "rate_limited: the API key's request limit (600 a minute), with Retry-After"));
        }
        if route.limit == Limit::Client {
            answers.push(("429", "too_many_attempts: the per-client-IP limit of the sign-in routes, with Retry-After"));
        }
        answers
    }

    /// Every error answer is problem+json, whatever the annotation said; on
    /// the SCIM routes, SCIM's error (`ScimError`) as `application/scim+json`.
    fn problems_as_problem_json(op: &mut Operation, scim: bool) {
        for (status, response) in op.responses.responses.iter_mut() {
            let RefOr::T(response) = response else { continue };
            if !status.starts_with('4') && !status.starts_with('5') {
                continue;
            }
            if scim {
                response.content.clear();
                let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ScimError"))).build();
                response.content.insert(crate::domain::scim::MEDIA_TYPE.to_owned(), content);
                continue;
            }
            let content = response.content.shift_remove("application/json");
            let content =
                content.unwrap_or_else(|| ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build());
            response.content.insert(PROBLEM_JSON.to_owned(), content);
        }
    }

    /// `examples.json`: { operationId: { "request": body, "response": { status: body } } }.
    const EXAMPLES: &str = include_str!("examples.json");

    /// Puts each operation's examples on its JSON request body and answers.
    /// A file that does not parse adds none, which the examples test reports.
    fn add_examples(op: &mut Operation, examples: &serde_json::Map<String, serde_json::Value>) {
        let Some(example) = op.operation_id.as_deref().and_then(|id| examples.get(id)) else { return };
        if let (Some(request), Some(body)) = (example.get("request"), op.request_body.as_mut()) {
            if let Some(content) = body.content.get_mut("application/json") {
                content.example = Some(request.clone());
            }
        }
        for (status, answer) in example.get("response").and_then(|r| r.as_object()).into_iter().flatten() {
            let Some(RefOr::T(response)) = op.responses.responses.get_mut(status) else { continue };
            if let Some(content) = response.content.get_mut("application/json") {
                content.example = Some(answer.clone());
            }
        }
    }

    /// An answer its annotation left undescribed gets its status's name.
    fn name_answers(op: &mut Operation) {
        for (status, response) in op.responses.responses.iter_mut() {
            let RefOr::T(response) = response else { continue };
            if response.description.is_empty() {
                let name = match status.as_str() {
                    "200" => "OK",
                    "201" => "Created",
                    "202" => "Accepted",
                    "204" => "No Content",
                    _ => continue,
                };
                response.description = name.to_owned();
            }
        }
    }

    /// The document generated from the route table (native builds only).
    pub fn document() -> Document {
        let mut doc = Base::openapi();
        let examples = serde_json::from_str(EXAMPLES).unwrap_or_default();
        for route in ROUTES {
            doc.merge((route.doc)());
        }
        for route in ROUTES {
            let Some(op) = doc.paths.paths.get_mut(route.path).and_then(|item| operation_of(item, route.method)) else {
                continue; // the completeness test names it
            };
            op.security = route.auth.required().then(|| vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
            // The route's own annotation wins; shared answers fill the gaps.
            let mut added: Vec<&str> = Vec::new();
            for (status, description) in shared_answers(route, op) {
                match op.responses.responses.get_mut(status) {
                    None => {
                        op.responses.responses.insert(status.to_owned(), RefOr::T(problem(description)));
                        added.push(status);
                    }
                    // Two shared answers with one status (429): both descriptions.
                    Some(RefOr::T(existing)) if added.contains(&status) => {
                        existing.description = format!("{}; {description}", existing.description);
                    }
                    Some(_) => {}
                }
            }
            add_path_parameters(op, route.path);
            describe_parameters(op, route.path);
            add_examples(op, &examples);
            name_answers(op);
            if route.browser {
                browser_mode(op, route.path == "/v1/auth/token");
            }
            problems_as_problem_json(op, route.auth == crate::http::routes::Auth::Scim);
        }
        doc
    }

    /// Adds each `{name}` of `path` that the annotation does not declare, as
    /// a required string path parameter. Path parameters come first, in path
    /// order (where utoipa lists those an annotation declares), then the
    /// others as declared; a declared one (its own type or description) stays.
    fn add_path_parameters(op: &mut Operation, path: &str) {
        let names: Vec<&str> =
            path.split('{').skip(1).filter_map(|rest| rest.split_once('}')).map(|(name, _)| name).collect();
        if names.is_empty() {
            return;
        }
        let mut others = op.parameters.take().unwrap_or_default();
        let mut parameters = Vec::with_capacity(names.len() + others.len());
        for name in names {
            let declared = others.iter().position(|p| p.parameter_in == ParameterIn::Path && p.name == name);
            parameters.push(match declared {
                Some(at) => others.remove(at),
                None => ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            });
        }
        parameters.append(&mut others);
        op.parameters = Some(parameters);
    }

    /// Describes the parameters a route's annotation left bare. The same name
    /// means the same thing on every route (`org_id`, `cursor`), and an `{id}`
    /// is named by the collection before it, so one table serves them all.
    fn describe_parameters(op: &mut Operation, path: &str) {
        for parameter in op.parameters.iter_mut().flatten() {
            if parameter.description.as_deref().is_some_and(|d| !d.is_empty()) {
                continue;
            }
            parameter.description = parameter_description(&parameter.name, path).map(str::to_owned);
        }
    }

    /// The description of the parameter `name` of `path`, if it is one the
    /// table knows (a test requires every parameter to have one).
    fn parameter_description(name: &str, path: &str) -> Option<&'static str> {
        Some(match name {
            "org_id" => "The organization's id (`org_…`)",
            "connection_id" => "The single sign-on connection's id (`ssc_…`)",
            "ws_id" => "The workspace's id (`ws_…`)",
            "user_id" => "The member's user id (`usr_…`)",
            "key" => "The role's key: `owner`, `admin`, `member`, or a custom role's (`billing-viewer`)",
            "limit" => "Items per page: 1..100, default 50",
            "cursor" => "Where the page starts: the `next_cursor` of the page before; absent for the first page",
            "code" => "The provider's authorization code",
            "state" => "The state this service sent to the provider (ties the callback to the browser that started it)",
            "error" => "The provider's error code, when the person refused or the provider failed",
            "status" => "Only the invitations in this state: pending, accepted, revoked, declined or expired",
            "filter" => "SCIM filter: `attribute eq \"value\"` (Users: `userName`, `externalId`; Groups: `displayName`, `externalId`)",
            "startIndex" => "SCIM paging: the 1-based index of the first result (default 1)",
            "count" => "SCIM paging: results per answer, 0..100 (default 100)",
            "id" => {
                let collection = path.rsplit_once("/{id}").map(|(head, _)| head.rsplit('/').next().unwrap_or(head));
                match collection? {
                    "api-keys" => "The API key's id (`key_…`)",
                    "install-links" => "The install link's id (`inl_…`)",
                    "join-links" => "The join link's id (`jnl_…`)",
                    "domains" => "The domain's id (`dom_…`)",
                    "membership-requests" => "The membership request's id (`mrq_…`)",
                    "invitations" => "The invitation's id (`inv_…`)",
                    "notification-channels" => "The notification channel's id (`nch_…`)",
                    "deliveries" => "The webhook delivery's id (`dlv_…`)",
                    "sessions" => "The session's id (`ses_…`)",
                    "sso-connections" => "The single sign-on connection's id (`ssc_…`)",
                    "scim-tokens" => "The SCIM token's id (`sct_…`)",
                    "Users" => "The SCIM User's id: the person's user id (`usr_…`)",
                    "Groups" => "The SCIM Group's id (`scg_…`)",
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    const CSRF: &str = "csrf_rejected: `X-Latchkey-Client: browser` without this service's own `Origin` \
        (APP_URL's origin); nothing was done";

    /// The cookie mode of a session route: the opt-in header, the CSRF
    /// refusal, and the refresh cookie its answers set.
    fn browser_mode(op: &mut Operation, clears_on_401: bool) {
        let header = ParameterBuilder::new()
            .name("X-Latchkey-Client")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "`browser` (the console): cookie mode. The request must also carry `Origin` equal to this \
                 service's own origin (else 403 csrf_rejected). Session answers then omit `refresh_token` and \
                 set it as the HttpOnly cookie `__Host-latchkey_refresh` (Path=/; Secure; SameSite=Strict; \
                 Max-Age 30 days; `latchkey_refresh` without Secure when APP_URL is plain http). Only \
                 POST /v1/auth/token and POST /v1/auth/logout read that cookie. Absent: JSON client, no \
                 cookie read or set. Any other value: 422 validation_failed.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["browser"]))))
            .build();
        op.parameters.get_or_insert_with(Vec::new).push(header);
        match op.responses.responses.get_mut("403") {
            Some(RefOr::T(existing)) => existing.description = format!("{}; {CSRF}", existing.description),
            _ => {
                op.responses.responses.insert("403".to_owned(), RefOr::T(problem(CSRF)));
            }
        }
        op.responses.responses.entry("422".to_owned()).or_insert_with(|| {
            RefOr::T(problem("validation_failed: `X-Latchkey-Client` with a value other than `browser`"))
        });
        let cookie = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "Browser mode only: the refresh cookie (`__Host-latchkey_refresh=…; Path=/; Max-Age=2592000; \
                 HttpOnly; SameSite=Strict; Secure`), rotated on every session answer, cleared (`Max-Age=0`) \
                 by logout and by a failed refresh",
            ))
            .build();
        for (status, response) in op.responses.responses.iter_mut() {
            let RefOr::T(response) = response else { continue };
            if status.starts_with('2') || (clears_on_401 && status == "401") {
                response.headers.insert("Set-Cookie".to_owned(), cookie.clone());
            }
        }
    }
}
