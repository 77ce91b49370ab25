//! Writer for the legacy ggml model file whisper.cpp loads.

use std::io::{self, Write};

use super::quantize::{self, GgmlType};

/// The file magic, "ggml".
const MAGIC: u32 = 0x6767_6d6c;
/// ggml's quantisation format version, folded into `ftype` as its quantize tool does.
const QUANT_VERSION: i32 = 2;
/// Multiplier of [`QUANT_VERSION`] inside `ftype`.
const QUANT_VERSION_FACTOR: i32 = 1000;

/// Model hyperparameters in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HParams {
    /// Vocabulary size (embedding rows).
    pub n_vocab: i32,
    /// Encoder positions.
    pub n_audio_ctx: i32,
    /// Encoder width.
    pub n_audio_state: i32,
    /// Encoder attention heads.
    pub n_audio_head: i32,
    /// Encoder layers.
    pub n_audio_layer: i32,
    /// Decoder positions.
    pub n_text_ctx: i32,
    /// Decoder width.
    pub n_text_state: i32,
    /// Decoder attention heads.
    pub n_text_head: i32,
    /// Decoder layers.
    pub n_text_layer: i32,
    /// Mel bands.
    pub n_mels: i32,
}

/// Writes the header: hyperparameters, mel filterbank, vocabulary.
pub fn write_header(
    out: &mut impl Write,
    hparams: &HParams,
    weights: GgmlType,
    mel: &[f32],
    n_mel: i32,
    n_fft: i32,
    tokens: &[Vec<u8>],
) -> io::Result<()> {
    let ftype = if weights.is_quantized() {
        weights.file_type() + QUANT_VERSION * QUANT_VERSION_FACTOR
    } else {
        weights.file_type()
    };
    out.write_all(&MAGIC.to_le_bytes())?;
    for value in [
        hparams.n_vocab,
        hparams.n_audio_ctx,
        hparams.n_audio_state,
        hparams.n_audio_head,
        hparams.n_audio_layer,
        hparams.n_text_ctx,
        hparams.n_text_state,
        hparams.n_text_head,
        hparams.n_text_layer,
        hparams.n_mels,
        ftype,
        n_mel,
        n_fft,
    ] {
        out.write_all(&value.to_le_bytes())?;
    }
    for value in mel {
        out.write_all(&value.to_le_bytes())?;
    }
    out.write_all(&len_i32(tokens.len())?.to_le_bytes())?;
    for token in tokens {
        out.write_all(&len_i32(token.len())?.to_le_bytes())?;
        out.write_all(token)?;
    }
    Ok(())
}

/// Writes one tensor; `shape` is outermost first (row-major), stored reversed
/// as ggml's `ne`.
pub fn write_tensor(
    out: &mut impl Write,
    name: &str,
    shape: &[usize],
    values: &[f32],
    kind: GgmlType,
) -> io::Result<()> {
    out.write_all(&len_i32(shape.len())?.to_le_bytes())?;
    out.write_all(&len_i32(name.len())?.to_le_bytes())?;
    out.write_all(&kind.id().to_le_bytes())?;
    for dim in shape.iter().rev() {
        out.write_all(&len_i32(*dim)?.to_le_bytes())?;
    }
    out.write_all(name.as_bytes())?;
    out.write_all(&quantize::encode(values, kind))
}

fn len_i32(len: usize) -> io::Result<i32> {
    i32::try_from(len).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "size exceeds i32"))
}
