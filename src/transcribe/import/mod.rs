//! CTranslate2 (faster-whisper) → ggml (whisper.cpp) model conversion.

mod ct2;
mod ggml;
pub mod mel;
pub mod quantize;
mod vocab;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ct2::{Ct2Model, Variable};
use ggml::HParams;
pub use quantize::GgmlType;

/// Sample rate, FFT size and band count of Whisper's log-mel input.
const SAMPLE_RATE: u32 = 16_000;
const N_FFT: usize = 400;

/// Why a model could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading the input or writing the output failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input is not a CTranslate2 Whisper model this importer understands.
    #[error("not a CTranslate2 Whisper model: {0}")]
    Format(String),
    /// A variable the conversion needs is absent.
    #[error("CTranslate2 model lacks variable {0}")]
    Missing(String),
    /// The requested weight type cannot be used.
    #[error("cannot write weights as {0}")]
    Unsupported(String),
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Hyperparameters of the model.
    pub hparams: HParams,
    /// Tensors written.
    pub tensors: usize,
    /// Text tokens written.
    pub tokens: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// Converts the CTranslate2 model in `ct2_dir` (model.bin, vocabulary.txt)
/// to a ggml file at `out`, with 2-D weights stored as `weights`
/// (f16, or a quantised type). Writes to a temporary file and renames it, so
/// an interrupted import never leaves a half-written model behind.
pub fn import(ct2_dir: &Path, out: &Path, weights: GgmlType) -> Result<ImportSummary, ImportError> {
    if weights == GgmlType::F32 {
        return Err(ImportError::Unsupported(
            "f32 (whisper.cpp reads f32 weight files, but they are twice the size for no gain)"
                .to_string(),
        ));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path, source }
    };
    let model_path = ct2_dir.join("model.bin");
    let vocab_path = ct2_dir.join("vocabulary.txt");
    let model = Ct2Model::parse(&fs::read(&model_path).map_err(io(&model_path))?)?;
    let vocabulary = fs::read_to_string(&vocab_path).map_err(io(&vocab_path))?;
    let tokens = vocab::text_tokens(&vocabulary).map_err(ImportError::Format)?;
    let hparams = hparams(&model)?;
    let tensors = tensors(&model, &hparams)?;

    // Checked before writing so a refused import leaves no file behind.
    for tensor in &tensors {
        let kind = tensor.storage(weights);
        let row = tensor.shape.last().copied().unwrap_or(0);
        if kind.is_quantized() && !row.is_multiple_of(quantize::BLOCK) {
            return Err(ImportError::Unsupported(format!(
                "{kind:?}: rows of {} have {row} values, not a multiple of {}",
                tensor.name,
                quantize::BLOCK
            )));
        }
    }

    let tmp = out.with_extension("bin.partial");
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let mut writer = BufWriter::new(file);
    let mel = mel::filterbank(SAMPLE_RATE, N_FFT, hparams.n_mels as usize);
    ggml::write_header(
        &mut writer,
        &hparams,
        weights,
        &mel,
        hparams.n_mels,
        (N_FFT / 2 + 1) as i32,
        &tokens,
    )
    .map_err(io(&tmp))?;
    for tensor in &tensors {
        let kind = tensor.storage(weights);
        ggml::write_tensor(&mut writer, &tensor.name, &tensor.shape, &tensor.data, kind)
            .map_err(io(&tmp))?;
    }
    writer.flush().map_err(io(&tmp))?;
    drop(writer);
    fs::rename(&tmp, out).map_err(io(out))?;
    let bytes = fs::metadata(out).map_err(io(out))?.len();
    Ok(ImportSummary {
        hparams,
        tensors: tensors.len(),
        tokens: tokens.len(),
        bytes,
    })
}

/// One tensor ready to write.
struct Tensor {
    name: String,
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// The type whisper.cpp expects: f32 for 1-D tensors, conv biases and
    /// positional embeddings; f16 for conv kernels; `weights` for 2-D matrices.
    fn storage(&self, weights: GgmlType) -> GgmlType {
        let positional = self.name.ends_with("positional_embedding");
        let conv = self.name.starts_with("encoder.conv");
        match self.shape.len() {
            1 => GgmlType::F32,
            _ if positional || (conv && self.name.ends_with(".bias")) => GgmlType::F32,
            3 => GgmlType::F16,
            _ => weights,
        }
    }
}

/// Reads the hyperparameters from tensor shapes and scalars.
fn hparams(model: &Ct2Model) -> Result<HParams, ImportError> {
    let dim = |name: &str, axis: usize| -> Result<i32, ImportError> {
        let variable = model.get(name)?;
        variable
            .shape
            .get(axis)
            .and_then(|d| i32::try_from(*d).ok())
            .ok_or_else(|| ImportError::Format(format!("{name} has no axis {axis}")))
    };
    let count = |prefix: &str| i32::try_from(model.layer_count(prefix)).unwrap_or(0);
    Ok(HParams {
        n_vocab: dim("decoder/embeddings/weight", 0)?,
        n_audio_ctx: dim("encoder/position_encodings/encodings", 0)?,
        n_audio_state: dim("encoder/position_encodings/encodings", 1)?,
        n_audio_head: model.scalar("encoder/num_heads")?,
        n_audio_layer: count("encoder"),
        n_text_ctx: dim("decoder/position_encodings/encodings", 0)?,
        n_text_state: dim("decoder/position_encodings/encodings", 1)?,
        n_text_head: model.scalar("decoder/num_heads")?,
        n_text_layer: count("decoder"),
        n_mels: dim("encoder/conv1/weight", 1)?,
    })
}

/// Maps every CTranslate2 variable to whisper.cpp's tensor names, splitting
/// fused projections and dropping the all-zero key biases.
fn tensors(model: &Ct2Model, hp: &HParams) -> Result<Vec<Tensor>, ImportError> {
    let mut out = Vec::new();
    let copy = |ggml: &str, ct2: &str, out: &mut Vec<Tensor>| -> Result<(), ImportError> {
        let v = model.get(ct2)?;
        let shape = if ggml.starts_with("encoder.conv") && ggml.ends_with(".bias") {
            // whisper.cpp adds the conv bias as a (D, 1) column.
            vec![v.data.len(), 1]
        } else {
            v.shape.clone()
        };
        out.push(Tensor {
            name: ggml.to_string(),
            shape,
            data: v.data.clone(),
        });
        Ok(())
    };
    copy(
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
        &mut out,
    )?;
    for conv in ["conv1", "conv2"] {
        for part in ["weight", "bias"] {
            copy(
                &format!("encoder.{conv}.{part}"),
                &format!("encoder/{conv}/{part}"),
                &mut out,
            )?;
        }
    }
    copy(
        "encoder.ln_post.weight",
        "encoder/layer_norm/gamma",
        &mut out,
    )?;
    copy("encoder.ln_post.bias", "encoder/layer_norm/beta", &mut out)?;
    copy(
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
        &mut out,
    )?;
    copy(
        "decoder.token_embedding.weight",
        "decoder/embeddings/weight",
        &mut out,
    )?;
    copy("decoder.ln.weight", "decoder/layer_norm/gamma", &mut out)?;
    copy("decoder.ln.bias", "decoder/layer_norm/beta", &mut out)?;

    for side in ["encoder", "decoder"] {
        let layers = if side == "encoder" {
            hp.n_audio_layer
        } else {
            hp.n_text_layer
        };
        for i in 0..layers {
            let g = format!("{side}.blocks.{i}");
            let c = format!("{side}/layer_{i}");
            let sa = format!("{c}/self_attention");
            split_fused(
                model,
                &format!("{sa}/linear_0"),
                &format!("{g}.attn"),
                &["query", "key", "value"],
                &mut out,
            )?;
            copy(
                &format!("{g}.attn.out.weight"),
                &format!("{sa}/linear_1/weight"),
                &mut out,
            )?;
            copy(
                &format!("{g}.attn.out.bias"),
                &format!("{sa}/linear_1/bias"),
                &mut out,
            )?;
            copy(
                &format!("{g}.attn_ln.weight"),
                &format!("{sa}/layer_norm/gamma"),
                &mut out,
            )?;
            copy(
                &format!("{g}.attn_ln.bias"),
                &format!("{sa}/layer_norm/beta"),
                &mut out,
            )?;
            if side == "decoder" {
                let ca = format!("{c}/attention");
                copy(
                    &format!("{g}.cross_attn.query.weight"),
                    &format!("{ca}/linear_0/weight"),
                    &mut out,
                )?;
                copy(
                    &format!("{g}.cross_attn.query.bias"),
                    &format!("{ca}/linear_0/bias"),
                    &mut out,
                )?;
                split_fused(
                    model,
                    &format!("{ca}/linear_1"),
                    &format!("{g}.cross_attn"),
                    &["key", "value"],
                    &mut out,
                )?;
                copy(
                    &format!("{g}.cross_attn.out.weight"),
                    &format!("{ca}/linear_2/weight"),
                    &mut out,
                )?;
                copy(
                    &format!("{g}.cross_attn.out.bias"),
                    &format!("{ca}/linear_2/bias"),
                    &mut out,
                )?;
                copy(
                    &format!("{g}.cross_attn_ln.weight"),
                    &format!("{ca}/layer_norm/gamma"),
                    &mut out,
                )?;
                copy(
                    &format!("{g}.cross_attn_ln.bias"),
                    &format!("{ca}/layer_norm/beta"),
                    &mut out,
                )?;
            }
            let ffn = format!("{c}/ffn");
            copy(
                &format!("{g}.mlp_ln.weight"),
                &format!("{ffn}/layer_norm/gamma"),
                &mut out,
            )?;
            copy(
                &format!("{g}.mlp_ln.bias"),
                &format!("{ffn}/layer_norm/beta"),
                &mut out,
            )?;
            copy(
                &format!("{g}.mlp.0.weight"),
                &format!("{ffn}/linear_0/weight"),
                &mut out,
            )?;
            copy(
                &format!("{g}.mlp.0.bias"),
                &format!("{ffn}/linear_0/bias"),
                &mut out,
            )?;
            copy(
                &format!("{g}.mlp.2.weight"),
                &format!("{ffn}/linear_1/weight"),
                &mut out,
            )?;
            copy(
                &format!("{g}.mlp.2.bias"),
                &format!("{ffn}/linear_1/bias"),
                &mut out,
            )?;
        }
    }
    Ok(out)
}

/// Splits a fused projection (`parts.len()` × D rows) into one weight and
/// bias per part; keys get no bias, as in Whisper.
fn split_fused(
    model: &Ct2Model,
    ct2: &str,
    ggml: &str,
    parts: &[&str],
    out: &mut Vec<Tensor>,
) -> Result<(), ImportError> {
    let weight = model.get(&format!("{ct2}/weight"))?;
    let bias = model.get(&format!("{ct2}/bias"))?;
    let rows = weight.shape.first().copied().unwrap_or(0) / parts.len();
    let cols = weight.shape.get(1).copied().unwrap_or(0);
    if rows == 0 || cols == 0 || bias.data.len() != rows * parts.len() {
        return Err(ImportError::Format(format!(
            "{ct2}: shape {:?} does not split into {} parts",
            weight.shape,
            parts.len()
        )));
    }
    for (index, part) in parts.iter().enumerate() {
        out.push(Tensor {
            name: format!("{ggml}.{part}.weight"),
            shape: vec![rows, cols],
            data: rows_of(weight, index * rows, rows, cols),
        });
        if *part != "key" {
            out.push(Tensor {
                name: format!("{ggml}.{part}.bias"),
                shape: vec![rows],
                data: bias.data[index * rows..(index + 1) * rows].to_vec(),
            });
        }
    }
    Ok(())
}

/// Rows `first..first + count` of a row-major matrix with `cols` columns.
fn rows_of(variable: &Variable, first: usize, count: usize, cols: usize) -> Vec<f32> {
    variable.data[first * cols..(first + count) * cols].to_vec()
}
