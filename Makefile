# airflow-provider-pagemeta — every command a newcomer needs.
#   make demo          run every example DAG against the local sandbox
#   make test          ruff + mypy + pytest
#   make test-compat   the built wheel against the oldest and newest supported Airflow
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BYTECODE := $(VENV)/.bytecode-stamp
PKG := airflow_provider_pagemeta

export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: bootstrap test test-dags test-compat compat-lock lint typecheck pytest demo bench sandbox clean e2e test-ui dist soak stress-shared-token

bootstrap: $(STAMP) $(BYTECODE)

# Pinned, reproducible install: uv when it can be had (seconds), plain pip otherwise.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check "$$(grep '^uv==' constraints.txt)" \
	  && $(VENV)/bin/uv pip install -q --python $(PY) -c constraints.txt -e '.[dev]' \
	  || $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

# Every installed module compiled to bytecode once, after each install. Python would cache it on first
# import, but not where PYTHONDONTWRITEBYTECODE is set (as on CI machines like this one): there every
# Airflow process compiled Airflow from source again, about half of its start-up. (-qq: a few files
# shipped for other Python versions do not compile, and need not.)
$(BYTECODE): $(STAMP)
	@$(PY) -m compileall -qq -j 0 "$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" || true
	@touch $@

lint: bootstrap
	$(VENV)/bin/ruff check $(PKG) tests dags_examples benchmarks scripts

typecheck: bootstrap
	$(VENV)/bin/mypy $(PKG)
	$(VENV)/bin/mypy --explicit-package-bases scripts

# make test leaves out the tests that run whole example DAGs through `airflow dags test` (marker
# `dags`, ~9 of the suite's ~18 min on 2 cores): `make test-dags` runs them, and CI runs both.
pytest: bootstrap
	$(PY) -m pytest -m "not dags" $(PYTEST_ARGS)

test-dags: bootstrap
	$(PY) -m pytest -m dags $(PYTEST_ARGS)

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

# The connection forms in a real browser: Debian's Chromium, installed when missing (apt-get update
# first, so a fresh machine's empty package lists are filled). Never skipped: no Chromium is a failure.
CHROMIUM := /usr/bin/chromium
APT := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
test-ui: bootstrap
	@test -x $(CHROMIUM) || { \
	  test "$$(id -u)" = 0 || { echo "make test-ui needs $(CHROMIUM): sudo apt-get install chromium" >&2; exit 1; }; \
	  echo "installing Debian's chromium (apt-get update, apt-get install)"; \
	  $(APT) update -qq && $(APT) install -y -qq chromium >/dev/null; }
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) still missing after apt-get install chromium" >&2; exit 1; }
	$(PY) -m pytest -m ui $(PYTEST_ARGS)

dist: bootstrap
	rm -rf dist && $(VENV)/bin/uv build --out-dir dist && $(VENV)/bin/twine check --strict dist/*

# The full-size soak (2,000 bulk updates with 5% random transient faults); `make test` runs a small one.
soak: bootstrap
	PAGEMETA_SOAK_PAGES=2000 $(PY) -m pytest -m soak $(PYTEST_ARGS)

# Workers sharing one Webflow token while small refreshes start meanwhile: counts 429s (goal 0).
stress-shared-token: bootstrap
	$(PY) benchmarks/shared_token.py

sandbox: bootstrap
	$(PY) -m $(PKG).sandbox --port $${PORT:-8765}

clean:
	rm -rf .airflow .e2e .compat .pytest_cache .mypy_cache .ruff_cache build dist
