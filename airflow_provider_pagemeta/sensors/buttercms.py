"""ButterCMS completion sensor (filled in by the ButterCMS issue)."""
