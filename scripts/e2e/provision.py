"""Provisioning for the e2e harness: packages, the PostgreSQL account, and a fresh file tree.

Everything a run needs comes from Debian and PyPI through the ordinary clients (``apt-get``, ``uv`` or
``pip`` with the project's constraints), so ``make e2e`` works on a fresh machine. A new service's
packages go in ``ensure_system_packages`` (a binary and its Debian package) or ``PYTHON_PACKAGES``
(pinned in ``constraints-e2e.txt``).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path

from scripts.e2e.layout import E2E, PG_SCRATCH_PREFIX, ROOT, Tree, log
from scripts.e2e.procs import kill_recorded_groups, run_logged

BIN = Path(sys.executable).parent
CONSTRAINTS = ROOT / "constraints.txt"
E2E_CONSTRAINTS = Path(__file__).resolve().parent / "constraints-e2e.txt"
#: Installed into the project's venv for the run only (never a runtime dependency of the provider).
#: asyncpg: Airflow 3 also opens an async engine on the metadata DB (postgresql+asyncpg). The journal
#: on S3 (``object_store.py``): Airflow's S3 filesystem (the amazon provider and s3fs), and moto's S3
#: in server mode (its ``s3`` extra and Flask: ``moto[server]`` would bring every AWS service's deps).
PYTHON_PACKAGES = ("apache-airflow-providers-celery", "psycopg2-binary", "asyncpg",
                   "apache-airflow-providers-amazon", "s3fs", "moto[s3]", "flask", "flask-cors")
#: Pins of constraints.txt that an e2e package's own bounds would refuse, kept as pinned with uv's
#: ``--override``: botocore (boto3, aiobotocore, moto) caps python-dateutil below 3, the project pins
#: 4.0.0, and the run itself shows botocore works with it. Moving the pin instead would change the
#: venv ``make test`` uses.
KEEP_PROJECT_PINS = ("python-dateutil",)
#: Binaries the run needs on PATH, and the Debian package that brings each.
SYSTEM_BINARIES = {"redis-server": "redis-server"}


# ------------------------------------------------------------------------------------ packages


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: PATH first (e.g. /usr/local/bin), then Debian's layout."""
    candidates = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0), reverse=True)
    candidates.extend(versions)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


def ensure_system_packages(log_dir: Path) -> Path:
    """Install PostgreSQL and the other servers from Debian when missing (one ``apt-get update``).

    Returns PostgreSQL's bin folder.
    """
    missing = [] if find_pg_bin() is not None else ["postgresql"]
    missing += [package for binary, package in SYSTEM_BINARIES.items() if shutil.which(binary) is None]
    if missing:
        if os.geteuid() != 0:
            raise RuntimeError(f"missing {', '.join(missing)} and not root: apt-get install -y {' '.join(missing)}")
        log(f"installing {', '.join(missing)} from Debian")
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        lock = ["-o", "DPkg::Lock::Timeout=600"]
        run_logged("apt", ["apt-get", *lock, "update", "-qq"], log_dir, env=apt_env, timeout=900)
        run_logged("apt", ["apt-get", *lock, "install", "-y", "-qq", *missing], log_dir, env=apt_env, timeout=900)
    pg_bin = find_pg_bin()
    if pg_bin is None or any(shutil.which(binary) is None for binary in SYSTEM_BINARIES):
        raise RuntimeError("PostgreSQL or another server still missing after apt-get install")
    return pg_bin


def ensure_python_packages(log_dir: Path) -> None:
    """The run's Python packages into the venv, pinned by our file and by the project's (nothing pinned moves).

    With uv (``make bootstrap`` installs it; pip is asked for it when missing): pip has no way to
    keep a pin that a dependency's bound refuses (``KEEP_PROJECT_PINS``).
    """
    uv = BIN / "uv"
    if not uv.exists():
        run_logged("pip-install-uv", [sys.executable, "-m", "pip", "install", "-q", project_pin("uv")], log_dir)
    overrides = log_dir / "overrides.txt"
    overrides.write_text("".join(f"{project_pin(name)}\n" for name in KEEP_PROJECT_PINS))
    argv = [str(uv), "pip", "install", "-q", "--python", sys.executable, "-c", str(CONSTRAINTS),
            "-c", str(E2E_CONSTRAINTS), "--override", str(overrides), *PYTHON_PACKAGES]
    run_logged("pip-install", argv, log_dir, timeout=900)
    compile_bytecode(log_dir)


def project_pin(name: str) -> str:
    """``name==version`` as constraints.txt pins it."""
    for line in CONSTRAINTS.read_text().splitlines():
        if line.split("==")[0].strip().lower() == name.lower() and "==" in line:
            return line.split(";")[0].split("#")[0].strip()
    raise RuntimeError(f"constraints.txt pins no {name}")


def compile_bytecode(log_dir: Path) -> None:
    """Bytecode for what was just installed (a few seconds once it is up to date).

    Where PYTHONDONTWRITEBYTECODE is set (as on CI machines), Python never caches it on import, and
    each of the run's dozen Airflow and Celery processes would compile Celery and its kin again.
    A few files shipped for other Python versions do not compile; that is not an error here.
    """
    purelib = sysconfig.get_path("purelib")
    with open(log_dir / "compile-bytecode.log", "ab") as out:
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", purelib], stdout=out,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=900, check=False)


def postgres_user() -> str | None:
    """A non-root account for PostgreSQL (initdb refuses root); ``None`` when we are not root already."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pagemeta-e2e"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "pagemeta-e2e"],
                   check=True)
    return "pagemeta-e2e"


# ---------------------------------------------------------------------------------- file tree


def reachable_by_others(path: Path) -> bool:
    """True when every folder from ``/`` down to ``path`` lets any account through (``o+x``)."""
    try:
        return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))
    except OSError:
        return False


def temp_parent() -> Path:
    """A temp folder another account can reach: ``$TMPDIR`` may be private, ``/tmp`` and ``/var/tmp`` are not."""
    for candidate in (Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")):
        if candidate.is_dir() and reachable_by_others(candidate):
            return candidate
    raise RuntimeError("no temp folder that the PostgreSQL account can reach (tried $TMPDIR, /tmp, /var/tmp)")


def is_pg_scratch(path: Path) -> bool:
    """Whether ``path`` looks like a folder ``fresh_tree`` made: checked before removing a noted path."""
    return path.name.startswith(PG_SCRATCH_PREFIX) and path.parent in {
        Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")}


def remove_pg_scratch(path: Path) -> None:
    if is_pg_scratch(path):
        shutil.rmtree(path, ignore_errors=True)


def clean_previous_run(root: Path = E2E) -> None:
    """A run killed with SIGKILL cannot clean up: stop its process groups and remove its PostgreSQL folder."""
    kill_recorded_groups(root / "pgids.json")
    note = root / "pg-scratch.txt"
    if note.exists():
        remove_pg_scratch(Path(note.read_text().strip()))


def fresh_tree(root: Path = E2E) -> Tree:
    """Start from nothing: a leftover DB or log from an earlier run must not make this one pass."""
    clean_previous_run(root)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    tree = Tree(root, Path(tempfile.mkdtemp(prefix=PG_SCRATCH_PREFIX, dir=temp_parent())))
    tree.scratch_note.write_text(str(tree.pg_scratch))
    for folder in (tree.logs, tree.home, tree.redis, tree.pgdata, tree.pgsock):
        folder.mkdir(parents=True, exist_ok=True)
    return tree


def hand_over(tree: Tree, pg_user: str | None) -> None:
    """PostgreSQL's folders must belong to the account it runs as."""
    if pg_user:
        for folder in (tree.pg_scratch, tree.pgdata, tree.pgsock):
            shutil.chown(folder, pg_user, pg_user)


def remove_tree_scratch(tree: Tree) -> None:
    """At the end of a run, once PostgreSQL is stopped: its folder goes, the checkout's ``.e2e/`` stays."""
    remove_pg_scratch(tree.pg_scratch)
    tree.scratch_note.unlink(missing_ok=True)


def dags_folder(tree: Tree, sources: Sequence[Path], skip: Collection[str] = ()) -> Path:
    """The run's DAG folder (``.e2e/dags``): a link to each entry of every source folder, the
    example DAGs and the harness's own (``scripts/e2e/dags``), but for the DAG files in ``skip``.

    Links, not copies: a DAG file's ``__file__`` stays beside its ``data/``, and what runs is the
    checkout's code.
    """
    folder = tree.root / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    for source in sources:
        for entry in sorted(source.iterdir()):
            if entry.name.startswith((".", "__pycache__")) or (entry.suffix == ".py" and entry.stem in skip):
                continue
            link = folder / entry.name
            if link.is_symlink() or link.exists():
                raise RuntimeError(f"{entry.name} is in two DAG folders: {link.resolve()} and {entry}")
            link.symlink_to(entry.resolve())
    return folder
