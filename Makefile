# Every target bootstraps .venv itself from the lock file, on a machine with only Python 3.11 and pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install chat run sandbox bench test test-fast lint typecheck check lock diagram clean

$(STAMP): requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $(STAMP)

install: $(STAMP)

chat: $(STAMP)  ## talk to the bot in this terminal, against the built-in sandbox
	$(BIN)/python -m bot chat

run: $(STAMP)  ## the Telegram long-polling service
	$(BIN)/python -m bot run

sandbox: $(STAMP)  ## the Leyr emulator alone, over HTTP on loopback
	$(BIN)/python -m bot sandbox

BENCH_ARGS ?= --patients 2000 --latency-ms 200
bench: $(STAMP)  ## simulated patients through the real bot: throughput, CPU, memory, calls
	$(BIN)/python -m bot bench $(BENCH_ARGS)

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest

test-fast: $(STAMP)  ## everything but the tests marked slow (crash, soak, hostile input, processes)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

diagram: $(STAMP)  ## rewrite the state diagram in README.md from the machine
	$(BIN)/python -m bot diagram --write README.md

lock:  ## re-pin requirements-dev.lock from pyproject.toml
	$(PYTHON) -m pip install --quiet pip-tools
	$(PYTHON) -m piptools compile --quiet --generate-hashes --extra dev --strip-extras -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
