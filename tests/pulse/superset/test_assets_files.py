"""superset_assets/ on its own (no Superset): what the importer adds to the YAML and the exporter takes away
again, the dbt docs reaching the datasets, the password never reaching a file, the query contexts."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pulse.core.console import PulseError
from pulse.core.settings import Settings
from pulse.metrics import load_metrics
from pulse.superset.assets import (
    ASSETS_DIR,
    MASKED_PASSWORD,
    STORED_PASSWORD_PLACEHOLDER,
    WEEK_STARTING_SUNDAY,
    build_bundle,
    complete_chart,
    complete_dataset,
    database_passwords,
    generated_columns,
    generated_metrics,
    load_assets,
    load_dbt_docs,
    normalise_chart,
    normalise_dashboard,
    normalise_database,
    normalise_dataset,
    read_bundle,
    stable_chart_id,
)
from pulse.superset.query_context import build, supports


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, Any]], Settings]:
    home = tmp_path_factory.mktemp("assets-home")
    settings = Settings(home=home, clickhouse_url="http://default:@warehouse.internal:9123")
    return read_bundle(build_bundle(load_assets(), settings)), settings


def test_bundle_has_metadata_and_one_top_folder(tmp_path: Path) -> None:
    archive = build_bundle(load_assets(), Settings(home=tmp_path))
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert {n.split("/", 1)[0] for n in names} == {"pulse_assets"}
    metadata = yaml.safe_load(zipfile.ZipFile(io.BytesIO(archive)).read("pulse_assets/metadata.yaml"))
    assert metadata["version"] == "1.0.0" and metadata["type"] == "assets"


def test_database_points_at_the_settings_warehouse_without_password(bundle: Any) -> None:
    files, settings = bundle
    [database] = [c for p, c in files.items() if p.startswith("databases/")]
    assert database["sqlalchemy_uri"] == f"clickhousedb://pulse_reader:{MASKED_PASSWORD}@warehouse.internal:9123/marts"
    password = settings.reader_password()
    # Superset stores no warehouse password at all: its connection mutator sets each user's identity.
    assert database_passwords(load_assets(), settings) == {
        "databases/pulse_warehouse.yaml": STORED_PASSWORD_PLACEHOLDER
    }
    assert not any(password in yaml.safe_dump(c) for c in files.values())
    assert not any(password in path.read_text() for path in ASSETS_DIR.rglob("*.yaml"))


def test_dataset_columns_and_descriptions_come_from_dbt(bundle: Any) -> None:
    files, _ = bundle
    docs = load_dbt_docs()
    dataset = files["datasets/pulse_warehouse/mart_vending_daily.yaml"]
    doc = docs["mart_vending_daily"]
    assert dataset["description"] == doc.description
    assert [c["column_name"] for c in dataset["columns"]] == [c.name for c in doc.columns]
    by_name = {c["column_name"]: c for c in dataset["columns"]}
    assert by_name["hospital_id"]["description"] == "Hospital (dim_hospitals)."
    assert by_name["day"]["is_dttm"] is True and by_name["hospital_id"]["is_dttm"] is False
    assert by_name["revenue_reporting"]["verbose_name"] == "Revenue, RUB"
    committed = yaml.safe_load((ASSETS_DIR / "datasets/pulse_warehouse/mart_vending_daily.yaml").read_text())
    assert "columns" not in committed  # written once, in dbt
    revenue = next(m for m in dataset["metrics"] if m["metric_name"] == "revenue")
    assert revenue["description"] == "Sum of: Revenue of completed vends, reporting currency."


def test_every_supported_chart_gets_a_query_context(bundle: Any) -> None:
    files, _ = bundle
    charts = [c for p, c in files.items() if p.startswith("charts/")]
    assert len(charts) == len(list((ASSETS_DIR / "charts").glob("*.yaml"))) >= 113  # every file, none dropped
    for chart in charts:
        assert supports(chart["viz_type"]), chart["slice_name"]
        context = json.loads(chart["query_context"])
        [query] = context["queries"]
        assert query["metrics"] or query["columns"], chart["slice_name"]
    committed = [yaml.safe_load(p.read_text()) for p in (ASSETS_DIR / "charts").glob("*.yaml")]
    assert not any("query_context" in c for c in committed)


def test_import_then_export_normalisation_is_identity() -> None:
    """What the importer completes, the exporter removes: every committed file survives the trip unchanged
    (Superset adds its ids and defaults in between; they are simulated here, and checked for real in
    test_import_export.py)."""
    assets = load_assets()
    docs = load_dbt_docs()
    settings = Settings(home=Path("/nonexistent"), warehouse_reader_password="x")
    files = read_bundle(build_bundle(assets, settings, docs))
    for path, completed in files.items():
        kind = path.split("/", 1)[0]
        if kind == "databases":
            back = normalise_database(completed)
        elif kind == "datasets":
            back = normalise_dataset(completed, docs)
        elif kind == "charts":
            back = normalise_chart({**completed, "params": {**completed["params"], "datasource": "42__table"}})
        else:
            back = normalise_dashboard(completed)
        assert back == assets.files[path], path


def test_dashboard_chart_ids_are_stable_numbers_of_uuids() -> None:
    dashboard = yaml.safe_load((ASSETS_DIR / "dashboards" / "executive_overview.yaml").read_text())
    charts = [n for n in dashboard["position"].values() if isinstance(n, dict) and n.get("type") == "CHART"]
    assert charts and all(n["meta"]["chartId"] == stable_chart_id(n["meta"]["uuid"]) for n in charts)
    # Superset's instance ids are mapped back to those numbers on export.
    live = json.loads(json.dumps(dashboard))
    for number, node in enumerate(
        n for n in live["position"].values() if isinstance(n, dict) and n.get("type") == "CHART"
    ):
        node["meta"]["chartId"] = number + 1
    assert normalise_dashboard(live) == dashboard


def test_dataset_metrics_are_the_metrics_layer(bundle: Any) -> None:
    """No dataset file declares a metric; every dataset's metrics in the bundle are its model's layer."""
    files, _ = bundle
    layer = load_metrics()
    for path in (ASSETS_DIR / "datasets").rglob("*.yaml"):
        assert "metrics" not in yaml.safe_load(path.read_text()), path
    datasets = [c for p, c in files.items() if p.startswith("datasets/")]
    # The kit breakdown of the hospital statement is on no dashboard (so not a dataset a manager could open).
    assert {m.model for m in layer} - {d["table_name"] for d in datasets} == {"mart_hospital_kit_sales_monthly"}
    assert sum(len(d["metrics"]) for d in datasets) == len(
        [m for m in layer if m.model != "mart_hospital_kit_sales_monthly"]
    )
    for dataset in datasets:
        own = {m.name: m for m in layer if m.model == dataset["table_name"]}
        assert {m["metric_name"]: m["expression"] for m in dataset["metrics"]} == {n: m.sql for n, m in own.items()}
    rate = next(m for d in datasets for m in d["metrics"] if m["metric_name"] == "effective_commission_rate")
    assert rate["expression"].startswith("toFloat64(sum(commission_reporting)) / ") and rate["d3format"] == ".2%"


def test_a_metric_written_into_superset_is_refused() -> None:
    docs = load_dbt_docs()
    dataset = yaml.safe_load((ASSETS_DIR / "datasets/pulse_warehouse/mart_funnel.yaml").read_text())
    with_metric = {**dataset, "metrics": [{"metric_name": "paid_share", "expression": "SUM(paid) / SUM(leads)"}]}
    with pytest.raises(PulseError, match="declares metrics: paid_share") as refused:
        complete_dataset(with_metric, docs)
    assert "config.meta.metrics" in refused.value.hint
    # An export whose metric was edited in Superset's UI: refused, naming the file to change instead.
    completed = complete_dataset(dataset, docs)
    completed["metrics"][0] = {**completed["metrics"][0], "expression": "SUM(leads) + 1"}
    with pytest.raises(PulseError, match="total_leads in Superset differ from the metrics layer"):
        normalise_dataset(completed, docs)


def test_query_context_of_a_grouped_timeseries() -> None:
    params = {
        "viz_type": "echarts_timeseries_bar",
        "x_axis": "month",
        "time_grain_sqla": "P1M",
        "metrics": ["spend"],
        "groupby": ["channel"],
        "adhoc_filters": [
            {
                "clause": "WHERE",
                "subject": "month",
                "operator": "TEMPORAL_RANGE",
                "comparator": "No filter",
                "expressionType": "SIMPLE",
            },
            {"clause": "HAVING", "expressionType": "SQL", "sqlExpression": "SUM(spend_reporting) > 0"},
        ],
        "row_limit": 100,
    }
    [query] = build(params)["queries"]
    assert query["columns"][0] == {
        "timeGrain": "P1M", "columnType": "BASE_AXIS", "sqlExpression": "month", "label": "month",
        "expressionType": "SQL", "isColumnReference": True,
    }  # fmt: skip
    assert query["columns"][1:] == ["channel"] and query["series_columns"] == ["channel"]
    assert query["filters"] == [{"col": "month", "op": "TEMPORAL_RANGE", "val": "No filter"}]
    assert query["extras"] == {"time_grain_sqla": "P1M", "having": "(SUM(spend_reporting) > 0)", "where": ""}
    assert query["orderby"] == [["spend", False]] and query["row_limit"] == 100
    assert query["post_processing"][0]["options"]["columns"] == ["channel"]


def test_query_context_of_a_raw_table() -> None:
    """A table of rows (query_mode raw) sends no metrics at all, as the frontend does: with an empty list Superset
    would group by the columns (and refuse the ORDER BY on a column not shown)."""
    params = {"viz_type": "table", "query_mode": "raw", "all_columns": ["call_time", "recording_link"],
              "order_by_cols": [["started_at", False]], "row_limit": 200, "adhoc_filters": []}  # fmt: skip
    [query] = build(params)["queries"]
    assert query["metrics"] is None
    assert query["columns"] == ["call_time", "recording_link"] and query["orderby"] == [["started_at", False]]
    assert query["row_limit"] == 200


@pytest.mark.parametrize(
    ("profile", "header", "currency"),
    [("ru-clinics", "Revenue, RUB", {"symbol": "RUB", "symbolPosition": "suffix"}),
     ("us-vending", "Revenue, USD", {"symbol": "USD", "symbolPosition": "prefix"})],
)  # fmt: skip
def test_money_shows_in_the_business_currency_the_readers_way(
    process_settings: Callable[..., None], profile: str, header: str, currency: dict[str, str]
) -> None:
    process_settings(PULSE_DEMO_PROFILE=profile)
    doc = load_dbt_docs()["mart_vending_daily"]
    columns = {c["column_name"]: c for c in generated_columns(doc)}
    metrics = {m["metric_name"]: m for m in generated_metrics(doc)}
    assert columns["revenue_reporting"]["verbose_name"] == header
    assert metrics["revenue"]["currency"] == currency
    assert metrics["total_vends"]["currency"] is None


@pytest.mark.parametrize(("profile", "grain"), [("ru-clinics", "P1W"), ("us-vending", WEEK_STARTING_SUNDAY)])
def test_weekly_charts_group_by_the_business_week(
    process_settings: Callable[..., None], profile: str, grain: str
) -> None:
    process_settings(PULSE_DEMO_PROFILE=profile)
    chart = load_assets().files["charts/exec_leads_by_week.yaml"]
    imported = complete_chart(chart)
    assert chart["params"]["time_grain_sqla"] == "P1W"
    assert imported["params"]["time_grain_sqla"] == grain
    assert json.loads(imported["query_context"])["form_data"]["time_grain_sqla"] == grain
    assert normalise_chart(imported)["params"]["time_grain_sqla"] == "P1W"  # exported as written
