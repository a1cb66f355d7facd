# Every target bootstraps .venv itself from the lock file, on a machine with only Python 3.11 and pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install chat run sandbox bench test lint typecheck check lock diagram clean

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

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

diagram: $(STAMP)  ## rewrite the state diagram in README.md from the machine
	$(BIN)/python -m bot diagram --write README.md

# pip-tools in a venv of its own; the locks never name this machine's package indexes or wheel
# folders (pip's own configuration may add them), so they install the same anywhere.
LOCK_VENV := .venv-lock
COMPILE := $(LOCK_VENV)/bin/python -m piptools compile --quiet --generate-hashes --strip-extras \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host
$(LOCK_VENV)/bin/pip-compile:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet pip-tools

lock: $(LOCK_VENV)/bin/pip-compile  ## re-pin requirements.lock (production) and requirements-dev.lock (with test tools)
	$(COMPILE) -o requirements.lock pyproject.toml
	$(COMPILE) --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .mypy_cache .ruff_cache
