# The two commands of the README: `make repro` runs the main job, `make test` runs the tests.
# Both create .venv and install the project into it first (once, again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: repro test install

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The stages call `python -m ...`: the venv's interpreter must come first on PATH.
repro: install
	PATH="$(abspath $(BIN)):$$PATH" dvc repro

test: install
	$(BIN)/python -m pytest -q

