"""`pulse dbt-docs`: the documentation site is generated (also against a warehouse where nothing is built yet) and
served in the background as a platform service that `pulse status` reports and `pulse down` stops."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from pulse.core.settings import Settings
from pulse.dbt import docs as dbt_docs
from pulse.platform import lineup
from tests.conftest import WarehouseProcess, free_port

pytestmark = pytest.mark.xdist_group("dbt_project")


def test_docs_are_generated_and_served_as_a_service(
    tmp_path: Path, new_warehouse: Callable[..., WarehouseProcess]
) -> None:
    server = new_warehouse()
    settings = Settings(home=tmp_path / "home", clickhouse_url=server.admin_url, dbt_docs_port=free_port())
    pid = dbt_docs.start(settings)
    try:
        page = httpx.get(dbt_docs.url(settings), timeout=10)
        assert page.status_code == 200 and "dbt" in page.text
        manifest = httpx.get(dbt_docs.url(settings) + "manifest.json", timeout=10).json()
        models = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
        assert {"mart_vending_daily", "int_vend_daily", "fct_vend_transactions"} <= models
        catalog = json.loads((dbt_docs.site_dir(settings) / "catalog.json").read_text())
        assert "nodes" in catalog
        # The site has its own target path: the runs' target (rewritten by every dbt run in Airflow) holds none of it.
        assert not any((settings.home / "dbt" / "target" / name).exists() for name in dbt_docs.SITE_FILES)
        rows = {name: (service_pid, healthy) for name, service_pid, healthy, _ in lineup.status(settings)}
        assert rows["dbt-docs"] == (pid, True)
        assert dbt_docs.start(settings) == pid  # idempotent: the running site is kept
    finally:
        assert dbt_docs.stop(settings)
    rows = {name: (service_pid, healthy) for name, service_pid, healthy, _ in lineup.status(settings)}
    assert rows["dbt-docs"] == (None, False)
