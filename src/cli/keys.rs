//! `callscore keys`: issue, list, revoke and rotate a tenant's API keys,
//! straight on the database (the operator's way in; admins have KeyService).

use anyhow::Context;
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;

use super::settings_args::{SettingsArgs, runtime};
use crate::auth::{KeyScope, Role, issue_key};
use crate::config::Overrides;
use crate::store::{self, ApiKeyRecord, now_ms};
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
    /// Lists a tenant's keys (never their secrets).
    List(ListKeysArgs),
    /// Revokes a key at once (every server refuses it within a second).
    Revoke(RevokeKeyArgs),
    /// Issues a successor with the same role and label and prints it once;
    /// the old key keeps working for the grace period.
    Rotate(RotateKeyArgs),
}

#[derive(Debug, Args)]
struct ListKeysArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// Show revoked keys too.
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
struct RevokeKeyArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The key id (the 16 hex digits after `cs_`).
    key_id: String,
    /// Why, for the key audit.
    #[arg(long, default_value = "")]
    reason: String,
}

#[derive(Debug, Args)]
struct RotateKeyArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The key id to replace.
    key_id: String,
    /// Seconds the old key keeps working (0: it stops now).
    #[arg(long, default_value_t = 86_400)]
    grace_seconds: u32,
}

#[derive(Debug, Args)]
struct CreateKeyArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant the key belongs to (created if new).
    #[arg(long)]
    tenant: String,
    /// ingest, reviewer, coach, admin or agent.
    #[arg(long)]
    role: Role,
    /// The agent an agent key is bound to (required for --role agent).
    #[arg(long, default_value = "")]
    agent: String,
    /// The one team a coach key sees (optional, coach keys only).
    #[arg(long, default_value = "")]
    team: String,
    /// A note to tell keys apart.
    #[arg(long, default_value = "")]
    label: String,
}

impl KeysArgs {
    /// Runs the keys subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            KeysCommand::Create(args) => args.run(),
            KeysCommand::List(args) => args.run(),
            KeysCommand::Revoke(args) => args.run(),
            KeysCommand::Rotate(args) => args.run(),
        }
    }
}

/// Tenant ids appear in URLs, logs and metrics: keep them simple.
pub(super) fn check_tenant_id(tenant: &str) -> anyhow::Result<()> {
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
            let scope =
                KeyScope::for_role(self.role, &self.agent, &self.team).map_err(|error| {
                    let flag = if error.field == "agent_id" {
                        "--agent"
                    } else {
                        "--team"
                    };
                    anyhow::anyhow!("{flag}: {}", error.problem)
                })?;
            let issued = issue_key();
            let record = ApiKeyRecord {
                scope,
                ..ApiKeyRecord::issued(&issued, &self.tenant, self.role, &self.label, None)
            };
            store.create_api_key(&record, CLI_ACTOR).await?;
            eprintln!(
                "created {} key {} for tenant {:?}; it is shown only now:",
                self.role, issued.key_id, self.tenant
            );
            println!("{}", issued.token.expose_secret());
            Ok(())
        })
    }
}

/// The actor the key audit records for the command line.
pub(super) const CLI_ACTOR: &str = "cli";

/// An epoch-milliseconds time in RFC 3339 to the second, or `-`.
pub(super) fn when(at_ms: Option<i64>) -> String {
    at_ms.map_or_else(
        || "-".to_string(),
        |at_ms| {
            prost_types::Timestamp {
                seconds: at_ms.div_euclid(1000),
                nanos: 0,
            }
            .to_string()
        },
    )
}

impl ListKeysArgs {
    fn run(self) -> anyhow::Result<()> {
        check_tenant_id(&self.tenant)?;
        let settings = self.settings.load(Overrides::default())?;
        runtime()?.block_on(async {
            let store = store::open(&settings.database_url, 2).await?;
            let keys = store.list_api_keys(&self.tenant, self.all).await?;
            println!(
                "{:<16}  {:<8}  {:<16}  {:<20}  {:<20}  {:<20}  {:<20}  label",
                "key id", "role", "scope", "created", "last used", "expires", "revoked"
            );
            for key in keys {
                let scope = match (&key.scope.agent_id, &key.scope.team_id) {
                    (agent, _) if !agent.is_empty() => format!("agent {agent}"),
                    (_, team) if !team.is_empty() => format!("team {team}"),
                    _ => "-".to_string(),
                };
                println!(
                    "{:<16}  {:<8}  {scope:<16}  {:<20}  {:<20}  {:<20}  {:<20}  {}",
                    key.key_id,
                    key.role.as_str(),
                    when(Some(key.created_at_ms)),
                    when(key.last_used_at_ms),
                    when(key.expires_at_ms),
                    when(key.revoked_at_ms),
                    key.label
                );
            }
            Ok(())
        })
    }
}

impl RevokeKeyArgs {
    fn run(self) -> anyhow::Result<()> {
        check_tenant_id(&self.tenant)?;
        let settings = self.settings.load(Overrides::default())?;
        runtime()?.block_on(async {
            let store = store::open(&settings.database_url, 2).await?;
            let revoked = store
                .revoke_api_key(&self.tenant, &self.key_id, CLI_ACTOR, &self.reason)
                .await
                .with_context(|| format!("key {} of tenant {:?}", self.key_id, self.tenant))?;
            eprintln!(
                "revoked {} key {} of tenant {:?} at {}",
                revoked.role,
                revoked.key_id,
                self.tenant,
                when(revoked.revoked_at_ms)
            );
            Ok(())
        })
    }
}

impl RotateKeyArgs {
    fn run(self) -> anyhow::Result<()> {
        check_tenant_id(&self.tenant)?;
        let settings = self.settings.load(Overrides::default())?;
        runtime()?.block_on(async {
            let store = store::open(&settings.database_url, 2).await?;
            let issued = issue_key();
            let expires_at_ms = now_ms() + i64::from(self.grace_seconds) * 1000;
            let (old, new) = store
                .rotate_api_key(
                    &self.tenant,
                    &self.key_id,
                    &issued,
                    expires_at_ms,
                    CLI_ACTOR,
                )
                .await
                .with_context(|| format!("key {} of tenant {:?}", self.key_id, self.tenant))?;
            eprintln!(
                "key {} now expires {}; its successor {} ({}) is shown only now:",
                old.key_id,
                when(old.expires_at_ms),
                new.key_id,
                new.role
            );
            println!("{}", issued.token.expose_secret());
            Ok(())
        })
    }
}
