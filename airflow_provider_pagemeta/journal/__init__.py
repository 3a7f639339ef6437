"""The change journal: what every writing task changed, failed to change, or would change.

Every operator that writes (single-page and bulk, all four CMSs, and
:class:`~airflow_provider_pagemeta.operators.restore.PageMetaRestoreOperator`) appends one JSON
line per page to ``<dir>/<dag_id>/<run_id>/<task_id>[.<map_index>].jsonl``, flushed page by page,
with the values read before the write (``old``) and written (``new``). A journal is what a
reviewer approves (:func:`render_report` as Markdown in an approval's body), what a browser shows
(:func:`render_report` as HTML) and what a restore puts back.

- :func:`read_journal` — the entries of a journal (a file, or a directory of them), checked;
- :func:`render_report` — a Markdown or self-contained HTML report of journals or entries;
- :func:`write_report` — the same, written next to the journals (``report.html``);
- :func:`run_journal_dir` — where one DAG run's journals are (to restore or report a whole run).

The entry shape is :class:`~airflow_provider_pagemeta.types.JournalEntry`. Where journals go:
the operator's ``journal`` argument, else ``[pagemeta] journal_dir``, else
``{AIRFLOW_HOME}/pagemeta/journal``; any ``ObjectStoragePath`` URI works (``s3://``, ``gs://``).
"""

from __future__ import annotations

from airflow_provider_pagemeta.journal.location import configured_dir, journal_uri, resolve_setting, run_journal_dir
from airflow_provider_pagemeta.journal.reader import read_journal
from airflow_provider_pagemeta.journal.report import render_report, write_report
from airflow_provider_pagemeta.journal.tasks import journal_page, run_journaled
from airflow_provider_pagemeta.journal.writer import JournalWriter

__all__ = [
    "JournalWriter",
    "configured_dir",
    "journal_page",
    "journal_uri",
    "read_journal",
    "render_report",
    "resolve_setting",
    "run_journal_dir",
    "run_journaled",
    "write_report",
]
