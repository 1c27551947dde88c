"""Where the repository's non-Python parts are (one place, so moving a module never breaks a path)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO / "dbt_project"
DAGS_DIR = REPO / "dags"
SUPERSET_ASSETS_DIR = REPO / "superset_assets"
# Superset's own configuration and bootstrap: they run in Superset's environment (.venv-superset or its image).
SUPERSET_DIR = REPO / "docker" / "superset"
