"""Operators for webflow (filled in by its CMS issue)."""
