"""The project's own promises: the README documents every setting, CI runs the README's test command."""

from __future__ import annotations

from pathlib import Path

from pulse.core.settings import settings_table

REPO = Path(__file__).resolve().parent.parent


def test_readme_documents_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [env for env, _, _ in settings_table() if f"`{env}`" not in readme]
    assert not missing, f"add these to the README's settings table: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
