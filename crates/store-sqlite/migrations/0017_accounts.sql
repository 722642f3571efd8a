-- People's accounts (SPEC 4.5) and their console sessions. An account's email is an employee's
-- personal data: sealed under the account's own key (wrapped by the master key), found at login
-- by its blind index. The password is an argon2id hash (PHC string). A session is stored only as
-- the SHA-256 of its random id; it is deleted at logout, when it has been idle too long, and when
-- its account is disabled or its password reset.
CREATE TABLE accounts (
    id                  BLOB PRIMARY KEY,
    email_bi            BLOB NOT NULL UNIQUE,
    email               BLOB NOT NULL,
    wrapped_key         BLOB NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'dpo', 'staff', 'auditor')),
    password_hash       TEXT NOT NULL,
    must_change         INTEGER NOT NULL CHECK (must_change IN (0, 1)),
    created_at          TEXT NOT NULL,
    password_changed_at TEXT NOT NULL,
    last_login_at       TEXT,
    disabled_at         TEXT
) WITHOUT ROWID;

CREATE TABLE sessions (
    hash         BLOB PRIMARY KEY,
    account_id   BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_seen ON sessions (last_seen_at);
