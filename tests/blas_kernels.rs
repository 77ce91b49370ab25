//! The binary has OpenBLAS use the kernels of the CPU's instruction set when
//! OpenBLAS, not knowing the CPU's model, fell back to its SSE3 ones
//! (src/transcribe/blas_kernels.rs), and keeps an operator's own choice.
//! OpenBLAS names its kernel set on stderr, each time it chooses, when
//! OPENBLAS_VERBOSE is 2.
#![cfg(feature = "openblas")]

use std::process::Command;

/// The "Core: NAME" lines that `callscore --version` prints with `envs`.
fn kernel_choices(envs: &[(&str, &str)]) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_callscore"))
        .arg("--version")
        .env_remove("OPENBLAS_CORETYPE")
        .env("OPENBLAS_VERBOSE", "2")
        .envs(envs.iter().copied())
        .output()
        .expect("callscore runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| line.strip_prefix("Core: "))
        .map(|name| name.trim().to_string())
        .collect()
}

fn cpu_has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[test]
fn the_sse3_fallback_is_replaced_on_a_cpu_with_avx2() {
    let choices = kernel_choices(&[]);
    let last = choices.last().expect("OpenBLAS names its kernels");
    if cpu_has_avx2() {
        assert_ne!(last, "Prescott", "kernel choices: {choices:?}");
    }
    // A second choice is made only to leave the fallback.
    if choices.len() > 1 {
        assert_eq!(choices[0], "Prescott", "kernel choices: {choices:?}");
        assert_eq!(choices.len(), 2, "kernel choices: {choices:?}");
    }
}

#[test]
fn an_operators_choice_of_kernels_is_kept() {
    let choices = kernel_choices(&[("OPENBLAS_CORETYPE", "Prescott")]);
    assert_eq!(choices, ["Prescott"]);
}
