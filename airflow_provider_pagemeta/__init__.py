"""Airflow 3 provider for updating page metadata in Webflow, ButterCMS, Hamgam and Buildin.

``NOTSET`` is the provider's own "leave as is" sentinel: ``None`` already means "remove" where a
CMS accepts null (a Buildin icon, a Hamgam value), so "not given" needs a value of its own.
Airflow has one too, but only in its private modules; a DAG that passes Airflow's ``NOTSET``
means the same thing, and :func:`is_notset` treats both alike without importing Airflow's.
"""

from __future__ import annotations

from typing import Any, Final

__version__ = "0.2.0"


class ArgNotSet:
    """The type of :data:`NOTSET`. One instance; falsy; survives copy and pickle as itself."""

    _instance: ArgNotSet | None = None

    def __new__(cls) -> ArgNotSet:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOTSET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "NOTSET"

    def __copy__(self) -> ArgNotSet:
        return self

    def __deepcopy__(self, memo: Any) -> ArgNotSet:
        return self


NOTSET: Final = ArgNotSet()


def is_notset(value: Any) -> bool:
    """True for this provider's ``NOTSET`` and for Airflow's own (its class is also named ``ArgNotSet``)."""
    if value is NOTSET:
        return True
    kind = type(value)
    return kind.__name__ == "ArgNotSet" and kind.__module__.startswith("airflow.")


__all__ = ["NOTSET", "ArgNotSet", "__version__", "is_notset"]
