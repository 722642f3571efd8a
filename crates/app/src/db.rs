//! The one way app code reaches the store: snapshots to read, audited writes,
//! and a narrow, named interface for bookkeeping.
//!
//! "No write without its audit entry" is a type, not a convention: an
//! [`Db::audited`] closure must return a [`Recorded`] with its result, and only
//! [`Trail::record`] makes one (it appends the entry in the write's own
//! transaction). The writes that record nothing personal and no decision (the
//! outbox's leases and attempts, the daily job's lease) go through [`Db::bookkeeping`], whose [`Books`] offers those and
//! nothing else. The time of a write comes from the [`Clock`], read when the
//! write runs.

use crate::audit::{self, Actor, Entry};
use crate::clock::Clock;
use crate::error::Result;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use std::sync::Arc;
use vigie_crypto::MasterKey;
use vigie_store::{AuditSeal, Id, MessageRow, ReadTx, Store, Tx};

/// The store as app code sees it.
#[derive(Clone)]
pub struct Db {
    store: Store,
    keys: Arc<MasterKey>,
    /// The audit key as the store seals queued entries with it.
    seal: Arc<dyn AuditSeal>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({:?})", self.store)
    }
}

/// Proof that a write appended at least one audit entry: made only by [`Trail::record`]
/// (or, for a write that changed nothing, by [`Trail::nothing_changed`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Recorded(());

/// The audit trail of one write: the time the write runs at and the actor its entries name.
pub(crate) struct Trail<'a> {
    keys: &'a MasterKey,
    seal: &'a Arc<dyn AuditSeal>,
    actor: &'a Actor,
    /// When the write runs (from the clock, on the writer's thread).
    pub at: DateTime<Utc>,
}

impl Trail<'_> {
    /// Appends `entry` to the audit chain, in the write's transaction `tx` (its place in the
    /// chain is given when the transaction's entries are written, before its commit).
    pub fn record(&self, tx: &mut dyn Tx, entry: Entry) -> Result<Recorded> {
        audit::append(tx, self.seal, self.actor, self.at, entry)?;
        Ok(Recorded(()))
    }

    /// Appends many entries at once (bulk work), each at its own time.
    pub fn many(&self, tx: &mut dyn Tx, entries: Vec<(DateTime<Utc>, Entry)>) -> Result<Recorded> {
        audit::append_many(tx, self.keys, self.actor, entries)?;
        Ok(Recorded(()))
    }

    /// The master key, for what the write seals and opens.
    pub fn keys(&self) -> &MasterKey {
        self.keys
    }

    /// For a write that, this time, changed nothing and decided nothing (a batch that
    /// found no row to act on, a search that matched no one): nothing to record.
    pub fn nothing_changed(&self) -> Recorded {
        Recorded(())
    }
}

/// The bookkeeping writes, and only those: none records a personal value or a decision.
pub(crate) struct Books<'a> {
    tx: &'a mut dyn Tx,
}

impl Books<'_> {
    /// Leases up to `limit` pending notices due at `due` to `owner` for `lease` (database clock).
    pub fn claim_messages(
        &mut self,
        due: DateTime<Utc>,
        owner: Id,
        lease: TimeDelta,
        limit: i64,
    ) -> Result<Vec<MessageRow>> {
        Ok(self.tx.claim_messages(due, owner, lease, limit)?)
    }

    /// Records a failed delivery attempt (its audit entry is the delivery log's warning);
    /// false when `owner` no longer holds the message's lease.
    pub fn mark_failed(&mut self, id: i64, owner: Id, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<bool> {
        Ok(self.tx.mark_failed(id, owner, error, retry_at)?)
    }

    /// Takes a daily job's lease for `owner`.
    pub fn claim_job(&mut self, name: &str, today: NaiveDate, owner: Id, lease: TimeDelta) -> Result<bool> {
        Ok(self.tx.claim_job(name, today, owner, lease)?)
    }

    /// Extends `owner`'s lease on a job; false when it lost it.
    pub fn renew_job(&mut self, name: &str, owner: Id, lease: TimeDelta) -> Result<bool> {
        Ok(self.tx.renew_job(name, owner, lease)?)
    }

    /// Releases a daily job's lease without recording a run (it failed: it is tried again).
    pub fn release_job(&mut self, name: &str, owner: Id) -> Result<bool> {
        Ok(self.tx.release_job(name, owner)?)
    }

    /// Releases a daily job's lease, recording that it ran.
    pub fn finish_job(&mut self, name: &str, owner: Id, today: NaiveDate) -> Result<bool> {
        Ok(self.tx.finish_job(name, owner, today)?)
    }

    /// Moves a console session's idle clock.
    pub fn touch_session(&mut self, hash: &[u8], at: DateTime<Utc>) -> Result<()> {
        Ok(self.tx.touch_session(hash, at)?)
    }

    /// Deletes a session found expired.
    pub fn delete_session(&mut self, hash: &[u8]) -> Result<bool> {
        Ok(self.tx.delete_session(hash)?)
    }

    /// Deletes the sessions idle since before `before`.
    pub fn delete_idle_sessions(&mut self, before: DateTime<Utc>) -> Result<u64> {
        Ok(self.tx.delete_idle_sessions(before)?)
    }

    /// Records when a token last authenticated a request.
    pub fn touch_token(&mut self, id: Id, at: DateTime<Utc>) -> Result<()> {
        Ok(self.tx.touch_token(id, at)?)
    }
}

impl Db {
    pub(crate) fn new(store: Store, keys: Arc<MasterKey>, clock: Arc<dyn Clock>) -> Db {
        let seal: Arc<dyn AuditSeal> = Arc::new(audit::Chain(keys.clone()));
        Db { store, keys, seal, clock }
    }

    /// The time now, by the clock Vigie runs on.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs `f` on a consistent snapshot.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn ReadTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<vigie_store::StoreError> + Send + 'static,
    {
        self.store.read(f).await
    }

    /// [`Db::read`] for synchronous callers.
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn ReadTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<vigie_store::StoreError> + Send + 'static,
    {
        self.store.read_blocking(f)
    }

    fn audited_job<T, F>(&self, actor: Actor, mut f: F) -> impl FnMut(&mut dyn Tx) -> Result<T> + Send + 'static
    where
        F: FnMut(&mut dyn Tx, &Trail<'_>) -> Result<(T, Recorded)> + Send + 'static,
        T: Send + 'static,
    {
        let (keys, seal, clock) = (self.keys.clone(), self.seal.clone(), self.clock.clone());
        move |tx| {
            let trail = Trail { keys: &keys, seal: &seal, actor: &actor, at: clock.now() };
            f(tx, &trail).map(|(value, _)| value)
        }
    }

    /// Runs `f` in a write transaction that commits, durably, with the audit entries
    /// `f` appended through its [`Write`], or not at all.
    pub(crate) async fn audited<T, F>(&self, actor: Actor, f: F) -> Result<T>
    where
        F: FnMut(&mut dyn Tx, &Trail<'_>) -> Result<(T, Recorded)> + Send + 'static,
        T: Send + 'static,
    {
        self.store.write(self.audited_job(actor, f)).await
    }

    /// [`Db::audited`] for synchronous callers (the CLI, start-up).
    pub(crate) fn audited_blocking<T, F>(&self, actor: Actor, f: F) -> Result<T>
    where
        F: FnMut(&mut dyn Tx, &Trail<'_>) -> Result<(T, Recorded)> + Send + 'static,
        T: Send + 'static,
    {
        self.store.write_blocking(self.audited_job(actor, f))
    }

    /// Runs bookkeeping in a write transaction of its own.
    pub(crate) async fn bookkeeping<T, F>(&self, mut f: F) -> Result<T>
    where
        F: FnMut(&mut Books<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.store.write(move |tx| f(&mut Books { tx })).await
    }

    /// After erasures: no deleted row lingers in a journal or free page.
    pub fn compact(&self) -> Result<()> {
        Ok(self.store.compact()?)
    }

    /// A consistent copy of the whole database.
    pub fn backup(&self, out: &std::path::Path) -> Result<()> {
        Ok(self.store.backup(out)?)
    }

    /// Held by a running server for its lifetime.
    pub fn instance_lock(&self) -> Result<Box<dyn Send>> {
        Ok(self.store.instance_lock()?)
    }

    /// The database's full structural check (`vigie check`).
    pub fn integrity_check(&self) -> Result<()> {
        Ok(self.store.integrity_check()?)
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        self.store.backend_name()
    }
}
