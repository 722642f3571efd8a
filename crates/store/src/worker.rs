//! The threads that own database connections, and the [`Store`] handle that
//! sends them work.
//!
//! Writers take jobs from one queue and run as many as are waiting (up to
//! `max_batch`) in one transaction, each inside its own savepoint: a job that
//! fails is rolled back alone, the others commit together, and one durable
//! sync serves them all (group commit). A job's result is released only after
//! the commit, so a caller never sees a success that is not on disk.
//!
//! Readers run one job per read-only transaction, in parallel.

use crate::{Backend, Connection, Result, StoreError, Tx};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use tokio::sync::oneshot;

/// How many connection threads a backend runs, and how large a group commit may grow.
#[derive(Clone, Copy, Debug)]
pub struct WorkerConfig {
    pub writers: usize,
    pub readers: usize,
    pub max_batch: usize,
}

/// Called once the transaction a job ran in has committed (or failed to).
type Completion = Box<dyn FnOnce(Result<()>) + Send>;
/// A job: runs on a connection thread, says whether it succeeded, and how to report.
type Job = Box<dyn FnOnce(&mut dyn Tx) -> (bool, Completion) + Send>;

/// A handle on the connection threads. Cheap to clone; the threads stop when
/// the last handle is dropped, after finishing the jobs already queued.
#[derive(Clone)]
pub struct Store {
    writer: crossbeam_channel::Sender<Job>,
    reader: crossbeam_channel::Sender<Job>,
    backend: Arc<dyn Backend>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.backend.name())
    }
}

impl Store {
    /// Starts the connection threads. Fails if the first connection cannot be opened.
    pub fn start(backend: Arc<dyn Backend>) -> Result<Store> {
        let config = backend.workers();
        let (writer, write_jobs) = crossbeam_channel::unbounded::<Job>();
        let (reader, read_jobs) = crossbeam_channel::unbounded::<Job>();
        for i in 0..config.writers.max(1) {
            let conn = backend.connect(true)?;
            let jobs = write_jobs.clone();
            let backend = backend.clone();
            std::thread::Builder::new()
                .name(format!("vigie-writer-{i}"))
                .spawn(move || write_loop(conn, &jobs, backend.as_ref(), config.max_batch.max(1)))
                .map_err(|e| StoreError::Backend(format!("cannot start a writer thread: {e}")))?;
        }
        for i in 0..config.readers.max(1) {
            let conn = backend.connect(false)?;
            let jobs = read_jobs.clone();
            let backend = backend.clone();
            std::thread::Builder::new()
                .name(format!("vigie-reader-{i}"))
                .spawn(move || read_loop(conn, &jobs, backend.as_ref()))
                .map_err(|e| StoreError::Backend(format!("cannot start a reader thread: {e}")))?;
        }
        Ok(Store { writer, reader, backend })
    }

    /// Asks the backend to purge what erasures left in journals (blocking; best effort).
    pub fn compact(&self) -> Result<()> {
        self.backend.compact()
    }

    /// A consistent copy of the database (blocking; see [`crate::Backend::backup`]).
    pub fn backup(&self, out: &std::path::Path) -> Result<()> {
        self.backend.backup(out)
    }

    /// The backend's instance lock, held by a running server.
    pub fn instance_lock(&self) -> Result<Box<dyn Send>> {
        self.backend.instance_lock()
    }

    /// The backend's full consistency check (blocking).
    pub fn integrity_check(&self) -> Result<()> {
        self.backend.integrity_check()
    }

    /// The backend's name, `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// Wraps `f` as a job whose result, once the commit is known, goes to `reply`.
    fn job<T, E, F, R>(f: F, reply: R) -> Job
    where
        F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        R: FnOnce(Result<T, E>) + Send + 'static,
    {
        Box::new(move |tx| {
            let outcome = f(tx);
            let ok = outcome.is_ok();
            let completion: Completion = Box::new(move |committed| {
                reply(match (outcome, committed) {
                    (Err(e), _) => Err(e),
                    (Ok(v), Ok(())) => Ok(v),
                    (Ok(_), Err(e)) => Err(E::from(e)),
                });
            });
            (ok, completion)
        })
    }

    async fn submit<T, E, F>(queue: &crossbeam_channel::Sender<Job>, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (send, recv) = oneshot::channel();
        let job = Self::job(f, move |r| {
            let _ = send.send(r);
        });
        queue.send(job).map_err(|_| E::from(StoreError::Closed))?;
        recv.await.map_err(|_| E::from(StoreError::Closed))?
    }

    /// Blocks the calling thread (never a runtime's worker: use it from plain threads and `main`).
    fn submit_blocking<T, E, F>(queue: &crossbeam_channel::Sender<Job>, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (send, recv) = std::sync::mpsc::channel();
        let job = Self::job(f, move |r| {
            let _ = send.send(r);
        });
        queue.send(job).map_err(|_| E::from(StoreError::Closed))?;
        recv.recv().map_err(|_| E::from(StoreError::Closed))?
    }

    /// Runs `f` in a write transaction. All of it commits, durably, or none of it.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        Self::submit(&self.writer, f).await
    }

    /// Runs `f` in a read-only transaction (a consistent snapshot).
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        Self::submit(&self.reader, f).await
    }

    /// [`Store::write`] for synchronous callers (the CLI, start-up). It blocks the thread.
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        Self::submit_blocking(&self.writer, f)
    }

    /// [`Store::read`] for synchronous callers.
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        Self::submit_blocking(&self.reader, f)
    }
}

/// Runs a job, turning a panic into a failure so one bad job cannot kill the thread.
fn run(job: Job, tx: &mut dyn Tx) -> Option<(bool, Completion)> {
    match catch_unwind(AssertUnwindSafe(|| job(tx))) {
        Ok(done) => Some(done),
        Err(_) => {
            tracing::error!("a store job panicked; its transaction is rolled back");
            None
        }
    }
}

fn fail_all(done: Vec<Completion>, err: &StoreError) {
    for c in done {
        c(Err(StoreError::Backend(err.to_string())));
    }
}

/// Re-opens a connection after an error, so a restarted database does not
/// leave the thread dead.
fn reconnect(conn: &mut Box<dyn Connection>, backend: &dyn Backend, write: bool) {
    match backend.connect(write) {
        Ok(fresh) => *conn = fresh,
        Err(e) => {
            tracing::warn!(backend = backend.name(), error = %e, "reconnect failed");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

fn write_loop(
    mut conn: Box<dyn Connection>,
    jobs: &crossbeam_channel::Receiver<Job>,
    backend: &dyn Backend,
    max_batch: usize,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.begin(true) {
            // The jobs never ran: report the failure through fresh completions.
            for job in batch {
                let (_, completion) = job(&mut Refuse(e.to_string()));
                completion(Err(StoreError::Backend(e.to_string())));
            }
            reconnect(&mut conn, backend, true);
            continue;
        }
        let mut done = Vec::with_capacity(batch.len());
        let mut broken: Option<StoreError> = None;
        for job in batch {
            if broken.is_none()
                && let Err(e) = conn.savepoint()
            {
                broken = Some(e);
            }
            if let Some(e) = &broken {
                let (_, completion) = job(&mut Refuse(e.to_string()));
                done.push(completion);
                continue;
            }
            let outcome = run(job, conn.tx());
            let ok = matches!(outcome, Some((true, _)));
            let closed = if ok {
                conn.release_savepoint()
            } else {
                conn.rollback_to_savepoint().and_then(|()| conn.release_savepoint())
            };
            if let Err(e) = closed {
                broken = Some(e);
            }
            if let Some((_, completion)) = outcome {
                done.push(completion);
            }
        }
        if let Some(e) = broken {
            let _ = conn.rollback();
            fail_all(done, &e);
            reconnect(&mut conn, backend, true);
            continue;
        }
        match conn.commit() {
            Ok(()) => done.into_iter().for_each(|c| c(Ok(()))),
            Err(e) => {
                let _ = conn.rollback();
                fail_all(done, &e);
            }
        }
    }
}

fn read_loop(mut conn: Box<dyn Connection>, jobs: &crossbeam_channel::Receiver<Job>, backend: &dyn Backend) {
    while let Ok(job) = jobs.recv() {
        if let Err(e) = conn.begin(false) {
            let (_, completion) = job(&mut Refuse(e.to_string()));
            completion(Err(StoreError::Backend(e.to_string())));
            reconnect(&mut conn, backend, false);
            continue;
        }
        let done = run(job, conn.tx());
        let _ = conn.rollback();
        if let Some((_, completion)) = done {
            completion(Ok(()));
        }
    }
}

/// A stand-in transaction that fails every call, used to report jobs that
/// could not run because the database failed before them.
struct Refuse(String);

macro_rules! refuse_all {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        impl Tx for Refuse {
            $(fn $name(&mut self, $(_: $ty),*) -> Result<$ret> { Err(StoreError::Backend(self.0.clone())) })*
        }
    };
}

refuse_all! {
    insert_subject(s: &crate::SubjectRow) -> ();
    insert_subjects(s: &[crate::SubjectRow]) -> ();
    subject(id: crate::Id) -> Option<crate::SubjectRow>;
    subjects_by_email(b: &[u8]) -> Vec<crate::Id>;
    subjects_by_phone(b: &[u8]) -> Vec<crate::Id>;
    set_subject_kind(id: crate::Id, k: vigie_domain::SubjectKind, at: chrono::DateTime<chrono::Utc>) -> ();
    count_subjects() -> i64;
    count_subjects_by(g: crate::StatGroup) -> Vec<crate::GroupCount>;
    insert_contract(c: &crate::ContractRow) -> ();
    contracts(id: crate::Id) -> Vec<crate::ContractRow>;
    insert_interaction(i: &crate::InteractionRow) -> ();
    interactions(id: crate::Id) -> Vec<crate::InteractionRow>;
    insert_consent(c: &crate::ConsentRow) -> ();
    consents(id: crate::Id) -> Vec<crate::ConsentRow>;
    insert_objection(o: &crate::ObjectionRow) -> bool;
    objections(id: crate::Id) -> Vec<crate::ObjectionRow>;
    insert_token(t: &crate::TokenRow) -> ();
    token_by_hash(h: &[u8]) -> Option<crate::TokenRow>;
    count_tokens() -> i64;
    audit_head() -> (i64, Vec<u8>);
    append_audit(e: &crate::AuditRow, m: &[u8]) -> ();
    append_audits(e: &[crate::AuditRow], m: &[u8]) -> ();
    audit_head_mac() -> Option<Vec<u8>>;
    set_audit_head_mac(m: &[u8]) -> ();
    audit_page(after: i64, limit: i64) -> Vec<crate::AuditRow>;
    audit_head_recorded() -> (i64, Vec<u8>);
    insert_disclosure(d: &crate::DisclosureRow) -> ();
    disclosures_for_subject(id: crate::Id) -> Vec<crate::DisclosureRow>;
    meta(k: &str) -> Option<String>;
    set_retention(id: crate::Id, r: &str, b: Option<chrono::NaiveDate>, e: Option<chrono::NaiveDate>) -> ();
    set_legal_hold(id: crate::Id, h: Option<(&[u8], chrono::DateTime<chrono::Utc>)>) -> ();
    due(at: chrono::NaiveDate, limit: i64) -> Vec<crate::DueRow>;
    count_due(at: chrono::NaiveDate) -> i64;
    insert_breach(b: &crate::BreachRow) -> ();
    update_breach(b: &crate::BreachRow) -> ();
    breach(id: crate::Id) -> Option<crate::BreachRow>;
    breaches() -> Vec<crate::BreachRow>;
    insert_breach_phase(p: &crate::BreachPhaseRow) -> ();
    breach_phases(id: crate::Id) -> Vec<crate::BreachPhaseRow>;
    scope_count(f: &crate::ScopeFilter) -> crate::ScopeCount;
    queue_for_scope(f: &crate::ScopeFilter, t: &str, p: &str, k: &str, at: chrono::DateTime<chrono::Utc>) -> u64;
    insert_request(r: &crate::RequestRow) -> ();
    update_request(r: &crate::RequestRow) -> ();
    request(id: crate::Id) -> Option<crate::RequestRow>;
    requests(l: i64) -> Vec<crate::RequestRow>;
    put_identity_document(r: crate::Id, s: &[u8], c: &str, at: chrono::DateTime<chrono::Utc>) -> ();
    delete_identity_document(r: crate::Id) -> bool;
    has_identity_document(r: crate::Id) -> bool;
    suppress(e: &[u8], r: &str, at: chrono::DateTime<chrono::Utc>) -> bool;
    is_suppressed(e: &[u8]) -> bool;
    count_suppressed() -> i64;
    update_identity(id: crate::Id, i: &[u8], e: Option<&[u8]>, p: Option<&[u8]>, at: chrono::DateTime<chrono::Utc>) -> ();
    delete_interactions(s: crate::Id) -> u64;
    rekey_subject(r: &crate::Rekeyed, at: chrono::DateTime<chrono::Utc>) -> ();
    delete_closed_requests(b: chrono::DateTime<chrono::Utc>) -> u64;
    insert_safeguard(s: &crate::SafeguardRow) -> ();
    safeguards() -> Vec<crate::SafeguardRow>;
    activate_transfer(r: &str, at: chrono::DateTime<chrono::Utc>) -> bool;
    transfer_activations() -> Vec<(String, chrono::DateTime<chrono::Utc>)>;
    disclosures_for_recipient(r: &str, l: i64) -> Vec<crate::DisclosureRow>;
    queue_message(m: &crate::NewMessage) -> bool;
    queue_for_subjects(k: &[vigie_domain::SubjectKind], t: &str, p: &str, k2: &str, at: chrono::DateTime<chrono::Utc>) -> u64;
    claim_messages(n: chrono::DateTime<chrono::Utc>, l: chrono::DateTime<chrono::Utc>, lim: i64) -> Vec<crate::MessageRow>;
    mark_sent(id: i64, at: chrono::DateTime<chrono::Utc>) -> ();
    mark_failed(id: i64, e: &str, r: Option<chrono::DateTime<chrono::Utc>>) -> ();
    messages_for_subject(id: crate::Id) -> Vec<crate::MessageRow>;
    messages(s: Option<vigie_domain::records::OutboxStatus>, l: i64) -> Vec<crate::MessageRow>;
    count_messages(t: &str, p: &str) -> (i64, i64);
    insert_policy_version(v: &crate::PolicyVersionRow) -> ();
    policy_versions() -> Vec<crate::PolicyVersionRow>;
    set_policy_status(v: &str, s: vigie_domain::records::PolicyStatus, at: chrono::DateTime<chrono::Utc>) -> ();
    insert_hold_event(e: &crate::HoldEventRow) -> ();
    hold_events(id: crate::Id) -> Vec<crate::HoldEventRow>;
    held_due(at: chrono::NaiveDate) -> Vec<crate::HeldRow>;
    count_expiring_by_month(f: chrono::NaiveDate, t: chrono::NaiveDate) -> Vec<crate::GroupCount>;
    erase_subject(id: crate::Id, r: &str, at: chrono::DateTime<chrono::Utc>) -> bool;
    erase_if_due(id: crate::Id, r: &str, at: chrono::DateTime<chrono::Utc>, d: chrono::NaiveDate) -> bool;
    to_review(l: i64) -> Vec<crate::ReviewRow>;
    count_to_review() -> i64;
    open_request_subjects() -> Vec<(crate::Id, crate::Id)>;
    scope_due(f: &crate::ScopeFilter, at: chrono::NaiveDate) -> Vec<crate::DueRow>;
    erasure(id: crate::Id) -> Option<crate::ErasureRow>;
    erasures_since(s: chrono::DateTime<chrono::Utc>, l: i64) -> Vec<crate::ErasureRow>;
    erased_counts() -> Vec<crate::GroupCount>;
    claim_job(n: &str, t: chrono::NaiveDate, now: chrono::DateTime<chrono::Utc>, l: chrono::DateTime<chrono::Utc>) -> bool;
    finish_job(n: &str, t: chrono::NaiveDate) -> ();
    set_meta(k: &str, v: &str) -> ();
    wrapped_keys() -> Vec<(crate::KeyOwner, crate::Id, Vec<u8>)>;
    set_wrapped_key(o: crate::KeyOwner, id: crate::Id, w: &[u8]) -> ();
}
