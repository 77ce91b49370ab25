# The two commands: `make run` serves callscore on the embedded default
# (SQLite); `make test` runs every test. Both install what is missing first.

CARGO ?= cargo
LISTEN ?= 127.0.0.1:50051

.PHONY: run test lint setup

setup:
	scripts/setup.sh

run:
	scripts/setup.sh --run
	$(CARGO) build --release --locked
	scripts/demo-key.sh target/release/callscore
	target/release/callscore serve --listen $(LISTEN)

test: setup
	$(CARGO) test --locked

lint: setup
	npx buf lint
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
