//! Flags shared by the subcommands that read the service's settings.

use std::path::PathBuf;

use clap::Args;

use crate::config::{Overrides, Settings};

/// Where settings come from, and the flags that override them.
#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    /// Settings file (default: ./callscore.toml when present).
    #[arg(long, env = "CALLSCORE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

impl SettingsArgs {
    /// Layers defaults, file, environment and these flags (plus `extra`).
    pub fn load(&self, extra: Overrides) -> anyhow::Result<Settings> {
        let overrides = Overrides {
            database_url: self.database_url.clone().or(extra.database_url),
            ..extra
        };
        Ok(Settings::load(self.config.as_deref(), &overrides)?)
    }
}

/// A multi-threaded tokio runtime for the async subcommands.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
