-- People's accounts (SPEC 4.5) and their console sessions. An account's email is an employee's
-- personal data: sealed under the account's own key (wrapped by the master key), found at login
-- by its blind index. The password is an argon2id hash (PHC string). A session is stored only as
-- the SHA-256 of its random id; it is deleted at logout, when it has been idle too long, and when
-- its account is disabled or its password reset.
CREATE TABLE accounts (
    id                  uuid PRIMARY KEY,
    email_bi            bytea NOT NULL UNIQUE,
    email               bytea NOT NULL,
    wrapped_key         bytea NOT NULL,
    role                text NOT NULL CHECK (role IN ('admin', 'dpo', 'staff', 'auditor')),
    password_hash       text NOT NULL,
    must_change         boolean NOT NULL,
    created_at          timestamptz NOT NULL,
    password_changed_at timestamptz NOT NULL,
    last_login_at       timestamptz,
    disabled_at         timestamptz
);

CREATE TABLE sessions (
    hash         bytea PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_seen ON sessions (last_seen_at);
