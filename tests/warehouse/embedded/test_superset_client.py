"""Superset's own client stack (clickhouse-connect 0.15.x + SQLAlchemy 1.4, in .venv-superset) against the warehouse.

Superset pins clickhouse-connect < 1.0 and SQLAlchemy < 2, so it cannot be imported here: the checks live in
superset_venv_checks.py and run with .venv-superset's Python against this session's real warehouse process.
Each check below is one test, and proves for that older client what test_clickhouse_connect.py proves for 1.12
(typed inserts and reads through Native and Arrow, insert_df/insert_arrow, 1M-row streaming, session temporary
tables, server-side parameters, compression), plus the `clickhousedb://` SQLAlchemy dialect Superset uses:
inspector listings of schemas, tables and columns, and a GROUP BY with bound parameters.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SUPERSET_PYTHON

SCRIPT = Path(__file__).with_name("superset_venv_checks.py")
CHECKS = [
    "versions",
    "query_and_command",
    "typed_insert_query",
    "typed_query_df",
    "typed_query_arrow",
    "insert_df",
    "insert_arrow",
    "streaming",
    "temp_table_in_session",
    "server_side_parameters",
    "compression",
    "sqlalchemy_inspector",
    "sqlalchemy_group_by_with_parameters",
]

# One run of the script serves all checks: keep them on one xdist worker.
pytestmark = [pytest.mark.superset, pytest.mark.xdist_group("superset_client")]


@pytest.fixture(scope="session")  # once per xdist worker, even if other modules' tests interleave
def report(warehouse: Any) -> dict[str, Any]:
    if not SUPERSET_PYTHON.exists():
        pytest.fail(f"{SUPERSET_PYTHON} is missing: run `make install` to create .venv-superset")
    done = subprocess.run(
        [
            str(SUPERSET_PYTHON),
            str(SCRIPT),
            "--port",
            str(warehouse.port),
            "--password-file",
            str(warehouse.home / "secrets" / "warehouse_default_password"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        pytest.fail(f"superset_venv_checks.py exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def test_report_has_every_check(report: dict[str, Any]) -> None:
    assert sorted(report["checks"]) == sorted(CHECKS), report["versions"]


@pytest.mark.parametrize("name", CHECKS)
def test_check(report: dict[str, Any], name: str) -> None:
    result = report["checks"].get(name)
    assert result is not None, f"check {name} did not run"
    assert result["ok"], f"{name} failed under {report['versions']}:\n{result['detail']}"
