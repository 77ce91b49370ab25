# The two commands: `make run` serves callscore on the embedded default
# (SQLite, a real Whisper model) and scores the bundled sample call end to
# end; `make test` runs every test. Both install what is missing first.

CARGO ?= cargo
LISTEN ?= 127.0.0.1:50051

.PHONY: run test lint setup deploy-check

setup:
	scripts/setup.sh

run:
	scripts/setup.sh --packages
	$(CARGO) build --release --locked
	CALLSCORE_BIN=target/release/callscore scripts/setup.sh --run
	scripts/run-demo.sh target/release/callscore $(LISTEN)

test: setup
	$(CARGO) test --locked --lib --bins --tests

lint: setup
	npx buf lint
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	# The fuzz targets build the library without whisper.cpp; keep that building.
	$(CARGO) clippy --locked --lib --no-default-features -- -D warnings

# Validates deploy/ (hadolint, compose, kubernetes-validate, checkov,
# promtool) and runs the image's file tree as its non-root user: docs/deploy.md.
deploy-check:
	deploy/check.sh
