//! The change feed: one tailer per process reads the outbox
//! (`change_events`) in seq order and broadcasts each event to every
//! subscriber in the process (WatchCall streams today; webhooks and the
//! console build on the same feed). Woken by this process's commits and,
//! on PostgreSQL, by LISTEN/NOTIFY from other replicas; a slow poll covers
//! other SQLite processes and notifications lost while reconnecting.
//! See docs/change-feed.md.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::store::{ChangeEvent, Store};

/// Events a slow subscriber may fall behind by before it must re-read state.
const SUBSCRIBER_BUFFER: usize = 4096;
/// Events read per query.
const BATCH: u32 = 500;
/// Poll even without a wake-up, at this interval.
const FALLBACK_POLL: Duration = Duration::from_secs(1);
/// A seq skipped while reading is looked for again until this old: a
/// PostgreSQL transaction that took a lower seq may commit after a higher
/// one was read (a rolled-back one never appears).
const GAP_PATIENCE: Duration = Duration::from_secs(30);
/// Most skipped seqs remembered at once.
const MAX_GAPS: usize = 10_000;
/// Wait after a failed read or a lost LISTEN connection.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// A handle to the process's change feed; cheap to clone.
#[derive(Clone)]
pub struct ChangeFeed {
    sender: broadcast::Sender<Arc<ChangeEvent>>,
}

impl ChangeFeed {
    /// Starts the tailer (and, on PostgreSQL, the LISTEN task) from the
    /// newest event now stored; both stop when `shutdown` is cancelled.
    pub fn start(store: Arc<dyn Store>, shutdown: CancellationToken) -> Self {
        let (sender, _) = broadcast::channel(SUBSCRIBER_BUFFER);
        tokio::spawn(listen(store.clone(), shutdown.clone()));
        tokio::spawn(tail(store, sender.clone(), shutdown));
        Self { sender }
    }

    /// Every event committed from now on. A subscriber that falls more than
    /// the buffer behind gets `Lagged` and should re-read what it follows.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeEvent>> {
        self.sender.subscribe()
    }
}

async fn listen(store: Arc<dyn Store>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            result = store.listen_for_changes() => {
                if let Err(error) = result {
                    tracing::warn!(%error, "change notifications lost; polling until reconnected");
                }
            }
            () = shutdown.cancelled() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY_AFTER) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

async fn tail(
    store: Arc<dyn Store>,
    sender: broadcast::Sender<Arc<ChangeEvent>>,
    shutdown: CancellationToken,
) {
    let signal = store.change_signal();
    let mut cursor = loop {
        match store.latest_change_seq().await {
            Ok(seq) => break Cursor::new(seq),
            Err(error) => tracing::warn!(%error, "cannot read the change feed's position"),
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY_AFTER) => {}
            () = shutdown.cancelled() => return,
        }
    };
    loop {
        if let Err(error) = cursor.catch_up(store.as_ref(), &sender).await {
            tracing::warn!(%error, "cannot read the change feed");
        }
        tokio::select! {
            () = signal.notified() => {}
            () = tokio::time::sleep(FALLBACK_POLL) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Where the tailer is, and the seqs it skipped that may still commit.
struct Cursor {
    last_seq: i64,
    gaps: BTreeMap<i64, Instant>,
}

impl Cursor {
    fn new(last_seq: i64) -> Self {
        Self {
            last_seq,
            gaps: BTreeMap::new(),
        }
    }

    async fn catch_up(
        &mut self,
        store: &dyn Store,
        sender: &broadcast::Sender<Arc<ChangeEvent>>,
    ) -> Result<(), crate::store::StoreError> {
        self.fill_gaps(store, sender).await?;
        loop {
            let events = store.changes_after(self.last_seq, BATCH).await?;
            let full = events.len() == BATCH as usize;
            for event in events {
                self.note_gap(event.seq);
                self.last_seq = event.seq;
                // No subscriber is not an error.
                let _ = sender.send(Arc::new(event));
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn note_gap(&mut self, seq: i64) {
        let now = Instant::now();
        let mut missing = self.last_seq + 1;
        while missing < seq && self.gaps.len() < MAX_GAPS {
            self.gaps.insert(missing, now);
            missing += 1;
        }
    }

    async fn fill_gaps(
        &mut self,
        store: &dyn Store,
        sender: &broadcast::Sender<Arc<ChangeEvent>>,
    ) -> Result<(), crate::store::StoreError> {
        self.gaps
            .retain(|_, noticed| noticed.elapsed() < GAP_PATIENCE);
        if self.gaps.is_empty() {
            return Ok(());
        }
        let wanted: Vec<i64> = self.gaps.keys().copied().take(BATCH as usize).collect();
        for event in store.changes_in(&wanted).await? {
            self.gaps.remove(&event.seq);
            let _ = sender.send(Arc::new(event));
        }
        Ok(())
    }
}
