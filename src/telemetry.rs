//! Logging, set up once per process: `tracing` with plain or JSON lines.
//! Every line logged while an RPC is handled carries its span (`rpc` with
//! the method and request id, see `app::request_span`).

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

/// whisper.cpp reports every model load and window at INFO (through
/// whisper-rs's tracing backend); they are for debugging it, not for
/// operators' consoles.
const QUIET_WHISPER: &str = "whisper_rs=warn";

/// The filter for a `log_level` setting: the setting itself, with Whisper's
/// own lines at WARN unless the setting names `whisper_rs` itself.
pub fn log_filter(log_level: &str) -> EnvFilter {
    let filter = EnvFilter::try_new(log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    if log_level.contains("whisper_rs") {
        return filter;
    }
    match QUIET_WHISPER.parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Installs the global subscriber. Later calls (tests start many servers in
/// one process) keep the first one.
pub fn init(settings: &Settings) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter(&settings.log_level))
        .with_writer(std::io::stderr);
    let result = match settings.log_format() {
        Ok(LogFormat::Json) => builder.json().try_init(),
        _ => builder.try_init(),
    };
    // Already installed: keep the first.
    drop(result);
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn whisper_is_quiet_unless_asked_for() {
        assert!(log_filter("info").to_string().contains("whisper_rs=warn"));
        assert!(
            log_filter("callscore=debug,info")
                .to_string()
                .contains("whisper_rs=warn")
        );
        let asked = log_filter("whisper_rs=debug,info").to_string();
        assert!(asked.contains("whisper_rs=debug"), "{asked}");
        assert!(!asked.contains("whisper_rs=warn"), "{asked}");
    }
}
