# Every target creates .venv when missing and installs exactly what the lock says.
# The locks are made from pyproject.toml by `make lock` (uv, pinned below); see README "Development".
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.8
PACKAGES := crawler scheduler digest storage

.PHONY: demo test lint typecheck bench eval train bench-extract bench-extract-zh lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs from the lock: a fresh machine gets the versions the suite was run with.
$(STAMP): $(BIN)/python requirements-dev.lock pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mediawatch demo

# ruff and the layers contract (import-linter) run with the tests; mypy runs in `make lint`.
# PYTEST_WORKERS=N runs pytest on N pytest-xdist workers; the default is one per core, at most
# four (on 2 cores: 33 min serially, 16 min on two workers). 0 runs serially in one process,
# for pdb and prints; see README "Development".
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ "$$n" -gt 4 ] && n=4; echo $$n)
test: $(STAMP)
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/lint-imports --no-logo
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# The hand-written sets, then the frozen test split of the real data (bench/data/relevance).
eval: $(STAMP)
	$(BIN)/python -m bench.eval_relevance
	$(BIN)/python -m bench.eval_real

# Learns crawler/topics/models/<topic>.json from the topic's labelled examples (train and
# dev splits only); scikit-learn comes with the test extra the lock installs.
train: $(STAMP)
	$(BIN)/python -m bench.train_relevance

bench-extract: $(STAMP)
	$(BIN)/python -m bench.extract

# Our Chinese pages only (bench/data/extraction-zh), per frozen split: a few seconds.
bench-extract-zh: $(STAMP)
	$(BIN)/python -m bench.extract --corpus extraction-zh --no-ablation

# Re-resolve every dependency from pyproject.toml (the dev lock first, then the runtime
# lock constrained by it, so both agree), then reinstall.
lock: $(BIN)/python
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 --quiet -o requirements-dev.lock
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --quiet -c requirements-dev.lock -o requirements.lock
	rm -f $(STAMP)

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache .mypy_cache
