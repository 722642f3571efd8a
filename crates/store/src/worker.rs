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

use crate::{Backend, Connection, ReadTx, Result, StoreError, Transient, Tx};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use tokio::sync::oneshot;

/// How many times [`Store::write`] runs a transaction again after a transient conflict.
pub const WRITE_RETRIES: u32 = 3;

/// How many connection threads a backend runs, and how large a group commit may grow.
#[derive(Clone, Copy, Debug)]
pub struct WorkerConfig {
    pub writers: usize,
    pub readers: usize,
    pub max_batch: usize,
    /// How many queued read jobs one read transaction serves in turn: one snapshot, taken after
    /// they were all queued, so each still sees every write committed before it was asked for.
    /// 1 where a failed statement spoils the rest of its transaction (PostgreSQL).
    pub read_batch: usize,
}

/// Called once the transaction a job ran in has committed (or failed to).
type Completion = Box<dyn FnOnce(Result<()>) + Send>;
/// A job: runs on a connection thread, says whether it succeeded, and how to report.
type Job = Box<dyn FnOnce(Option<&mut dyn Tx>) -> (bool, Completion) + Send>;

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
                .spawn(move || read_loop(conn, &jobs, backend.as_ref(), config.read_batch.max(1)))
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
            // No transaction: the database failed before the job could run; the
            // completion reports that failure.
            let Some(tx) = tx else {
                return (
                    false,
                    Box::new(move |failed: Result<()>| reply(Err(E::from(failed.err().unwrap_or(StoreError::Closed))))),
                );
            };
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
    /// A transient conflict (a deadlock, a serialization failure: [`Transient`]) rolls the
    /// transaction back and runs `f` again in a new one, up to [`WRITE_RETRIES`] times,
    /// waiting a little longer each time; then the conflict is the caller's.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnMut(&mut dyn Tx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Transient + Send + 'static,
    {
        let f = Arc::new(std::sync::Mutex::new(f));
        let mut attempt = 0u32;
        loop {
            let job = f.clone();
            let run = move |tx: &mut dyn Tx| {
                let mut f = job.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                f(tx)
            };
            match Self::submit(&self.writer, run).await {
                Err(e) if e.is_transient() && attempt < WRITE_RETRIES => {
                    attempt += 1;
                    tracing::debug!(attempt, "a transient conflict: the transaction runs again");
                    tokio::time::sleep(std::time::Duration::from_millis(5 << (2 * attempt))).await;
                }
                outcome => return outcome,
            }
        }
    }

    /// Runs `f` in a read-only transaction (a consistent snapshot).
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn ReadTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        Self::submit(&self.reader, move |tx: &mut dyn Tx| f(tx)).await
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
        F: FnOnce(&mut dyn ReadTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        Self::submit_blocking(&self.reader, move |tx: &mut dyn Tx| f(tx))
    }
}

/// Runs a job, turning a panic into a failure so one bad job cannot kill the thread.
fn run(job: Job, tx: &mut dyn Tx) -> Option<(bool, Completion)> {
    match catch_unwind(AssertUnwindSafe(|| job(Some(tx)))) {
        Ok(done) => Some(done),
        Err(_) => {
            tracing::error!("a store job panicked; its transaction is rolled back");
            None
        }
    }
}

/// Reports one failure to every job of a batch, of its kind (busy, full...), so that each
/// caller answers it as what it is.
fn fail_all(done: Vec<Completion>, err: &StoreError) {
    for c in done {
        c(Err(err.clone()));
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
        let (started, size) = (std::time::Instant::now(), batch.len());
        if let Err(e) = conn.begin(true) {
            metrics::counter!("vigie_store_write_batches_total", "outcome" => "failed").increment(1);
            // The jobs never ran: report the failure through fresh completions.
            for job in batch {
                let (_, completion) = job(None);
                completion(Err(e.clone()));
            }
            reconnect(&mut conn, backend, true);
            continue;
        }
        // The audit head is read once per batch and written once before the commit.
        conn.tx().head_begin();
        let mut done = Vec::with_capacity(batch.len());
        let mut broken: Option<StoreError> = None;
        // The savepoint of the last job that succeeded, still open: released together with the
        // next job's savepoint in one round trip, or by the commit.
        let mut held = false;
        for job in batch {
            if broken.is_none() {
                let opened = if std::mem::take(&mut held) { conn.next_savepoint() } else { conn.savepoint() };
                match opened {
                    Ok(()) => conn.tx().head_savepoint(),
                    Err(e) => broken = Some(e),
                }
            }
            if broken.is_some() {
                let (_, completion) = job(None);
                done.push(completion);
                continue;
            }
            let outcome = run(job, conn.tx());
            let ok = matches!(outcome, Some((true, _)));
            let closed = if ok {
                held = true;
                Ok(())
            } else {
                conn.tx().head_rollback();
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
            metrics::counter!("vigie_store_write_batches_total", "outcome" => "failed").increment(1);
            fail_all(done, &e);
            reconnect(&mut conn, backend, true);
            continue;
        }
        let committing = std::time::Instant::now();
        let committed = conn.tx().head_flush().and_then(|()| conn.commit());
        // Operations metrics (no label but the outcome): jobs per group commit, the commit's
        // durable sync, the whole transaction.
        metrics::histogram!("vigie_store_commit_seconds").record(committing.elapsed().as_secs_f64());
        metrics::histogram!("vigie_store_write_batch_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("vigie_store_write_batch_size").record(size as f64);
        match committed {
            Ok(()) => {
                metrics::counter!("vigie_store_write_batches_total", "outcome" => "committed").increment(1);
                done.into_iter().for_each(|c| c(Ok(())));
            }
            Err(e) => {
                metrics::counter!("vigie_store_write_batches_total", "outcome" => "failed").increment(1);
                let _ = conn.rollback();
                fail_all(done, &e);
            }
        }
    }
}

fn read_loop(
    mut conn: Box<dyn Connection>,
    jobs: &crossbeam_channel::Receiver<Job>,
    backend: &dyn Backend,
    read_batch: usize,
) {
    while let Ok(first) = jobs.recv() {
        // The jobs already waiting share one read transaction; its snapshot is taken at its first
        // statement, after every one of them was queued.
        let mut batch = vec![first];
        while batch.len() < read_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.begin(false) {
            for job in batch {
                let (_, completion) = job(None);
                completion(Err(StoreError::Backend(e.to_string())));
            }
            reconnect(&mut conn, backend, false);
            continue;
        }
        for job in batch {
            // A read's answer goes out as soon as it is read.
            if let Some((_, completion)) = run(job, conn.tx()) {
                completion(Ok(()));
            }
        }
        let _ = conn.rollback();
    }
}
