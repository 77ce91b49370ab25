#!/usr/bin/env bash
# Installs what a fresh machine lacks to build, run and test callscore:
# Debian packages, the buf linter (npm), a PostgreSQL server and pyarrow for
# the tests, and the Whisper models. Idempotent and quick when everything is there.
#   scripts/setup.sh             everything
#   scripts/setup.sh --run       only what `make run` needs (no PostgreSQL, no linter)
#   scripts/setup.sh --packages  only the apt packages the build needs
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=1
models=1
case "${1:-}" in
  --run) for_tests=0 ;;
  --packages) for_tests=0; models=0 ;;
esac

# cmake and libclang build whisper.cpp (whisper-rs) and libopus, patch the
# sentence encoder's engine (scripts/provision-encoder.sh), OpenBLAS
# runs whisper.cpp's encoder products; espeak-ng and sox make
# synthetic test calls, opusenc (opus-tools) Opus ones; the asterisk prompts
# are real 8 kHz telephone speech.
packages=(cmake libclang-dev pkg-config libopenblas-dev patch)
if [ "$for_tests" = 1 ]; then
  packages+=(espeak-ng sox libsox-fmt-all opus-tools asterisk-core-sounds-en-wav asterisk-core-sounds-en)
  # The console's browser tests: Debian's Chromium and its WebDriver.
  packages+=(chromium chromium-driver)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# A whisper.cpp compiled before scripts/whisper's patches is rebuilt with them.
scripts/whisper/refresh-build.sh

if [ "$for_tests" = 1 ]; then
  [ -x node_modules/.bin/buf ] || npm install --no-audit --no-fund --silent
  scripts/ensure-postgres.sh
  # A second Parquet reader for the export tests: pyarrow, pinned, in its own venv.
  if ! .cache/pyarrow/bin/python -c "import pyarrow" 2>/dev/null; then
    echo "setup: installing pyarrow into .cache/pyarrow" >&2
    python3 -m venv .cache/pyarrow
    .cache/pyarrow/bin/pip install --quiet --disable-pip-version-check pyarrow==22.0.0
  fi
fi

if [ "$models" = 1 ]; then
  scripts/provision-models.sh
fi
