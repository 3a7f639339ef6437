"""What every supported Airflow must accept: each module imports, each example DAG parses.

These run in the normal suite and, through the ``compat`` marker, under ``make test-compat``
against the oldest and the newest supported Airflow with the provider installed from its wheel.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

import pytest

import airflow_provider_pagemeta
from tests.conftest import ROOT

pytestmark = pytest.mark.compat

DAGS = ROOT / "dags_examples"


def _modules() -> list[str]:
    package = airflow_provider_pagemeta
    return sorted(m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}."))


@pytest.mark.parametrize("module", _modules())
def test_every_module_imports(module):
    assert importlib.import_module(module).__name__ == module


def test_provider_under_test_is_the_installed_wheel():
    """``make test-compat`` names the site-packages it installed the wheel into; the source tree must not shadow it."""
    site = os.environ.get("PAGEMETA_COMPAT_SITE")
    if not site:
        pytest.skip("only under make test-compat (the normal suite tests the editable install)")
    package_dir = Path(airflow_provider_pagemeta.__file__).resolve().parent
    assert package_dir.parent == Path(site).resolve(), package_dir


def _dag_bag(folder: Path):  # -> DagBag; its import path moved in Airflow 3.2
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(folder), safe_mode=False)  # examples are off: conftest sets LOAD_EXAMPLES


def test_every_example_dag_parses_without_import_errors():
    files = sorted(DAGS.glob("*.py"))
    assert files, DAGS
    bag = _dag_bag(DAGS)
    assert bag.import_errors == {}
    # Each example file defines one DAG named after the file.
    assert sorted(bag.dag_ids) == [f.stem for f in files]


def test_hitl_approval_operator_is_available():
    """Human approval before a bulk write uses Airflow's HITL operator (Airflow 3.1+, standard provider)."""
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    assert ApprovalOperator(task_id="approve", subject="Apply the SEO refresh?").options == ["Approve", "Reject"]
