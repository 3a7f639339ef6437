"""`make test-compat`: the provider's wheel against the oldest and the newest supported Airflow.

``pyproject.toml`` promises ``apache-airflow>=<floor>``; users pin Airflow for months, so that promise
is tested, not assumed. For each committed lock file ``scripts/compat/constraints-airflow-<version>.txt``
(the floor's latest patch release and the newest release) this script builds a fresh virtualenv
under ``.compat/`` (gitignored) with uv, installs exactly the locked packages and then the provider
from its built wheel (never the source tree), checks the installed set is consistent, and runs the
tests marked ``compat`` there: every module imports, every example DAG parses, the provider is
registered with Airflow's CLI, the hook/operator/sensor/trigger tests over the sandbox and one
``airflow dags test`` per CMS. It also checks that installing the wheel next to an Airflow below the
floor is refused. Any problem ends the run with a non-zero exit; a short summary is printed last.

``make compat-lock`` (``--lock``) re-resolves the lock files with ``uv pip compile``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = ROOT / ".compat"
DIST = WORK / "dist"
STAGE = WORK / "src"
UV = str(Path(sys.executable).with_name("uv"))
LOCK_PREFIX = "constraints-airflow-"
#: What the tests need besides the provider and Airflow; versions come from constraints.txt.
TEST_TOOLS = ("pytest", "pytest-asyncio")
#: Left out of the staged copy of the project: the tests must import the provider from the wheel.
PACKAGE_DIR = "airflow_provider_pagemeta"
PYTEST_TIMEOUT = 25 * 60


class CompatError(Exception):
    """A check failed; the message says which and why."""


@dataclass
class Outcome:
    version: str
    passed: int
    failed: int
    errors: int
    skipped: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.passed > 0 and not (self.failed or self.errors)


def run(cmd: list[str]) -> None:
    """Run a command, showing it; a non-zero exit is a failure of the whole run."""
    print("+ " + " ".join(cmd), flush=True)
    done = subprocess.run(cmd, text=True)
    if done.returncode != 0:
        raise CompatError(f"exit {done.returncode}: {' '.join(cmd)}")


def pinned(name: str) -> str:
    """The ``name==version`` line of the project's constraints.txt."""
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.lower().startswith(f"{name.lower()}=="):
            return line.strip()
    raise CompatError(f"{name} is not pinned in constraints.txt")


def airflow_floor() -> str:
    """The lowest Airflow the provider declares, from pyproject.toml (e.g. ``3.1``)."""
    found = re.search(r'"apache-airflow>=([0-9.]+)"', (ROOT / "pyproject.toml").read_text())
    if not found:
        raise CompatError('pyproject.toml declares no "apache-airflow>=<floor>" dependency')
    return found.group(1)


def locks() -> dict[str, Path]:
    """Tested Airflow version -> its lock file, oldest first."""
    files = {p.name[len(LOCK_PREFIX) : -len(".txt")]: p for p in HERE.glob(f"{LOCK_PREFIX}*.txt")}
    return dict(sorted(files.items(), key=lambda item: tuple(int(x) for x in item[0].split("."))))


def check_versions(tested: dict[str, Path]) -> None:
    """The locks must cover the declared floor and the Airflow the project develops against."""
    floor = airflow_floor()
    if not tested:
        raise CompatError(f"no {LOCK_PREFIX}*.txt lock files in {HERE}")
    oldest, newest = next(iter(tested)), next(reversed(tested))
    if not (oldest + ".").startswith(floor + "."):
        raise CompatError(f"oldest tested Airflow {oldest} is not a release of the declared floor {floor}")
    dev = pinned("apache-airflow").split("==")[1]
    if newest != dev:
        raise CompatError(f"newest tested Airflow {newest} differs from constraints.txt's {dev}: run make compat-lock")


def build_wheel() -> Path:
    shutil.rmtree(DIST, ignore_errors=True)
    run([UV, "build", "--quiet", "--wheel", "--out-dir", str(DIST), str(ROOT)])
    [wheel] = DIST.glob("*.whl")
    return wheel


def stage_tests() -> None:
    """Copy the project's files (tracked or new, not ignored) except the package into ``.compat/src``.

    pytest puts the tests' root on ``sys.path``; in the source tree that root holds the package, which
    would shadow the wheel. The copy keeps everything else the tests read (example DAGs, pyproject's
    pytest settings, the modules some test files import at collection).
    """
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    shutil.rmtree(STAGE, ignore_errors=True)
    for name in filter(None, listed):
        source = ROOT / name
        if name.split("/")[0] == PACKAGE_DIR or not source.is_file():
            continue
        (STAGE / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, STAGE / name)


def make_venv(version: str, lock: Path, wheel: Path) -> Path:
    """A fresh venv with exactly the locked packages plus the provider's wheel; returns its python."""
    venv = WORK / f"airflow-{version}"
    python = venv / "bin" / "python"
    run([UV, "venv", "--quiet", "--clear", "--python", sys.executable, str(venv)])
    run([UV, "pip", "sync", "--quiet", "--python", str(python), str(lock)])
    run([UV, "pip", "install", "--quiet", "--no-deps", "--python", str(python), str(wheel)])
    run([UV, "pip", "check", "--python", str(python)])  # the wheel's requirements hold in the lock
    return python


def check_floor_refused(python: Path, wheel: Path) -> None:
    """An Airflow below the declared floor must not install next to the provider."""
    below = f"apache-airflow<{airflow_floor()}"
    cmd = [UV, "pip", "install", "--dry-run", "--python", str(python), str(wheel), below]
    print("+ " + " ".join(cmd), flush=True)
    done = subprocess.run(cmd, text=True, capture_output=True)
    if done.returncode == 0 or "No solution found" not in done.stderr:
        raise CompatError(f"installing the wheel with {below} was not refused:\n{done.stdout}{done.stderr}")
    print(f"  refused, as it must be: {below}")


def site_packages(python: Path) -> str:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run([str(python), "-c", code], text=True, capture_output=True, check=True).stdout.strip()


def compat_test_files() -> list[str]:
    """The test files that hold a ``compat`` test. Only these are collected: the others may import
    test-only packages the locked venvs leave out (the Webflow SDK of the dev extra, for one)."""
    tests = sorted(STAGE.glob("tests/**/test_*.py"))
    return [str(p.relative_to(STAGE)) for p in tests if "mark.compat" in p.read_text(encoding="utf-8")]


def run_tests(version: str, python: Path, pytest_args: list[str]) -> Outcome:
    """``pytest -m compat`` in the staged copy, with the venv's interpreter and the wheel it holds."""
    report = WORK / f"junit-{version}.xml"
    report.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PAGEMETA_COMPAT_SITE"] = site_packages(python)
    cmd = [str(python), "-m", "pytest", "-m", "compat", "-q", "-p", "no:cacheprovider", "-rfEs",
           f"--junitxml={report}", *(pytest_args or compat_test_files())]
    print(f"\n=== Airflow {version}: {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    try:
        returncode = subprocess.run(cmd, cwd=STAGE, env=env, timeout=PYTEST_TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        print(f"Airflow {version}: pytest still running after {PYTEST_TIMEOUT} s, stopped", file=sys.stderr)
        returncode = -1
    seconds = time.monotonic() - start
    if not report.exists():
        print(f"Airflow {version}: pytest wrote no report (exit {returncode})", file=sys.stderr)
        return Outcome(version, 0, 0, 1, 0, seconds)
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    outcome = Outcome(version, counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"],
                      counts["failures"], counts["errors"], counts["skipped"], seconds)
    if returncode != 0 and outcome.ok:  # e.g. an error pytest reports outside any test
        outcome.errors += 1
    return outcome


def summary(outcomes: list[Outcome], started: float, setup_seconds: float) -> None:
    print("\n=== make test-compat summary")
    for o in outcomes:
        print(f"  apache-airflow {o.version}: {o.passed} passed, {o.skipped} skipped, {o.failed} failed, "
              f"{o.errors} errors in {o.seconds:.0f} s{'' if o.ok else '  <-- FAILED'}")
    print(f"  floor apache-airflow>={airflow_floor()}: an install below it is refused")
    print(f"  wheel + venvs {setup_seconds:.0f} s, total {time.monotonic() - started:.0f} s")


def test_compat(pytest_args: list[str]) -> None:
    """Set every venv up first (an install problem fails fast), then test each version, then judge."""
    started = time.monotonic()
    if not Path(UV).exists():
        raise CompatError(f"{UV} is missing: make bootstrap installs uv from constraints.txt")
    tested = locks()
    check_versions(tested)
    wheel = build_wheel()
    stage_tests()
    pythons = {version: make_venv(version, lock, wheel) for version, lock in tested.items()}
    check_floor_refused(next(iter(pythons.values())), wheel)
    setup_seconds = time.monotonic() - started
    # Every version is tested even when an earlier one fails: the summary then shows them all.
    outcomes = [run_tests(version, python, pytest_args) for version, python in pythons.items()]
    summary(outcomes, started, setup_seconds)
    failed = [o.version for o in outcomes if not o.ok]
    if failed:
        raise CompatError(f"tests failed against apache-airflow {', '.join(failed)}")


def relock(versions: list[str]) -> None:
    """Resolve each version's lock: that Airflow, the provider's own dependencies and the test tools."""
    for version in versions or list(locks()):
        requirements = WORK / f"requirements-{version}.in"
        WORK.mkdir(exist_ok=True)
        requirements.write_text("\n".join([f"apache-airflow=={version}", *map(pinned, TEST_TOOLS)]) + "\n")
        python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
        # The Airflow the project develops against keeps every pin of constraints.txt it shares.
        same_as_dev = ["-c", str(ROOT / "constraints.txt")] if pinned("apache-airflow").endswith(f"=={version}") else []
        run([UV, "pip", "compile", "--quiet", "--python-version", python_version, *same_as_dev,
             "--custom-compile-command", f"make compat-lock VERSIONS={version}",
             "--no-emit-package", "airflow-provider-pagemeta",
             "-o", str(HERE / f"{LOCK_PREFIX}{version}.txt"),
             str(ROOT / "pyproject.toml"), str(requirements)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", nargs="*", metavar="VERSION",
                        help="re-resolve the lock files (all, or of the given Airflow versions) and exit")
    args, pytest_args = parser.parse_known_args()
    try:
        if args.lock is not None:
            relock(args.lock)
        else:
            test_compat(pytest_args)
    except CompatError as exc:
        print(f"\nmake test-compat FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
