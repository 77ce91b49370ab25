//! Where model files live: `CALLSCORE_MODEL_DIR`, else `./models`.

use std::path::PathBuf;

/// Environment variable that overrides the model folder.
pub const MODEL_DIR_ENV: &str = "CALLSCORE_MODEL_DIR";
/// The default model: English-only tiny, as the provisioning script writes it.
pub const DEFAULT_MODEL: &str = "ggml-tiny.en.bin";
/// The multilingual model used for Indonesian.
pub const MULTILINGUAL_MODEL: &str = "ggml-base.bin";

/// The speaker encoder that diarization uses (converted at set-up).
pub const SPEAKER_ENCODER: &str = "speaker-ge2e.safetensors";

/// The folder holding model files.
pub fn model_dir() -> PathBuf {
    std::env::var_os(MODEL_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| PathBuf::from("models"), PathBuf::from)
}

/// The path of a model file inside [`model_dir`].
pub fn model_path(file_name: &str) -> PathBuf {
    model_dir().join(file_name)
}

/// The shape of a ggml Whisper model, read from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelShape {
    /// Vocabulary size (51864 for English-only models).
    pub n_vocab: i32,
    /// Encoder width.
    pub n_audio_state: i32,
    /// Encoder layers.
    pub n_audio_layer: i32,
    /// Decoder layers.
    pub n_text_layer: i32,
    /// Mel bands (128 for large-v3).
    pub n_mels: i32,
}

impl ModelShape {
    /// Reads the hyperparameters at the start of a ggml model file.
    pub fn read(path: &std::path::Path) -> std::io::Result<Self> {
        use std::io::Read;
        let mut header = [0u8; 4 * 11];
        std::fs::File::open(path)?.read_exact(&mut header)?;
        let field = |i: usize| {
            i32::from_le_bytes([
                header[4 * i],
                header[4 * i + 1],
                header[4 * i + 2],
                header[4 * i + 3],
            ])
        };
        if field(0) as u32 != 0x6767_6d6c {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a ggml Whisper model (bad magic)",
            ));
        }
        Ok(Self {
            n_vocab: field(1),
            n_audio_state: field(3),
            n_audio_layer: field(5),
            n_text_layer: field(9),
            n_mels: field(10),
        })
    }

    /// Whether the model is English-only.
    pub fn english_only(&self) -> bool {
        self.n_vocab == 51_864
    }
}
