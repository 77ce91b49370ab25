//! Logging, set up once per process: `tracing` with plain or JSON lines.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber. Later calls (tests start many servers in
/// one process) keep the first one.
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match settings.log_format() {
        Ok(LogFormat::Json) => builder.json().try_init(),
        _ => builder.try_init(),
    };
    // Already installed: keep the first.
    drop(result);
}
