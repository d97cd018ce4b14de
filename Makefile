# lifeboat: the README's two commands are `make demo` and `make test`.
# Everything the project needs is installed here, into .venv (Python) and by cargo.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# Never reach for real AWS from the demo, the tests or the benchmark: dummy
# credentials, an explicit Region, no instance metadata probing, and an
# endpoint on loopback where nothing listens (the demo and tests point their
# clients at their own emulator on a free port). Only `make deploy` sees the
# caller's real AWS configuration.
SAFE_TARGETS := setup demo test test-rust test-rust-build test-other unit lint asl-lint infra-lint emulator-test build-cli bench
$(SAFE_TARGETS): export AWS_ACCESS_KEY_ID := test
$(SAFE_TARGETS): export AWS_SECRET_ACCESS_KEY := test
$(SAFE_TARGETS): export AWS_REGION := us-west-2
$(SAFE_TARGETS): export AWS_DEFAULT_REGION := us-west-2
$(SAFE_TARGETS): export AWS_EC2_METADATA_DISABLED := true
$(SAFE_TARGETS): export AWS_ENDPOINT_URL := http://127.0.0.1:1
$(SAFE_TARGETS): export AWS_CONFIG_FILE := /dev/null
$(SAFE_TARGETS): export AWS_SHARED_CREDENTIALS_FILE := /dev/null
export LIFEBOAT_MOTO_SERVER := $(VENV)/bin/moto_server
export CARGO_TERM_COLOR ?= never

NEXTEST := $(shell command -v cargo-nextest 2>/dev/null)
# Every Rust test in the workspace: nextest (each test its own process) when
# it is installed, cargo test otherwise.
RUN_TESTS := $(if $(NEXTEST),cargo nextest run,cargo test) --workspace --no-fail-fast

.PHONY: help asl setup build-tools build deploy deploy-stack deploy-tools test-rust test-other build-cli install demo test unit lint asl-lint infra-lint emulator-test fmt bench clean

help:
	@echo "make demo   - set up, build, and run a full failover and failback on a local AWS emulator"
	@echo "make test   - set up, lint, and run every test (unit, adapters and end-to-end against moto)"
	@echo "make lint   - cargo fmt --check and clippy -D warnings (make asl-lint checks the state machine)"
	@echo "make asl    - write statemachine/lifeboat.asl.json from its declaration in crates/workflow"
	@echo "make bench  - fail over 200, 1,000 and 5,000 apps on the emulator: time, AWS calls, state data, history"
	@echo "make install - the lifeboat CLI alone, into ~/.cargo/bin (cargo install --locked --path crates/cli)"
	@echo "make build  - the arm64 Lambda zips (cargo-lambda + zig, installed into .venv)"
	@echo "make deploy - sam deploy to both Regions with your AWS credentials, every parameter from CONFIG (default infra/parameters.json; ONLY_REGION=secondary for break-glass)"

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

# The definition is generated: crates/workflow declares it, this writes it,
# and make test fails while the committed file differs.
asl:
	cargo run -q -p lifeboat-workflow --bin write_asl -- statemachine/lifeboat.asl.json

asl-lint: $(NODE_STAMP)
	npx --no-install asl-validator --json-path statemachine/lifeboat.asl.json

# cfn-lint (pinned in the venv, with the SAM translator) checks the template
# through the Serverless transform, as `sam validate --lint` would (the SAM CLI
# is only installed to deploy); checkov (its own venv: its pins clash with
# moto's) scans for insecure settings, each finding fixed or suppressed in the
# template with a reason; check_boundary.py expands the template and checks
# every role against the pipeline's permissions boundary.
CHECKOV_VENV := $(CURDIR)/.venv-checkov
DEPLOY_VENV := $(CURDIR)/.venv-deploy

$(CHECKOV_VENV)/.installed: constraints-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==3.3.30 -c constraints-checkov.txt
	@touch $@

infra-lint: setup $(CHECKOV_VENV)/.installed
	$(VENV)/bin/cfn-lint infra/template.yaml infra/pipeline.yaml infra/member-role.yaml
	$(CHECKOV_VENV)/bin/checkov --directory infra --framework cloudformation --compact --quiet --skip-download
	$(VENV)/bin/python infra/check_boundary.py
	$(VENV)/bin/ruff check infra
	$(VENV)/bin/ruff format --check infra
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider infra/tests

BUILD_STAMP := $(VENV)/.build-tools

$(BUILD_STAMP): requirements-build.txt | $(STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-build.txt
	rustup target add aarch64-unknown-linux-gnu
	@touch $@

build-tools: $(BUILD_STAMP)

# The one bootstrap.zip every function runs, under target/lambda/lifeboat_task/ (release profile: thin LTO, 16 codegen units, stripped).
build: build-tools
	PATH="$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --output-format zip -p lifeboat-tasks
	@for f in target/lambda/*/bootstrap.zip; do \
	  d=$$(dirname $$f); printf '%-16s bootstrap %6s KiB  zip %6s KiB\n' $$(basename $$d) \
	    $$(( $$(unzip -l $$f | tail -1 | awk '{print $$1}') / 1024 )) $$(( $$(stat -c %s $$f) / 1024 )); \
	done

# `make deploy`: every parameter from one file (CONFIG; copy
# infra/parameters.example.json), checked first: a missing parameter, a
# typo'd name or a placeholder left in stops the deploy before anything is
# built. The stack goes to the primary Region (which creates the global
# tables), then to the secondary, same stack name. ONLY_REGION=secondary (or
# primary) deploys to that one alone: the break-glass path when the pipeline
# and the primary Region are down. Uses your AWS credentials.
STACK ?= lifeboat
CONFIG ?= infra/parameters.json
ONLY_REGION ?=
DEPLOY_PARAMS = $(VENV)/bin/python infra/deploy_parameters.py

$(DEPLOY_VENV)/.installed: constraints-sam.txt
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==1.170.0 -c constraints-sam.txt
	@touch $@

deploy-tools: build-tools $(DEPLOY_VENV)/.installed

SAM ?= $(DEPLOY_VENV)/bin/sam

deploy: deploy-tools deploy-stack

# The deploy itself, the tools in place (infra/tests runs it with a stand-in SAM).
deploy-stack:
	$(DEPLOY_PARAMS) check $(CONFIG)
	cd infra && PATH="$(VENV)/bin:$(DEPLOY_VENV)/bin:$$PATH" $(SAM) build --template template.yaml
	@primary=$$($(DEPLOY_PARAMS) get $(CONFIG) PrimaryRegion); \
	secondary=$$($(DEPLOY_PARAMS) get $(CONFIG) SecondaryRegion); \
	overrides=$$($(DEPLOY_PARAMS) overrides $(CONFIG)); \
	case "$(ONLY_REGION)" in \
	  "") regions="$$primary $$secondary" ;; primary) regions=$$primary ;; secondary) regions=$$secondary ;; \
	  *) echo "error: ONLY_REGION is primary or secondary, not $(ONLY_REGION)"; exit 2 ;; \
	esac; \
	for region in $$regions; do \
	  echo "== deploying $(STACK) to $$region"; \
	  (cd infra && PATH="$(DEPLOY_VENV)/bin:$$PATH" $(SAM) deploy --stack-name $(STACK) --region $$region --resolve-s3 \
	    --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
	    --parameter-overrides "$$overrides") || exit 1; \
	done

build-cli:
	cargo build -p lifeboat --bin lifeboat

# The operator CLI on its own (registry, plan, run, report, readiness, lease
# against your account), with the versions in Cargo.lock.
install:
	cargo install --locked --path crates/cli

demo: setup build-cli
	./target/debug/lifeboat demo

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# Unit tests, adapter tests and end-to-end tests; the e2e tests drive the
# lifeboat binary, so it is built first (same profile, shared target dir).
unit: setup build-cli
	$(RUN_TESTS)

# The emulator's own checks: ruff (emulator/ruff.toml) and its pytest suite,
# each test naming the AWS page the behaviour follows.
emulator-test: setup
	$(VENV)/bin/ruff check emulator
	$(VENV)/bin/ruff format --check emulator
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider emulator/tests

# Two lanes side by side, in one make so each install happens once: the Rust
# one (build, then the tests) keeps both cores busy; the other is installs
# (npm, the checkov venv) and short linters, which would otherwise wait for it.
test:
	$(MAKE) --no-print-directory -j2 test-rust test-other

# make test lints while it builds: clippy-driver (what `cargo clippy` runs)
# compiles our crates, and only ours, with clippy's lints and warnings denied,
# the same as `make lint`, but into the binaries the tests then run. The
# dependencies are compiled once instead of checked for clippy and built for
# the tests (on 2 cores, clippy alone took about 3.5 minutes).
CLIPPY_DRIVER = $(shell rustc --print sysroot 2>/dev/null)/bin/clippy-driver
LINTED = RUSTC_WORKSPACE_WRAPPER="$(CLIPPY_DRIVER)" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

# A canary first: CLIPPY_ARGS is how cargo clippy hands -D warnings to
# clippy-driver; should a toolchain ever change that, this lane fails here
# rather than letting warnings through.
test-rust-build:
	@test -x "$(CLIPPY_DRIVER)" || { echo "error: clippy is not installed for this toolchain: rustup component add clippy"; exit 2; }
	@d=$$(mktemp -d) && printf 'pub fn canary() -> usize { let v = vec![1]; v.len() }\n' > $$d/canary.rs; \
	if $(LINTED) "$(CLIPPY_DRIVER)" "$(dir $(CLIPPY_DRIVER))rustc" --edition 2021 --crate-type lib --emit=metadata \
	  --out-dir $$d $$d/canary.rs >/dev/null 2>&1; then \
	  rm -rf $$d; echo "error: clippy-driver let a clippy warning through (CLIPPY_ARGS no longer reaches it): use make lint"; exit 2; \
	fi; rm -rf $$d
	cargo fmt --all --check
	$(LINTED) cargo build --workspace --all-targets

test-rust: test-rust-build setup
	$(LINTED) $(RUN_TESTS)

test-other: asl-lint emulator-test infra-lint

fmt:
	cargo fmt --all

# An optimised build (profile.bench); LIFEBOAT_BENCH_SIZES, LIFEBOAT_BENCH_ZONES, LIFEBOAT_BENCH_DB_APPS to vary it.
bench: setup
	cargo run --profile bench -p lifeboat-e2e --bin bench-failover

clean:
	cargo clean
	rm -rf $(VENV) $(DEPLOY_VENV) $(CHECKOV_VENV) node_modules
