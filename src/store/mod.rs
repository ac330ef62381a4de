//! The database port and the SQL. D1 implements [`Db`] in the Worker
//! (`platform::d1`), SQLite implements it in native tests ([`sqlite`]); both run
//! the same statements from [`sql`] over the same migrations.
use async_trait::async_trait;
use serde::de::DeserializeOwned;

pub mod sql;
#[cfg(not(target_arch = "wasm32"))]
pub mod sqlite;

/// A bound parameter. D1 accepts exactly these (integers as JS numbers).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer (timestamps, counters, flags).
    Int(i64),
    /// Text.
    Text(String),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One statement with its parameters. SQL text is always a constant from [`sql`].
#[derive(Debug, Clone)]
pub struct Stmt {
    /// The statement.
    pub sql: &'static str,
    /// Positional parameters (`?1`, `?2`, … or `?`).
    pub params: Vec<Value>,
}

/// Builds a [`Stmt`]: `stmt!(sql::X, a, b)`.
#[macro_export]
macro_rules! stmt {
    ($sql:expr $(, $p:expr)* $(,)?) => {
        $crate::store::Stmt { sql: $sql, params: vec![$($crate::store::Value::from($p)),*] }
    };
}

/// A row as column name → JSON value (integers as integers).
pub type Row = serde_json::Map<String, serde_json::Value>;

/// What a statement returned.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Rows returned (by SELECT or RETURNING).
    pub rows: Vec<Row>,
    /// Rows changed by a write.
    pub changes: u64,
}

impl Outcome {
    /// Decodes every row into `T`.
    pub fn decode<T: DeserializeOwned>(self) -> Result<Vec<T>, DbError> {
        self.rows.into_iter().map(decode_row).collect()
    }

    /// Decodes the first row, if any.
    pub fn first<T: DeserializeOwned>(self) -> Result<Option<T>, DbError> {
        self.rows.into_iter().next().map(decode_row).transpose()
    }
}

fn decode_row<T: DeserializeOwned>(row: Row) -> Result<T, DbError> {
    serde_json::from_value(serde_json::Value::Object(row)).map_err(|e| DbError::Decode(e.to_string()))
}

/// Database failures.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A UNIQUE constraint refused the write (the caller may map it to a 409).
    #[error("unique constraint: {0}")]
    Unique(String),
    /// A [`sql::GUARD_CHANGED`] statement found that the write before it
    /// changed nothing, and rolled the whole batch back.
    #[error("guard: {0}")]
    Guard(String),
    /// A row did not have the expected shape.
    #[error("decode: {0}")]
    Decode(String),
    /// Anything else (connection, syntax, D1 limits).
    #[error("database: {0}")]
    Other(String),
}

impl DbError {
    /// Classifies a driver message; both SQLite and D1 word unique violations the same way.
    pub fn from_message(message: String) -> Self {
        if message.contains("UNIQUE constraint failed") {
            DbError::Unique(message)
        } else if message.contains("malformed JSON") {
            DbError::Guard(message)
        } else {
            DbError::Other(message)
        }
    }
}

/// The database. No interactive transactions (D1 has none): a [`Db::batch`] is
/// one transaction, and invariants are kept by guarded statements.
#[async_trait(?Send)]
pub trait Db {
    /// Runs one statement.
    async fn run(&self, stmt: Stmt) -> Result<Outcome, DbError>;
    /// Runs statements in one transaction: all apply or none.
    async fn batch(&self, stmts: Vec<Stmt>) -> Result<Vec<Outcome>, DbError>;
}

/// Wraps a [`Db`] and counts round trips, for the `Server-Timing` header.
pub struct Counted<D> {
    inner: D,
    calls: std::cell::Cell<u32>,
    elapsed_ms: std::cell::Cell<f64>,
    now_ms: fn() -> f64,
}

impl<D> Counted<D> {
    /// Wraps `inner`, timing calls with `now_ms` (milliseconds).
    pub fn with_timer(inner: D, now_ms: fn() -> f64) -> Self {
        Self { inner, calls: std::cell::Cell::new(0), elapsed_ms: std::cell::Cell::new(0.0), now_ms }
    }
    /// Round trips so far.
    pub fn calls(&self) -> u32 {
        self.calls.get()
    }
    /// Time spent waiting for the database, in milliseconds.
    pub fn elapsed_ms(&self) -> f64 {
        self.elapsed_ms.get()
    }
    fn record(&self, started: f64) {
        self.calls.set(self.calls.get() + 1);
        self.elapsed_ms.set(self.elapsed_ms.get() + ((self.now_ms)() - started));
    }
}

#[async_trait(?Send)]
impl<D: Db> Db for Counted<D> {
    async fn run(&self, stmt: Stmt) -> Result<Outcome, DbError> {
        let started = (self.now_ms)();
        let out = self.inner.run(stmt).await;
        self.record(started);
        out
    }
    async fn batch(&self, stmts: Vec<Stmt>) -> Result<Vec<Outcome>, DbError> {
        let started = (self.now_ms)();
        let out = self.inner.batch(stmts).await;
        self.record(started);
        out
    }
}
