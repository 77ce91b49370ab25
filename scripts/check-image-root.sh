#!/usr/bin/env bash
# Tests the image tree that scripts/build-image-root.sh made, the way the
# image runs it, without a container engine: as the numeric non-root user
# 10001 (setpriv; this needs root), with nothing writable but its data
# folder and /tmp, a SQLite database and blob folder inside that folder,
# no sentence encoder, and the one shipped model with the speaker encoder. It
#   - checks the tree (binary, one model, the speaker encoder, their
#     SHA256SUMS) and that the binary
#     needs only libraries that debian:bookworm-slim has;
#   - creates an admin key with `callscore keys create`, starts
#     `callscore serve --role all`, and waits for `callscore health` (the
#     image's HEALTHCHECK) to answer SERVING on the admin port;
#   - reads /metrics, uploads samples/call-en-stereo-8k.wav and waits for its
#     scorecard (an upload that cannot write its blob fails here), then the
#     same recording as a mono call, diarized with the shipped speaker encoder;
#   - stops the server with SIGTERM and expects a clean exit.
# usage: scripts/check-image-root.sh DEST
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$(cd "${1:?usage: scripts/check-image-root.sh DEST}" && pwd)"
USER_ID=10001
BIN="$DEST/usr/local/bin/callscore"
log() { printf 'check-image-root: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
started=$SECONDS

[ "$(id -u)" -eq 0 ] || fail "run as root (it switches to uid $USER_ID with setpriv)"
[ -x "$BIN" ] || fail "no $BIN"
models=("$DEST"/models/*.bin)
[ ${#models[@]} -eq 1 ] && [ -s "${models[0]}" ] || fail "expected exactly one model in $DEST/models"
[ -s "$DEST/models/speaker-ge2e.safetensors" ] || fail "no speaker encoder in $DEST/models"
(cd "$DEST/models" && sha256sum --quiet --check SHA256SUMS) || fail "the models do not match SHA256SUMS"
grep -q ' speaker-ge2e.safetensors$' "$DEST/models/SHA256SUMS" || fail "SHA256SUMS does not list the speaker encoder"
extra="$(find "$DEST" -mindepth 1 -not -path "$DEST/usr" -not -path "$DEST/usr/local" \
  -not -path "$DEST/usr/local/bin" -not -path "$BIN" -not -path "$DEST/models" \
  -not -path "$DEST/models/*")"
[ -z "$extra" ] || fail "unexpected files in the image tree: $extra"

# Shared libraries: what debian:bookworm-slim ships (libc6, libgcc-s1,
# libstdc++6) and what the Dockerfile installs there (libopenblas0-pthread,
# with libgfortran5 and libquadmath0).
unexpected="$(ldd "$BIN" | awk '{print $1}' \
  | grep -vE '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|libstdc\+\+\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libopenblas\.so\.0|libgfortran\.so\.5|libquadmath\.so\.0)$' || true)"
[ -z "$unexpected" ] || fail "the binary needs libraries the runtime image lacks: $unexpected"

# The image's layout: data folder owned by the user, everything else root's.
WORK="$(mktemp -d /tmp/check-image-root.XXXXXX)"
chmod 0755 "$WORK"
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -KILL "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
DATA="$WORK/var/lib/callscore"
install -d -o "$USER_ID" -g "$USER_ID" -m 0750 "$DATA" "$DATA/blobs"
# The tree is copied beside it, as the image lays it at /: the checkout's
# own folders (under /root, say) need not be searchable by the user.
cp -a "$DEST" "$WORK/root"
BIN="$WORK/root/usr/local/bin/callscore"
models=("$WORK/root/models/${models[0]##*/}")
SAMPLE="$WORK/call.wav"
install -m 0444 "$ROOT/samples/call-en-stereo-8k.wav" "$SAMPLE"

read -r PORT ADMIN_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

# exec_as_user [NAME=VALUE...] CMD...: becomes CMD as the image runs it:
# uid/gid 10001, no supplementary groups, no capabilities, a clean
# environment, in the data folder. as_user: the same in a subshell.
exec_as_user() {
  cd "$DATA"
  exec setpriv --reuid="$USER_ID" --regid="$USER_ID" --clear-groups \
    --inh-caps=-all --bounding-set=-all --no-new-privs -- env -i \
    PATH=/usr/local/bin:/usr/bin:/bin \
    CALLSCORE_LISTEN_ADDRESS="127.0.0.1:$PORT" \
    CALLSCORE_ADMIN_LISTEN_ADDRESS="127.0.0.1:$ADMIN_PORT" \
    CALLSCORE_DATABASE_URL="sqlite://$DATA/callscore.db" \
    CALLSCORE_BLOB_DIR="$DATA/blobs" \
    CALLSCORE_MODEL_PATH="${models[0]}" \
    CALLSCORE_ENCODER_DIR= \
    CALLSCORE_SPEAKER_ENCODER_PATH="$WORK/root/models/speaker-ge2e.safetensors" \
    CALLSCORE_LOG_FORMAT=json \
    "$@"
}
as_user() { (exec_as_user "$@"); }


key="$(as_user "$BIN" keys create --tenant image-check --role admin --label check-image-root)" \
  || fail "keys create as uid $USER_ID"
[ -n "$key" ] || fail "keys create printed no key"

exec_as_user "$BIN" serve --role all > "$WORK/server.log" 2>&1 &
server=$!
healthy=0
for _ in $(seq 1 240); do
  if as_user "$BIN" health --address "127.0.0.1:$ADMIN_PORT" --service readiness >/dev/null 2>&1; then
    healthy=1
    break
  fi
  kill -0 "$server" 2>/dev/null || { tail -n 20 "$WORK/server.log" >&2; fail "the server exited"; }
  sleep 0.5
done
[ "$healthy" = 1 ] || { tail -n 20 "$WORK/server.log" >&2; fail "callscore health never answered SERVING"; }
as_user "$BIN" health --address "127.0.0.1:$ADMIN_PORT" --service liveness >/dev/null \
  || fail "liveness is not SERVING"
[ "$(ps -o uid= -p "$server" | tr -d ' ')" = "$USER_ID" ] || fail "the server does not run as uid $USER_ID"
log "serving as uid $USER_ID after $((SECONDS - started)) s"

python3 - "$ADMIN_PORT" <<'PY' || fail "GET /metrics"
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
assert "callscore_" in body, "no callscore_ metric in /metrics"
PY

submitted=$SECONDS
output="$(as_user CALLSCORE_API_KEY="$key" CALLSCORE_SERVER="http://127.0.0.1:$PORT" "$BIN" submit "$SAMPLE" --agent rina --channels agent-left --language en \
  --idempotency-key check-image-root --wait 2>&1)" \
  || { printf '%s\n' "$output" | tail -n 20 >&2; tail -n 20 "$WORK/server.log" >&2; fail "upload and scoring"; }
grep -q '^overall:' <<<"$output" || { printf '%s\n' "$output" >&2; fail "no scorecard"; }
log "uploaded and scored the sample call in $((SECONDS - submitted)) s ($(grep '^overall:' <<<"$output"))"
# The same recording as a mono call: split by voice with the shipped
# speaker encoder (a missing one would only be a warning in the log).
! grep -q 'no speaker encoder' "$WORK/server.log" || fail "the speaker encoder was not found"
submitted=$SECONDS
output="$(as_user CALLSCORE_API_KEY="$key" CALLSCORE_SERVER="http://127.0.0.1:$PORT" "$BIN" submit "$SAMPLE" --agent rina --channels mono --language en \
  --idempotency-key check-image-root-mono --wait 2>&1)" \
  || { printf '%s\n' "$output" | tail -n 20 >&2; tail -n 20 "$WORK/server.log" >&2; fail "mono upload and scoring"; }
grep -q '^overall:' <<<"$output" || { printf '%s\n' "$output" >&2; fail "no scorecard for the mono call"; }
log "uploaded and scored it as a mono call in $((SECONDS - submitted)) s ($(grep '^overall:' <<<"$output"))"
owned="$(find "$DATA" -type f -user "$USER_ID" | wc -l)"
[ "$owned" -gt 0 ] || fail "nothing written to the data folder"

kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
[ "$status" -eq 0 ] || { tail -n 20 "$WORK/server.log" >&2; fail "exit status $status after SIGTERM"; }
log "passed in $((SECONDS - started)) s"
