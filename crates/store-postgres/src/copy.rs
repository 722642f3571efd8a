//! PostgreSQL's side of `vigie migrate`: the catalog (`pg_class`, `pg_attribute`, the columns'
//! types), a read of every table in one `REPEATABLE READ READ ONLY` transaction (one snapshot,
//! read through portals in batches), and writes by binary `COPY` in one transaction, the identity
//! sequences moved past the copied rows before it commits.

use crate::{Postgres, err};
use bytes::BytesMut;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, GenericClient};
use vigie_store::copy::{BATCH, Column, Copyable, EachBatch, Kind, MIGRATIONS_TABLE, Sink, Table, Value};
use vigie_store::{Result, StoreError};

fn kind_of(ty: &Type) -> Option<Kind> {
    Some(match *ty {
        Type::INT2 | Type::INT4 | Type::INT8 => Kind::Int,
        Type::BOOL => Kind::Bool,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Kind::Text,
        Type::BYTEA => Kind::Bytes,
        Type::UUID => Kind::Id,
        Type::TIMESTAMPTZ => Kind::Time,
        Type::DATE => Kind::Date,
        _ => return None,
    })
}

fn tables_of(client: &mut impl GenericClient) -> Result<Vec<Table>> {
    let names: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_class c
             WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace ORDER BY c.oid",
            &[],
        )
        .map_err(err)?
        .iter()
        .map(|r| r.try_get(0).map_err(err))
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let columns: Vec<String> = client
            .query(
                "SELECT a.attname::text FROM pg_attribute a
                 WHERE a.attrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass
                   AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                &[&name],
            )
            .map_err(err)?
            .iter()
            .map(|r| r.try_get(0).map_err(err))
            .collect::<Result<_>>()?;
        let mut table = Table { name, columns: columns.into_iter().map(|name| Column { name, kind: None }).collect() };
        // The types as the server describes the columns of a select.
        let st = client.prepare(&format!("SELECT {} FROM \"{}\"", table.column_list(), table.name)).map_err(err)?;
        for (c, described) in table.columns.iter_mut().zip(st.columns()) {
            c.kind = Some(kind_of(described.type_()).ok_or_else(|| {
                StoreError::Backend(format!(
                    "migrate: {}.{} has the type {}, which Vigie does not copy",
                    table.name,
                    c.name,
                    described.type_()
                ))
            })?);
        }
        out.push(table);
    }
    Ok(out)
}

fn value(row: &postgres::Row, i: usize) -> Result<Value> {
    let ty = row.columns()[i].type_().clone();
    let v = match ty {
        Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(err)?.map(|v| Value::Int(v.into())),
        Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(err)?.map(|v| Value::Int(v.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(err)?.map(Value::Int),
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(err)?.map(Value::Bool),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i).map_err(err)?.map(Value::Bytes),
        Type::UUID => row.try_get::<_, Option<uuid::Uuid>>(i).map_err(err)?.map(Value::Id),
        Type::TIMESTAMPTZ => row.try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(i).map_err(err)?.map(Value::Time),
        Type::DATE => row.try_get::<_, Option<chrono::NaiveDate>>(i).map_err(err)?.map(Value::Date),
        _ => row.try_get::<_, Option<String>>(i).map_err(err)?.map(Value::Text),
    };
    Ok(v.unwrap_or(Value::Null))
}

/// A value bound with the driver's conversion for the column's type.
#[derive(Debug)]
struct Bind<'a>(&'a Value);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        match (self.0, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(v), &Type::INT2) => i16::try_from(*v)?.to_sql_checked(ty, out),
            (Value::Int(v), &Type::INT4) => i32::try_from(*v)?.to_sql_checked(ty, out),
            (Value::Int(v), _) => v.to_sql_checked(ty, out),
            (Value::Bool(v), _) => v.to_sql_checked(ty, out),
            (Value::Text(v), _) => v.to_sql_checked(ty, out),
            (Value::Bytes(v), _) => v.to_sql_checked(ty, out),
            (Value::Id(v), _) => v.to_sql_checked(ty, out),
            (Value::Time(v), _) => v.to_sql_checked(ty, out),
            (Value::Date(v), _) => v.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl Copyable for Postgres {
    fn tables(&self) -> Result<Vec<Table>> {
        tables_of(&mut self.raw_client()?)
    }

    fn export(&self, tables: &[Table], each: EachBatch<'_>) -> Result<()> {
        let mut client = self.raw_client()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(err)?;
        for table in tables {
            let st = tx.prepare(&format!("SELECT {} FROM \"{}\"", table.column_list(), table.name)).map_err(err)?;
            let portal = tx.bind(&st, &[]).map_err(err)?;
            loop {
                let rows = tx.query_portal(&portal, BATCH as i32).map_err(err)?;
                if rows.is_empty() {
                    break;
                }
                let batch = rows
                    .iter()
                    .map(|r| (0..table.columns.len()).map(|i| value(r, i)).collect::<Result<Vec<_>>>())
                    .collect::<Result<Vec<_>>>()?;
                let last = batch.len() < BATCH;
                each(table, batch)?;
                if last {
                    break;
                }
            }
        }
        tx.commit().map_err(err)
    }

    fn import(&self) -> Result<Box<dyn Sink>> {
        let mut client = self.raw_client()?;
        client.batch_execute("BEGIN").map_err(err)?;
        let tables = tables_of(&mut client)?;
        let data: Vec<String> =
            tables.iter().filter(|t| t.name != MIGRATIONS_TABLE).map(|t| format!("\"{}\"", t.name)).collect();
        if !data.is_empty() {
            client.batch_execute(&format!("TRUNCATE {}", data.join(", "))).map_err(err)?;
        }
        Ok(Box::new(PgSink { client }))
    }

    fn count_rows(&self, table: &str) -> Result<i64> {
        let mut client = self.raw_client()?;
        client.query_one(&format!("SELECT count(*) FROM \"{table}\""), &[]).and_then(|r| r.try_get(0)).map_err(err)
    }
}

struct PgSink {
    client: Client,
}

impl Sink for PgSink {
    fn write(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<()> {
        let columns = table.column_list();
        let types: Vec<Type> = self
            .client
            .prepare(&format!("SELECT {columns} FROM \"{}\"", table.name))
            .map_err(err)?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let sql = format!("COPY \"{}\" ({columns}) FROM STDIN (FORMAT binary)", table.name);
        let mut writer = BinaryCopyInWriter::new(self.client.copy_in(&sql).map_err(err)?, &types);
        for row in rows {
            let binds: Vec<Bind<'_>> = row.iter().map(Bind).collect();
            let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
            writer.write(&refs).map_err(err)?;
        }
        writer.finish().map_err(err)?;
        Ok(())
    }

    /// Moves every identity sequence past the copied rows, then commits.
    fn finish(mut self: Box<Self>) -> Result<()> {
        let identities: Vec<(String, String)> = self
            .client
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')",
                &[],
            )
            .map_err(err)?
            .iter()
            .map(|r| Ok((r.try_get(0).map_err(err)?, r.try_get(1).map_err(err)?)))
            .collect::<Result<_>>()?;
        for (table, column) in identities {
            self.client
                .execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence($1, $2), greatest(coalesce(max(\"{column}\"), 0), 1),
                                       max(\"{column}\") IS NOT NULL) FROM \"{table}\""
                    ),
                    &[&format!("\"{table}\""), &column],
                )
                .map_err(err)?;
        }
        if let Err(e) = self.client.batch_execute("COMMIT") {
            let _ = self.client.batch_execute("ROLLBACK");
            return Err(err(e));
        }
        Ok(())
    }
}
