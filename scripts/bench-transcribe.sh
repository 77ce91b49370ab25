#!/usr/bin/env bash
# Benchmark, not a test: times callscore against faster-whisper (int8, greedy)
# and whisper.cpp's own CLI on the same audio, the same weights (tiny.en, as
# converted by scripts/provision-models.sh) and the same thread count, and
# prints real-time factor, WER, peak memory and the ratios; then, on the
# call, callscore and faster-whisper with two calls at once and beside two
# busy processes (a busy node), in wall and CPU seconds per hour of audio.
#
# Audio: jfk.wav (11 s, mono), a two-minute two-channel 8 kHz mu-law call
# built from Asterisk's recorded human prompts with pauses between turns, and
# a held-out set: the other 540 Asterisk prompts (37 minutes, 8 kHz mono,
# scripts/bench/make_prompts.py); then two-speaker calls in Indonesian and
# English (scripts/bench/synthetic_calls.py).
# Everything it builds or downloads lives in .cache/bench (git-ignored):
# a release build of callscore, whisper.cpp's CLI built from the pywhispercpp
# sdist's whisper.cpp tree, and a venv with faster-whisper from PyPI.
#
# usage: scripts/bench-transcribe.sh [RUNS (default 3)] [THREADS (default 2)]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-3}"
THREADS="${2:-2}"
BENCH="$ROOT/.cache/bench"
MODEL_DIR="${CALLSCORE_MODEL_DIR:-$ROOT/models}"
TESTDATA="${CALLSCORE_TESTDATA_DIR:-$ROOT/.cache/testdata}"
# Timed processes run at this niceness (default -10 as root): builds by other
# users of a shared machine otherwise starve ggml's spinning worker threads.
NICE="${BENCH_NICE:-$([ "$(id -u)" -eq 0 ] && echo -10 || echo 0)}"
mkdir -p "$BENCH"
log() { printf 'bench: %s\n' "$*" >&2; }

"$ROOT/scripts/provision-models.sh"

log "building callscore (release)"
(cd "$ROOT" && cargo build --quiet --release --bin callscore)
# Copied at once: a shared target folder may be relinked by other checkouts.
cp "${CARGO_TARGET_DIR:-$ROOT/target}/release/callscore" "$BENCH/callscore"

WHISPER_CLI="$BENCH/whisper.cpp/build/bin/whisper-cli"
if [ ! -x "$WHISPER_CLI" ]; then
  log "building whisper.cpp's CLI from the pywhispercpp sdist"
  SDIST="$("$ROOT/scripts/provision-models.sh" --whisper-cpp-sdist)"
  rm -rf "$BENCH/whisper.cpp" "$BENCH/unpack"
  mkdir -p "$BENCH/unpack"
  tar -xzf "$SDIST" -C "$BENCH/unpack" pywhispercpp-1.5.1/whisper.cpp
  mv "$BENCH/unpack/pywhispercpp-1.5.1/whisper.cpp" "$BENCH/whisper.cpp"
  # Same build settings as whisper-rs-sys: static, Release, no OpenMP.
  cmake -S "$BENCH/whisper.cpp" -B "$BENCH/whisper.cpp/build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_OPENMP=OFF -DWHISPER_BUILD_TESTS=OFF \
    -DWHISPER_BUILD_EXAMPLES=ON -DWHISPER_SDL2=OFF -DWHISPER_CURL=OFF >/dev/null
  cmake --build "$BENCH/whisper.cpp/build" -j 2 --target whisper-cli >/dev/null
fi

VENV="$BENCH/venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import faster_whisper" 2>/dev/null; then
  log "installing faster-whisper into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet faster-whisper
fi

CALL="$BENCH/call"
if [ ! -s "$CALL/call.wav" ]; then
  log "building the call-like recording"
  python3 "$ROOT/scripts/bench/make_call.py" "$TESTDATA/asterisk" "$CALL"
fi
# Held-out 8 kHz human speech: every other Asterisk prompt, about 37 minutes.
PROMPTS="$BENCH/prompts"
if [ ! -s "$PROMPTS/prompts.wav" ]; then
  log "building the held-out prompt recording"
  python3 "$ROOT/scripts/bench/make_prompts.py" /usr/share/asterisk/sounds/en \
    /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz \
    "$TESTDATA/asterisk/transcripts.txt" "$PROMPTS"
fi
JFK_REF="$BENCH/jfk.reference.txt"
echo "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country." > "$JFK_REF"

duration() { soxi -D "$1"; }
CONFIG="$BENCH/config.json"
cat > "$CONFIG" <<JSON
{
  "runs": $RUNS,
  "nice": $NICE,
  "threads": $THREADS,
  "callscore": "$BENCH/callscore",
  "whisper_cli": "$WHISPER_CLI",
  "python": "$VENV/bin/python",
  "fw_runner": "$ROOT/scripts/bench/faster_whisper_run.py",
  "ct2_dir": "$ROOT/.cache/provision/ct2/tiny.en",
  "show_text": ${BENCH_SHOW_TEXT:-false},
  "audio": [
    {"name": "jfk.wav", "file": "$TESTDATA/jfk.wav", "layout": "mono",
     "duration_s": $(duration "$TESTDATA/jfk.wav"), "reference": "$JFK_REF",
     "channels_16k": ["$TESTDATA/jfk.wav"], "channels_any": ["$TESTDATA/jfk.wav"]},
    {"name": "two-channel 8 kHz mu-law call", "file": "$CALL/call.wav", "layout": "agent-left",
     "duration_s": $(duration "$CALL/call.wav"), "reference": "$CALL/call.reference.txt",
     "channels_16k": ["$CALL/call-agent-16k.wav", "$CALL/call-customer-16k.wav"],
     "channels_any": ["$CALL/call-agent-16k.wav", "$CALL/call-customer-16k.wav"]},
    {"name": "held-out Asterisk prompts (8 kHz mono)", "file": "$PROMPTS/prompts.wav", "layout": "mono",
     "duration_s": $(duration "$PROMPTS/prompts.wav"), "reference": "$PROMPTS/prompts.reference.txt",
     "channels_16k": ["$PROMPTS/prompts-16k.wav"], "channels_any": ["$PROMPTS/prompts-16k.wav"]}
  ],
  "engines": [
    {"name": "callscore f16", "kind": "callscore", "model": "$MODEL_DIR/ggml-tiny.en.bin"},
    {"name": "callscore q8_0", "kind": "callscore", "model": "$MODEL_DIR/ggml-tiny.en-q8_0.bin"},
    {"name": "callscore q8_0 adaptive ctx", "kind": "callscore", "model": "$MODEL_DIR/ggml-tiny.en-q8_0.bin",
     "flags": ["--adaptive-audio-ctx"]},
    {"name": "whisper.cpp cli f16", "kind": "whisper.cpp", "model": "$MODEL_DIR/ggml-tiny.en.bin"},
    {"name": "whisper.cpp cli q8_0", "kind": "whisper.cpp", "model": "$MODEL_DIR/ggml-tiny.en-q8_0.bin"},
    {"name": "faster-whisper int8", "kind": "faster-whisper"},
    {"name": "faster-whisper int8 +vad", "kind": "faster-whisper", "vad": true}
  ],
  "scenarios": [
    {"name": "two calls at once", "audio": "two-channel 8 kHz mu-law call", "copies": 2,
     "engines": ["callscore q8_0", "faster-whisper int8", "faster-whisper int8 +vad"]},
    {"name": "under background load", "audio": "two-channel 8 kHz mu-law call", "burners": 2,
     "engines": ["callscore q8_0", "faster-whisper int8", "faster-whisper int8 +vad"]}
  ]
}
JSON
"$VENV/bin/python" "$ROOT/scripts/bench/run.py" "$CONFIG"

# Two-speaker calls in each language (tests/fixtures/pairs spoken by
# espeak-ng, about 50 minutes of speech each): per-speaker WER with bootstrap
# intervals. Indonesian with base against faster-whisper with its VAD only:
# without it, faster-whisper's base loops on each channel's silence (68 CPU s
# on one call against 8), too slow for 48 calls.
for language in id en; do
  if [ "$language" = id ]; then model=ggml-base-q8_0.bin ct2=base vad='[true]'
  else model=ggml-tiny.en-q8_0.bin ct2=tiny.en vad='[false, true]'; fi
  cat > "$BENCH/synthetic-$language.json" <<JSON
{"callscore": "$BENCH/callscore", "model": "$MODEL_DIR/$model", "python": "$VENV/bin/python",
 "fw_runner": "$ROOT/scripts/bench/faster_whisper_run.py", "ct2_dir": "$ROOT/.cache/provision/ct2/$ct2",
 "threads": $THREADS, "nice": $NICE, "fw_vad": $vad}
JSON
  "$VENV/bin/python" "$ROOT/scripts/bench/synthetic_calls.py" "$language" \
    "$BENCH/synthetic-$language.json" "$BENCH/synthetic-$language"
done
