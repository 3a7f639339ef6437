"""Operators for buildin (filled in by its CMS issue)."""
