-- Requests also arrive by phone and in person (recorded as such).
-- SQLite cannot alter a CHECK constraint; widening an IN list changes no stored row,
-- so the table's definition is edited in place, as SQLite's ALTER TABLE documentation
-- describes (the migration then bumps schema_version, see `migrate`).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (channel IN (''letter'', ''email'', ''web_form''))',
                          'CHECK (channel IN (''letter'', ''email'', ''web_form'', ''phone'', ''in_person''))')
 WHERE type = 'table' AND name = 'requests';
PRAGMA writable_schema = OFF;
