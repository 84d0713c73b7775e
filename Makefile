# The two commands of the README: `make serve` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Strict editable mode links each file of the packages into the install, so a new
# module (or the spec) needs a reinstall: the stamp depends on every packaged file.
SOURCES := pyproject.toml $(shell find capkit mockserver contracts spec -type f \( -name '*.py' -o -name '*.json' \) 2>/dev/null)

.PHONY: install test check lint-spec clean

install: $(VENV)/.installed

$(VENV)/.installed: $(SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=strict
	touch $@

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: check
	$(BIN)/pytest

lint-spec: install
	$(BIN)/capkit lint

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
