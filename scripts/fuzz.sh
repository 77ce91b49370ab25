#!/usr/bin/env bash
# Runs the fuzz targets (fuzz/, cargo-fuzz + libFuzzer) one after another,
# each for FUZZ_RUNS executions or FUZZ_SECONDS, whichever comes first, and
# prints each run's figures. Needs the nightly toolchain; installs
# cargo-fuzz when missing. The corpus grows in fuzz/corpus/ (not committed);
# the seeds in fuzz/seeds/ are read, never written.
#
#   scripts/fuzz.sh                      # all four, 10M runs or 15 min each
#   FUZZ_SECONDS=60 scripts/fuzz.sh page_token
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${FUZZ_RUNS:-10000000}
seconds=${FUZZ_SECONDS:-900}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(audio_decode rubric_read transcript_json page_token)

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

mkdir -p fuzz/logs
status=0
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  log="fuzz/logs/$target.log"
  # -O: optimised as the service is built (overflow checks off, as in a
  # release build); FUZZ_DEBUG_ASSERTIONS=1 adds them (-a). libFuzzer aborts
  # on any panic, also one the code catches. 2 GiB RSS is far above any
  # legitimate decode of a 20 s call.
  if cargo +nightly fuzz run -O ${FUZZ_DEBUG_ASSERTIONS:+-a} "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
      -runs="$runs" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 >"$log" 2>&1; then
    outcome="0 crashes"
  else
    outcome="FAILED (see $log and fuzz/artifacts/$target)"
    status=1
  fi
  # libFuzzer's own figures: the build before it is not fuzzing time.
  elapsed=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo '?')
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  coverage=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || echo '?')
  printf 'fuzz %-16s %10s execs in %5s s (%s/s), %s: %s\n' \
    "$target" "$execs" "$elapsed" "$speed" "$coverage" "$outcome"
done
exit $status
