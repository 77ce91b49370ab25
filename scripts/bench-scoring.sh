#!/usr/bin/env bash
# The scoring bench (benches/scoring.rs) built two ways on this machine, in
# one run: an ordinary release build, then the profile-guided build that the
# production image uses (scripts/build-pgo.sh). Criterion saves the first as
# the baseline "plain" and prints each PGO figure beside it with the change.
#
#   scripts/bench-scoring.sh             every function of the bench
#   scripts/bench-scoring.sh cpu_time    only those whose name holds cpu_time
#
# Both builds score the same generated 10-minute call; the PGO build is
# trained on tests/fixtures, never on the bench call.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
filter=("$@")
log() { printf 'bench-scoring: %s\n' "$*" >&2; }

# The executable of the `scoring` bench from cargo's JSON messages.
bench_executable() {
  python3 -c '
import json, sys
path = None
for line in sys.stdin:
    try:
        message = json.loads(line)
    except ValueError:
        continue
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "scoring" and message.get("executable"):
        path = message["executable"]
if not path:
    sys.exit("no executable of the scoring bench in cargo output")
print(path)'
}

out="$ROOT/target/bench-scoring"
mkdir -p "$out"
log "plain release build"
cargo build --release --locked --bin callscore --bench scoring --message-format=json-render-diagnostics \
  | bench_executable >"$out/plain.path"
cp "$(cat "$out/plain.path")" "$out/scoring-plain"

log "profile-guided build"
CALLSCORE_PGO=required scripts/build-pgo.sh --bench scoring --message-format=json-render-diagnostics \
  | bench_executable >"$out/pgo.path"
cp "$(cat "$out/pgo.path")" "$out/scoring-pgo"

log "plain (saved as criterion baseline 'plain')"
"$out/scoring-plain" --bench --save-baseline plain "${filter[@]}"
log "profile-guided (compared with 'plain')"
"$out/scoring-pgo" --bench --baseline plain "${filter[@]}"
