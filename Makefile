# Lotledger: `make run` installs and serves on SQLite; `make test` installs and runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install install-dev run test test-sqlite test-postgres lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'

# On first start, `lotledger init` creates the data directory and signing key and prints
# the first admin key (shown once).
run: install
	@d="$${LOTLEDGER_DATA_DIR:-./lotledger-data}"; [ -f "$$d/signing.key" ] || $(BIN)/lotledger init
	$(BIN)/lotledger serve

test: install-dev
	$(BIN)/python -m tests.run

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy ledger verifier api labels

bench: install-dev
	$(BIN)/python -m load.bench all --json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
