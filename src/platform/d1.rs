//! D1 behind the [`Db`] trait.
use crate::store::{Db, DbError, Outcome, Row, Stmt, Value};
use async_trait::async_trait;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

/// The `DB` binding.
pub struct D1Db(D1Database);

impl D1Db {
    /// Wraps the binding.
    pub fn new(db: D1Database) -> Self {
        Self(db)
    }

    fn prepare(&self, stmt: &Stmt) -> Result<D1PreparedStatement, DbError> {
        let params: Vec<JsValue> = stmt
            .params
            .iter()
            .map(|p| match p {
                Value::Null => JsValue::NULL,
                // Exact for every integer we store (timestamps, counters: far below 2^53).
                Value::Int(n) => JsValue::from_f64(*n as f64),
                Value::Text(s) => JsValue::from_str(s),
            })
            .collect();
        self.0.prepare(stmt.sql).bind(&params).map_err(|e| DbError::from_message(e.to_string()))
    }
}

/// JS numbers arrive as floats; integral ones become JSON integers so rows
/// decode into `i64` fields as they do from SQLite.
fn normalise(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Number(n) if n.as_i64().is_none() && n.as_u64().is_none() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => serde_json::Value::from(f as i64),
            _ => serde_json::Value::Number(n),
        },
        other => other,
    }
}

fn outcome(result: D1Result) -> Result<Outcome, DbError> {
    if let Some(e) = result.error() {
        return Err(DbError::from_message(e));
    }
    let rows: Vec<serde_json::Value> = result.results().map_err(|e| DbError::Decode(e.to_string()))?;
    let rows = rows
        .into_iter()
        .map(|r| match r {
            serde_json::Value::Object(map) => Ok(map.into_iter().map(|(k, v)| (k, normalise(v))).collect::<Row>()),
            other => Err(DbError::Decode(format!("row is not an object: {other}"))),
        })
        .collect::<Result<Vec<Row>, DbError>>()?;
    let changes = result.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0) as u64;
    Ok(Outcome { rows, changes })
}

#[async_trait(?Send)]
impl Db for D1Db {
    async fn run(&self, stmt: Stmt) -> Result<Outcome, DbError> {
        let prepared = self.prepare(&stmt)?;
        let result = prepared.all().await.map_err(|e| DbError::from_message(e.to_string()))?;
        outcome(result)
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> Result<Vec<Outcome>, DbError> {
        let prepared = stmts.iter().map(|s| self.prepare(s)).collect::<Result<Vec<_>, _>>()?;
        let results = self.0.batch(prepared).await.map_err(|e| DbError::from_message(e.to_string()))?;
        results.into_iter().map(outcome).collect()
    }
}
