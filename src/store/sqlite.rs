//! SQLite behind the [`Db`] trait, for native tests: an in-memory database
//! with every file of `migrations/` applied, foreign keys on as in D1.
use super::{Db, DbError, Outcome, Row, Stmt, Value};
use async_trait::async_trait;
use rusqlite::types::ValueRef;
use std::sync::Mutex;

/// An in-memory SQLite database.
pub struct SqliteDb {
    conn: Mutex<rusqlite::Connection>,
}

impl SqliteDb {
    /// Opens a fresh database and applies `migrations/*.sql` in name order.
    pub fn migrated() -> Result<Self, DbError> {
        let conn = rusqlite::Connection::open_in_memory().map_err(other)?;
        conn.execute_batch("PRAGMA foreign_keys = ON;").map_err(other)?;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| DbError::Other(e.to_string()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        for file in files {
            let sql = std::fs::read_to_string(&file).map_err(|e| DbError::Other(e.to_string()))?;
            conn.execute_batch(&sql).map_err(|e| DbError::Other(format!("{}: {e}", file.display())))?;
        }
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn exec(conn: &rusqlite::Connection, stmt: &Stmt) -> Result<Outcome, DbError> {
        let mut prepared = conn.prepare(stmt.sql).map_err(classify)?;
        let names: Vec<String> = prepared.column_names().iter().map(|s| s.to_string()).collect();
        let params: Vec<rusqlite::types::Value> = stmt.params.iter().map(to_sql).collect();
        let mut rows = prepared.query(rusqlite::params_from_iter(params)).map_err(classify)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(classify)? {
            let mut map = Row::new();
            for (i, name) in names.iter().enumerate() {
                let v = match row.get_ref(i).map_err(classify)? {
                    ValueRef::Null => serde_json::Value::Null,
                    ValueRef::Integer(n) => n.into(),
                    ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into),
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                    ValueRef::Blob(b) => hex::encode(b).into(),
                };
                map.insert(name.clone(), v);
            }
            out.push(map);
        }
        drop(rows);
        // As D1's `meta.changes`: reads change nothing.
        let changes = if stmt.sql.trim_start().to_ascii_uppercase().starts_with("SELECT") { 0 } else { conn.changes() };
        Ok(Outcome { rows: out, changes })
    }
}

fn to_sql(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(n) => rusqlite::types::Value::Integer(*n),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

fn other(e: rusqlite::Error) -> DbError {
    DbError::Other(e.to_string())
}

fn classify(e: rusqlite::Error) -> DbError {
    DbError::from_message(e.to_string())
}

#[async_trait(?Send)]
impl Db for SqliteDb {
    async fn run(&self, stmt: Stmt) -> Result<Outcome, DbError> {
        let conn = self.conn.lock().map_err(|_| DbError::Other("poisoned".into()))?;
        Self::exec(&conn, &stmt)
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> Result<Vec<Outcome>, DbError> {
        let mut conn = self.conn.lock().map_err(|_| DbError::Other("poisoned".into()))?;
        let tx = conn.transaction().map_err(other)?;
        let mut outs = Vec::with_capacity(stmts.len());
        for stmt in &stmts {
            outs.push(Self::exec(&tx, stmt)?); // dropping `tx` on error rolls back
        }
        tx.commit().map_err(other)?;
        Ok(outs)
    }
}
