//! Vigie's services. Every use case follows one path: authorise the caller,
//! validate the input, then, inside one store transaction, check the policy,
//! write sealed data, and append the audit entry that records it. Nothing is
//! written without its audit entry, and nothing personal reaches the entry.
//!
//! The services are independent of HTTP (`vigie-web`) and of the database
//! (`vigie-store-*`, chosen at start-up from the settings).

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod breaches;
pub mod clock;
pub mod db;
pub mod error;
pub mod governance;
pub(crate) mod input;
pub mod migrate;
pub mod outbox;
pub(crate) mod record;
pub mod retention;
pub mod rights;
pub mod subjects;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use vigie_crypto::MasterKey;
use vigie_domain::transfers::TransferList;
use vigie_domain::{Diagnostic, Policy};
use vigie_store::{Found, Store};

pub use error::{AppError, Result};

/// Where Vigie keeps its state, and how to reach it.
#[derive(Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// The database, as the binary chose it (`vigie_store_sqlite::SqliteFile` in the data
    /// directory, or `vigie_store_postgres::PostgresUrl`).
    pub database: Arc<dyn vigie_store::Database>,
    /// The master key file; defaults to `master.key` in the data directory.
    pub master_key_file: Option<PathBuf>,
    /// A policy file; defaults to the built-in MSI policy.
    pub policy_file: Option<PathBuf>,
    /// The list of EEA countries and adequacy decisions; defaults to
    /// `transfers.toml` in the data directory if present, else the built-in list.
    pub transfers_file: Option<PathBuf>,
    /// The erasure journal; defaults to `erasures.journal` in the data directory.
    pub erasure_journal: Option<PathBuf>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The database URL may carry a password.
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("database", &self.database.describe())
            .field("master_key_file", &self.master_key_file)
            .field("policy_file", &self.policy_file)
            .field("transfers_file", &self.transfers_file)
            .field("erasure_journal", &self.erasure_journal)
            .finish()
    }
}

impl Settings {
    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file.clone().unwrap_or_else(|| self.data_dir.join("master.key"))
    }
}

/// What `App::readiness` found.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub ready: bool,
    /// The checks that failed: `database`, `data_dir_writable`, `disk_space`.
    pub failed: Vec<&'static str>,
}

/// The free space below which an instance reports itself not ready (64 MiB).
const MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

/// Why Vigie could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the policy is invalid:\n{}", .0.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    Policy(Vec<Diagnostic>),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Crypto(#[from] vigie_crypto::CryptoError),
    #[error(transparent)]
    Store(#[from] vigie_store::StoreError),
    #[error(transparent)]
    App(#[from] AppError),
}

/// The text of the policy the settings name (or the built-in one).
pub fn policy_text(settings: &Settings) -> Result<String, StartError> {
    match &settings.policy_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| StartError::Io(format!("cannot read the policy file {}: {e}", path.display()))),
        None => Ok(vigie_domain::policy::DEFAULT_POLICY.to_string()),
    }
}

/// Reads and checks the policy the settings name (or the built-in one).
pub fn load_policy(settings: &Settings) -> Result<(Policy, Vec<Diagnostic>), StartError> {
    let text = policy_text(settings)?;
    let checked = Policy::from_toml(&text);
    match checked.policy {
        Some(p) => Ok((p, checked.diagnostics)),
        None => Err(StartError::Policy(checked.diagnostics)),
    }
}

/// Reads the transfer list the settings name, or the data directory's copy, or the built-in one.
pub fn load_transfers(settings: &Settings) -> Result<TransferList, StartError> {
    let path = settings.transfers_file.clone().or_else(|| {
        let p = settings.data_dir.join("transfers.toml");
        p.exists().then_some(p)
    });
    match path {
        None => Ok(TransferList::builtin()),
        Some(p) => {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| StartError::Io(format!("cannot read the transfer list {}: {e}", p.display())))?;
            TransferList::parse(&text)
                .map_err(|e| StartError::Io(format!("the transfer list {} is invalid: {e}", p.display())))
        }
    }
}

/// The running services: the store, the policy in force, the keys.
#[derive(Clone)]
pub struct App {
    pub(crate) db: db::Db,
    /// The policy in force; replaced when a revision takes effect.
    pub(crate) policy: Arc<std::sync::RwLock<Arc<Policy>>>,
    pub(crate) keys: Arc<MasterKey>,
    pub(crate) tokens: Arc<auth::TokenCache>,
    pub(crate) transfers: Arc<TransferList>,
    pub(crate) journal: Arc<backup::Journal>,
    /// The data directory (master key, journal, SQLite file), probed by `readiness`.
    pub(crate) data_dir: PathBuf,
    /// This instance, as the holder of outbox and job leases: random at each start.
    pub(crate) instance: vigie_store::Id,
    /// The directory transport's files, when notices are written there: erased with their subject.
    pub(crate) mail_dir: Arc<std::sync::OnceLock<outbox::MailDir>>,
    /// The address people reach this server at (`--public-url`), for links in emails.
    pub(crate) public_url: Arc<std::sync::OnceLock<String>>,
    /// The policy versions the register last showed, parsed, by their exact text.
    pub(crate) parsed_versions: Arc<governance::register::ParsedVersions>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "App({:?})", self.db)
    }
}

/// Creates the data directory (0700) if missing.
/// Creates the data directory if missing, and tightens it, new or not: the directory 0700,
/// every file in it 0600 (the database and its journals, the key, the erasure journal).
pub(crate) fn create_data_dir(dir: &Path) -> Result<(), StartError> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).map_err(|e| StartError::Io(format!("cannot create {}: {e}", dir.display())))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let restrict = |p: &Path, mode: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
                .map_err(|e| StartError::Io(format!("cannot restrict {}: {e}", p.display())))
        };
        restrict(dir, 0o700)?;
        let entries =
            std::fs::read_dir(dir).map_err(|e| StartError::Io(format!("cannot read {}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            let loose = entry.metadata().is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
            if is_file && loose {
                restrict(&entry.path(), 0o600)?;
            }
        }
    }
    Ok(())
}

/// Decides, before anything is written, whether this is a new installation (no key,
/// no database: both are created) or an existing one (both must be there). A missing
/// key is never replaced and a missing or empty database never re-created beside a key.
fn check_installation(settings: &Settings) -> Result<bool, StartError> {
    let key = settings.master_key_path();
    let found = settings.database.found()?;
    let db = settings.database.describe();
    match (key.exists(), found) {
        (false, Found::Nothing) => {
            if settings.master_key_file.is_some() {
                return Err(StartError::Io(format!("the master key file {} does not exist", key.display())));
            }
            Ok(true)
        }
        (false, _) => Err(StartError::Io(format!(
            "the master key file {} does not exist, but {db} does: Vigie cannot read it without the key it was \
             created with, and will not replace it. Put the key back from where you keep its copy \
             (or name it with --master-key-file)",
            key.display()
        ))),
        (true, Found::Nothing) | (true, Found::Empty) => Err(StartError::Io(format!(
            "{db} is {}, but the master key {} exists: this is not a new installation, so Vigie will not \
             create an empty one. Restore the database from a backup (vigie restore FILE), or move the key \
             away to start a new installation",
            if found == Found::Empty { "empty" } else { "missing" },
            key.display()
        ))),
        (true, Found::Database) => Ok(false),
    }
}

/// The backend the settings name. `open` applies migrations (and, on SQLite, checks the
/// file first); without it, a SQLite file is only named (restore replaces it).
pub(crate) fn backend(settings: &Settings, open: bool) -> Result<Arc<dyn vigie_store::Backend>, StartError> {
    Ok(if open { settings.database.open()? } else { settings.database.unopened()? })
}

fn open_store(settings: &Settings) -> Result<Store, StartError> {
    Ok(Store::start(backend(settings, true)?)?)
}

/// The meta key under which the database records its master key's check value.
pub(crate) const KEY_CHECK: &str = "master_key_check";

/// The meta key holding the blind-index and audit keys, sealed under the master key, once it was rotated.
const KEPT_KEYS: &str = "kept_sub_keys";

fn key_file_next(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

/// Loads the master key for this database: the file, with the sub-keys a rotation kept. When the
/// file does not match but a rotation's new key (`master.key.new`) does, that rotation committed
/// and only its renaming was cut short: it is completed here.
fn load_keys(store: &Store, path: &Path) -> Result<MasterKey, StartError> {
    let (kept, check) =
        store.read_blocking(|tx| Ok::<_, vigie_store::StoreError>((tx.meta(KEPT_KEYS)?, tx.meta(KEY_CHECK)?)))?;
    let try_key = |p: &Path| -> Result<Option<MasterKey>, StartError> {
        let mut k = MasterKey::load_file(p)?;
        if let Some(hex) = &kept {
            let Some(sealed) = vigie_crypto::unhex(hex) else { return Ok(None) };
            match k.with_kept(&sealed) {
                Ok(with) => k = with,
                Err(_) => return Ok(None),
            }
        }
        Ok(check.as_ref().is_none_or(|c| *c == k.check_value()).then_some(k))
    };
    if let Some(k) = try_key(path)? {
        return Ok(k);
    }
    let next = key_file_next(path);
    if next.exists()
        && let Some(k) = try_key(&next)?
    {
        std::fs::rename(&next, path)
            .map_err(|e| StartError::Io(format!("cannot complete the key rotation ({}): {e}", path.display())))?;
        tracing::warn!(path = %path.display(), "completed an interrupted master key rotation");
        return Ok(k);
    }
    Err(StartError::Io(format!(
        "the master key {} does not match the database (it is not the key the database was created with): \
         Vigie refuses to start. Use the right key file",
        path.display()
    )))
}

/// `vigie key rotate`: a new master key re-wraps every subject, request and breach key in one
/// transaction (the blind-index and audit keys are kept, sealed under the new key); the new file
/// replaces the old one only once that transaction has committed.
pub fn rotate_master_key(settings: &Settings) -> Result<u64, StartError> {
    if backend(settings, false)?.instance_running()? {
        return Err(StartError::Io(
            "a Vigie server is running on this installation: stop it (every instance) before rotating the key".into(),
        ));
    }
    let app = App::open(settings)?;
    let path = settings.master_key_path();
    let next_path = key_file_next(&path);
    let _ = std::fs::remove_file(&next_path); // a stale one: the current key matched.
    let (next, text) = MasterKey::generate()?;
    let kept = app.keys.seal_kept_for(&next)?;
    let next = Arc::new(next.with_kept(&kept)?);
    MasterKey::write_file(&next_path, &text)?;
    let (old, new) = (app.keys.clone(), next.clone());
    let rewrapped = app.db.audited_blocking(audit::Actor::Cli, move |tx, trail| {
        let all = tx.wrapped_keys()?;
        for (owner, id, wrapped) in &all {
            let key = old.unwrap_key(wrapped, id.as_bytes())?;
            tx.set_wrapped_key(*owner, *id, &new.wrap(&key, id.as_bytes())?)?;
        }
        tx.set_meta(KEPT_KEYS, &vigie_crypto::hex(&kept))?;
        tx.set_meta(KEY_CHECK, &new.check_value())?;
        let entry = audit::Entry::new("key.rotate").detail(format!("rewrapped={}", all.len()));
        let recorded = trail.record(tx, entry)?;
        Ok((all.len() as u64, recorded))
    });
    let rewrapped = match rewrapped {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&next_path);
            return Err(e.into());
        }
    };
    std::fs::rename(&next_path, &path)
        .map_err(|e| StartError::Io(format!("cannot put the new key in place at {}: {e}", path.display())))?;
    if let Some(dir) = path.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(rewrapped)
}

/// Checks the master key against the database: its recorded check value, or, for a
/// database that has none yet, the first audit entry's MAC; then records the value.
fn check_key(db: &db::Db, keys: &Arc<MasterKey>, key_path: &Path) -> Result<(), StartError> {
    let keys = keys.clone();
    let path = key_path.display().to_string();
    db.audited_blocking(audit::Actor::System, move |tx, trail| {
        let expected = keys.check_value();
        let mismatch = || AppError::Invalid {
            field: "master key".into(),
            message: format!(
                "the master key {path} does not match the database (it is not the key the database was \
                     created with): Vigie refuses to start. Use the right key file"
            ),
        };
        // A key already checked changes nothing; sealing the head is the trail's own bookkeeping.
        let mut recorded = trail.nothing_changed();
        match tx.meta(KEY_CHECK)? {
            Some(v) if v == expected => {}
            Some(_) => return Err(mismatch()),
            None => {
                if let Some(first) = tx.audit_page(0, 1)?.first()
                    && !audit::first_entry_matches(&keys, first)
                {
                    return Err(mismatch());
                }
                tx.set_meta(KEY_CHECK, &expected)?;
                recorded = trail.record(tx, audit::Entry::new("key.check_recorded"))?;
            }
        }
        // Only once the key is known to be the database's.
        audit::seal_head_once(tx, &keys)?;
        Ok(((), recorded))
    })?;
    Ok(())
}

impl App {
    /// Opens Vigie: data directory, key, policy, database. Refuses an invalid policy,
    /// a missing or wrong master key, and a missing, empty or damaged database beside a key.
    pub fn open(settings: &Settings) -> Result<App, StartError> {
        App::open_with_clock(settings, Arc::new(clock::SystemClock))
    }

    /// [`App::open`] on another clock (tests at chosen dates: see [`clock::FixedClock`]).
    pub fn open_with_clock(settings: &Settings, clock: Arc<dyn clock::Clock>) -> Result<App, StartError> {
        let (policy, warnings) = load_policy(settings)?;
        for w in &warnings {
            tracing::debug!(line = w.line, "policy: {}", w.message);
        }
        let transfers = load_transfers(settings)?;
        let new = check_installation(settings)?;
        create_data_dir(&settings.data_dir)?;
        let key_path = settings.master_key_path();
        if new {
            MasterKey::create_file(&key_path)?;
            tracing::info!(path = %key_path.display(), "created a new master key");
        }
        let store = open_store(settings)?;
        let keys = Arc::new(load_keys(&store, &key_path)?);
        let db = db::Db::new(store, keys.clone(), clock);
        check_key(&db, &keys, &key_path)?;
        let app = App {
            db,
            policy: Arc::new(std::sync::RwLock::new(Arc::new(policy))),
            keys,
            tokens: Arc::new(auth::TokenCache::default()),
            instance: vigie_store::new_id(),
            mail_dir: Arc::default(),
            public_url: Arc::default(),
            parsed_versions: Arc::default(),
            transfers: Arc::new(transfers),
            journal: Arc::new(backup::Journal::new(settings)),
            data_dir: settings.data_dir.clone(),
        };
        app.reconcile_journal()?;
        app.replay_after_restore()?;
        app.init_policy_versions(&policy_text(settings)?)?;
        app.index_names()?;
        app.index_contract_references()?;
        Ok(app)
    }

    /// Once, after the upgrade that added names' blind indexes (migration 0019), or after a
    /// restore or copy of data recorded before it: computes the name index of every subject
    /// recorded without one, in one transaction, and records that it was done (`meta.names_indexed`).
    fn index_names(&self) -> Result<(), StartError> {
        const DONE: &str = "names_indexed";
        if self.db.read_blocking(|tx| tx.meta(DONE))?.is_some() {
            return Ok(());
        }
        self.db.audited_blocking(audit::Actor::System, move |tx, trail| {
            let mut n = 0u64;
            for (owner, id, _) in tx.wrapped_keys()? {
                let Some(row) =
                    (owner == vigie_store::KeyOwner::Subject).then(|| tx.subject(id)).transpose()?.flatten()
                else {
                    continue;
                };
                let (_, identity) = record::open_identity(trail.keys(), &row)?;
                if let Some(bi) = record::name_bi(trail.keys(), &identity) {
                    tx.set_subject_name(id, Some(&bi))?;
                    n += 1;
                }
            }
            tx.set_meta(DONE, "1")?;
            // Nothing to tell on a new installation; an upgrade says how many names it indexed.
            let recorded = if n == 0 {
                trail.nothing_changed()
            } else {
                trail.record(tx, audit::Entry::new("subject.index_names").detail(format!("indexed={n}")))?
            };
            Ok(((), recorded))
        })?;
        Ok(())
    }

    /// Once, after the upgrade that added contract references' blind index (migration 0020), or
    /// after a restore or copy of data recorded before it: computes the blind index of every
    /// contract's reference, in one transaction, and records that it was done
    /// (`meta.contract_references_indexed`).
    fn index_contract_references(&self) -> Result<(), StartError> {
        const DONE: &str = "contract_references_indexed";
        if self.db.read_blocking(|tx| tx.meta(DONE))?.is_some() {
            return Ok(());
        }
        self.db.audited_blocking(audit::Actor::System, move |tx, trail| {
            let mut n = 0u64;
            for (owner, id, wrapped) in tx.wrapped_keys()? {
                if owner != vigie_store::KeyOwner::Subject {
                    continue;
                }
                let contracts = tx.contracts(id)?;
                if contracts.is_empty() {
                    continue;
                }
                let key = trail.keys().unwrap_key(&wrapped, id.as_bytes())?;
                for c in contracts {
                    let aad = record::aad_for(id, vigie_crypto::Part::Contract, Some(c.id));
                    let reference = String::from_utf8_lossy(&key.open(&aad, &c.reference)?).into_owned();
                    if let Some(bi) = record::contract_reference_bi(trail.keys(), &reference) {
                        tx.set_contract_reference(c.id, &bi)?;
                        n += 1;
                    }
                }
            }
            tx.set_meta(DONE, "1")?;
            // Nothing to tell on a new installation; an upgrade says how many references it indexed.
            let recorded = if n == 0 {
                trail.nothing_changed()
            } else {
                trail.record(tx, audit::Entry::new("contract.index_references").detail(format!("indexed={n}")))?
            };
            Ok(((), recorded))
        })?;
        Ok(())
    }

    /// The policy in force now.
    pub fn policy(&self) -> Arc<Policy> {
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts a new policy in force.
    pub(crate) fn set_policy(&self, policy: Policy) {
        let mut guard = match self.policy.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(policy);
    }

    /// The store as app code sees it: snapshots, and the maintenance of the database.
    pub fn db(&self) -> &db::Db {
        &self.db
    }

    /// The time now, by the clock this app runs on.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.db.now()
    }

    /// Whether this instance can do its work now (`/api/v1/ready`): the database answers, the
    /// data directory takes a write, and its disk has room. Each failed check is named.
    pub async fn readiness(&self) -> Readiness {
        let mut failed = Vec::new();
        if let Err(e) = self.db.read(|tx| tx.count_tokens()).await {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            failed.push("database");
        }
        let dir = self.data_dir.clone();
        let disk = tokio::task::spawn_blocking(move || {
            let probe = dir.join(".ready-probe");
            let writable = std::fs::write(&probe, b"ok").and_then(|()| std::fs::remove_file(&probe)).is_ok();
            let room = rustix::fs::statvfs(&dir)
                .map(|s| s.f_bavail.saturating_mul(s.f_frsize) >= MIN_FREE_BYTES)
                .unwrap_or(false);
            (writable, room)
        })
        .await
        .unwrap_or((false, false));
        if !disk.0 {
            failed.push("data_dir_writable");
        }
        if !disk.1 {
            failed.push("disk_space");
        }
        Readiness { ready: failed.is_empty(), failed }
    }

    /// The counts `/metrics` reads at each scrape (requests by status and overdue, breaches past
    /// their 72 hours unnotified, the outbox by status): a few counting statements in one snapshot.
    pub async fn ops_counts(&self) -> Result<vigie_store::OpsCounts> {
        let now = self.now();
        let (today, deadline) = (now.date_naive(), now - chrono::TimeDelta::hours(72));
        Ok(self.db.read(move |tx| tx.ops_counts(today, deadline)).await?)
    }

    /// The EEA and adequacy list in force.
    pub fn transfers(&self) -> &TransferList {
        &self.transfers
    }

    /// Verifies the whole audit chain.
    pub async fn verify_audit(&self) -> Result<governance::trail::Verification> {
        crate::governance::trail::verify(&self.db, self.keys.clone()).await
    }

    /// The bare MAC chain over `entries` (each an entry's [`audit::canonical`] bytes) under this
    /// installation's audit key, one after the other on the calling thread: what verifying the
    /// trail costs without reading it (`vigie-bench ops verify`'s baseline). The last link.
    #[doc(hidden)]
    pub fn audit_chain_bare(&self, entries: &[Vec<u8>]) -> [u8; 32] {
        let mut previous = [0u8; 32];
        for e in entries {
            previous = self.keys.chain(&previous, e);
        }
        previous
    }

    /// Signs the head of the (valid) audit trail, for the DPO to keep outside Vigie.
    pub async fn audit_checkpoint(&self) -> Result<governance::trail::Checkpoint> {
        crate::governance::trail::checkpoint(&self.db, self.keys.clone()).await
    }

    /// Verifies the chain and that it extends a checkpoint taken earlier.
    pub async fn verify_audit_extends(
        &self,
        cp: &governance::trail::Checkpoint,
    ) -> Result<governance::trail::Verification> {
        crate::governance::trail::verify_extends(&self.db, self.keys.clone(), cp).await
    }
}

/// Checks and normalises the address people reach the server at (`--public-url`, e.g.
/// `https://rgpd.example.fr`): an http(s) URL without query or fragment, no trailing slash.
pub fn public_url(url: &str) -> std::result::Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host = rest.and_then(|r| r.split('/').next()).unwrap_or("");
    if host.is_empty() || url.contains(|c: char| c.is_whitespace() || c.is_control() || "?#\"<>".contains(c)) {
        return Err("the public URL must be an http(s) address without query or fragment, e.g. \
                    https://rgpd.example.fr"
            .into());
    }
    Ok(url.to_string())
}

impl App {
    /// Sets the address people reach this server at (checked by [`public_url`]), for the links
    /// Vigie sends by email; once, at start.
    pub fn use_public_url(&self, url: String) {
        let _ = self.public_url.set(url);
    }
}
