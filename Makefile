# Two commands a new user needs: `make demo` (set up + answer a question) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# NLTK (inside llama-index) refuses hard-linked data files, which uv makes by default.
export UV_LINK_MODE := copy
# The default native llama.cpp build segfaults on some CPUs (AMX path): build it portable.
export CMAKE_ARGS := -DGGML_NATIVE=OFF
export RAGAS_DO_NOT_TRACK := true
SAMPLE_QUESTION ?= What temperature should I brew the Oolong at?

.PHONY: install demo ui test test-fast lint clean

$(BIN)/ragloom: pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q uv==0.13.9
	$(UV) pip install --python $(BIN)/python -r requirements.lock
	$(UV) pip install --python $(BIN)/python --no-deps -e .
	touch $(BIN)/ragloom

install: $(BIN)/ragloom

demo: install
	$(BIN)/ragloom models pull
	$(BIN)/ragloom ingest ragloom/sample_corpus --collection sample
	$(BIN)/ragloom ask "$(SAMPLE_QUESTION)" --collection sample

ui: install
	$(BIN)/ragloom models pull
	$(BIN)/ragloom ui

test: install
	$(BIN)/ragloom models pull
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not integration"

lint: install
	$(BIN)/ruff check .

lock:
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) .ragloom
