# Two entry points for a fresh machine: `make demo` and `make test`. Each installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/ledgerlink
REDIS_URL ?= redis://127.0.0.1:6379/0
# make demo PORT=8001 XERO_PORT=8101 QBO_PORT=8201 SMTP_PORT=8026 when the defaults are taken.
PORT ?= 8000
XERO_PORT ?= 8100
QBO_PORT ?= 8200
SMTP_PORT ?= 8025

.PHONY: demo test test-sqlite test-postgres test-dates lint audit audit-refresh format bench bench-100k chaos install clean

$(STAMP): pyproject.toml constraints.txt
	@$(PY) -c 'import venv, ensurepip' 2>/dev/null || (apt-get update -qq && apt-get install -y -qq python3-venv)
	@# The email rendering test lays notices out in headless Chromium: Debian's, driven by Playwright.
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ledgerlink demo --port $(PORT) --xero-port $(XERO_PORT) --qbo-port $(QBO_PORT) --smtp-port $(SMTP_PORT)

# Strict typing where it pays: the ledgers and the sync engine whole, the pure money/date code, the deployment
# secrets and the demo's supervisor, the recap's grouping; the sandbox checked plainly.
TYPED := src/ledgerlink/ledgers src/ledgerlink/sync src/ledgerlink/billing/rules.py \
	src/ledgerlink/cashflow/money.py src/ledgerlink/deployment.py \
	src/ledgerlink/devtools/supervisor.py src/ledgerlink/devtools/fake_dates.py src/ledgerlink/devtools/ports.py \
	src/ledgerlink/devtools/audit.py \
	src/ledgerlink/notices/grouping.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench reliability
	$(BIN)/ruff format --check src tests bench reliability
	@# The django-stubs plugin loads ledgerlink.settings, which refuses production mode without secrets:
	@# test mode keeps a generated pair in a throwaway data folder.
	data="$$(mktemp -d)" && trap 'rm -rf "$$data"' EXIT && export LEDGERLINK_MODE=test LEDGERLINK_DATA_DIR="$$data" && \
	$(BIN)/mypy --strict $(TYPED) && $(BIN)/mypy src/ledgerlink/sandbox

# Every installed distribution against the vendored advisory snapshot (src/ledgerlink/devtools/advisories.json):
# offline, so CI needs no advisory service. A new pin fails here until the snapshot is refreshed.
audit: $(STAMP)
	$(BIN)/python -m ledgerlink.devtools.audit

# Rebuild the snapshot for constraints.txt from a checkout of the PyPA advisory database (its vulns/ folder):
# make audit-refresh ADVISORY_DB=../advisory-database
audit-refresh: $(STAMP)
	@test -n "$(ADVISORY_DB)" || (echo "ADVISORY_DB=<a checkout of the PyPA advisory database>"; exit 2)
	$(BIN)/python -m ledgerlink.devtools.audit refresh --database "$(ADVISORY_DB)"

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench reliability
	$(BIN)/ruff format src tests bench reliability

test-sqlite: $(STAMP)
	env -u DATABASE_URL $(BIN)/pytest -q -n 2 --dist loadgroup

# The distributed pass: PostgreSQL + Redis when they answer; with CI=true both are mandatory.
test-postgres: $(STAMP)
	@url="$${DATABASE_URL:-$(PG_URL)}"; redis="$${REDIS_TEST_URL:-$(REDIS_URL)}"; \
	if $(BIN)/python -m ledgerlink.devtools.services postgres "$$url" && \
	   $(BIN)/python -m ledgerlink.devtools.services redis "$$redis"; then \
	  DATABASE_URL="$$url" REDIS_TEST_URL="$$redis" $(BIN)/pytest -q -n 2 --dist loadgroup; \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL ($$url) and Redis ($$redis) are required in CI"; exit 1; \
	else echo "PostgreSQL or Redis not reachable: skipping the distributed pass"; fi

test: lint audit test-sqlite test-postgres

# Not in CI: the suite (SQLite) under faked dates - a month's and a year's last seconds, a leap day, 2030 -
# to catch a test that reads the wall clock. DATES="2027-01-31T23:59:50 ..." picks others.
test-dates: $(STAMP)
	env -u DATABASE_URL $(BIN)/python -m ledgerlink.devtools.fake_dates $(foreach d,$(DATES),--date $(d))

# Section 5's distributed phases recreate BENCH_DATABASE_URL and run a redis-server of their own.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ll_bench
bench: $(STAMP)
	@test -x /usr/bin/redis-server || (apt-get update -qq && apt-get install -y -qq redis-server)
	$(BIN)/python -m bench.run --database-url "$(BENCH_DATABASE_URL)"

# The fault campaign (issue 22, reliability/): both sandboxes, PostgreSQL (CHAOS_DATABASE_URL, recreated) and a
# redis-server of its own (installed when missing, restarted mid-run), several consumers killed; writes
# RELIABILITY.md and bench/reliability.json. SEED=n replays another draw of work and faults.
CHAOS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ll_chaos
chaos: $(STAMP)
	@test -x /usr/bin/redis-server || (apt-get update -qq && apt-get install -y -qq redis-server)
	@$(BIN)/python -m ledgerlink.devtools.services postgres "$(CHAOS_DATABASE_URL)" || \
	  (echo "PostgreSQL must answer at $(CHAOS_DATABASE_URL) (set CHAOS_DATABASE_URL)"; exit 1)
	CHAOS_COMMAND="make chaos$(if $(SEED), SEED=$(SEED))" \
	  $(BIN)/python -m reliability.run --database-url "$(CHAOS_DATABASE_URL)" $(if $(SEED),--seed $(SEED))

# The 100,000-invoice backfills, product and baseline, into Xero at time scale 10 (about 35 minutes; at the
# bench's 2 it would take over two hours), then into QuickBooks at 40 (about 30 minutes: 220,000 objects at
# 500 a minute): merged into the bench/results.json and BENCHMARKS.md that `make bench` wrote.
bench-100k: $(STAMP)
	$(BIN)/python -m bench.growth --invoices 100000 --time-scale 10
	$(BIN)/python -m bench.quickbooks_merge --invoices 100000 --time-scale 40

clean:
	rm -rf $(VENV) var .pytest_cache reliability/out
