-- Issue 14.3: the register's live counts of subjects per kind, without counting every subject.
-- `recorded` is kept by every write that records a subject or changes its kind, in the same
-- transaction (the store's `Tx` methods: one statement per kind per import batch); erasures
-- are counted already, per month, kind and rule (`erased_counts`). So the live count of a kind
-- is `recorded` less its erasures (`ReadTx::subject_counts`), exact by construction, and an
-- erasure costs no statement more. Backfilled here so that this holds from now on.
CREATE TABLE subject_counts (
    kind     TEXT PRIMARY KEY CHECK (kind IN ('client', 'prospect')),
    recorded INTEGER NOT NULL
) WITHOUT ROWID;
-- A kind never recorded has no row (a new database stays empty: `vigie migrate` copies into one).
INSERT INTO subject_counts (kind, recorded)
SELECT kind, recorded FROM (
    SELECT k.kind,
           (SELECT count(*) FROM subjects s WHERE s.kind = k.kind)
           + COALESCE((SELECT sum(e.count) FROM erased_counts e WHERE e.kind = k.kind), 0) AS recorded
      FROM (SELECT 'client' AS kind UNION ALL SELECT 'prospect') k
) WHERE recorded > 0;

-- Subjects without an email (few): a breach scope by kind counts those a notice can reach as the
-- live count less these, read from this index alone.
CREATE INDEX subjects_without_email ON subjects (kind) WHERE email_bi IS NULL;
