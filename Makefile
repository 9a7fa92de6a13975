# Two commands matter: `make run` (the mock on 127.0.0.1:8080) and `make test`.
# Each builds what it needs: .venv (openai 2.x, httpx) and, for tests, a second
# venv .venv-openai3 (openai 3.x, httpx2), because the two SDK majors cannot
# share one environment.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VENV3 := .venv-openai3
PIP_FLAGS := --quiet --disable-pip-version-check
HOST ?= 127.0.0.1
PORT ?= 8080
ARGS ?=

.PHONY: run lint test test-openai2 test-openai3 contract bench load recordings clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e '.[openai2,test,bench]'
	touch $@

$(VENV3)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV3)
	$(VENV3)/bin/pip install $(PIP_FLAGS) -e '.[openai3,test]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/python -m mockserver --host $(HOST) --port $(PORT) $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: test-openai2 test-openai3

# -n auto: one test process per core (pytest-xdist); loadfile keeps each test file on one
# process, so module fixtures (servers, the broken-server suite runs) are built once.
# Plain `pytest` still runs serially.
test-openai2: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -n auto --dist loadfile

# Only the tests that drive the openai SDK, again under its newest major.
test-openai3: $(VENV3)/.installed
	$(VENV3)/bin/python -m pytest -m sdk

# make contract BASE_URL=https://gateway.example/v1 API_KEY=sk-...
# The key reaches pytest through the environment (CONTRACT_API_KEY), never on
# a command line that make or ps would show.
contract: $(VENV)/.installed
	@test -n "$(BASE_URL)" || { echo "usage: make contract BASE_URL=https://host/v1 API_KEY=sk-... [PROFILE=gateway|openai]"; exit 2; }
	CONTRACT_API_KEY="$${API_KEY:-$${CONTRACT_API_KEY:-}}" $(VENV)/bin/python -m pytest -p no:cacheprovider --pyargs contract_tests \
		--contract-base-url "$(BASE_URL)" --contract-profile "$(or $(PROFILE),gateway)" --junitxml=contract-report.xml $(ARGS)

# Regenerate fixtures/recordings/mock from today's mock (in-process, seed 0) into a fresh folder, then swap it in;
# tests/test_drift.py fails when the committed recording no longer matches what the mock records.
recordings: $(VENV)/.installed
	$(VENV)/bin/python -m contract_tests.baseline

bench: $(VENV)/.installed
	$(VENV)/bin/python -m bench

load: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -m load -p no:randomly tests/test_load.py

clean:
	rm -rf $(VENV) $(VENV3) build *.egg-info .hypothesis contract-report.xml
