"""The project's own promises: docs/settings.md is generated from the settings module, the README points there
rather than keeping a table of its own, CI runs the README's test command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pulse.core.settings import REGENERATE_SETTINGS_PAGE, SETTINGS_PAGE, settings_markdown, settings_table

REPO = Path(__file__).resolve().parent.parent


def test_the_settings_page_is_generated_from_the_settings() -> None:
    """A new setting, or an edited description or default, fails here until the page is regenerated."""
    page = REPO / SETTINGS_PAGE
    assert page.is_file(), f"{SETTINGS_PAGE} is missing: run `{REGENERATE_SETTINGS_PAGE}`"
    assert page.read_text() == settings_markdown(), f"{SETTINGS_PAGE} is out of date: run `{REGENERATE_SETTINGS_PAGE}`"
    assert all(f"| `{env}` |" in page.read_text() for env, _, _ in settings_table())


def test_the_regenerate_command_prints_the_page() -> None:
    """What the page and the test above tell you to run prints exactly the page."""
    printed = subprocess.run(
        [sys.executable, "-m", "pulse", "settings", "--markdown"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert printed.stdout == settings_markdown()


def test_the_readme_links_the_settings_instead_of_listing_them() -> None:
    readme = (REPO / "README.md").read_text()
    assert SETTINGS_PAGE in readme
    listed = [env for env, _, _ in settings_table() if f"| `{env}` |" in readme]
    assert not listed, f"the README keeps no settings table (they are in {SETTINGS_PAGE}): {listed}"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
