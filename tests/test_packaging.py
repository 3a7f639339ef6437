"""The built wheel installs into a fresh venv beside apache-airflow, and every module imports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from airflow_provider_pagemeta import __version__
from tests.conftest import ROOT

UV = Path(sys.executable).with_name("uv")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not UV.exists():
        pytest.skip("uv is not in the venv (pip fallback install); `make dist` still checks packaging")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([str(UV), "build", "--wheel", "--out-dir", str(out), str(ROOT)], check=True,
                   capture_output=True)
    [built] = out.glob("*.whl")
    return built


def test_version_comes_from_one_place(wheel: Path):
    assert wheel.name == f"airflow_provider_pagemeta-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read(f"airflow_provider_pagemeta-{__version__}.dist-info/METADATA").decode()
        entry_points = zf.read(f"airflow_provider_pagemeta-{__version__}.dist-info/entry_points.txt").decode()
    assert f"Version: {__version__}" in metadata
    assert "provider_info = airflow_provider_pagemeta.get_provider_info:get_provider_info" in entry_points
    assert "pagemeta-sandbox = airflow_provider_pagemeta.sandbox.__main__:main" in entry_points


def test_wheel_installs_and_imports_in_a_fresh_venv(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(UV), "pip", "install", "-q", "--python", str(python), "-c", str(ROOT / "constraints.txt"),
         str(wheel), "apache-airflow"],
        check=True, capture_output=True,
    )
    with zipfile.ZipFile(wheel) as zf:
        modules = sorted(
            n[:-3].replace("/", ".").removesuffix(".__init__") for n in zf.namelist()
            if n.endswith(".py") and n.startswith("airflow_provider_pagemeta/")
        )
    assert "airflow_provider_pagemeta.sandbox.pytest_plugin" in modules
    # The pytest plugin needs pytest, which a production install does not have.
    importable = [m for m in modules if m != "airflow_provider_pagemeta.sandbox.pytest_plugin"]
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\nprint('ok')"
    done = subprocess.run([str(python), "-c", code, *importable], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    listing = subprocess.run([str(venv / "bin" / "airflow"), "providers", "list"], capture_output=True,
                             text=True, env=env, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr[-3000:]
    assert "airflow-provider-pagemeta" in listing.stdout and __version__ in listing.stdout
    shutil.rmtree(venv)
