# airflow-provider-pagemeta — every command a newcomer needs.
#   make demo          run every example DAG against the local sandbox
#   make test          ruff + mypy + pytest
#   make test-compat   the built wheel against the oldest and newest supported Airflow
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PKG := airflow_provider_pagemeta

export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: bootstrap test test-compat compat-lock lint typecheck pytest demo bench sandbox clean e2e test-ui dist soak

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

# The wheel in fresh venvs of the floor's latest patch and the newest Airflow (scripts/compat/constraints-airflow-*.txt):
# every module imports, every example DAG parses, and the tests marked `compat` pass there.
test-compat: bootstrap
	$(PY) scripts/compat/run.py $(PYTEST_ARGS)

# Re-resolve those lock files (all, or VERSIONS="3.1.8 3.3.2"); add a version by naming it here.
compat-lock: bootstrap
	$(PY) scripts/compat/run.py --lock $(VERSIONS)

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
	rm -rf .airflow .e2e .compat .pytest_cache .mypy_cache .ruff_cache build dist
