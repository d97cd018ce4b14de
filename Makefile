# lifeboat: the README's two commands are `make demo` and `make test`.
# Everything the project needs is installed here, into .venv (Python) and by cargo.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# Never reach for real AWS: dummy credentials, an explicit Region, no instance
# metadata probing, and an endpoint on loopback where nothing listens (tests
# and the demo point their clients at their own emulator on a free port).
export AWS_ACCESS_KEY_ID := test
export AWS_SECRET_ACCESS_KEY := test
export AWS_REGION := us-west-2
export AWS_DEFAULT_REGION := us-west-2
export AWS_EC2_METADATA_DISABLED := true
export AWS_ENDPOINT_URL := http://127.0.0.1:1
export AWS_CONFIG_FILE := /dev/null
export AWS_SHARED_CREDENTIALS_FILE := /dev/null
export LIFEBOAT_MOTO_SERVER := $(VENV)/bin/moto_server
export CARGO_TERM_COLOR ?= never
unexport AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE

NEXTEST := $(shell command -v cargo-nextest 2>/dev/null)

.PHONY: help setup build-cli demo test unit lint asl-lint infra-lint fmt bench clean

help:
	@echo "make demo   - set up, build, and run a full failover and failback on a local AWS emulator"
	@echo "make test   - set up, lint, and run every test (unit, adapters and end-to-end against moto)"
	@echo "make lint   - cargo fmt --check and clippy -D warnings (make asl-lint checks the state machine)"
	@echo "make bench  - time a failover of a large estate on the emulator and count its AWS calls"

setup: $(STAMP)

$(STAMP): requirements-dev.txt constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) is required (the AWS emulator is moto, a Python package)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $@

# The ASL validator (npm's asl-validator, pinned in package-lock.json) checks the
# definition the way the Step Functions console does, beside our executor's own checks.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is required to validate the state machine definition"; exit 2; }
	npm ci --silent --no-audit --no-fund
	@touch $@

asl-lint: $(NODE_STAMP)
	npx --no-install asl-validator --json-path statemachine/lifeboat.asl.json

# cfn-lint (pinned in the venv, with the SAM translator) checks the template
# through the Serverless transform.
infra-lint: setup
	$(VENV)/bin/cfn-lint infra/template.yaml

build-cli:
	cargo build -p lifeboat --bin lifeboat

demo: setup build-cli
	./target/debug/lifeboat demo

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# Unit tests, adapter tests and end-to-end tests; the e2e tests drive the
# lifeboat binary, so it is built first (same profile, shared target dir).
unit: setup build-cli
ifneq ($(NEXTEST),)
	cargo nextest run --workspace --no-fail-fast
else
	cargo test --workspace --no-fail-fast
endif

test: setup lint asl-lint infra-lint unit

fmt:
	cargo fmt --all

bench: setup
	cargo run -p lifeboat-e2e --bin bench-failover

clean:
	cargo clean
	rm -rf $(VENV) node_modules
