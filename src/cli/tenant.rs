//! `callscore tenant`: a tenant's settings (retention, audio redaction) straight
//! on the database, the operator's way in; admins have TenantService. Every
//! change is audited with the actor "cli".

use clap::{Args, Subcommand};

use super::keys::{CLI_ACTOR, check_tenant_id, when};
use super::settings_args::{SettingsArgs, runtime};
use crate::audio::mask::MaskSound;
use crate::config::Overrides;
use crate::seal::Sealer;
use crate::store::{self, AudioRedactionPolicy, RetentionPolicy, SettingsSection, TenantSettings};

/// Ten years, as the API allows.
const MAX_RETENTION_DAYS: u32 = 3650;

/// Shows or changes a tenant's settings.
#[derive(Debug, Args)]
pub struct TenantArgs {
    #[command(subcommand)]
    command: TenantCommand,
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Prints the tenant's settings.
    Settings(ShowArgs),
    /// Sets the retention policy (days from the call's start; 0 keeps).
    Retention(RetentionArgs),
    /// Sets what replaces masked speech (card numbers, PINs …) in recordings.
    AudioRedaction(AudioRedactionArgs),
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant.
    #[arg(long)]
    tenant: String,
}

#[derive(Debug, Args)]
struct RetentionArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// Days until recordings are deleted (unset: unchanged).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_RETENTION_DAYS)))]
    audio_days: Option<u32>,
    /// Days until transcripts and quotes are deleted (unset: unchanged).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_RETENTION_DAYS)))]
    transcript_days: Option<u32>,
}

#[derive(Debug, Args)]
struct AudioRedactionArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// What masked speech becomes (unset: unchanged).
    #[arg(long, value_enum)]
    sound: Option<SoundArg>,
    /// Keep uploads sealed with audio_encryption_key_file for
    /// re-transcription (unset: unchanged).
    #[arg(long)]
    keep_original: Option<bool>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SoundArg {
    /// Digital silence.
    Silence,
    /// A 1 kHz tone at -20 dBFS.
    Tone,
}

impl TenantArgs {
    /// Runs the tenant subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            TenantCommand::Settings(args) => args.run(),
            TenantCommand::Retention(args) => args.run(),
            TenantCommand::AudioRedaction(args) => args.run(),
        }
    }
}

fn print(tenant: &str, settings: &TenantSettings) {
    let days = |days: u32| {
        if days == 0 {
            "kept".to_string()
        } else {
            format!("{days} days")
        }
    };
    println!("tenant         {tenant}");
    println!("audio          {}", days(settings.retention.audio_days));
    println!(
        "transcripts    {}",
        days(settings.retention.transcript_days)
    );
    println!(
        "masked speech  {}",
        match settings.audio_redaction.sound {
            MaskSound::Silence => "silence",
            MaskSound::Tone => "tone",
        }
    );
    println!(
        "originals      {}",
        if settings.audio_redaction.keep_original {
            "kept, sealed"
        } else {
            "deleted"
        }
    );
    println!("version        v{}", settings.version);
    println!(
        "updated        {} by {}",
        when(settings.updated_at_ms),
        if settings.updated_by.is_empty() {
            "-"
        } else {
            &settings.updated_by
        }
    );
}

impl ShowArgs {
    fn run(self) -> anyhow::Result<()> {
        check_tenant_id(&self.tenant)?;
        let settings = self.settings.load(Overrides::default())?;
        runtime()?.block_on(async {
            let store = store::open(&settings.database_url, 2).await?;
            print(&self.tenant, &store.tenant_settings(&self.tenant).await?);
            Ok(())
        })
    }
}

impl RetentionArgs {
    fn run(self) -> anyhow::Result<()> {
        check_tenant_id(&self.tenant)?;
        anyhow::ensure!(
            self.audio_days.is_some() || self.transcript_days.is_some(),
            "give --audio-days, --transcript-days or both"
        );
        let settings = self.settings.load(Overrides::default())?;
        runtime()?.block_on(async {
            let store = store::open(&settings.database_url, 2).await?;
            let current = store.tenant_settings(&self.tenant).await?;
            let policy = RetentionPolicy {
                audio_days: self.audio_days.unwrap_or(current.retention.audio_days),
                transcript_days: self
                    .transcript_days
                    .unwrap_or(current.retention.transcript_days),
            };
            let updated = store
                .update_tenant_settings(
                    &self.tenant,
                    &[SettingsSection::Retention(policy)],
                    Some(current.version),
                    CLI_ACTOR,
                )
                .await?;
            print(&self.tenant, &updated);
            Ok(())
        })
    }
}

impl AudioRedactionArgs {
    fn run(self) -> anyhow::Result<()> {
        check_tenant_id(&self.tenant)?;
        anyhow::ensure!(
            self.sound.is_some() || self.keep_original.is_some(),
            "give --sound, --keep-original or both"
        );
        let settings = self.settings.load(Overrides::default())?;
        if self.keep_original == Some(true) {
            anyhow::ensure!(
                !settings.audio_encryption_key_file.as_os_str().is_empty(),
                "--keep-original true: set audio_encryption_key_file first, so originals are kept encrypted"
            );
            Sealer::from_key_file(&settings.audio_encryption_key_file)?;
        }
        runtime()?.block_on(async {
            let store = store::open(&settings.database_url, 2).await?;
            let current = store.tenant_settings(&self.tenant).await?;
            let policy = AudioRedactionPolicy {
                sound: match self.sound {
                    Some(SoundArg::Silence) => MaskSound::Silence,
                    Some(SoundArg::Tone) => MaskSound::Tone,
                    None => current.audio_redaction.sound,
                },
                keep_original: self
                    .keep_original
                    .unwrap_or(current.audio_redaction.keep_original),
            };
            let updated = store
                .update_tenant_settings(
                    &self.tenant,
                    &[SettingsSection::AudioRedaction(policy)],
                    Some(current.version),
                    CLI_ACTOR,
                )
                .await?;
            print(&self.tenant, &updated);
            Ok(())
        })
    }
}
