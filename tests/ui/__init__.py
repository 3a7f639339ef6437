"""Connection-form checks: the API's hook metadata and the rendered form in a real browser."""
