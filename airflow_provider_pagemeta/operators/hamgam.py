"""Operators for hamgam (filled in by its CMS issue)."""
