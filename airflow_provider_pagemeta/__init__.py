"""Airflow 3 provider for updating page metadata in Webflow, ButterCMS, Hamgam and Buildin."""

__version__ = "0.1.0"

__all__ = ["__version__"]
