//! One SQL source for every backend.
//!
//! [`Tx`](crate::Tx) is implemented once, in [`tx`], for any connection that
//! implements [`Driver`]: a backend only runs statements, binds [`Arg`]s and
//! reads columns through [`SqlRow`]. Statements are written once, in
//! PostgreSQL's spelling (`$N` placeholders, `::type` casts where PostgreSQL
//! needs a parameter's type, `FOR UPDATE` where a row must stay locked); a
//! [`Dialect`] rewrites them for its engine once per connection and gives the
//! few fragments that really differ (date buckets, a hex id). The two bulk
//! paths (subjects, audit entries) have a portable default that a backend may
//! replace by its fastest native path (PostgreSQL's binary `COPY`, `unnest`).
//!
//! Adding a statement: write it in the `Tx` method in [`tx`], in the common
//! spelling; both backends run it, and the conformance suite checks both.

pub mod tx;

use crate::{AuditRow, Result, StoreError, SubjectRow};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;
use vigie_domain::access::Role;
use vigie_domain::policy::{DataCategory, LegalBasis};
use vigie_domain::records::{
    BreachKeys, BreachNature, BreachPhase, BreachRisk, BreachStatus, HoldAction, IdentityDocument, IdentityVerdict,
    OutboxStatus, PolicyStatus, RequestChannel, RequestKind, RequestOutcome, RequestStatus, RestrictionGround,
};
use vigie_domain::transfers::SafeguardKind;
use vigie_domain::{Direction, SubjectKind};

/// A statement's text: written in the source (prepared once per connection
/// and kept), or assembled at run time (a breach scope's lists), prepared for
/// one use.
#[derive(Clone, Copy, Debug)]
pub enum Stmt<'a> {
    Static(&'static str),
    Once(&'a str),
}

impl Stmt<'_> {
    pub fn text(&self) -> &str {
        match self {
            Stmt::Static(s) => s,
            Stmt::Once(s) => s,
        }
    }
}

impl From<&'static str> for Stmt<'static> {
    fn from(s: &'static str) -> Self {
        Stmt::Static(s)
    }
}

/// One parameter value, in the few types the schema uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg<'a> {
    Null,
    Int(i64),
    Bool(bool),
    Text(&'a str),
    Bytes(&'a [u8]),
    Id(Uuid),
    Time(DateTime<Utc>),
    Date(NaiveDate),
}

/// A value that can be bound as a parameter.
pub trait ToArg {
    fn to_arg(&self) -> Arg<'_>;
}

macro_rules! to_arg {
    ($($ty:ty => |$v:ident| $e:expr),+ $(,)?) => {
        $(impl ToArg for $ty {
            fn to_arg(&self) -> Arg<'_> {
                let $v = self;
                $e
            }
        })+
    };
}

/// A closed-set value (kind, status, role...) bound as its token's text.
macro_rules! token_arg {
    ($($ty:ty),+ $(,)?) => {
        to_arg! { $($ty => |v| Arg::Text(v.as_str())),+ }
    };
}

to_arg! {
    i64 => |v| Arg::Int(*v),
    bool => |v| Arg::Bool(*v),
    str => |v| Arg::Text(v),
    String => |v| Arg::Text(v),
    [u8] => |v| Arg::Bytes(v),
    Vec<u8> => |v| Arg::Bytes(v),
    Uuid => |v| Arg::Id(*v),
    DateTime<Utc> => |v| Arg::Time(*v),
    NaiveDate => |v| Arg::Date(*v),
}

token_arg!(
    SubjectKind,
    Direction,
    Role,
    HoldAction,
    SafeguardKind,
    OutboxStatus,
    PolicyStatus,
    RequestKind,
    RequestChannel,
    RequestStatus,
    IdentityDocument,
    IdentityVerdict,
    RequestOutcome,
    BreachRisk,
    BreachKeys,
    BreachStatus,
    BreachPhase,
    RestrictionGround,
    LegalBasis,
);

/// A language, bound as its code (`fr`, `en`).
impl ToArg for vigie_domain::Lang {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Text(self.code())
    }
}

/// A list of closed-set values as one text column: comma-separated, in order (a breach's natures).
pub fn token_list<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> Arg<'_> {
        (**self).to_arg()
    }
}

impl<T: ToArg> ToArg for Option<T> {
    fn to_arg(&self) -> Arg<'_> {
        self.as_ref().map_or(Arg::Null, ToArg::to_arg)
    }
}

/// A statement's parameters, in `$1, $2, ...` order.
pub type Args<'a> = &'a [&'a dyn ToArg];

/// One result row, read column by column (0-based) in the schema's types.
pub trait SqlRow {
    fn is_null(&self, i: usize) -> Result<bool>;
    fn int(&self, i: usize) -> Result<i64>;
    fn bool(&self, i: usize) -> Result<bool>;
    fn text(&self, i: usize) -> Result<String>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>>;
    fn id(&self, i: usize) -> Result<Uuid>;
    fn time(&self, i: usize) -> Result<DateTime<Utc>>;
    fn date(&self, i: usize) -> Result<NaiveDate>;
}

/// Implements [`SqlRow`] for a backend's row wrapper through two inherent methods it
/// defines: `get::<T>(i)` (its driver's own conversion of column `i`) and `null_at(i)`.
#[macro_export]
macro_rules! sql_row_by_get {
    ($ty:ty) => {
        impl $crate::sql::SqlRow for $ty {
            fn is_null(&self, i: usize) -> $crate::Result<bool> {
                self.null_at(i)
            }
            fn int(&self, i: usize) -> $crate::Result<i64> {
                self.get(i)
            }
            fn bool(&self, i: usize) -> $crate::Result<bool> {
                self.get(i)
            }
            fn text(&self, i: usize) -> $crate::Result<String> {
                self.get(i)
            }
            fn bytes(&self, i: usize) -> $crate::Result<Vec<u8>> {
                self.get(i)
            }
            fn id(&self, i: usize) -> $crate::Result<$crate::Uuid> {
                self.get(i)
            }
            fn time(&self, i: usize) -> $crate::Result<$crate::sql::Time> {
                self.get(i)
            }
            fn date(&self, i: usize) -> $crate::Result<$crate::sql::Date> {
                self.get(i)
            }
        }
    };
}

/// The schema's timestamp and date types, for backends' row readers.
pub type Time = DateTime<Utc>;
pub type Date = NaiveDate;

/// A column's value as a Rust type.
pub trait FromCol: Sized {
    fn from_col(r: &dyn SqlRow, i: usize) -> Result<Self>;
}

macro_rules! from_col {
    ($($ty:ty => $get:ident),+ $(,)?) => {
        $(impl FromCol for $ty {
            fn from_col(r: &dyn SqlRow, i: usize) -> Result<Self> {
                r.$get(i)
            }
        })+
    };
}

from_col! {
    i64 => int,
    bool => bool,
    String => text,
    Vec<u8> => bytes,
    Uuid => id,
    DateTime<Utc> => time,
    NaiveDate => date,
}

/// A closed-set text column (kind, direction, status...) parsed back into its enum;
/// a comma-separated list of them (see [`token_list`]) into a `Vec` of it.
macro_rules! from_token {
    (lists: $($ty:ty),+ $(,)?) => {
        $(impl FromCol for Vec<$ty> {
            fn from_col(r: &dyn SqlRow, i: usize) -> Result<Self> {
                r.text(i)?
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(|t| t.parse().map_err(|e| StoreError::Backend(format!("column {i}: {e}"))))
                    .collect()
            }
        })+
    };
    ($($ty:ty),+ $(,)?) => {
        $(impl FromCol for $ty {
            fn from_col(r: &dyn SqlRow, i: usize) -> Result<Self> {
                r.text(i)?.parse().map_err(|e| StoreError::Backend(format!("column {i}: {e}")))
            }
        })+
    };
}

from_token!(
    SubjectKind,
    Direction,
    Role,
    HoldAction,
    SafeguardKind,
    OutboxStatus,
    PolicyStatus,
    RequestKind,
    RequestChannel,
    RequestStatus,
    IdentityDocument,
    IdentityVerdict,
    RequestOutcome,
    BreachRisk,
    BreachKeys,
    BreachStatus,
    BreachPhase,
    RestrictionGround,
    LegalBasis,
);
from_token!(lists: BreachNature, DataCategory);

impl FromCol for vigie_domain::Lang {
    fn from_col(r: &dyn SqlRow, i: usize) -> Result<Self> {
        r.text(i)?.parse().map_err(|e| StoreError::Backend(format!("column {i}: {e}")))
    }
}

impl<T: FromCol> FromCol for Option<T> {
    fn from_col(r: &dyn SqlRow, i: usize) -> Result<Self> {
        if r.is_null(i)? { Ok(None) } else { T::from_col(r, i).map(Some) }
    }
}

/// A whole row as a Rust value: the row types (see [`row!`]) and tuples of columns.
pub trait FromRow: Sized {
    fn from_row(r: &dyn SqlRow) -> Result<Self>;
}

macro_rules! tuple_row {
    ($(($($t:ident = $i:tt),+)),+) => {
        $(impl<$($t: FromCol),+> FromRow for ($($t,)+) {
            fn from_row(r: &dyn SqlRow) -> Result<Self> {
                Ok(($($t::from_col(r, $i)?,)+))
            }
        })+
    };
}

tuple_row!((A = 0), (A = 0, B = 1), (A = 0, B = 1, C = 2), (A = 0, B = 1, C = 2, D = 3));

/// Maps a row type from its columns, in field order: one mapper for every backend.
macro_rules! row {
    ($($ty:ident { $($field:ident),+ $(,)? })+) => {
        $(impl $crate::sql::FromRow for $crate::$ty {
            fn from_row(r: &dyn $crate::sql::SqlRow) -> $crate::Result<Self> {
                let mut column = 0..;
                let mut next = || column.next().unwrap_or_default();
                Ok($crate::$ty { $($field: $crate::sql::FromCol::from_col(r, next())?),+ })
            }
        })+
    };
}
pub(crate) use row;

/// What differs between SQL engines, beyond what a statement's common spelling covers.
pub trait Dialect: Sync {
    /// The statement as this engine runs it (from the common spelling).
    fn render(&self, sql: &str) -> String;
    /// The year (`YYYY`) of a timestamp column, as text.
    fn year(&self, column: &str) -> String;
    /// The month (`YYYY-MM`) of a date column, as text.
    fn month(&self, column: &str) -> String;
    /// A uuid column as 32 lowercase hex digits.
    fn hex_id(&self, column: &str) -> String;
    /// A query of the database's clock, as a timestamp column.
    fn now(&self) -> &'static str;
    /// Whether a `WITH` may hold `INSERT`s (data-modifying CTEs): several writes in one round trip.
    fn writable_ctes(&self) -> bool {
        false
    }
}

/// PostgreSQL runs the common spelling as written.
pub struct Postgres;

impl Dialect for Postgres {
    fn render(&self, sql: &str) -> String {
        sql.to_string()
    }
    fn year(&self, column: &str) -> String {
        format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY')")
    }
    fn month(&self, column: &str) -> String {
        format!("to_char({column}, 'YYYY-MM')")
    }
    fn hex_id(&self, column: &str) -> String {
        format!("replace({column}::text, '-', '')")
    }
    fn now(&self) -> &'static str {
        "SELECT clock_timestamp()"
    }
    fn writable_ctes(&self) -> bool {
        true
    }
}

/// SQLite: `?N` placeholders, no casts (a value's type travels with it), and no
/// `FOR UPDATE`: a write transaction holds the whole database (`BEGIN IMMEDIATE`),
/// so every row it reads stays as read until it commits. Timestamps and dates are
/// ISO-8601 text, so their prefixes are the buckets.
pub struct Sqlite;

impl Dialect for Sqlite {
    fn render(&self, sql: &str) -> String {
        render_sqlite(sql)
    }
    fn year(&self, column: &str) -> String {
        format!("substr({column}, 1, 4)")
    }
    fn month(&self, column: &str) -> String {
        format!("substr({column}, 1, 7)")
    }
    fn hex_id(&self, column: &str) -> String {
        format!("lower(hex({column}))")
    }
    fn now(&self) -> &'static str {
        // The spelling SQLite's timestamps are stored in (`2026-12-03 15:40:12.123+00:00`).
        "SELECT strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')"
    }
}

/// `$N` becomes `?N`, `::type` and `::type[]` casts go, and `FOR UPDATE [OF t] [SKIP LOCKED]` goes.
fn render_sqlite(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        if c == '$' && rest[1..].starts_with(|d: char| d.is_ascii_digit()) {
            out.push('?');
            rest = &rest[1..];
        } else if let Some(after) = rest.strip_prefix("::") {
            let end = after.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')).unwrap_or(after.len());
            rest = after[end..].strip_prefix("[]").unwrap_or(&after[end..]);
        } else if let Some(after) = rest.strip_prefix(" FOR UPDATE") {
            rest = after;
            if let Some(of) = rest.strip_prefix(" OF ") {
                let end = of.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')).unwrap_or(of.len());
                rest = &of[end..];
            }
            rest = rest.strip_prefix(" SKIP LOCKED").unwrap_or(rest);
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A connection as the one [`Tx`](crate::Tx) implementation uses it. Backends implement it.
pub trait Driver {
    fn dialect(&self) -> &'static dyn Dialect;
    /// The writer's copy of the audit head for the transaction in progress (see [`AuditHead`]).
    fn audit_head_copy(&mut self) -> &mut AuditHead;
    /// Runs a statement; the number of rows it changed.
    fn execute(&mut self, sql: Stmt<'_>, args: Args<'_>) -> Result<u64>;
    /// Runs a query, handing each row to `each` in order.
    fn query(&mut self, sql: Stmt<'_>, args: Args<'_>, each: &mut dyn FnMut(&dyn SqlRow) -> Result<()>) -> Result<()>;

    /// Many subjects at once (import). The default inserts them one by one.
    fn bulk_insert_subjects(&mut self, rows: &[SubjectRow]) -> Result<()>
    where
        Self: Sized,
    {
        rows.iter().try_for_each(|s| tx::insert_subject_row(self, s))
    }

    /// Consecutive audit entries at once. The default inserts them one by one.
    fn bulk_insert_audit(&mut self, entries: &[AuditRow]) -> Result<()>
    where
        Self: Sized,
    {
        entries.iter().try_for_each(|e| tx::insert_audit_row(self, e))
    }
}

/// The audit head as a write transaction moved it, kept by the connection (issue 14).
///
/// Entries are queued (`Tx::queue_audit`) without a place in the chain: `pending`. They get one
/// when they are written (`flush_audit`): before the commit (`Tx::head_flush`), or before a
/// statement of the same transaction reads the trail. Only then is the head row read and locked
/// (`SELECT … FOR UPDATE`, held until the commit), each entry sealed after the one before it, all
/// of them written in one bulk insert, and this copy moved to the last; the row itself is written
/// once, before the commit. So several writers (threads or instances) run their jobs side by side
/// and take turns only for the few statements of their commits.
///
/// A job's savepoint remembers the copy and its rollback puts it back, so a rolled-back job leaves
/// the head where it was (on PostgreSQL the row lock taken inside a rolled-back job is released
/// with it: the copy is then forgotten, and the next flush reads and locks the row again). A
/// rolled-back job's entries are dropped with its savepoint; those of earlier jobs that a flush
/// inside it wrote go back to the queue (`rescued`) and are sealed again at the next flush.
#[derive(Clone, Debug, Default)]
pub struct AuditHead {
    current: Option<HeadCopy>,
    saved: Option<HeadCopy>,
    pending: Vec<Queued>,
    /// How many of `pending` were appended before the current job's savepoint.
    saved_pending: usize,
    /// Entries of earlier jobs that a flush inside the current job wrote: that job's rollback
    /// takes them out of the table with its own, so they wait again.
    rescued: Vec<Queued>,
    /// The moves of `subject_counts` (migration 0022) not written yet, by kind, kept the same way:
    /// one upsert per kind per flush instead of one per subject written.
    counts: std::collections::BTreeMap<vigie_domain::SubjectKind, i64>,
    saved_counts: std::collections::BTreeMap<vigie_domain::SubjectKind, i64>,
    rescued_counts: std::collections::BTreeMap<vigie_domain::SubjectKind, i64>,
}

/// An entry waiting for its place in the chain, with what seals it there.
#[derive(Clone)]
struct Queued {
    entry: crate::AuditRow,
    seal: std::sync::Arc<dyn crate::AuditSeal>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Queued({})", self.entry.action)
    }
}

#[derive(Clone, Debug)]
struct HeadCopy {
    seq: i64,
    hash: Vec<u8>,
    /// The MAC of a head moved since it was read: `Some` until the row is written.
    unwritten_mac: Option<Vec<u8>>,
}

/// The typed helpers the `Tx` implementation is written with.
pub(crate) trait DriverExt: Driver {
    fn rows<T: FromRow>(&mut self, sql: Stmt<'_>, args: Args<'_>) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.query(sql, args, &mut |r| {
            out.push(T::from_row(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn opt<T: FromRow>(&mut self, sql: Stmt<'_>, args: Args<'_>) -> Result<Option<T>> {
        let mut out = None;
        self.query(sql, args, &mut |r| {
            if out.is_none() {
                out = Some(T::from_row(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// A single value of a query that always returns one row (`count(*)`, `EXISTS`).
    fn value<T: FromCol>(&mut self, sql: Stmt<'_>, args: Args<'_>) -> Result<T> {
        self.opt::<(T,)>(sql, args)?
            .map(|(v,)| v)
            .ok_or_else(|| StoreError::Backend("a query returned no row where one was expected".into()))
    }

    /// An `UPDATE` of one row that must exist.
    fn update_one(&mut self, sql: &'static str, args: Args<'_>, what: impl FnOnce() -> String) -> Result<()> {
        if self.execute(Stmt::Static(sql), args)? == 0 { Err(StoreError::NotFound(what())) } else { Ok(()) }
    }
}

impl<D: Driver + ?Sized> DriverExt for D {}

#[cfg(test)]
mod tests {
    use super::render_sqlite;

    #[test]
    fn sqlite_gets_numbered_marks_no_casts_and_no_row_locks() {
        assert_eq!(
            render_sqlite("SELECT 1 FROM t WHERE a = $1 AND b = $12"),
            "SELECT 1 FROM t WHERE a = ?1 AND b = ?12"
        );
        assert_eq!(
            render_sqlite("CASE WHEN $3::timestamptz IS NULL THEN $1::text END"),
            "CASE WHEN ?3 IS NULL THEN ?1 END"
        );
        assert_eq!(render_sqlite("x = ANY($2::text[]) AND y"), "x = ANY(?2) AND y");
        assert_eq!(
            render_sqlite("SELECT kind FROM subjects WHERE id = $1 FOR UPDATE"),
            "SELECT kind FROM subjects WHERE id = ?1"
        );
        assert_eq!(render_sqlite("SELECT 1 FROM s WHERE x FOR UPDATE OF s"), "SELECT 1 FROM s WHERE x");
        assert_eq!(render_sqlite("(SELECT id FROM o LIMIT $3 FOR UPDATE SKIP LOCKED)"), "(SELECT id FROM o LIMIT ?3)");
        assert_eq!(render_sqlite("SELECT '$x' || price"), "SELECT '$x' || price", "a $ without a digit stays");
    }
}
