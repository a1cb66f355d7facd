# Every target bootstraps .venv itself from the lock file, on a machine with only Python 3.11 and pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install chat run sandbox bench test test-fast lint typecheck check lock diagram clean extract init update compile

# Message catalogs (gettext through Babel): the .po files are the source, the .mo files are built.
LOCALES := dialogs/locale
LANGUAGES := en sv nb da fi
COMPILED := $(foreach language,$(LANGUAGES),$(LOCALES)/$(language)/LC_MESSAGES/messages.mo)
TEMPLATE := $(LOCALES)/messages.pot
PYBABEL := $(BIN)/python -m babel.messages.frontend

$(STAMP): requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $(STAMP)

install: $(STAMP) compile

compile: $(COMPILED)  ## the .mo catalogs the bot loads

$(LOCALES)/%/LC_MESSAGES/messages.mo: $(LOCALES)/%/LC_MESSAGES/messages.po $(STAMP)
	$(PYBABEL) compile --statistics -l $* -i $< -o $@

extract: $(STAMP)  ## the template (.pot) from the English catalog: its keys, English as comments
	$(PYBABEL) extract -F babel.cfg --no-location --width 100 --project cancelbot -o $(TEMPLATE) $(LOCALES)

init: extract  ## a catalog for a new language: make init LOCALE=is
	$(PYBABEL) init -i $(TEMPLATE) -d $(LOCALES) -l $(LOCALE) --width 100

update: extract  ## bring every catalog in line with the template (new keys empty, gone keys dropped)
	$(PYBABEL) update -i $(TEMPLATE) -d $(LOCALES) --width 100 --no-fuzzy-matching --ignore-obsolete

CHAT_ARGS ?=
chat: install  ## talk to the bot in this terminal, against the built-in sandbox (fresh each run; CHAT_ARGS=--keep keeps state)
	$(BIN)/python -m bot chat $(CHAT_ARGS)

run: install  ## the Telegram long-polling service
	$(BIN)/python -m bot run

sandbox: install  ## the Leyr emulator alone, over HTTP on loopback
	$(BIN)/python -m bot sandbox

BENCH_ARGS ?= --patients 2000 --latency-ms 200
bench: install  ## simulated patients through the real bot: throughput, CPU, memory, calls
	$(BIN)/python -m bot bench $(BENCH_ARGS)

test: install  ## the whole test suite
	$(BIN)/python -m pytest

test-fast: install  ## everything but the tests marked slow (crash, soak, hostile input, processes)
	$(BIN)/python -m pytest -m "not slow"

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
