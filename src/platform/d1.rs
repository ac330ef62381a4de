//! D1 behind the [`Db`] trait, over the binding's JS API.
//!
//! Rows cross from JS as one string: `JSON.stringify` of a result's rows (V8's
//! native serializer), parsed once by serde_json. workers-rs' `results()`
//! walks every row and column through `serde_wasm_bindgen`, a few JS↔wasm
//! calls per value, which the profile showed among the largest costs of a
//! one-query request.
use crate::store::{Db, DbError, Outcome, Row, Stmt, Value};
use async_trait::async_trait;
use js_sys::{Array, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::worker_sys::{D1Database as D1DatabaseSys, D1PreparedStatement, D1Result};
use worker::D1Database;

/// The `DB` binding.
pub struct D1Db(D1DatabaseSys);

impl D1Db {
    /// Wraps the binding.
    pub fn new(db: D1Database) -> Self {
        let js: &JsValue = db.as_ref();
        Self(js.clone().unchecked_into())
    }

    fn prepare(&self, stmt: &Stmt) -> Result<D1PreparedStatement, DbError> {
        let params: Array = stmt
            .params
            .iter()
            .map(|p| match p {
                Value::Null => JsValue::NULL,
                // Exact for every integer we store (timestamps, counters: far below 2^53).
                Value::Int(n) => JsValue::from_f64(*n as f64),
                Value::Text(s) => JsValue::from_str(s),
            })
            .collect();
        self.0.prepare(stmt.sql).and_then(|p| p.bind(params)).map_err(js_error)
    }
}

/// A rejected D1 call's message, with its cause (where D1 puts SQLite's
/// message, e.g. `UNIQUE constraint failed`).
fn js_error(err: JsValue) -> DbError {
    let mut message = js_text(&err);
    if let Some(cause) = err.dyn_ref::<js_sys::Error>().map(|e| e.cause()) {
        if !cause.is_undefined() && !cause.is_null() {
            message.push_str(": ");
            message.push_str(&js_text(&cause));
        }
    }
    DbError::from_message(message)
}

/// Any JS value as text, without assuming it is a string (a cast of a
/// non-string to `JsString` would trap the module).
fn js_text(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        return text;
    }
    match value.dyn_ref::<js_sys::Error>() {
        Some(e) => String::from(e.message()),
        None => format!("{value:?}"),
    }
}

fn outcome(result: D1Result) -> Result<Outcome, DbError> {
    if let Some(e) = result.error().map_err(js_error)? {
        return Err(DbError::from_message(e));
    }
    let rows: Vec<Row> = match result.results().map_err(js_error)? {
        Some(rows) if rows.length() > 0 => {
            let text = JSON::stringify(&rows).map_err(js_error)?;
            serde_json::from_str(&String::from(text)).map_err(|e| DbError::Decode(e.to_string()))?
        }
        _ => Vec::new(),
    };
    let changes = result
        .meta()
        .ok()
        .and_then(|meta| Reflect::get(&meta, &JsValue::from_str("changes")).ok())
        .and_then(|c| c.as_f64())
        .unwrap_or(0.0);
    Ok(Outcome { rows, changes: changes as u64 })
}

#[async_trait(?Send)]
impl Db for D1Db {
    async fn run(&self, stmt: Stmt) -> Result<Outcome, DbError> {
        let prepared = self.prepare(&stmt)?;
        let result = JsFuture::from(prepared.all().map_err(js_error)?).await.map_err(js_error)?;
        outcome(result.unchecked_into())
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> Result<Vec<Outcome>, DbError> {
        let prepared = stmts.iter().map(|s| self.prepare(s)).collect::<Result<Array, _>>()?;
        let results = JsFuture::from(self.0.batch(prepared).map_err(js_error)?).await.map_err(js_error)?;
        let results: Array = results.dyn_into().map_err(|_| DbError::Decode("batch result is not an array".into()))?;
        results.iter().map(|r| outcome(r.unchecked_into())).collect()
    }
}
