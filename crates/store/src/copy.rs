//! Copying a whole installation from one backend to the other (`vigie migrate`): the tables and
//! columns as the databases' catalogs list them (never a list kept by hand, so a table added by a
//! migration is copied without anyone remembering it), their values in a form both backends read
//! and write, a consistent read of the source, and writes into an empty target in one transaction.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::Result;

/// One value of a column, between backends.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    Id(Uuid),
    Time(DateTime<Utc>),
    Date(NaiveDate),
}

/// What a column holds. SQLite's catalog does not say (a uuid is a blob, a time is text):
/// PostgreSQL's does, and the copy takes it from there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
    Id,
    Time,
    Date,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// None where the backend's catalog does not tell (SQLite).
    pub kind: Option<Kind>,
}

/// A table as the database's catalog lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
}

impl Table {
    /// `"a", "b", "c"`: the column list of a statement (names from the catalog, quoted).
    pub fn column_list(&self) -> String {
        self.columns.iter().map(|c| format!("\"{}\"", c.name)).collect::<Vec<_>>().join(", ")
    }
}

/// The table each backend keeps its own applied migrations in: never copied.
pub const MIGRATIONS_TABLE: &str = "schema_migrations";

/// Rows of one table, in its column order.
pub type Rows = Vec<Vec<Value>>;

/// What `export` hands each batch of rows to.
pub type EachBatch<'a> = &'a mut dyn FnMut(&Table, Rows) -> Result<()>;

/// How many rows travel at once.
pub const BATCH: usize = 1000;

/// Receives every row of every table, in one transaction of the target, and commits at `finish`.
pub trait Sink {
    fn write(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<()>;
    fn finish(self: Box<Self>) -> Result<()>;
}

/// A backend's side of a copy (implemented by both backends).
pub trait Copyable {
    /// Every table of the database and its columns, from the catalog, in creation order.
    fn tables(&self) -> Result<Vec<Table>>;
    /// Reads every row of `tables` (their kinds given) in one consistent snapshot, in batches.
    fn export(&self, tables: &[Table], each: EachBatch<'_>) -> Result<()>;
    /// Opens a transaction on this (migrated, otherwise empty) database, deletes the rows its
    /// migrations seeded (every table but the migrations table) and receives the copy.
    fn import(&self) -> Result<Box<dyn Sink>>;
    /// The rows of one table (a name from [`Copyable::tables`]).
    fn count_rows(&self, table: &str) -> Result<i64>;
}
