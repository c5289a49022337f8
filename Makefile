# Two entry points for a fresh machine: `make demo` and `make test`. Each installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/ledgerlink

.PHONY: demo test test-sqlite test-postgres lint format bench install clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ledgerlink demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

test-sqlite: $(STAMP)
	env -u DATABASE_URL $(BIN)/pytest -q -n 2 --dist loadgroup

# PostgreSQL runs when DATABASE_URL is set or the local service answers; CI=true makes it mandatory.
test-postgres: $(STAMP)
	@url="$${DATABASE_URL:-$(PG_URL)}"; \
	if $(BIN)/python -m ledgerlink.devtools.services postgres "$$url"; then \
	  DATABASE_URL="$$url" $(BIN)/pytest -q -n 2 --dist loadgroup; \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL is required in CI ($$url)"; exit 1; \
	else echo "PostgreSQL not reachable at $$url: skipping the PostgreSQL run"; fi

test: lint test-sqlite test-postgres

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .pytest_cache
