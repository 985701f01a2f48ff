# The two commands of the README: `make repro` runs the main job, `make test` runs the tests.
# Both create .venv and install the project into it first (once, again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: repro test install gpu-check

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The stages call `python -m ...`: the venv's interpreter must come first on PATH. No secret is needed:
# the default profile's keyed schemes use public benchmark keys (README, "Benchmark keys and private keys").
repro: install
	PATH="$(abspath $(BIN)):$$PATH" dvc repro

test: install
	$(BIN)/python -m pytest -q


# On one GPU, at most 10 minutes: data path, bf16/channels-last, the 18 recipes' speed, determinism;
# writes docs/gpu.json and docs/gpu.md (benchmarks/gpu_check.py).
gpu-check: install
	$(BIN)/python benchmarks/gpu_check.py
