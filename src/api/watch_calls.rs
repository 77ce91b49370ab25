//! One WatchCalls stream: every change to a tenant's calls, or to one agent's
//! or team's, from the process's change feed, until the client hangs up. One
//! stream keeps a whole list live (the console's calls screen).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio::sync::mpsc::Sender;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::{convert, timestamp};
use crate::proto as pb;
use crate::store::{ChangeEvent, Store, StoreError, now_ms};

/// The kind of the first message: the stream follows the feed from here.
pub const READY: &str = "watch.ready";
/// The stream fell behind the feed and skipped changes: re-read the list.
pub const RESYNC: &str = "watch.resync";
/// Calls whose agent and team are remembered for filtering; beyond this the
/// memory starts over (a re-read per call is all it costs).
const MAX_REMEMBERED_CALLS: usize = 10_000;

/// The state of one stream.
pub(super) struct CallsWatch {
    pub store: Arc<dyn Store>,
    pub tenant: String,
    pub agent_id: Option<String>,
    pub team_id: Option<String>,
    pub sender: Sender<Result<pb::WatchCallsResponse, Status>>,
    /// Each seen call's (agent, team), so a filter reads the store once per call.
    owners: HashMap<String, (String, String)>,
}

impl CallsWatch {
    pub fn new(
        store: Arc<dyn Store>,
        tenant: String,
        (agent_id, team_id): (Option<String>, Option<String>),
        sender: Sender<Result<pb::WatchCallsResponse, Status>>,
    ) -> Self {
        Self {
            store,
            tenant,
            agent_id,
            team_id,
            sender,
            owners: HashMap::new(),
        }
    }

    /// Says it is ready, then forwards every matching change.
    pub async fn run(
        mut self,
        mut changes: Receiver<Arc<ChangeEvent>>,
        shutdown: CancellationToken,
    ) {
        if !self.send_marker(READY).await {
            return;
        }
        loop {
            let going_on = tokio::select! {
                received = changes.recv() => match received {
                    Ok(event) => self.forward(&event).await,
                    Err(RecvError::Lagged(_)) => self.send_marker(RESYNC).await,
                    Err(RecvError::Closed) => {
                        self.end_unavailable().await;
                        false
                    }
                },
                () = self.sender.closed() => false,
                () = shutdown.cancelled() => {
                    self.end_unavailable().await;
                    false
                }
            };
            if !going_on {
                return;
            }
        }
    }

    async fn send_marker(&self, kind: &str) -> bool {
        let marker = pb::WatchCallsResponse {
            kind: kind.to_string(),
            at: Some(timestamp(now_ms())),
            ..Default::default()
        };
        self.sender.send(Ok(marker)).await.is_ok()
    }

    async fn end_unavailable(&self) {
        let _ = self.sender.send(Err(super::watch::draining())).await;
    }

    async fn forward(&mut self, event: &ChangeEvent) -> bool {
        if event.tenant_id != self.tenant {
            return true;
        }
        match self.matches(event).await {
            Ok(true) => {}
            Ok(false) => return true,
            Err(error) => {
                let _ = self.sender.send(Err(Status::from(error))).await;
                return false;
            }
        }
        let response = pb::WatchCallsResponse {
            call_id: event.call_id.clone(),
            kind: event.kind.as_str().to_string(),
            stage: event
                .stage
                .map_or(pb::CallStage::Unspecified, convert::call_stage) as i32,
            progress: event.progress as f32,
            message: event.message.clone(),
            scorecard_id: event.scorecard_id.clone().unwrap_or_default(),
            at: Some(timestamp(event.created_at_ms)),
        };
        self.sender.send(Ok(response)).await.is_ok()
    }

    /// Whether the event's call is one the stream follows.
    async fn matches(&mut self, event: &ChangeEvent) -> Result<bool, StoreError> {
        if self.agent_id.is_none() && self.team_id.is_none() {
            return Ok(true);
        }
        let owner = match self.owners.get(&event.call_id) {
            Some(owner) => owner.clone(),
            None => match self.store.get_call(&self.tenant, &event.call_id).await {
                Ok(record) => {
                    if self.owners.len() >= MAX_REMEMBERED_CALLS {
                        self.owners.clear();
                    }
                    let owner = (record.call.agent_id, record.call.team_id);
                    self.owners.insert(event.call_id.clone(), owner.clone());
                    owner
                }
                // Deleted before this stream saw it: nothing to show.
                Err(StoreError::NotFound(_)) => return Ok(false),
                Err(error) => return Err(error),
            },
        };
        let agent_ok = self.agent_id.as_ref().is_none_or(|agent| *agent == owner.0);
        let team_ok = self.team_id.as_ref().is_none_or(|team| *team == owner.1);
        Ok(agent_ok && team_ok)
    }
}
