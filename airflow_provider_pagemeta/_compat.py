"""Airflow names whose public home moved between the supported Airflow releases.

Airflow 3.2 moved the task exceptions into the task SDK (``airflow.sdk.exceptions``); on 3.1 that
module holds only ``AirflowException`` and the classes live in ``airflow.exceptions``, where the
3.1 task runner catches them. 3.2 and later keep the old path as a deprecated alias of the same
class, so the SDK location is tried first and the 3.1 one only where it is the real home: the
provider never triggers a deprecation warning on a current Airflow, and on 3.1 it raises the very
classes the task runner handles (a ``AirflowFailException`` still fails a task without retries).

Every module of the provider imports these names from here, never from either Airflow path.
``apache-airflow-providers-common-compat`` offers the same names, but only from releases newer
than the one Airflow 3.1 requires, and the provider adds no runtime dependency for five names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowException

if TYPE_CHECKING:
    from airflow.sdk.exceptions import (
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )
else:
    try:  # Airflow 3.2 and later
        from airflow.sdk.exceptions import (
            AirflowFailException,
            AirflowNotFoundException,
            AirflowSensorTimeout,
            AirflowSkipException,
            TaskDeferred,
        )
    except ImportError:  # Airflow 3.1
        from airflow.exceptions import (
            AirflowFailException,
            AirflowNotFoundException,
            AirflowSensorTimeout,
            AirflowSkipException,
            TaskDeferred,
        )

__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "TaskDeferred",
]
