//! Carries Whisper's progress callback (on a blocking thread) to the store,
//! at most a few writes per second.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::{ClaimedJob, Stage, Store};
use crate::transcribe::ProgressFn;

/// Writes below this spacing are dropped; the last value always lands.
const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// Forwards progress values to the store until stopped.
pub struct ProgressReporter {
    sender: Arc<watch::Sender<Option<f32>>>,
    task: JoinHandle<()>,
}

impl ProgressReporter {
    /// Starts the forwarding task.
    pub fn start(store: Arc<dyn Store>, job: ClaimedJob) -> Self {
        let (sender, mut receiver) = watch::channel(None::<f32>);
        let task = tokio::spawn(async move {
            while receiver.changed().await.is_ok() {
                let value = *receiver.borrow_and_update();
                if let Some(share) = value
                    && let Err(error) = store
                        .set_progress(&job, Stage::Transcribing, f64::from(share))
                        .await
                {
                    tracing::warn!(%error, "recording progress failed");
                }
                tokio::time::sleep(MIN_INTERVAL).await;
            }
        });
        Self {
            sender: Arc::new(sender),
            task,
        }
    }

    /// Marks the start of transcription (decoding is done).
    pub fn on_decoded(&self) -> impl FnOnce() + use<> {
        let sender = self.sender.clone();
        move || {
            sender.send_replace(Some(0.0));
        }
    }

    /// The callback to hand to the engine.
    pub fn callback(&self) -> ProgressFn {
        let sender = self.sender.clone();
        Arc::new(move |share: f32| {
            sender.send_replace(Some(share.clamp(0.0, 1.0)));
        })
    }

    /// Stops forwarding; the task ends once the senders are gone.
    pub async fn stop(self) {
        drop(self.sender);
        let mut task = self.task;
        // A late write must not land after the next stage is recorded.
        if tokio::time::timeout(Duration::from_secs(1), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
