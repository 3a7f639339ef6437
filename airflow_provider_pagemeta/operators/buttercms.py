"""Operators for buttercms (filled in by its CMS issue)."""
