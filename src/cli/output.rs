//! `--format text|json` for the client commands: text for people, and for
//! scripts the server's answer as canonical proto3 JSON (field names in
//! lowerCamelCase, enums by name, timestamps in RFC 3339, 64-bit integers as
//! strings), the mapping every gRPC gateway and `grpcurl` use.

use std::sync::LazyLock;

use anyhow::Context;
use clap::ValueEnum;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

/// How a client command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for people.
    #[default]
    Text,
    /// The server's answer as proto3 JSON, one document.
    Json,
}

/// The `--format` flag of a client command.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputArgs {
    /// How to print the result: text, or the server's answer as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// The server, the key and the output format: what every client
/// subcommand takes after its own arguments.
#[derive(Debug, clap::Args)]
pub struct Session {
    /// Where and as whom.
    #[command(flatten)]
    pub client: super::client::ClientArgs,
    /// How to print.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The contract's descriptors, read once.
static POOL: LazyLock<Result<DescriptorPool, String>> = LazyLock::new(|| {
    DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET).map_err(|error| error.to_string())
});

/// `message` as pretty-printed proto3 JSON. Fields holding their default
/// value are printed too, so a script finds every key in every answer.
pub fn to_json<M: prost::Message + prost::Name>(message: &M) -> anyhow::Result<String> {
    let pool = POOL
        .as_ref()
        .map_err(|error| anyhow::anyhow!("the contract's descriptors: {error}"))?;
    let name = M::full_name();
    let descriptor = pool
        .get_message_by_name(&name)
        .with_context(|| format!("{name} is not in the contract's descriptors"))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .with_context(|| format!("re-reading {name}"))?;
    let mut out = serde_json::Serializer::pretty(Vec::new());
    dynamic
        .serialize_with_options(
            &mut out,
            &SerializeOptions::new().skip_default_fields(false),
        )
        .with_context(|| format!("writing {name} as JSON"))?;
    String::from_utf8(out.into_inner()).context("JSON is UTF-8")
}

/// Prints `message` as `format` says: JSON, or the text `render` makes.
pub fn print<M: prost::Message + prost::Name>(
    format: OutputFormat,
    message: &M,
    render: impl FnOnce(&M) -> String,
) -> anyhow::Result<()> {
    let text = match format {
        OutputFormat::Json => format!("{}\n", to_json(message)?),
        OutputFormat::Text => render(message),
    };
    write_stdout(&text)
}

/// Writes to standard output; a reader that stopped early (`| head`) ends
/// the output quietly instead of failing the command.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(error).context("writing to standard output"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto as pb;

    #[test]
    fn messages_print_as_canonical_proto3_json() {
        let event = pb::AuditEvent {
            event_id: "e1".into(),
            action: pb::AuditAction::Confirmed as i32,
            old_overall_score: Some(80.5),
            at: Some(prost_types::Timestamp {
                seconds: 1_796_256_000,
                nanos: 0,
            }),
            ..Default::default()
        };
        let json: serde_json::Value =
            serde_json::from_str(&to_json(&event).expect("json")).expect("valid JSON");
        assert_eq!(json["eventId"], "e1");
        assert_eq!(json["action"], "AUDIT_ACTION_CONFIRMED");
        assert_eq!(json["oldOverallScore"], 80.5);
        assert_eq!(json["at"], "2026-12-03T00:00:00Z");
        // Defaults are printed: every key is there for scripts.
        assert_eq!(json["reason"], "");
        assert_eq!(json["oldOutcome"], "CHECK_OUTCOME_UNSPECIFIED");
    }
}
