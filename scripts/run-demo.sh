#!/usr/bin/env bash
# `make run`: serve callscore on SQLite with the real Whisper model, score the
# bundled sample call end to end through the gRPC API, print its scorecard,
# and keep serving until Ctrl-C.
set -euo pipefail
binary=$1
listen=${2:-127.0.0.1:50051}
host=${listen%:*}
port=${listen##*:}

scripts/demo-key.sh "$binary"
key=$(cat data/demo-admin.key)

"$binary" serve --listen "$listen" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

# The server binds once the model is loaded and the database migrated.
for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { echo "run-demo: the server exited" >&2; exit 1; }
  sleep 0.5
done

echo "run-demo: submitting samples/call-en-stereo-8k.wav (agent left, customer right, 8 kHz μ-law)" >&2
CALLSCORE_API_KEY=$key CALLSCORE_SERVER="http://$listen" "$binary" submit \
  samples/call-en-stereo-8k.wav --agent rina --team blue \
  --channels agent-left --language en --idempotency-key demo-sample --wait

echo "run-demo: callscore is serving on $listen with tenant \"demo\"; Ctrl-C stops it" >&2
wait "$server"
