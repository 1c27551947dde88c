"""The committed dbt sources file is what the operational models generate (no drift between layers)."""

from __future__ import annotations

from extractors.dbt_sources import SOURCES_FILE, render


def test_committed_sources_file_is_current() -> None:
    assert SOURCES_FILE.read_text() == render(), "run `pulse extract dbt-sources` and commit the result"
