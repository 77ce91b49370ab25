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

# Earlier calls of rina and a teammate (transcripts, scored as submitted), so
# the console's coaching screen has weeks of trend with confidence bands.
submit_history() {
  local agent=$1 days_ago=$2 file=$3
  CALLSCORE_API_KEY=$key CALLSCORE_SERVER="http://$listen" "$binary" submit \
    "samples/demo/$file.json" --agent "$agent" --team blue \
    --started "$(date -u -d "-$days_ago days" +%Y-%m-%dT10:00:00Z)" \
    --idempotency-key "demo-history-$agent-$days_ago-$file" >/dev/null 2>&1 || true
}
for week in 1 2 3 4; do
  days=$((week * 7))
  submit_history rina "$days" good-delivery
  submit_history rina "$((days + 1))" good-refund
  submit_history rina "$((days + 2))" "$([ $((week % 2)) = 0 ] && echo weak-delivery || echo weak-refund)"
  submit_history budi "$days" good-refund
  submit_history budi "$((days + 1))" weak-delivery
done


echo "run-demo: submitting samples/call-en-stereo-8k.wav (agent left, customer right, 8 kHz μ-law)" >&2
CALLSCORE_API_KEY=$key CALLSCORE_SERVER="http://$listen" "$binary" submit \
  samples/call-en-stereo-8k.wav --agent rina --team blue \
  --channels agent-left --language en --idempotency-key demo-sample --wait

cat >&2 <<NOTE
run-demo: callscore is serving on $listen with tenant "demo"; Ctrl-C stops it
run-demo: QA console: http://$listen/
  sign in as a reviewer with $(cat data/demo-reviewer.key)
  or as a coach with         $(cat data/demo-coach.key)
  (the admin key is in data/demo-admin.key)
NOTE
wait "$server"
