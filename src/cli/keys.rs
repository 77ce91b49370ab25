//! `callscore keys create`: issue an API key for a tenant and role.

use clap::{Args, Subcommand};
use secrecy::ExposeSecret;

use super::settings_args::{SettingsArgs, runtime};
use crate::auth::{Role, issue_key};
use crate::config::Overrides;
use crate::store::{self, ApiKeyRecord};
use crate::tenants::provision_tenant;

/// Manages API keys.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Creates a key and prints it once; only its hash is stored.
    Create(CreateKeyArgs),
}

#[derive(Debug, Args)]
struct CreateKeyArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant the key belongs to (created if new).
    #[arg(long)]
    tenant: String,
    /// ingest, reviewer, coach or admin.
    #[arg(long)]
    role: Role,
    /// A note to tell keys apart.
    #[arg(long, default_value = "")]
    label: String,
}

impl KeysArgs {
    /// Runs the keys subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            KeysCommand::Create(args) => args.run(),
        }
    }
}

/// Tenant ids appear in URLs, logs and metrics: keep them simple.
fn check_tenant_id(tenant: &str) -> anyhow::Result<()> {
    let valid = !tenant.is_empty()
        && tenant.len() <= 64
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    anyhow::ensure!(
        valid,
        "--tenant {tenant:?}: use 1-64 letters, digits, '-', '_' or '.'"
    );
    Ok(())
}

impl CreateKeyArgs {
    fn run(self) -> anyhow::Result<()> {
        check_tenant_id(&self.tenant)?;
        let settings = self.settings.load(Overrides::default())?;
        runtime()?.block_on(async {
            let store = store::open(&settings.database_url, 2).await?;
            provision_tenant(store.as_ref(), &self.tenant).await?;
            let issued = issue_key();
            store
                .insert_api_key(&ApiKeyRecord {
                    key_id: issued.key_id.clone(),
                    tenant_id: self.tenant.clone(),
                    role: self.role,
                    secret_sha256: issued.secret_sha256,
                    label: self.label,
                    revoked: false,
                })
                .await?;
            eprintln!(
                "created {} key {} for tenant {:?}; it is shown only now:",
                self.role, issued.key_id, self.tenant
            );
            println!("{}", issued.token.expose_secret());
            Ok(())
        })
    }
}
