# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv if missing and installs the project with the pinned
# versions of constraints.txt, then runs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.partita-installed
W ?=

.PHONY: demo test lint typecheck contracts pytest bench bench-quick lock clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	bash example_project/run_demo.sh $(BIN)/partita

test: lint typecheck contracts pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench example_project
	$(BIN)/ruff format --check src tests bench example_project

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench $(if $(W),--workload $(W),)

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

# Re-pin every dependency to what resolves today (commit the result).
lock:
	rm -rf /tmp/partita-lock && $(PYTHON) -m venv /tmp/partita-lock
	/tmp/partita-lock/bin/python -m pip install --quiet -e '.[dev]'
	/tmp/partita-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
