//! People's accounts and their console sessions (SPEC 4.5).
//!
//! An account's email is an employee's personal data: it is sealed under the account's own
//! key (wrapped by the master key, re-wrapped by a rotation) and found at login by its blind
//! index, whose key domain is the accounts' own (an account never matches a subject). A
//! password is an argon2id hash, computed and checked off the async runtime; a login for an
//! unknown or disabled account is checked against a dummy hash, so that its answer takes the
//! same time as a wrong password's and says the same thing.
//!
//! A session is a 256-bit random id that only the cookie holds; the database keeps its
//! SHA-256. It is made at login (a new id each time), deleted at logout, when its account is
//! disabled or its password reset, and once idle for longer than the server's setting: the
//! lookup that finds it expired deletes it, and the server purges the others every minute.
//! Its CSRF token is derived from its id ([`vigie_crypto::csrf_token`]).
//!
//! Every creation, login, failed login, logout, password change, disabling and reset is audited
//! with the account id only: never a password, never an email.

use crate::App;
use crate::audit::{Actor, Entry};
use crate::auth::{By, Principal};
use crate::error::{AppError, Result};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use vigie_crypto::{Context, MasterKey, Part, SubjectKey};
use vigie_domain::access::Role;
use vigie_store::{AccountRow, Id, SessionRow, new_id};

/// The blind-index domain of account emails (distinct from subjects' `email`).
const EMAIL_INDEX: &str = "account_email";

/// The shortest password a person may choose.
pub const MIN_PASSWORD: usize = 12;
/// The longest (argon2's cost grows with it; no one types more).
pub const MAX_PASSWORD: usize = 256;

/// How often a session's last use is written at most: its idle clock's precision.
fn touch_precision(idle: TimeDelta) -> TimeDelta {
    (idle / 10).min(TimeDelta::seconds(30))
}

/// Where an account stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Logs in with a password of its own.
    Active,
    /// Holds a generated password: its next login asks for a new one.
    MustChangePassword,
    /// Logs in no more.
    Disabled,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Active => "active",
            AccountState::MustChangePassword => "must_change_password",
            AccountState::Disabled => "disabled",
        }
    }
}

/// An account as the admin sees it: never a password or its hash.
#[derive(Clone, Debug, Serialize)]
pub struct AccountView {
    pub id: Id,
    pub email: String,
    pub role: Role,
    pub state: AccountState,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// An account just made.
#[derive(Debug)]
pub struct CreatedAccount {
    pub id: Id,
    /// The generated first password, shown this once; None when the person chose it.
    pub password: Option<String>,
}

/// A successful login: the session id for the cookie (shown nowhere else).
#[derive(Debug)]
pub struct LoggedIn {
    pub session: String,
    /// The password was generated: the person must choose one before anything else.
    pub must_change: bool,
}

/// What a login attempt comes to. A refusal never says whether the email or the password was wrong.
#[derive(Debug)]
pub enum Login {
    Accepted(LoggedIn),
    Refused,
}

/// A valid console session, as each request finds it.
#[derive(Clone, Debug)]
pub struct Session {
    /// The caller, for the same services the API calls.
    pub principal: Principal,
    pub account: Id,
    /// The session's CSRF token: every state-changing form carries it.
    pub csrf: String,
    /// The password was generated: only the change-password page is open.
    pub must_change: bool,
}

/// The key under which login failures for one email are counted (in memory, by the web layer):
/// a hash of the normalised address, never the address.
pub fn throttle_key(email: &str) -> [u8; 32] {
    vigie_crypto::token_hash(&email.trim().to_lowercase())
}

/// Checks a password a person chooses: long enough, not absurdly long, not blank.
pub fn check_password(field: &str, password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(AppError::invalid(field, format!("must be at least {MIN_PASSWORD} characters long")));
    }
    if n > MAX_PASSWORD {
        return Err(AppError::invalid(field, format!("must be at most {MAX_PASSWORD} characters long")));
    }
    if password.trim().is_empty() {
        return Err(AppError::invalid(field, "must not be only spaces"));
    }
    Ok(())
}

fn normalise_email(raw: &str) -> Result<String> {
    vigie_domain::model::normalize_email(raw)
        .map_err(|_| AppError::invalid("email", "is not a valid email address (name@domain.tld)"))
}

fn parse_role(role: &str) -> Result<Role> {
    let people: Vec<&str> = Role::PEOPLE.iter().map(|r| r.as_str()).collect();
    let bad = || AppError::invalid("role", format!("must be one of: {}", people.join(", ")));
    let r: Role = role.trim().parse().map_err(|_| bad())?;
    if Role::PEOPLE.contains(&r) { Ok(r) } else { Err(bad()) }
}

/// Runs a password hash or check on a blocking thread: argon2 takes tens of milliseconds.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(format!("a password task failed: {e}")))
}

fn email_of(keys: &MasterKey, a: &AccountRow) -> Result<String> {
    let key: SubjectKey = keys.unwrap_key(&a.wrapped_key, a.id.as_bytes())?;
    let plain = key.open(&Context::new(a.id, Part::AccountEmail), &a.email)?;
    String::from_utf8(plain).map_err(|_| AppError::Internal(format!("the email of account {} is not text", a.id)))
}

fn view(keys: &MasterKey, a: &AccountRow) -> Result<AccountView> {
    let state = if a.disabled_at.is_some() {
        AccountState::Disabled
    } else if a.must_change {
        AccountState::MustChangePassword
    } else {
        AccountState::Active
    };
    Ok(AccountView {
        id: a.id,
        email: email_of(keys, a)?,
        role: a.role,
        state,
        created_at: a.created_at,
        last_login_at: a.last_login_at,
        disabled_at: a.disabled_at,
    })
}

impl App {
    fn account_index(&self, email: &str) -> Vec<u8> {
        self.keys.blind_index(EMAIL_INDEX, email).to_vec()
    }

    /// Creates a person's account (admin). Without a password, one is generated, returned once,
    /// and must be changed at the first login; a password given is the person's own.
    pub async fn create_account(
        &self,
        who: &Principal,
        email: &str,
        role: &str,
        password: Option<String>,
    ) -> Result<CreatedAccount> {
        who.require(&[Role::Admin], "creating an account")?;
        self.create_account_by(who.actor(), email, role, password).await
    }

    /// [`App::create_account`] by an actor already authorised (the command line).
    pub async fn create_account_by(
        &self,
        actor: Actor,
        email: &str,
        role: &str,
        password: Option<String>,
    ) -> Result<CreatedAccount> {
        let email = normalise_email(email)?;
        let role = parse_role(role)?;
        if let Some(p) = &password {
            check_password("password", p)?;
        }
        let (secret, generated) = match password {
            Some(p) => (p, false),
            None => (vigie_crypto::new_password()?, true),
        };
        let to_hash = secret.clone();
        let hash = blocking(move || vigie_crypto::hash_password(&to_hash)).await??;
        let id = new_id();
        let key = SubjectKey::generate()?;
        let at = self.now();
        let row = AccountRow {
            id,
            email_bi: self.account_index(&email),
            email: key.seal(&Context::new(id, Part::AccountEmail), email.as_bytes())?,
            wrapped_key: self.keys.wrap(&key, id.as_bytes())?,
            role,
            password_hash: hash,
            must_change: generated,
            created_at: at,
            password_changed_at: at,
            last_login_at: None,
            disabled_at: None,
        };
        self.db
            .audited(actor, move |tx, trail| {
                if tx.account_by_email(&row.email_bi)?.is_some() {
                    return Err(AppError::Conflict("an account with this email already exists".into()));
                }
                tx.insert_account(&row).map_err(|e| match e {
                    vigie_store::StoreError::Conflict(_) => {
                        AppError::Conflict("an account with this email already exists".into())
                    }
                    e => e.into(),
                })?;
                let detail = format!("account:{} role={}", row.id, row.role);
                let recorded = trail.record(tx, Entry::new("account.create").detail(detail))?;
                Ok(((), recorded))
            })
            .await?;
        Ok(CreatedAccount { id, password: generated.then_some(secret) })
    }

    /// Every account, oldest first (admin): email, role, state, dates; never a hash.
    pub async fn list_accounts(&self, who: &Principal) -> Result<Vec<AccountView>> {
        who.require(&[Role::Admin], "listing accounts")?;
        self.list_accounts_by().await
    }

    /// [`App::list_accounts`] for the command line.
    pub async fn list_accounts_by(&self) -> Result<Vec<AccountView>> {
        let rows = self.db.read(|tx| tx.accounts()).await?;
        rows.iter().map(|a| view(&self.keys, a)).collect()
    }

    /// The account of an email (command line).
    pub async fn account_id_by_email(&self, email: &str) -> Result<Id> {
        let bi = self.account_index(&normalise_email(email)?);
        let found = self.db.read(move |tx| tx.account_by_email(&bi)).await?;
        found.map(|a| a.id).ok_or_else(|| AppError::NotFound("an account with this email".into()))
    }

    /// Disables an account (admin): it logs in no more, and its sessions end at once.
    pub async fn disable_account(&self, who: &Principal, id: Id) -> Result<()> {
        who.require(&[Role::Admin], "disabling an account")?;
        if who.by == By::Account(id) {
            return Err(AppError::invalid("account", "an admin cannot disable their own account"));
        }
        self.disable_account_by(who.actor(), id).await
    }

    /// [`App::disable_account`] by an actor already authorised (the command line).
    pub async fn disable_account_by(&self, actor: Actor, id: Id) -> Result<()> {
        self.db
            .audited(actor, move |tx, trail| {
                if tx.account(id)?.is_none() {
                    return Err(AppError::NotFound(format!("account {id}")));
                }
                if !tx.disable_account(id, trail.at)? {
                    return Err(AppError::Conflict(format!("account {id} is already disabled")));
                }
                let ended = tx.delete_sessions_of(id)?;
                let detail = format!("account:{id} sessions_ended={ended}");
                let recorded = trail.record(tx, Entry::new("account.disable").detail(detail))?;
                Ok(((), recorded))
            })
            .await
    }

    /// Gives an account a new generated password, to change at its next login (admin); its
    /// sessions end. Returns the password, shown once.
    pub async fn reset_password(&self, who: &Principal, id: Id) -> Result<String> {
        who.require(&[Role::Admin], "resetting a password")?;
        self.reset_password_by(who.actor(), id).await
    }

    /// [`App::reset_password`] by an actor already authorised (the command line).
    pub async fn reset_password_by(&self, actor: Actor, id: Id) -> Result<String> {
        let password = vigie_crypto::new_password()?;
        let to_hash = password.clone();
        let hash = blocking(move || vigie_crypto::hash_password(&to_hash)).await??;
        self.db
            .audited(actor, move |tx, trail| {
                let account = tx.account(id)?.ok_or_else(|| AppError::NotFound(format!("account {id}")))?;
                if account.disabled_at.is_some() {
                    return Err(AppError::Conflict(format!("account {id} is disabled")));
                }
                tx.set_password(id, &hash, true, trail.at)?;
                let ended = tx.delete_sessions_of(id)?;
                let detail = format!("account:{id} sessions_ended={ended}");
                let recorded = trail.record(tx, Entry::new("account.reset_password").detail(detail))?;
                Ok(((), recorded))
            })
            .await?;
        Ok(password)
    }

    /// Logs a person in: a new session, or a refusal that does not say what was wrong.
    /// Audited either way (the account id when the email names one; never the email).
    pub async fn login(&self, email: &str, password: &str) -> Result<Login> {
        let bi = normalise_email(email).ok().map(|e| self.account_index(&e));
        let account = match bi {
            Some(bi) => self.db.read(move |tx| tx.account_by_email(&bi)).await?,
            None => None,
        };
        let (hash, live) = match &account {
            Some(a) => (a.password_hash.clone(), a.disabled_at.is_none()),
            None => (vigie_crypto::dummy_password_hash().to_string(), false),
        };
        let given = password.to_string();
        let matches = blocking(move || vigie_crypto::verify_password(&given, &hash)).await?;
        let known = account.as_ref().map(|a| a.id);
        let Some(account) = account.filter(|_| matches && live) else {
            self.db
                .audited(Actor::System, move |tx, trail| {
                    let mut entry = Entry::new("account.login_failed").outcome("refused");
                    if let Some(id) = known {
                        entry = entry.detail(format!("account:{id}"));
                    }
                    let recorded = trail.record(tx, entry)?;
                    Ok(((), recorded))
                })
                .await?;
            return Ok(Login::Refused);
        };
        let (session, hash) = vigie_crypto::new_session()?;
        let (id, must_change) = (account.id, account.must_change);
        self.db
            .audited(Actor::User(id), move |tx, trail| {
                tx.insert_session(&SessionRow {
                    hash: hash.to_vec(),
                    account_id: id,
                    created_at: trail.at,
                    last_seen_at: trail.at,
                })?;
                tx.record_login(id, trail.at)?;
                let recorded = trail.record(tx, Entry::new("account.login").detail(format!("account:{id}")))?;
                Ok(((), recorded))
            })
            .await?;
        Ok(Login::Accepted(LoggedIn { session, must_change }))
    }

    /// The session a cookie names, if it is valid: it exists, its account is enabled, and it was
    /// used within `idle`. An expired one is deleted on the way; a valid one's idle clock moves.
    pub async fn session(&self, id: &str, idle: std::time::Duration) -> Result<Option<Session>> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let hash = vigie_crypto::token_hash(id).to_vec();
        let h = hash.clone();
        let found = self
            .db
            .read(move |tx| {
                let Some(s) = tx.session(&h)? else { return Ok::<_, AppError>(None) };
                Ok(tx.account(s.account_id)?.map(|a| (s, a)))
            })
            .await?;
        let Some((session, account)) = found else { return Ok(None) };
        let idle = TimeDelta::from_std(idle).unwrap_or(TimeDelta::minutes(30));
        let now = self.now();
        if now - session.last_seen_at > idle || account.disabled_at.is_some() {
            let h = hash.clone();
            self.db.bookkeeping(move |b| b.delete_session(&h)).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= touch_precision(idle) {
            self.db.bookkeeping(move |b| b.touch_session(&hash, now)).await?;
        }
        Ok(Some(Session {
            principal: Principal { by: By::Account(account.id), role: account.role, recipient: None },
            account: account.id,
            csrf: vigie_crypto::csrf_token(id),
            must_change: account.must_change,
        }))
    }

    /// Ends a session (logout): deleted, audited. A session already gone changes nothing.
    pub async fn logout(&self, id: &str) -> Result<()> {
        let hash = vigie_crypto::token_hash(id).to_vec();
        let h = hash.clone();
        let Some(session) = self.db.read(move |tx| tx.session(&h)).await? else { return Ok(()) };
        let account = session.account_id;
        self.db
            .audited(Actor::User(account), move |tx, trail| {
                if !tx.delete_session(&hash)? {
                    return Ok(((), trail.nothing_changed()));
                }
                let entry = Entry::new("account.logout").detail(format!("account:{account}"));
                let recorded = trail.record(tx, entry)?;
                Ok(((), recorded))
            })
            .await
    }

    /// Changes the password of the session's account: the current one must match, the new one
    /// must differ and be long enough. The person's other sessions end; this one goes on.
    pub async fn change_password(&self, session: &Session, session_id: &str, current: &str, new: &str) -> Result<()> {
        check_password("new_password", new)?;
        if new == current {
            return Err(AppError::invalid("new_password", "must differ from the current password"));
        }
        let id = session.account;
        let account =
            self.db.read(move |tx| tx.account(id)).await?.ok_or_else(|| AppError::NotFound(format!("account {id}")))?;
        let (given, hash) = (current.to_string(), account.password_hash.clone());
        if !blocking(move || vigie_crypto::verify_password(&given, &hash)).await? {
            self.db
                .audited(Actor::User(id), move |tx, trail| {
                    let entry =
                        Entry::new("account.password_change").outcome("refused").detail(format!("account:{id}"));
                    let recorded = trail.record(tx, entry)?;
                    Ok(((), recorded))
                })
                .await?;
            return Err(AppError::invalid("current_password", "is not the current password"));
        }
        let to_hash = new.to_string();
        let hash = blocking(move || vigie_crypto::hash_password(&to_hash)).await??;
        let keep = vigie_crypto::token_hash(session_id).to_vec();
        self.db
            .audited(Actor::User(id), move |tx, trail| {
                tx.set_password(id, &hash, false, trail.at)?;
                // Every other session of the account ends: only this one knows the new password.
                let sessions = tx.delete_sessions_of(id)?;
                tx.insert_session(&SessionRow {
                    hash: keep.clone(),
                    account_id: id,
                    created_at: trail.at,
                    last_seen_at: trail.at,
                })?;
                let detail = format!("account:{id} other_sessions_ended={}", sessions.saturating_sub(1));
                let recorded = trail.record(tx, Entry::new("account.password_change").detail(detail))?;
                Ok(((), recorded))
            })
            .await
    }

    /// Deletes every session idle for longer than `idle` (run every minute by the server); how many.
    pub async fn purge_sessions(&self, idle: std::time::Duration) -> Result<u64> {
        let idle = TimeDelta::from_std(idle).unwrap_or(TimeDelta::minutes(30));
        let before = self.now() - idle;
        self.db.bookkeeping(move |b| b.delete_idle_sessions(before)).await
    }
}

/// Whether two secrets (CSRF tokens) are equal, in constant time.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    vigie_crypto::same_secret(a, b)
}
