"""Where a task's journal lives: the ``journal`` argument, the run's identity, the file's URI.

A journal is one JSON Lines file per task (per map index), at
``<dir>/<dag_id>/<run_id>/<task_id>[.<map_index>].jsonl``, so a run's journals sit side by side
and a retried task appends to its own file. ``<dir>`` is any URI Airflow's ``ObjectStoragePath``
opens: a local directory (``file://`` or a plain absolute path) is appended in place; anything else
(``s3://``, ``gs://``, ``abfs://``, ...) is an object store, which cannot append (see
:mod:`airflow_provider_pagemeta.journal.writer`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from airflow_provider_pagemeta.core.validation import invalid

#: The Airflow config section and option that set the default journal directory.
CONFIG_SECTION = "pagemeta"
CONFIG_OPTION = "journal_dir"
#: Protocols written in place (files on this machine): ``ObjectStoragePath`` reports a plain
#: path as protocol ``""`` and ``file://`` as ``file``.
LOCAL_PROTOCOLS = frozenset({"", "file", "local"})
#: What a rendered ``journal`` string may say instead of a directory.
_TRUE_WORDS = frozenset({"true", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "no", "off", "none"})
#: Characters kept as they are in a path segment (Airflow's run ids use ``:`` and ``+``).
_SEGMENT_SAFE = "-_.:+~@=,"


@dataclass(frozen=True)
class RunIdentity:
    """Which task try a journal line comes from (the entry's ``dag_id`` ... ``map_index``)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    try_number: int | None = None

    @property
    def file_name(self) -> str:
        suffix = f".{self.map_index}" if self.map_index is not None and self.map_index >= 0 else ""
        return f"{segment(self.task_id)}{suffix}.jsonl"


def identity_from(context: Mapping[str, Any] | None, operator: Any) -> RunIdentity:
    """The run's identity from the task context; outside a task run (an operator's ``execute``
    called by hand) the operator's own ids and an ``adhoc__<time>`` run id, so nothing collides."""
    ti = (context or {}).get("ti") or (context or {}).get("task_instance")
    if ti is not None:
        map_index = getattr(ti, "map_index", -1)
        try_number = getattr(ti, "try_number", None)
        return RunIdentity(
            dag_id=str(ti.dag_id), run_id=str(ti.run_id), task_id=str(ti.task_id),
            map_index=int(map_index) if map_index is not None else -1,
            try_number=int(try_number) if isinstance(try_number, int) else None,
        )
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return RunIdentity(dag_id=str(_operator_dag_id(operator)), run_id=f"adhoc__{stamp}",
                       task_id=str(getattr(operator, "task_id", "task")))


def _operator_dag_id(operator: Any) -> str:
    try:
        return str(operator.dag_id)
    except Exception:  # an operator outside any DAG: Airflow cannot name one
        return "adhoc"


def segment(value: str) -> str:
    """One path segment: the characters Airflow allows in ids kept, anything else (``/``) encoded,
    and never ``.`` or ``..``."""
    text = quote(value, safe=_SEGMENT_SAFE)
    return text.replace(".", "%2E") if text in (".", "..") else text


def resolve_setting(value: Any, argument: str = "journal") -> str | None:
    """The journal directory a ``journal`` argument asks for, or None when journaling is off.

    ``True`` (and a template that renders ``"True"``) means the configured location, ``False``
    (``"False"``, ``"None"``, ``None``) no journal, any other string a directory URI. Checked
    before any request: a typo here must not surface after the writes.
    """
    if value is None or value is False:
        return None
    if value is True:
        return configured_dir()
    if not isinstance(value, (str, os.PathLike)):
        raise invalid(f"{argument} must be true, false or a directory URI, got {type(value).__name__}",
                      argument)
    text = os.fspath(value).strip()
    if text.lower() in _TRUE_WORDS:
        return configured_dir()
    if text.lower() in _FALSE_WORDS:
        return None
    return check_dir(text, argument)


def check_dir(text: str, argument: str) -> str:
    """A directory URI as written, or an absolute local path as a ``file://`` URI."""
    if not text:
        raise invalid(f"{argument} is empty: give true, false or a directory URI", argument)
    parts = urlsplit(text)
    if not parts.scheme or len(parts.scheme) == 1:  # no scheme (a Windows drive letter is none either)
        path = Path(os.path.expanduser(text))
        if not path.is_absolute():
            raise invalid(f"{argument} must be an absolute path or a URI such as s3://bucket/journal, "
                          f"got {text!r} (a relative path depends on the worker's directory)", argument)
        return "file://" + str(path).rstrip("/")
    if parts.scheme in LOCAL_PROTOCOLS and not parts.path.startswith("/"):
        raise invalid(f"{argument} must be an absolute file:// URI, got {text!r}", argument)
    if not parts.netloc and not parts.path.strip("/") and parts.scheme not in LOCAL_PROTOCOLS:
        raise invalid(f"{argument} names no bucket or directory: {text!r}", argument)
    return text.rstrip("/") if text.rstrip("/") else text


def configured_dir() -> str:
    """``[pagemeta] journal_dir`` (``AIRFLOW__PAGEMETA__JOURNAL_DIR``), else
    ``{AIRFLOW_HOME}/pagemeta/journal``."""
    configured = _config_value()
    if configured:
        return check_dir(configured, f"[{CONFIG_SECTION}] {CONFIG_OPTION}")
    home = os.path.expanduser(os.path.expandvars(os.environ.get("AIRFLOW_HOME", "~/airflow")))
    return "file://" + str(Path(home).resolve() / "pagemeta" / "journal")


def _config_value() -> str | None:
    env = os.environ.get("AIRFLOW__PAGEMETA__JOURNAL_DIR")
    if env is not None:  # read first: no need to load Airflow's config for the common case
        return env.strip() or None
    try:
        from airflow.providers.common.compat.sdk import conf
    except ImportError:  # pragma: no cover - Airflow always ships common.compat
        return None
    value = conf.get(CONFIG_SECTION, CONFIG_OPTION, fallback=None)
    return str(value).strip() or None if value is not None else None


def journal_uri(directory: str, identity: RunIdentity) -> str:
    """``<dir>/<dag_id>/<run_id>/<task_id>[.<map_index>].jsonl``."""
    return "/".join((directory.rstrip("/"), segment(identity.dag_id), segment(identity.run_id),
                     identity.file_name))


def run_journal_dir(dag_id: str, run_id: str, directory: Any = True) -> str:
    """The directory holding one DAG run's journals, ``<dir>/<dag_id>/<run_id>``, which a restore
    or a report takes whole. ``directory`` is read like an operator's ``journal`` argument."""
    base = resolve_setting(directory, "directory")
    if base is None:
        raise invalid("directory is off (False): there is no journal directory to name", "directory")
    for value, argument in ((dag_id, "dag_id"), (run_id, "run_id")):
        if not isinstance(value, str) or not value.strip():
            raise invalid(f"{argument} must be a non-empty string, got {value!r}", argument)
    return "/".join((base.rstrip("/"), segment(dag_id.strip()), segment(run_id.strip())))


def is_local(uri: str) -> bool:
    return urlsplit(uri).scheme in LOCAL_PROTOCOLS or len(urlsplit(uri).scheme) == 1


def local_path(uri: str) -> Path:
    """The file a local URI names (``file:///a/b`` or ``/a/b``). Taken literally, as fsspec takes
    it: nothing is percent-decoded, so the writer and every reader agree on the name."""
    for prefix in ("file://", "local://"):
        if uri.startswith(prefix):
            return Path(uri[len(prefix):])
    return Path(uri)


def storage_path(uri: str) -> Any:
    """An ``ObjectStoragePath`` (imported here: it pulls in fsspec, too heavy for DAG parsing)."""
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(uri)
