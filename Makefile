# airflow-provider-pagemeta — every command a newcomer needs.
#   make demo   run every example DAG against the local sandbox
#   make test   ruff + mypy + pytest
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PKG := airflow_provider_pagemeta

export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: bootstrap test lint typecheck pytest demo bench sandbox clean e2e test-ui dist soak

bootstrap: $(STAMP)

# Pinned, reproducible install: uv when it can be had (seconds), plain pip otherwise.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check "$$(grep '^uv==' constraints.txt)" \
	  && $(VENV)/bin/uv pip install -q --python $(PY) -c constraints.txt -e '.[dev]' \
	  || $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

lint: bootstrap
	$(VENV)/bin/ruff check $(PKG) tests dags_examples benchmarks scripts

typecheck: bootstrap
	$(VENV)/bin/mypy $(PKG)

pytest: bootstrap
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

demo: bootstrap
	$(PY) scripts/demo.py

bench: bootstrap
	$(PY) benchmarks/run.py

# Real multi-process Airflow (PostgreSQL, Redis, CeleryExecutor, triggerer) running every example DAG.
e2e: bootstrap
	$(PY) scripts/e2e/run.py

# The connection forms in a real browser (installs Debian's Chromium when missing).
test-ui: bootstrap
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	$(PY) -m pytest -m ui $(PYTEST_ARGS)

dist: bootstrap
	rm -rf dist && $(VENV)/bin/uv build --out-dir dist && $(VENV)/bin/twine check --strict dist/*

# The full-size soak (2,000 bulk updates with 5% random transient faults); `make test` runs a small one.
soak: bootstrap
	PAGEMETA_SOAK_PAGES=2000 $(PY) -m pytest -m soak $(PYTEST_ARGS)

sandbox: bootstrap
	$(PY) -m $(PKG).sandbox --port $${PORT:-8765}

clean:
	rm -rf .airflow .e2e .pytest_cache .mypy_cache .ruff_cache build dist
