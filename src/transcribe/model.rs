//! Where model files live: `CALLSCORE_MODEL_DIR`, else `./models`.

use std::path::PathBuf;

/// Environment variable that overrides the model folder.
pub const MODEL_DIR_ENV: &str = "CALLSCORE_MODEL_DIR";
/// The default model: English-only tiny, as the provisioning script writes it.
pub const DEFAULT_MODEL: &str = "ggml-tiny.en.bin";
/// The multilingual model used for Indonesian.
pub const MULTILINGUAL_MODEL: &str = "ggml-base.bin";

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
