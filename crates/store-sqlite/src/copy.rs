//! SQLite's side of `vigie migrate`: the catalog (`sqlite_master`, `pragma_table_info`), a read of
//! every table in one transaction (one snapshot in WAL mode), and writes in one `BEGIN IMMEDIATE`
//! transaction whose foreign keys are checked at its commit.

use crate::{Bind, Sqlite, err};
use rusqlite::Connection as Conn;
use rusqlite::types::ValueRef;
use vigie_store::copy::{BATCH, Column, Copyable, EachBatch, Kind, MIGRATIONS_TABLE, Sink, Table, Value};
use vigie_store::sql::Arg;
use vigie_store::{Result, StoreError};

fn tables_of(conn: &Conn) -> Result<Vec<Table>> {
    let mut st = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
        .map_err(err)?;
    let names: Vec<String> = st.query_map([], |r| r.get(0)).and_then(|rows| rows.collect()).map_err(err)?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let mut st = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid").map_err(err)?;
        let columns: Vec<String> = st.query_map([&name], |r| r.get(0)).and_then(|rows| rows.collect()).map_err(err)?;
        out.push(Table { name, columns: columns.into_iter().map(|name| Column { name, kind: None }).collect() });
    }
    Ok(out)
}

/// Reads column `i` of a row as `kind` says.
fn value(row: &rusqlite::Row<'_>, i: usize, table: &Table) -> Result<Value> {
    let col = &table.columns[i];
    if row.get_ref(i).map_err(err)? == ValueRef::Null {
        return Ok(Value::Null);
    }
    let kind = col
        .kind
        .ok_or_else(|| StoreError::Backend(format!("migrate: no type is known for {}.{}", table.name, col.name)))?;
    let bad = |e: rusqlite::Error| StoreError::Backend(format!("migrate: {}.{}: {e}", table.name, col.name));
    Ok(match kind {
        Kind::Int => Value::Int(row.get(i).map_err(bad)?),
        Kind::Bool => Value::Bool(row.get(i).map_err(bad)?),
        Kind::Text => Value::Text(row.get(i).map_err(bad)?),
        Kind::Bytes => Value::Bytes(row.get(i).map_err(bad)?),
        Kind::Id => Value::Id(row.get(i).map_err(bad)?),
        Kind::Time => Value::Time(row.get(i).map_err(bad)?),
        Kind::Date => Value::Date(row.get(i).map_err(bad)?),
    })
}

fn arg(v: &Value) -> Arg<'_> {
    match v {
        Value::Null => Arg::Null,
        Value::Int(v) => Arg::Int(*v),
        Value::Bool(v) => Arg::Bool(*v),
        Value::Text(v) => Arg::Text(v),
        Value::Bytes(v) => Arg::Bytes(v),
        Value::Id(v) => Arg::Id(*v),
        Value::Time(v) => Arg::Time(*v),
        Value::Date(v) => Arg::Date(*v),
    }
}

impl Copyable for Sqlite {
    fn tables(&self) -> Result<Vec<Table>> {
        tables_of(&self.raw(false)?)
    }

    fn export(&self, tables: &[Table], each: EachBatch<'_>) -> Result<()> {
        let conn = self.raw(false)?;
        // One read transaction: every table read from the same snapshot.
        conn.execute_batch("BEGIN DEFERRED").map_err(err)?;
        let result = (|| {
            for table in tables {
                let sql = format!("SELECT {} FROM \"{}\"", table.column_list(), table.name);
                let mut st = conn.prepare(&sql).map_err(err)?;
                let mut rows = st.query([]).map_err(err)?;
                let mut batch = Vec::with_capacity(BATCH);
                while let Some(row) = rows.next().map_err(err)? {
                    let values = (0..table.columns.len()).map(|i| value(row, i, table)).collect::<Result<Vec<_>>>()?;
                    batch.push(values);
                    if batch.len() == BATCH {
                        each(table, std::mem::take(&mut batch))?;
                    }
                }
                if !batch.is_empty() {
                    each(table, batch)?;
                }
            }
            Ok(())
        })();
        let _ = conn.execute_batch("ROLLBACK");
        result
    }

    fn import(&self) -> Result<Box<dyn Sink>> {
        let conn = self.raw(true)?;
        conn.execute_batch("BEGIN IMMEDIATE; PRAGMA defer_foreign_keys = ON;").map_err(err)?;
        for table in tables_of(&conn)? {
            if table.name != MIGRATIONS_TABLE {
                conn.execute(&format!("DELETE FROM \"{}\"", table.name), []).map_err(err)?;
            }
        }
        Ok(Box::new(SqliteSink { conn }))
    }

    fn count_rows(&self, table: &str) -> Result<i64> {
        self.raw(false)?.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get(0)).map_err(err)
    }
}

struct SqliteSink {
    conn: Conn,
}

impl Sink for SqliteSink {
    fn write(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<()> {
        let params: Vec<String> = (1..=table.columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("INSERT INTO \"{}\" ({}) VALUES ({})", table.name, table.column_list(), params.join(", "));
        let mut st = self.conn.prepare_cached(&sql).map_err(err)?;
        for row in rows {
            for (i, v) in row.iter().enumerate() {
                st.raw_bind_parameter(i + 1, Bind(arg(v))).map_err(err)?;
            }
            st.raw_execute().map_err(err)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(err(e))
            }
        }
    }
}
