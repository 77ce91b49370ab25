//! `callscore serve`: run the gRPC service until SIGINT or SIGTERM.

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::settings_args::{SettingsArgs, runtime};
use crate::app::Application;
use crate::config::Overrides;

/// Runs the gRPC service.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Address to listen on, HOST:PORT (port 0 picks a free one).
    #[arg(long, value_name = "ADDRESS")]
    listen: Option<String>,
    /// Log format: plain or json.
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    /// What to run: api, worker or all (API replicas and worker replicas
    /// scale separately against one PostgreSQL).
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,
    /// The Whisper model (ggml file) workers load.
    #[arg(long, value_name = "PATH")]
    model: Option<std::path::PathBuf>,
}

impl ServeArgs {
    /// Serves until a stop signal, then drains.
    pub fn run(self) -> anyhow::Result<()> {
        let settings = self.settings.load(Overrides {
            listen_address: self.listen,
            log_format: self.log_format,
            role: self.role,
            model_path: self.model,
            ..Overrides::default()
        })?;
        let runtime = runtime()?;
        // Inside the runtime: the trace exporter's gRPC channel needs it.
        let telemetry = runtime.block_on(async { crate::telemetry::init(&settings) });
        let served: anyhow::Result<()> = runtime.block_on(async {
            let app = Application::build(settings).await?;
            let shutdown = CancellationToken::new();
            tokio::spawn(stop_on_signal(shutdown.clone()));
            app.run_until_stopped(shutdown).await?;
            tracing::info!("stopped");
            Ok(())
        });
        // Flushing may block on the exporter: off the runtime's threads.
        std::thread::scope(|scope| {
            scope.spawn(|| telemetry.shutdown());
        });
        served
    }
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
    shutdown.cancel();
}
