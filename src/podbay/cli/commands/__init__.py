"""One module per verb; each exposes ``command`` (a click command or group)."""
