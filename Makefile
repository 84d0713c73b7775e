# The two commands of the README: `make serve` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Strict editable mode links each file of the packages into the install, so a new
# module (or the spec) needs a reinstall: the stamp depends on every packaged file.
SOURCES := pyproject.toml $(shell find capkit mockserver contracts spec -type f \( -name '*.py' -o -name '*.json' -o -name '*.html' -o -name '*.js' -o -name '*.css' \) 2>/dev/null)

# setuptools ends each strict editable install with a block of warning that the install links
# to build/ (as the README says): nothing to act on. Errors, and other warnings, still show.
PIP := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip
EDITABLE := --config-settings editable_mode=strict

.PHONY: install serve test check lint-spec clean bench

# capkit with its test extras, for make test and make check (and what make serve needs too).
install: $(VENV)/.installed

$(VENV)/.installed: $(SOURCES)
	@echo "Installing capkit and its test extras into $(VENV)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --quiet --upgrade pip
	@$(PIP) install --quiet -e '.[test]' $(EDITABLE)
	@touch $@ $(VENV)/.serving

# capkit alone: what serving needs.
$(VENV)/.serving: $(SOURCES)
	@echo "Installing capkit into $(VENV)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --quiet --upgrade pip
	@$(PIP) install --quiet -e . $(EDITABLE)
	@touch $@

# Flags for capkit serve: make serve ARGS="--port 9000 --no-auth"
ARGS ?=
serve: $(VENV)/.serving
	@$(BIN)/capkit serve $(ARGS)

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: check
	$(BIN)/pytest

lint-spec: install
	$(BIN)/capkit lint

# capkit against Prism 5 on spec/v2.json, and replicas on PostgreSQL against workers on SQLite
# (bench/, writes bench/RESULTS.md). It installs what it needs: the venv, Prism from the npm
# registry into bench/.tools, and wrk and PostgreSQL's server from Debian's packages when
# missing. `make bench BENCH_SECONDS=3 BENCH_ROUNDS=1` is a quick run (bench/config.py).
# capkit's sources are compiled first, as an install compiles them: a launch it times does not
# compile them where PYTHONDONTWRITEBYTECODE kept them from being cached (130 ms of a start).
PRISM := bench/.tools/node_modules/.bin/prism
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

bench: install $(PRISM)
	command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	{ command -v pg_config >/dev/null && [ -x "$$(pg_config --bindir)/initdb" ]; } || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	$(BIN)/python -m compileall -q mockserver spec capkit >/dev/null
	$(BIN)/python -m bench

$(PRISM):
	npm install --prefix bench/.tools --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
