"""The metrics layer (pulse/metrics.py): declarations in the dbt YAML, the mistakes it refuses, and ratios of
Decimal money computed at full precision on the real embedded warehouse."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from pulse.core.console import PulseError
from pulse.core.paths import REPO
from pulse.metrics import MARTS_DIR, load_metrics, model_metrics, named
from reports.executive_weekly import KPI_GROUPS
from tests.conftest import WarehouseProcess


def test_the_marts_declare_their_metrics() -> None:
    metrics = load_metrics()
    assert len(metrics) >= 80
    models = {path.stem for path in MARTS_DIR.glob("mart_*.yml")}
    assert {m.model for m in metrics} == models  # every mart has metrics
    for metric in metrics:
        assert metric.label and metric.label_ru, metric.name
        assert metric.dimensions, metric.name
    [rate] = named("mart_hospital_commissions_monthly", "effective_commission_rate")
    assert rate.sql == "toFloat64(sum(commission_reporting)) / nullIf(toFloat64(sum(net_sales_reporting)), 0)"
    assert rate.unit == "ratio" and rate.label_ru == "Ставка комиссии"
    [revenue] = named("mart_vending_daily", "revenue")
    assert revenue.unit == "money" and revenue.description == "Sum of: Revenue of completed vends, reporting currency."


def test_the_readme_example_adds_a_valid_metric() -> None:
    """README "Add a metric": its YAML block, appended to the mart it names, compiles to a full-precision ratio."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Add a metric", 1)[1]
    mart = re.search(r"dbt_project/models/marts/(\w+)\.yml", section)
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert mart and block
    path = MARTS_DIR / f"{mart.group(1)}.yml"
    [model] = yaml.safe_load(path.read_text())["models"]
    [example] = yaml.safe_load(block.group(1))
    model["config"]["meta"]["metrics"].append(example)
    added = model_metrics(path, model)[-1]
    assert added.name == example["name"] and added.is_ratio
    assert added.sql == "toFloat64(sum(refunded_vends)) / nullIf(toFloat64(sum(completed_vends)), 0)"
    kpi = re.search(r'Kpi\("(\w+)", "(\w+)"', section)  # the report line it tells you to add
    assert kpi and kpi.group(1) == added.name and kpi.group(2) in KPI_GROUPS


def write_model(tmp_path: Path, metrics: list[dict[str, object]], dimensions: list[str] | None = None) -> Path:
    model = {
        "name": "mart_t",
        "config": {"meta": {"dimensions": dimensions or ["day"], "metrics": metrics}},
        "columns": [{"name": "day", "data_type": "Date"}, {"name": "paid", "data_type": "UInt64"}],
    }
    (tmp_path / "mart_t.yml").write_text(yaml.safe_dump({"version": 2, "models": [model]}))
    return tmp_path


LABELS = {"label": "Paid", "label_ru": "Оплатили"}


@pytest.mark.parametrize(
    ("metrics", "dimensions", "refusal"),
    [
        ([{"name": "paid", "sql": "sum(paid)", **LABELS}], None, "named like a column"),
        ([{"name": "share", "sql": "sum(paid) / count()", **LABELS}], None, "division in sql truncates"),
        ([{"name": "share", "sql": "divide(sum(paid), count())", **LABELS}], None, "division in sql truncates"),
        ([{"name": "total_paid", "sql": "sum(paid)", "unit": "euros", **LABELS}], None, "unit 'euros'"),
        ([{"name": "total_paid", "sql": "sum(paid)", "label": "Paid"}], None, "label_ru is missing"),
        ([{"name": "total_paid", "sql": "sum(paid)", "ratio": {}, **LABELS}], None, "either sql or ratio"),
        ([{"name": "r", "ratio": {"numerator": "x"}, **LABELS}], None, "numerator and a denominator"),
        (
            [{"name": "r", "ratio": {"numerator": "sum(paid) / 2", "denominator": "count()"}, **LABELS}],
            None,
            "division in the numerator",
        ),
        ([{"name": "total_paid", "sql": "sum(paid)", "colour": "red", **LABELS}], None, "unknown keys colour"),
        ([{"name": "total_paid", "sql": "sum(paid)", **LABELS}] * 2, None, "declared twice"),
        ([{"name": "total_paid", "sql": "sum(paid)", **LABELS}], ["hospital"], "not columns: hospital"),
        ([{"name": "Total", "sql": "sum(paid)", **LABELS}], None, "not a lower-case identifier"),
    ],
)
def test_mistakes_in_a_declaration_are_refused(
    tmp_path: Path, metrics: list[dict[str, object]], dimensions: list[str] | None, refusal: str
) -> None:
    with pytest.raises(PulseError, match=refusal) as refused:
        load_metrics(write_model(tmp_path, metrics, dimensions))
    assert "mart_t" in str(refused.value) and refused.value.hint


def test_a_ratio_of_decimal_money_keeps_full_precision(tmp_path: Path, warehouse: WarehouseProcess) -> None:
    """The statement's 35,941.49 / 552,946.00 is 6.5%; Decimal(38, 2) / Decimal(38, 2) in ClickHouse says 6%."""
    [rate] = load_metrics(
        write_model(
            tmp_path,
            [
                {"name": "commission", "sql": "sum(commission_reporting)", "unit": "money", **LABELS},
                {"name": "net_sales", "sql": "sum(net_sales_reporting)", "unit": "money", **LABELS},
                {"name": "rate", "ratio": {"numerator": "commission", "denominator": "net_sales"}, **LABELS},
            ],
        )
    )[2:]
    client = warehouse.client()
    database = f"metrics_{uuid.uuid4().hex[:8]}"
    client.command(f"CREATE DATABASE {database}")
    try:
        client.command(
            f"CREATE TABLE {database}.t (net_sales_reporting Nullable(Decimal(38, 2)), commission_reporting Nullable(Decimal(38, 2)))"
            " ENGINE = MergeTree ORDER BY tuple()"
        )
        rows = [(Decimal("552946.00"), Decimal("35941.49")), (Decimal("1000.01"), Decimal("60.00")), (None, None)]
        client.insert(f"{database}.t", rows, column_names=["net_sales_reporting", "commission_reporting"])
        [[value]] = client.query(f"SELECT {rate.sql} FROM {database}.t").result_rows
        expected = Decimal("36001.49") / Decimal("553946.01")
        assert value == pytest.approx(float(expected), rel=1e-12)
        # What the hand-written Superset metric computed: the ratio truncated to two decimals.
        [[truncated]] = client.query(
            f"SELECT sum(commission_reporting) / nullIf(sum(net_sales_reporting), 0) FROM {database}.t"
        ).result_rows
        assert truncated == Decimal("0.06")
        [[empty]] = client.query(f"SELECT {rate.sql} FROM {database}.t WHERE net_sales_reporting IS NULL").result_rows
        assert empty is None  # no sales: no rate, not a division by zero
    finally:
        client.command(f"DROP DATABASE {database}")
