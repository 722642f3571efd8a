//! The WAL checkpoints, off the writer thread.
//!
//! SQLite's auto-checkpoint runs inside the `COMMIT` that takes the WAL past its threshold
//! (1,000 pages by default): that commit, and every write queued behind it on the one writer
//! thread, waits for a thousand pages copied into the database file and its `fsync`. Here one
//! thread per database, with a connection of its own, runs a `PASSIVE` checkpoint at most every
//! [`INTERVAL`] while commits come in, so that the writer finds the WAL already copied; the
//! writer keeps an auto-checkpoint of [`BACKSTOP_PAGES`] for when this thread falls behind (it
//! then copies only what this thread left). The erasures' `wal_checkpoint(TRUNCATE)`
//! ([`vigie_store::Backend::compact`]) runs on the same thread and connection, so that the two
//! never wait for each other's lock, and returns only once the WAL is copied, synced and cut to
//! nothing, as before.

use rusqlite::Connection as Conn;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use vigie_store::{Result, StoreError};

/// The shortest time between two background checkpoints.
pub(crate) const INTERVAL: Duration = Duration::from_millis(20);

/// The writer's own auto-checkpoint, a backstop: pages in the WAL since it was last restarted.
pub(crate) const BACKSTOP_PAGES: u32 = 4000;

enum Msg {
    /// A write transaction was committed.
    Committed,
    /// `wal_checkpoint(TRUNCATE)` now; the answer once done.
    Truncate(Sender<Result<()>>),
    Stop,
}

/// The checkpoint thread of one database, started by the first commit or compaction.
pub(crate) struct Checkpointer {
    inner: Mutex<Option<(Sender<Msg>, JoinHandle<()>)>>,
}

/// What a writer connection keeps to tell the checkpoint thread of its commits.
#[derive(Clone)]
pub(crate) struct Notify(Sender<Msg>);

impl Notify {
    pub(crate) fn committed(&self) {
        // The thread is gone only once the database is dropped: nothing left to checkpoint.
        let _ = self.0.send(Msg::Committed);
    }
}

impl Checkpointer {
    pub(crate) fn new() -> Checkpointer {
        Checkpointer { inner: Mutex::new(None) }
    }

    /// The sender to the thread, started if it is not running.
    fn sender(&self, open: &dyn Fn() -> Result<Conn>) -> Result<Sender<Msg>> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((tx, handle)) = inner.as_ref()
            && !handle.is_finished()
        {
            return Ok(tx.clone());
        }
        let conn = open()?;
        let (tx, rx) = channel();
        let handle = std::thread::Builder::new()
            .name("vigie-checkpoint".into())
            .spawn(move || run(conn, &rx))
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpoint thread: {e}")))?;
        *inner = Some((tx.clone(), handle));
        Ok(tx)
    }

    /// For a writer connection: its commits are reported to the thread.
    pub(crate) fn notify(&self, open: &dyn Fn() -> Result<Conn>) -> Result<Notify> {
        Ok(Notify(self.sender(open)?))
    }

    /// `wal_checkpoint(TRUNCATE)` on the thread's connection; returns once it is done.
    pub(crate) fn truncate(&self, open: &dyn Fn() -> Result<Conn>) -> Result<()> {
        let (reply, answer) = channel();
        self.sender(open)?
            .send(Msg::Truncate(reply))
            .map_err(|_| StoreError::Backend("the checkpoint thread stopped".into()))?;
        answer.recv().map_err(|_| StoreError::Backend("the checkpoint thread stopped".into()))?
    }
}

impl Drop for Checkpointer {
    /// Stops the thread and waits for it: its connection is closed when the database is dropped.
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((tx, handle)) = inner {
            let _ = tx.send(Msg::Stop);
            let _ = handle.join();
        }
    }
}

fn run(conn: Conn, rx: &Receiver<Msg>) {
    let checkpoint = |mode: &str| -> Result<()> {
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(())).map_err(crate::err)
    };
    let mut dirty = false;
    let mut last = Instant::now();
    loop {
        let msg = if dirty {
            match rx.recv_timeout(INTERVAL.saturating_sub(last.elapsed())) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            }
        };
        match msg {
            Some(Msg::Committed) => dirty = true,
            Some(Msg::Truncate(reply)) => {
                let _ = reply.send(checkpoint("TRUNCATE"));
                (dirty, last) = (false, Instant::now());
            }
            Some(Msg::Stop) => return,
            None => {}
        }
        if dirty && last.elapsed() >= INTERVAL {
            // Best effort: a checkpoint that fails (a reader's snapshot, a busy lock) is taken
            // again by the next one, or by the writer's backstop.
            if let Err(e) = checkpoint("PASSIVE") {
                tracing::warn!(error = %e, "background WAL checkpoint failed");
            }
            (dirty, last) = (false, Instant::now());
        }
    }
}
