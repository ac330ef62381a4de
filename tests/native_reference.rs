//! The API reference (`/docs` renders `/openapi.json`): every operation has a
//! summary a person can read, every parameter a description, and example
//! request and response bodies (`src/http/examples.json`) that fit the
//! schemas they illustrate, so "Try it out" starts from a body the API takes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

fn document() -> Value {
    serde_json::from_str(latchkey::http::openapi::DOCUMENT).unwrap()
}

/// `(METHOD path, operation)` for every operation of `doc`.
fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((format!("{} {path}", method.to_uppercase()), op));
            }
        }
    }
    out
}

#[test]
fn every_operation_has_a_summary_and_every_parameter_a_description() {
    let doc = document();
    let mut missing = Vec::new();
    for (name, op) in operations(&doc) {
        let summary = op["summary"].as_str().unwrap_or_default();
        // A summary says what the operation does; the path is shown beside it.
        if summary.trim().is_empty() || summary.contains("/v1") || summary.starts_with('`') {
            missing.push(format!("{name}: summary {summary:?}"));
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
                missing.push(format!("{name}: parameter {} ({})", p["name"], p["in"]));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented:\n{}", missing.join("\n"));
    let create = &doc["paths"]["/v1/orgs"]["post"];
    assert_eq!(create["summary"], "Create an organization", "the browser test looks for it by this name");
}

#[test]
fn every_json_body_has_an_example_that_fits_its_schema() {
    let doc = document();
    let mut wrong = Vec::new();
    for (name, op) in operations(&doc) {
        let request = &op["requestBody"]["content"]["application/json"];
        if request.is_object() {
            check(&doc, &format!("{name} request"), request, &mut wrong);
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            let content = &response["content"]["application/json"];
            if status.starts_with('2') && content.is_object() {
                check(&doc, &format!("{name} {status}"), content, &mut wrong);
            }
        }
    }
    assert!(wrong.is_empty(), "examples missing or off their schema:\n{}", wrong.join("\n"));
}

#[test]
fn the_examples_file_names_only_operations_and_answers_the_document_has() {
    let doc = document();
    let ops = operations(&doc);
    let raw = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/examples.json")).unwrap();
    let examples: serde_json::Map<String, Value> = serde_json::from_str(&raw).expect("examples.json is JSON");
    for (id, example) in &examples {
        let (name, op) =
            ops.iter().find(|(_, op)| op["operationId"] == id.as_str()).unwrap_or_else(|| panic!("no operation {id}"));
        for key in example.as_object().unwrap().keys() {
            assert!(key == "request" || key == "response", "{id}: {key}");
        }
        if example.get("request").is_some() {
            assert!(op["requestBody"]["content"]["application/json"].is_object(), "{name} takes no JSON body");
        }
        for status in example.get("response").and_then(Value::as_object).into_iter().flatten().map(|(s, _)| s) {
            assert!(op["responses"][status]["content"]["application/json"].is_object(), "{name} has no JSON {status}");
        }
    }
}

#[test]
fn the_fit_check_catches_a_key_the_schema_lacks_and_a_missing_required_one() {
    let mut doc = document();
    let content = &mut doc["paths"]["/v1/orgs"]["post"]["requestBody"]["content"]["application/json"];
    content["example"] = serde_json::json!({ "title": "Acme" });
    let content = content.clone();
    let mut wrong = Vec::new();
    check(&doc, "create_org", &content, &mut wrong);
    assert!(wrong.iter().any(|w| w.contains("title") && w.contains("not in the schema")), "{wrong:?}");
    assert!(wrong.iter().any(|w| w.contains("name") && w.contains("required")), "{wrong:?}");
}

fn check(doc: &Value, name: &str, content: &Value, wrong: &mut Vec<String>) {
    match content.get("example") {
        None => wrong.push(format!("{name}: no example")),
        Some(example) => {
            for e in fits(doc, &content["schema"], example, "$") {
                wrong.push(format!("{name}: {e}"));
            }
        }
    }
}

/// Where `value` departs from `schema` (properties, required keys, types and
/// enums; enough to keep examples honest, not a full JSON Schema validator).
fn fits(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return fits(doc, &doc["components"]["schemas"][name], value, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let all: Vec<Vec<String>> = options.iter().map(|s| fits(doc, s, value, at)).collect();
            return if all.iter().any(Vec::is_empty) { Vec::new() } else { all.concat() };
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        // One object made of every part's properties.
        let mut merged = serde_json::json!({ "type": "object", "properties": {}, "required": [] });
        for part in parts {
            let part = resolve(doc, part);
            for (k, v) in part["properties"].as_object().into_iter().flatten() {
                merged["properties"][k] = v.clone();
            }
            for r in part["required"].as_array().into_iter().flatten() {
                merged["required"].as_array_mut().unwrap().push(r.clone());
            }
        }
        return fits(doc, &merged, value, at);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let typed = types.is_empty() || types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
    if !typed {
        return vec![format!("{at}: {kind}, the schema says {types:?}")];
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return vec![format!("{at}: {value} is not one of {allowed:?}")];
        }
    }
    let mut out = Vec::new();
    match value {
        Value::Object(map) => {
            let properties = schema["properties"].as_object();
            for r in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !map.contains_key(r) {
                    out.push(format!("{at}: `{r}` is required"));
                }
            }
            for (k, v) in map {
                match properties.and_then(|p| p.get(k)) {
                    Some(s) => out.extend(fits(doc, s, v, &format!("{at}.{k}"))),
                    // A schema without properties is free-form (audit `data`).
                    None if properties.is_some() => out.push(format!("{at}: `{k}` is not in the schema")),
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                out.extend(fits(doc, &schema["items"], item, &format!("{at}[{i}]")));
            }
        }
        _ => {}
    }
    out
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    }
}
