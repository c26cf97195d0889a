# ledgerbridge: `make demo` runs the delivery-to-cash demo, `make test` runs every check.
# Both bootstrap what they need on a fresh machine.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)

.PHONY: install demo test lint typecheck unit fuzz chaos bench screenshots clean

$(STAMP): pyproject.toml scripts/install-system.sh
	bash scripts/install-system.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel
	$(BIN)/python -m pip install --quiet -e '.[test,tryton]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/ledgerbridge demo

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit -q

test: lint typecheck
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q

# the property and fuzz tests with fresh random examples, ten times over
fuzz: install
	for n in 1 2 3 4 5 6 7 8 9 10; do $(BIN)/pytest -q -p no:cacheprovider tests/fuzz tests/unit || exit 1; done

chaos: install
	$(BIN)/ledgerbridge chaos run
	$(BIN)/ledgerbridge chaos run --db postgres

bench: install
	$(BIN)/ledgerbridge bench --events 8000

screenshots: install
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/browser -q

clean:
	rm -rf $(VENV) .ledgerbridge build .pytest_cache .mypy_cache .hypothesis
