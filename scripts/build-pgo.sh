#!/usr/bin/env bash
# Builds callscore with profile-guided optimisation (PGO): an instrumented
# build scores the repository's fixture calls, and the final build is laid
# out for what that run executed. The scoring path gets about 14 % faster
# (docs/benchmarks.md); the results are the same, only the code layout,
# inlining and branch order change. The production image is built this way.
#
#   scripts/build-pgo.sh                     target/release/callscore
#   scripts/build-pgo.sh --bench scoring     and the scoring bench, optimised alike
#
# Arguments are added to both builds' `cargo build --release --locked --bin
# callscore`. A profile only fits a build of the same targets: adding a
# bench brings in the dev-dependencies' features, which changes the symbol
# names of callscore's own functions, so the training binary must come from
# the same target selection as the final build.
#
# Only callscore's own crates are instrumented and rebuilt (through
# scripts/pgo-rustc.sh as RUSTC_WORKSPACE_WRAPPER); dependencies are built
# once, as usual. The profile lands in $CARGO_TARGET_DIR/pgo/.
#
# Needs llvm-profdata of rustc's own LLVM major version: the rustup
# component llvm-tools, or Debian's llvm-N (installed here when missing and
# running as root; bookworm carries the LLVM of current rustc releases).
# Without one it builds without PGO and says so, unless
# CALLSCORE_PGO=required. CALLSCORE_PGO=off skips PGO.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf 'build-pgo: %s\n' "$*" >&2; }

build=(build --release --locked --bin callscore "$@")
mode="${CALLSCORE_PGO:-auto}"
case "$mode" in
  auto | required | off) ;;
  *) log "CALLSCORE_PGO: auto, required or off (got '$mode')"; exit 2 ;;
esac

plain() {
  log "building without PGO: $*"
  exec cargo "${build[@]}"
}
[ "$mode" = off ] && plain "CALLSCORE_PGO=off"

# llvm-profdata must read the profile format of rustc's LLVM.
llvm_major="$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')"
[ -n "$llvm_major" ] || { log "cannot read rustc's LLVM version"; exit 1; }
find_profdata() {
  local sysroot candidate
  sysroot="$(rustc --print sysroot)"
  for candidate in "$sysroot"/lib/rustlib/*/bin/llvm-profdata \
    "$(command -v "llvm-profdata-$llvm_major" || true)" \
    "/usr/lib/llvm-$llvm_major/bin/llvm-profdata"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}
profdata="$(find_profdata || true)"
if [ -z "$profdata" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  log "installing llvm-$llvm_major (llvm-profdata for rustc's LLVM $llvm_major)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "llvm-$llvm_major" >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "llvm-$llvm_major" >/dev/null 2>&1; } \
    || true
  profdata="$(find_profdata || true)"
fi
if [ -z "$profdata" ]; then
  [ "$mode" = required ] && { log "no llvm-profdata for LLVM $llvm_major (rustup component add llvm-tools, or apt-get install llvm-$llvm_major)"; exit 1; }
  plain "no llvm-profdata for LLVM $llvm_major"
fi

target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$target_dir"
target_dir="$(cd "$target_dir" && pwd)"
pgo_dir="$target_dir/pgo"
rm -rf "$pgo_dir"
mkdir -p "$pgo_dir/raw"
export RUSTC_WORKSPACE_WRAPPER="$ROOT/scripts/pgo-rustc.sh"

# Cargo does not see the wrapper's flags change between the phases, so
# callscore's own artifacts are removed before each (dependencies stay).
log "1/3 instrumented build"
cargo clean --release --quiet -p callscore
CALLSCORE_PGO_RUSTFLAGS="-Cprofile-generate=$pgo_dir/raw" cargo "${build[@]}"

# The training run: the scripted pairs and the transcript fixtures, scored
# by the CLI as a worker scores them (rubric compiled once per process, calls
# with and without word timings, both languages). Not the bench call, which
# measures the result.
log "2/3 training run on tests/fixtures"
instrumented="$target_dir/release/callscore"
export LLVM_PROFILE_FILE="$pgo_dir/raw/callscore-%p-%m.profraw"
train() {
  "$instrumented" "$@" --without-encoder >/dev/null 2>"$pgo_dir/train.err" \
    || { cat "$pgo_dir/train.err" >&2; log "training run failed: callscore $*"; exit 1; }
}
for _ in 1 2 3; do
  train eval pairs tests/fixtures/pairs
done
for transcript in tests/fixtures/transcripts/*.json; do
  train score "$transcript" --format json
  train score "$transcript" --format text
done
unset LLVM_PROFILE_FILE
"$profdata" merge -o "$pgo_dir/callscore.profdata" "$pgo_dir"/raw/*.profraw
log "profile: $pgo_dir/callscore.profdata ($(du -h "$pgo_dir/callscore.profdata" | cut -f1))"

log "3/3 optimised build: cargo ${build[*]}"
cargo clean --release --quiet -p callscore
CALLSCORE_PGO_RUSTFLAGS="-Cprofile-use=$pgo_dir/callscore.profdata" cargo "${build[@]}"
