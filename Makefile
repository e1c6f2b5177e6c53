# Every target creates .venv when missing and installs the project with its test extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench eval bench-extract clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mediawatch demo

test: $(STAMP)
	$(BIN)/ruff check crawler scheduler digest storage tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check crawler scheduler digest storage tests bench
	$(BIN)/ruff format --check crawler scheduler digest storage tests bench || true

bench: $(STAMP)
	$(BIN)/python -m bench

eval: $(STAMP)
	$(BIN)/python -m bench.eval_relevance

bench-extract: $(STAMP)
	$(BIN)/python -m bench.extract

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache
