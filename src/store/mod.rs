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
        // A plain loop: `collect` into a `Result` brings an adapter per row type.
        let mut decoded = Vec::with_capacity(self.rows.len());
        for row in self.rows {
            decoded.push(decode_row(row)?);
        }
        Ok(decoded)
    }

    /// Decodes the first row, if any.
    pub fn first<T: DeserializeOwned>(self) -> Result<Option<T>, DbError> {
        self.first_row().map(decode_row).transpose()
    }

    /// The first row, the others dropped (once, not for every row type).
    fn first_row(self) -> Option<Row> {
        self.rows.into_iter().next()
    }
}

/// A row is an object: it is deserialized as the map it is (what
/// `serde_json::from_value` of the object does too), so no row type's
/// sequence visitor, which only a JSON array would call, is compiled.
fn decode_row<T: DeserializeOwned>(row: Row) -> Result<T, DbError> {
    T::deserialize(row).map_err(decode_error)
}

fn decode_error(e: serde_json::Error) -> DbError {
    DbError::Decode(e.to_string())
}

/// A D1 batch (one transaction) whose results are read by typed handles,
/// never by position: [`Batch::write`] gives a [`Written`] whose row count
/// [`Results::changed`] reads; [`Batch::read`] a [`Read<T>`] whose rows
/// [`Results::first`] or [`Results::all`] decode.
#[derive(Debug, Default)]
pub struct Batch {
    stmts: Vec<Stmt>,
}

/// The handle of a write in a [`Batch`].
#[derive(Debug, Clone, Copy)]
pub struct Written(usize);

/// The handle of a statement whose rows are `T`s.
#[derive(Debug)]
pub struct Read<T>(usize, std::marker::PhantomData<fn() -> T>);

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a statement whose outcome nobody reads (an audit row, a guard).
    pub fn add(&mut self, stmt: Stmt) {
        self.stmts.push(stmt);
    }

    /// Adds a write whose changed-row count will be read.
    pub fn write(&mut self, stmt: Stmt) -> Written {
        self.stmts.push(stmt);
        Written(self.stmts.len() - 1)
    }

    /// Adds a statement whose rows will be read as `T`.
    pub fn read<T: DeserializeOwned>(&mut self, stmt: Stmt) -> Read<T> {
        self.stmts.push(stmt);
        Read(self.stmts.len() - 1, std::marker::PhantomData)
    }

    /// Runs the batch in one transaction.
    pub async fn run(self, db: &dyn Db) -> Result<Results, DbError> {
        // D1 refuses an empty batch (SQLite would run it): nothing to ask, no trip.
        if self.stmts.is_empty() {
            return Ok(Results(Vec::new()));
        }
        let expected = self.stmts.len();
        let outs = db.batch(self.stmts).await?;
        if outs.len() != expected {
            return Err(DbError::Other(format!("batch of {expected} answered {} results", outs.len())));
        }
        Ok(Results(outs.into_iter().map(Some).collect()))
    }
}

/// The outcomes of a [`Batch`], read through its handles.
#[derive(Debug)]
pub struct Results(Vec<Option<Outcome>>);

impl Results {
    /// Rows changed by the write.
    pub fn changed(&self, w: Written) -> u64 {
        self.0.get(w.0).and_then(Option::as_ref).map_or(0, |o| o.changes)
    }

    fn take(&mut self, index: usize) -> Result<Outcome, DbError> {
        self.0
            .get_mut(index)
            .and_then(Option::take)
            .ok_or_else(|| DbError::Other(format!("batch result {index} read twice")))
    }

    /// The first row of a read, if any.
    pub fn first<T: DeserializeOwned>(&mut self, r: Read<T>) -> Result<Option<T>, DbError> {
        self.take(r.0)?.first()
    }

    /// The raw outcome of a read, for a caller that decodes it later
    /// (a statement riding along with authentication).
    pub fn outcome<T>(&mut self, r: Read<T>) -> Result<Outcome, DbError> {
        self.take(r.0)
    }

    /// Every row of a read.
    pub fn all<T: DeserializeOwned>(&mut self, r: Read<T>) -> Result<Vec<T>, DbError> {
        self.take(r.0)?.decode()
    }

    /// [`Results::first`] of a read that may not have been asked (an id
    /// that cannot exist reads nothing): none then.
    pub fn first_if<T: DeserializeOwned>(&mut self, r: Option<Read<T>>) -> Result<Option<T>, DbError> {
        r.map_or(Ok(None), |r| self.first(r))
    }

    /// [`Results::all`] of a read that may not have been asked: none then.
    pub fn all_if<T: DeserializeOwned>(&mut self, r: Option<Read<T>>) -> Result<Vec<T>, DbError> {
        r.map_or(Ok(Vec::new()), |r| self.all(r))
    }
}

impl Outcome {
    /// Whether a write changed a row.
    pub fn changed_any(&self) -> bool {
        self.changes > 0
    }
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
