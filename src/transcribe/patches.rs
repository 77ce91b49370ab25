//! The patch level of the whisper.cpp compiled into this build: callscore's
//! changes to it live in `scripts/whisper/` and are applied while
//! whisper-rs-sys builds it. Linking against the marker they add makes a
//! build whose whisper.cpp was compiled without them fail at link time
//! instead of running slower unnoticed.

use std::ffi::c_int;

unsafe extern "C" {
    /// Added by `scripts/whisper/encoder-attention.patch`.
    fn callscore_whisper_patch_level() -> c_int;
}

/// The patch level of the linked whisper.cpp (1: encoder attention through BLAS).
pub fn whisper_patch_level() -> i32 {
    // SAFETY: a C function without arguments or state that returns a constant.
    unsafe { callscore_whisper_patch_level() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_linked_whisper_cpp_carries_the_patches() {
        assert!(super::whisper_patch_level() >= 1);
    }
}
