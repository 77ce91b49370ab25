#!/usr/bin/env bash
# Cleans every whisper-rs-sys build in a cargo target folder whose whisper.cpp
# lacks one of scripts/whisper's patches (built before the patch was added or
# changed): cargo would not rebuild it by itself, and the link would fail.
#   scripts/whisper/refresh-build.sh [TARGET_DIR (default $CARGO_TARGET_DIR or target)]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="${1:-${CARGO_TARGET_DIR:-$ROOT/target}}"
[ -d "$TARGET_DIR" ] || exit 0

for tree in "$TARGET_DIR"/*/build/whisper-rs-sys-*/out/whisper.cpp; do
  [ -f "$tree/src/whisper.cpp" ] || continue
  stale=0
  for patch_file in "$ROOT"/scripts/whisper/*.patch; do
    patch -p1 -R --dry-run --silent -d "$tree" -i "$patch_file" >/dev/null 2>&1 || stale=1
  done
  [ "$stale" = 1 ] || continue
  profile_dir="${tree#"$TARGET_DIR"/}"
  profile_dir="${profile_dir%%/*}"
  case "$profile_dir" in
    debug) profile=dev ;;
    *) profile="$profile_dir" ;;
  esac
  echo "whisper: $tree lacks scripts/whisper's patches; cleaning whisper-rs-sys ($profile)" >&2
  (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo clean --quiet -p whisper-rs-sys --profile "$profile")
done
