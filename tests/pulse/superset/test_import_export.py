"""`pulse superset import` into an empty Superset and again into a populated one (no duplicates, changes
applied, roles and RLS converged), and `export` right after `import` writing nothing back (the round trip)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from pulse.superset.assets import ASSETS_DIR, KINDS, export_assets, import_assets
from tests.pulse.superset.conftest import Imported, SupersetStack, chart_ids, count_objects

pytestmark = [pytest.mark.superset, pytest.mark.xdist_group("superset")]

API_KIND = {"databases": "database", "datasets": "dataset", "charts": "chart", "dashboards": "dashboard"}


def expected_counts(imported: Imported) -> dict[str, int]:
    return {API_KIND[kind]: sum(1 for p in imported.assets_files if p.startswith(f"{kind}/")) for kind in KINDS}


def security_state(stack: SupersetStack) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    admin = stack.admin()
    roles = sorted(r["name"] for r in admin.listing("security/roles"))
    rls = sorted((f["name"], f["clause"]) for f in admin.listing("rowlevelsecurity"))
    users = sorted(u["username"] for u in admin.listing("security/users"))
    return roles, rls, users


def test_first_import_creates_every_object_once(superset_stack: SupersetStack, imported: Imported) -> None:
    assert imported.before == {"database": 0, "dataset": 0, "chart": 0, "dashboard": 0}
    expected = expected_counts(imported)
    on_disk = {API_KIND[kind]: len(list((ASSETS_DIR / kind).rglob("*.yaml"))) for kind in KINDS}
    assert expected == on_disk and expected["database"] == 1 and expected["chart"] >= 113  # every file, none dropped
    assert count_objects(superset_stack.admin()) == expected
    hospitals = superset_stack.warehouse_client().query("SELECT count() FROM marts.dim_hospitals").result_rows[0][0]
    assert hospitals >= 2
    assert imported.summary.security.rls_filters == hospitals
    usernames = [u for u, _, _ in imported.summary.security.users]
    reps = [f"rep_{i}" for (i,) in superset_stack.warehouse_client().query(
        "SELECT sales_rep_id FROM marts.dim_sales_reps ORDER BY sales_rep_id").result_rows]  # fmt: skip
    assert len(reps) >= 2  # the simulator's reps, one user each
    assert usernames == [
        *["executive", "analyst", "manager_h001", "manager_h002", "manager_h003"][: 2 + min(3, hospitals)],
        *reps,
    ]


def test_second_import_updates_in_place(superset_stack: SupersetStack, imported: Imported, tmp_path: Path) -> None:
    """Import a changed copy (chart title, dashboard title, dataset description): applied, nothing duplicated."""
    admin = superset_stack.admin()
    security_before = security_state(superset_stack)
    changed = tmp_path / "superset_assets"
    shutil.copytree(ASSETS_DIR, changed)
    chart_file = changed / "charts" / "exec_vending_revenue.yaml"
    chart = yaml.safe_load(chart_file.read_text())
    chart["slice_name"] = "Vending revenue (edited in YAML)"
    chart_file.write_text(yaml.safe_dump(chart, sort_keys=False, allow_unicode=True))
    dashboard_file = changed / "dashboards" / "receivables.yaml"
    dashboard = yaml.safe_load(dashboard_file.read_text())
    dashboard["dashboard_title"] = "Receivables (edited in YAML)"
    dashboard_file.write_text(yaml.safe_dump(dashboard, sort_keys=False, allow_unicode=True))
    dataset_file = changed / "datasets" / "pulse_warehouse" / "mart_receivables.yaml"
    dataset = yaml.safe_load(dataset_file.read_text())
    dataset["description"] = "Invoices (edited in YAML)"
    dataset_file.write_text(yaml.safe_dump(dataset, sort_keys=False, allow_unicode=True))
    try:
        import_assets(admin, superset_stack.settings, changed)
        assert count_objects(admin) == expected_counts(imported)
        ids = chart_ids(admin, imported.assets_files)
        assert admin.get(f"/api/v1/chart/{ids['exec_vending_revenue']}")["result"]["slice_name"] == chart["slice_name"]
        titles = {d["slug"]: d["dashboard_title"] for d in admin.listing("dashboard")}
        assert titles["receivables"] == "Receivables (edited in YAML)"
        datasets = {d["table_name"]: d["id"] for d in admin.listing("dataset")}
        described = admin.get(f"/api/v1/dataset/{datasets['mart_receivables']}")["result"]["description"]
        assert described == "Invoices (edited in YAML)"
        assert security_state(superset_stack) == security_before  # roles, RLS filters, users: converged, not added
    finally:
        import_assets(admin, superset_stack.settings)  # the repository's version again, for the other tests
    assert admin.get(f"/api/v1/chart/{ids['exec_vending_revenue']}")["result"]["slice_name"] == "Vending revenue"


def test_export_right_after_import_writes_nothing(
    superset_stack: SupersetStack, imported: Imported, tmp_path: Path
) -> None:
    copy = tmp_path / "superset_assets"
    shutil.copytree(ASSETS_DIR, copy)
    result = export_assets(superset_stack.admin(), copy)
    assert result.written == []
    assert result.only_in_repository == []
    assert len(result.unchanged) == len(imported.assets_files)


def test_export_writes_back_a_change_made_in_superset(
    superset_stack: SupersetStack, imported: Imported, tmp_path: Path
) -> None:
    """A chart renamed through Superset's API (as the UI does) comes back into its own file, and only that."""
    admin = superset_stack.admin()
    chart_id = chart_ids(admin, imported.assets_files)["cc_missed"]
    admin.put(f"/api/v1/chart/{chart_id}", {"slice_name": "Missed inbound calls"})
    copy = tmp_path / "superset_assets"
    shutil.copytree(ASSETS_DIR, copy)
    try:
        result = export_assets(admin, copy)
    finally:
        admin.put(f"/api/v1/chart/{chart_id}", {"slice_name": "Missed calls"})
    assert result.written == ["charts/cc_missed.yaml"]
    exported = yaml.safe_load((copy / "charts" / "cc_missed.yaml").read_text())
    original = yaml.safe_load((ASSETS_DIR / "charts" / "cc_missed.yaml").read_text())
    assert exported == {**original, "slice_name": "Missed inbound calls"}
