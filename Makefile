# The two commands of the README: `make repro` runs the main job, `make test` runs the tests.
# Both create .venv and install the project into it first (once, again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: repro test install gpu-check

# The secret of the secret-keyed schemes (etc, pe, le, ele, block): $VORTEX_ETC_SECRET if set, else a
# random one made once for this checkout (git- and DVC-ignored, readable by its owner only).
SECRET_FILE := .vortex-secret

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(SECRET_FILE):
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(32))" > $@

# The stages call `python -m ...`: the venv's interpreter must come first on PATH.
repro: install $(SECRET_FILE)
	VORTEX_ETC_SECRET="$${VORTEX_ETC_SECRET:-$$(cat $(SECRET_FILE))}" PATH="$(abspath $(BIN)):$$PATH" dvc repro

test: install
	$(BIN)/python -m pytest -q


# On one GPU, at most 10 minutes: data path, bf16/channels-last, the 18 recipes' speed, determinism;
# writes docs/gpu.json and docs/gpu.md (benchmarks/gpu_check.py).
gpu-check: install
	$(BIN)/python benchmarks/gpu_check.py
