"""ButterCMS completion trigger (filled in by the ButterCMS issue)."""
