# Two commands for a newcomer: `make serve` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
PACKAGES := api web identity wallet consent forms notify crypto storage audit assurance seed stack jobs backup
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: serve test lint typecheck pytest bench bench-compare profile fuzz deps system-deps test-node-deps i18n clean
.PHONY: stack-up stack-down stack-status test-stack test-stack-e2e bench-scale

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==0.13.9"

# The venv follows the committed lock exactly.
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	@touch $@

# The pages' Vietnamese catalogs, compiled (web/locales/*/LC_MESSAGES/*.mo; `make i18n` extracts new strings).
CATALOGS := $(wildcard web/locales/*/LC_MESSAGES/*.po)
$(CATALOGS:.po=.mo): $(VENV)/.synced $(CATALOGS)
	$(BIN)/python -m web.i18n compile >/dev/null

# Swagger UI for /schema/swagger, served by the service itself: npm `swagger-ui-dist` (pinned in scripts/swagger-ui/)
# copied into the static folder with our initialiser (git-ignored; nothing is fetched at run time).
SWAGGER_UI := web/static/vendor/swagger-ui
$(SWAGGER_UI)/.copied: scripts/swagger-ui/package-lock.json scripts/swagger-ui/init.js
	@if ! command -v npm >/dev/null; then \
		echo "installing Node.js (Debian package) for Swagger UI"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	fi
	npm ci --prefix scripts/swagger-ui --no-audit --no-fund --loglevel=error
	mkdir -p $(SWAGGER_UI)
	cp scripts/swagger-ui/node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css,LICENSE} scripts/swagger-ui/init.js $(SWAGGER_UI)/
	@touch $@

deps: $(VENV)/.synced $(CATALOGS:.po=.mo) $(SWAGGER_UI)/.copied

i18n: $(VENV)/.synced
	$(BIN)/python -m web.i18n extract

# The tests start a real PostgreSQL server themselves, drive the pages in a real Chromium and keep keys in a real
# PKCS#11 token (SoftHSM2); all come from Debian's packages (Playwright never downloads a browser of its own), as does
# promtool, which checks deploy/prometheus/ (taken alone from the prometheus package: 48 MB, no server, no service).
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing PostgreSQL (Debian package) for the integration tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if ! command -v softhsm2-util >/dev/null 2>&1; then \
		echo "installing SoftHSM2 (Debian package) for the PKCS#11 key tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 >/dev/null; \
	fi
	@if ! command -v haproxy >/dev/null 2>&1 || ! command -v pgbouncer >/dev/null 2>&1; then \
		echo "installing HAProxy and PgBouncer (Debian packages) for the local stack (make stack-up)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy pgbouncer >/dev/null; \
	fi
	@if ! command -v promtool >/dev/null 2>&1; then \
		echo "installing promtool (from Debian's prometheus package, without the server) for deploy/prometheus/'s checks"; \
		tmp=$$(mktemp -d) && apt-get update -qq && (cd $$tmp && apt-get download -qq -o APT::Sandbox::User=root prometheus) \
			&& dpkg-deb --fsys-tarfile $$tmp/prometheus_*.deb | tar -x -O ./usr/bin/promtool > /usr/local/bin/promtool \
			&& chmod 755 /usr/local/bin/promtool; rm -rf $$tmp; \
	fi
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing Chromium (Debian package) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium fonts-liberation >/dev/null; \
	fi

# The e-ID login tests run a real OpenID Provider (npm `oidc-provider`, tests/oidc/) on Node >= 20.19.
OIDC_MODULES := tests/oidc/node_modules/.package-lock.json

$(OIDC_MODULES): tests/oidc/package-lock.json
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
		echo "installing Node.js (Debian package) for the OpenID Provider of the tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	fi
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
		|| { echo "tests/oidc needs Node >= 20.19, found $$(node --version)"; exit 1; }
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	@touch $@

test-node-deps: $(OIDC_MODULES)

serve: deps
	$(BIN)/congdanso serve

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: deps
	$(BIN)/mypy $(PACKAGES) bench

pytest: deps system-deps test-node-deps
	$(BIN)/pytest -q -n 2

test: lint typecheck pytest

# The production topology as local processes (python -m stack; docs/operations/stack.md): PostgreSQL behind PgBouncer,
# a SeaweedFS cluster, WALLET_WORKERS app workers (default 2) behind HAProxy on WALLET_PORT (default 8000), all of it
# under WALLET_DATA_DIR (default ./stack-data). `stack-status` exits 1 while any process is not up.
stack-up: deps system-deps
	$(BIN)/python -m stack up

stack-down: deps
	$(BIN)/python -m stack down

stack-status: deps
	$(BIN)/python -m stack status

# The production stack's tests in full (`make test` runs each of them bounded): tests/stack/ with STACK_TESTS=full
# (all four faults under a longer load, the restore drill under more load; tests/stack/test_faults.py,
# test_restore_drill.py), the PKCS#11 key tests on SoftHSM2, then the end-to-end slice through the balancer.
HSM_TESTS := tests/unit/crypto/test_keys.py tests/unit/crypto/test_pkcs11_keys.py tests/unit/crypto/test_signing_custody.py \
	tests/integration/test_hsm_keys.py tests/integration/test_backup_hsm.py
test-stack: deps system-deps test-node-deps
	STACK_TESTS=full $(BIN)/pytest -q tests/stack $(HSM_TESTS)
	$(BIN)/python -m tests.stack.e2e

# The integration tests marked `e2e` over HTTP through the load balancer of a fresh stack, brought up and destroyed
# around them (tests/stack/e2e.py; a slice of them runs in tests/stack/test_stack.py).
test-stack-e2e: deps system-deps
	$(BIN)/python -m tests.stack.e2e

# A longer fuzzing campaign than the one in `make test` (tests/fuzz/): FUZZ_EXAMPLES per operation, caller and mode.
FUZZ_EXAMPLES ?= 200
fuzz: deps
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m tests.fuzz

# Lighthouse for the web benchmarks (bench/lighthouse/, pinned; never installed at run time).
LIGHTHOUSE := bench/lighthouse/node_modules/.package-lock.json
$(LIGHTHOUSE): bench/lighthouse/package-lock.json
	npm ci --prefix bench/lighthouse --no-audit --no-fund --loglevel=error
	@touch $@

bench: deps system-deps $(LIGHTHOUSE)
	$(BIN)/python -m bench

# The wallet at a province's size on the local stack: BENCH_SCALE_CITIZENS (default 1,000,000) seeded citizens of ten
# papers, then the parts of BENCH_SCALE_PARTS (default all: list,signin,scan,consent,stats,audit,workers) through the
# load balancer; BENCH_SCALE_AUDIT_ENTRIES (default 10,000,000) for `audit` (~45 minutes in all; bench/README.md).
bench-scale: deps system-deps
	$(BIN)/python -m bench.scale

# The same benchmarks on an older commit (BASE) and on this tree, one after the other, side by side in
# bench/compare.md (bench/compare.py says how); BENCH_MODULES narrows both runs to some modules.
bench-compare: deps system-deps $(LIGHTHOUSE)
	$(BIN)/python -m bench.compare $(BASE) $(BENCH_MODULES)

# Flame graphs (py-spy) of the hot paths under load, in profiles/ (git-ignored): PROFILE_SECONDS of load per path
# (default 10), PROFILE_AUDIT_ENTRIES in the chain `audit verify` reads (default 100000). bench/README.md says more.
profile: deps system-deps
	$(BIN)/python -m bench.profile

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis test-output
