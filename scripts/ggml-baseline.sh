# shellcheck shell=bash
# Sourced, not run: `ggml_baseline NAME` clears every WHISPER_*, GGML_* and
# CMAKE_* variable (whisper-rs-sys hands them all to CMake, so the caller's
# environment cannot change the build) and exports the whisper.cpp flags of
# one CPU baseline. scripts/build-image-root.sh uses it for the image, and
# .ci/run for the test build, so that CI's image check can reuse the test
# build (CALLSCORE_IMAGE_PROFILE=dev) instead of compiling everything again.
#   x86-64-v3  AVX2, FMA, F16C, BMI2 (the image's default)
#   x86-64-v2  SSE4.2 only
#   native     this machine's CPU (benchmarks, never an image)
# ggml picks instruction sets at compile time only: its runtime dispatch
# (GGML_BACKEND_DL, GGML_CPU_ALL_VARIANTS) needs shared libraries, which
# whisper-rs-sys does not build. So an image names one baseline.
ggml_baseline() {
  local name
  while IFS= read -r name; do
    [ "$name" = WHISPER_DONT_GENERATE_BINDINGS ] || unset "$name"
  done < <(compgen -e | grep -E '^(WHISPER_|GGML_|CMAKE_)' || true)
  case "$1" in
    x86-64-v3)
      export GGML_NATIVE=OFF GGML_SSE42=ON GGML_AVX=ON GGML_AVX2=ON GGML_FMA=ON GGML_F16C=ON \
        GGML_BMI2=ON GGML_AVX_VNNI=OFF GGML_AVX512=OFF GGML_AVX512_VBMI=OFF GGML_AVX512_VNNI=OFF \
        GGML_AVX512_BF16=OFF ;;
    x86-64-v2)
      export GGML_NATIVE=OFF GGML_SSE42=ON GGML_AVX=OFF GGML_AVX2=OFF GGML_FMA=OFF GGML_F16C=OFF \
        GGML_BMI2=OFF GGML_AVX_VNNI=OFF GGML_AVX512=OFF GGML_AVX512_VBMI=OFF GGML_AVX512_VNNI=OFF \
        GGML_AVX512_BF16=OFF ;;
    native) export GGML_NATIVE=ON ;;
    *) printf 'ggml baseline: x86-64-v3, x86-64-v2 or native (got %s)\n' "'$1'" >&2; return 2 ;;
  esac
}
