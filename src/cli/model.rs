//! `callscore model import`: convert faster-whisper weights to whisper.cpp's format.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use crate::transcribe::import::{self, GgmlType};

/// Model file management.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Convert a CTranslate2 (faster-whisper) model folder to a ggml file.
    Import {
        /// Folder holding model.bin and vocabulary.txt.
        ct2_dir: PathBuf,
        /// The ggml file to write.
        out: PathBuf,
        /// Storage type of the weight matrices.
        #[arg(long, value_enum, default_value_t = Quantize::F16)]
        quantize: Quantize,
    },
}

/// Weight storage types offered on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Quantize {
    /// 16-bit floats, as the source weights.
    F16,
    /// ggml q8_0 (8-bit blocks).
    #[value(name = "q8_0")]
    Q8_0,
    /// ggml q5_0 (5-bit blocks).
    #[value(name = "q5_0")]
    Q5_0,
    /// ggml q5_1 (5-bit blocks with a minimum).
    #[value(name = "q5_1")]
    Q5_1,
}

impl From<Quantize> for GgmlType {
    fn from(value: Quantize) -> Self {
        match value {
            Quantize::F16 => Self::F16,
            Quantize::Q8_0 => Self::Q8_0,
            Quantize::Q5_0 => Self::Q5_0,
            Quantize::Q5_1 => Self::Q5_1,
        }
    }
}

/// Runs a `model` subcommand.
pub fn run(command: ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Import {
            ct2_dir,
            out,
            quantize,
        } => {
            let summary = import::import(&ct2_dir, &out, quantize.into())
                .with_context(|| format!("importing {}", ct2_dir.display()))?;
            eprintln!(
                "wrote {} ({} tensors, {} tokens, {:.1} MB, {} layers, width {})",
                out.display(),
                summary.tensors,
                summary.tokens,
                summary.bytes as f64 / 1e6,
                summary.hparams.n_audio_layer,
                summary.hparams.n_audio_state,
            );
            Ok(())
        }
    }
}
