//! `callscore migrate`: create or upgrade the database schema and exit.

use clap::Args;

use super::settings_args::{SettingsArgs, runtime};
use crate::config::Overrides;
use crate::store;

/// Applies pending migrations.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    settings: SettingsArgs,
}

impl MigrateArgs {
    /// Opens the database, which applies every pending migration.
    pub fn run(self) -> anyhow::Result<()> {
        let settings = self.settings.load(Overrides::default())?;
        runtime()?.block_on(async {
            let store = store::open(&settings.database_url, 1).await?;
            eprintln!("database {:?} is up to date", store.kind());
            Ok(())
        })
    }
}
