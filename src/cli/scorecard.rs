//! `callscore scorecard ID`: print a scorecard the way a reviewer reads it.

use clap::Args;

use super::client::{ClientArgs, render_scorecard};
use super::exit::rpc_failure;
use super::output::{OutputArgs, print};
use super::settings_args::runtime;
use crate::proto::scorecard_service_client::ScorecardServiceClient;
use crate::proto::{self as pb};

/// Prints a scorecard.
#[derive(Debug, Args)]
pub struct ScorecardArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The scorecard's id.
    scorecard_id: String,
    #[command(flatten)]
    output: OutputArgs,
}

impl ScorecardArgs {
    /// Fetches and prints.
    pub fn run(self) -> anyhow::Result<()> {
        runtime()?.block_on(async {
            let channel = self.client.connect().await?;
            let scorecard = ScorecardServiceClient::new(channel)
                .get_scorecard(pb::GetScorecardRequest {
                    scorecard_id: self.scorecard_id.clone(),
                })
                .await
                .map_err(|status| rpc_failure("", &status))?
                .into_inner()
                .scorecard
                .ok_or_else(|| anyhow::anyhow!("the server sent no scorecard"))?;
            print(self.output.format, &scorecard, render_scorecard)
        })
    }
}
