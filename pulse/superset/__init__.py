"""Superset as Pulse runs it: its environment, the assets as code, roles and row-level security, the CLI."""
