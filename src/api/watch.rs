//! One WatchCall stream: the call's state now, then each change to it from
//! the process's change feed, until it is done, failed or deleted.

use std::sync::Arc;

use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio::sync::mpsc::Sender;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::{convert, timestamp};
use crate::proto as pb;
use crate::store::{CallRecord, ChangeEvent, ChangeKind, Stage, Store};

/// What a watcher sees; percent steps are enough for a progress bar.
type Shown = (Stage, i32, String, String);

/// The state of one stream.
pub(super) struct CallWatch {
    pub store: Arc<dyn Store>,
    pub tenant: String,
    pub call_id: String,
    pub sender: Sender<Result<pb::WatchCallResponse, Status>>,
    pub last_sent: Option<Shown>,
    /// The newest event applied; the feed may deliver a late, older one.
    pub last_seq: i64,
}

/// Whether the stream goes on.
enum Next {
    Continue,
    End,
}

impl CallWatch {
    /// Sends the current state, then follows the feed.
    pub async fn run(
        mut self,
        mut changes: Receiver<Arc<ChangeEvent>>,
        shutdown: CancellationToken,
    ) {
        if let Next::End = self.resend_from_store().await {
            return;
        }
        loop {
            let next = tokio::select! {
                received = changes.recv() => match received {
                    Ok(event) => self.apply(&event).await,
                    // Fell behind the feed: the store has the truth.
                    Err(RecvError::Lagged(_)) => self.resend_from_store().await,
                    Err(RecvError::Closed) => {
                        self.end_unavailable().await;
                        Next::End
                    }
                },
                () = self.sender.closed() => Next::End,
                () = shutdown.cancelled() => {
                    // A draining server ends its streams; the client watches again elsewhere.
                    self.end_unavailable().await;
                    Next::End
                }
            };
            if let Next::End = next {
                return;
            }
        }
    }

    async fn end_unavailable(&self) {
        let _ = self.sender.send(Err(draining())).await;
    }

    /// Shows the stored state. The feed may still deliver events that this
    /// state already holds (it polls the outbox behind the store); the call's
    /// newest seq, read before the state, marks them as old so the stage
    /// never steps back.
    async fn resend_from_store(&mut self) -> Next {
        let read = async {
            let seq = self
                .store
                .latest_call_change_seq(&self.tenant, &self.call_id)
                .await?;
            let record = self.store.get_call(&self.tenant, &self.call_id).await?;
            Ok::<_, crate::store::StoreError>((seq, record))
        };
        match read.await {
            Ok((seq, record)) => {
                self.last_seq = self.last_seq.max(seq);
                self.show(&record_view(&record)).await
            }
            Err(error) => {
                let _ = self.sender.send(Err(Status::from(error))).await;
                Next::End
            }
        }
    }

    async fn apply(&mut self, event: &ChangeEvent) -> Next {
        if event.tenant_id != self.tenant || event.call_id != self.call_id {
            return Next::Continue;
        }
        if event.seq <= self.last_seq {
            return Next::Continue;
        }
        self.last_seq = event.seq;
        if event.kind == ChangeKind::CallDeleted {
            let _ = self
                .sender
                .send(Err(Status::not_found(format!(
                    "call {:?} was deleted",
                    self.call_id
                ))))
                .await;
            return Next::End;
        }
        match event.stage {
            Some(stage) => self.show(&event_view(event, stage)).await,
            None => Next::Continue,
        }
    }

    async fn show(&mut self, view: &View) -> Next {
        let shown: Shown = (
            view.stage,
            (view.progress * 100.0).round() as i32,
            view.message.clone(),
            view.scorecard_id.clone(),
        );
        if self.last_sent.as_ref() != Some(&shown) {
            let response = pb::WatchCallResponse {
                stage: convert::call_stage(view.stage) as i32,
                progress: view.progress as f32,
                message: view.message.clone(),
                at: Some(timestamp(view.at_ms)),
                scorecard_id: view.scorecard_id.clone(),
            };
            self.last_sent = Some(shown);
            if self.sender.send(Ok(response)).await.is_err() {
                return Next::End;
            }
        }
        if matches!(view.stage, Stage::Done | Stage::Failed) {
            Next::End
        } else {
            Next::Continue
        }
    }
}

/// How a watch stream ends when the server drains: the client watches again
/// on another replica or after the restart.
pub(super) fn draining() -> Status {
    Status::unavailable("the server is shutting down; watch again")
}

/// A call's state as a watcher sees it.
struct View {
    stage: Stage,
    progress: f64,
    message: String,
    scorecard_id: String,
    at_ms: i64,
}

fn record_view(record: &CallRecord) -> View {
    View {
        stage: record.stage,
        progress: record.progress,
        message: record.failure_reason.clone(),
        scorecard_id: record.latest_scorecard_id.clone().unwrap_or_default(),
        at_ms: record.updated_at_ms,
    }
}

fn event_view(event: &ChangeEvent, stage: Stage) -> View {
    View {
        stage,
        progress: event.progress,
        message: event.message.clone(),
        scorecard_id: event.scorecard_id.clone().unwrap_or_default(),
        at_ms: event.created_at_ms,
    }
}
