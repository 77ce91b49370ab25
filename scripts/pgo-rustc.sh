#!/usr/bin/env bash
# rustc wrapper for scripts/build-pgo.sh, set as RUSTC_WORKSPACE_WRAPPER so
# that it runs for callscore's own crates only: the dependencies keep their
# ordinary build (and their cached artifacts). Appends the profile-guided
# optimisation flags of the current phase.
#   usage (by cargo): pgo-rustc.sh RUSTC ARGS...
#   environment: CALLSCORE_PGO_RUSTFLAGS  -Cprofile-generate=DIR or -Cprofile-use=FILE
set -euo pipefail
rustc="$1"
shift
# Word splitting is wanted: the variable holds one or more flags.
# shellcheck disable=SC2086
exec "$rustc" "$@" ${CALLSCORE_PGO_RUSTFLAGS:-}
