# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv if missing and installs the project with the pinned
# versions of constraints.txt, then runs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.partita-installed
W ?=
N ?=
SEED ?=
K ?=
# pytest workers (pytest-xdist): the suite's tests are independent (each in its own
# temporary folder, no fixed ports), so two processes keep a 2-core machine busy.
PYTEST_WORKERS ?= 2

S3_VENV := .venv-s3

.PHONY: demo test test-system-deps s3-test-server lint typecheck contracts pytest chaos bench bench-quick lock clean

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

# PostgreSQL's binaries and Debian's Chromium, installed only when missing.
test-system-deps:
	bash scripts/test-system-deps.sh

# moto's S3 server for the object-storage tests, in its own environment: moto needs
# botocore, which refuses the python-dateutil that constraints.txt pins.
s3-test-server: $(S3_VENV)/.installed

$(S3_VENV)/.installed: constraints-s3.txt
	@test -x $(S3_VENV)/bin/python || $(PYTHON) -m venv $(S3_VENV)
	$(S3_VENV)/bin/python -m pip install --quiet -c constraints-s3.txt 'moto[server]'
	@touch $@

pytest: $(STAMP) test-system-deps s3-test-server
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# The kill campaign (tests/chaos, not part of `make test`): N trials (default 8)
# from seed SEED (default random; or PARTITA_CHAOS_TRIALS / PARTITA_CHAOS_SEED in the
# environment), K a pytest -k filter; `make chaos N=1 SEED=<seed> K=seed-<seed>` replays
# one trial alone.
chaos: $(STAMP)
	$(if $(N),PARTITA_CHAOS_TRIALS=$(N)) $(if $(SEED),PARTITA_CHAOS_SEED=$(SEED)) \
		$(BIN)/pytest tests/chaos -v -rA $(if $(K),-k '$(K)')

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
