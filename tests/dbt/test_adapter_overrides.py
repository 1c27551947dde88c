"""The adapter overrides (dbt_project/macros/adapter_overrides) were written against one dbt-clickhouse version:
any other fails here, so an upgrade re-reads them first (their README says what each one replaces and why)."""

from __future__ import annotations

import re
from importlib.metadata import version

from pulse.dbt.runner import PROJECT_DIR

OVERRIDES = PROJECT_DIR / "macros" / "adapter_overrides"


def test_the_adapter_is_the_version_the_overrides_were_written_for() -> None:
    readme = (OVERRIDES / "README.md").read_text()
    written_for = re.search(r"Written for \*\*dbt-clickhouse ([\d.]+)\*\* and \*\*dbt-core ([\d.]+)\*\*", readme)
    assert written_for, "the README must say which versions the overrides were written for"
    assert version("dbt-clickhouse") == written_for.group(1), "re-read every override against the new adapter"
    assert version("dbt-core").startswith(written_for.group(2) + "."), "re-read every override against new dbt-core"


def test_every_override_is_listed_and_only_overrides_are_here() -> None:
    readme = (OVERRIDES / "README.md").read_text()
    files = sorted(p.name for p in OVERRIDES.glob("*.sql"))
    assert files and all(f"`{name}`" in readme for name in files)
    overridden = {
        "clickhouse__incremental_delete_insert", "clickhouse__create_table_as", "should_full_refresh",
        "clickhouse__get_where_subquery",
    }  # fmt: skip
    defined = {m for p in OVERRIDES.glob("*.sql") for m in re.findall(r"\{%-? macro (\w+)\(", p.read_text())}
    assert defined == overridden
    elsewhere = {
        m for p in (PROJECT_DIR / "macros").glob("*.sql") for m in re.findall(r"\{%-? macro (\w+)\(", p.read_text())
    }
    assert not elsewhere & overridden
    assert "materialization view" in (OVERRIDES / "view_materialization.sql").read_text()
