"""Every chart's data through Superset's chart-data API: rows for each, key figures equal to the marts queried
directly, row-level security for hospital managers, SQL Lab for analysts on the marts only."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pulse.metrics import compile_query, load_metrics
from pulse.metrics import month as metrics_month
from pulse.superset.api import SupersetClient, SupersetError
from tests.pulse.superset.conftest import Imported, SupersetStack

pytestmark = [pytest.mark.superset, pytest.mark.xdist_group("superset")]


def rows(stack: SupersetStack, charts: dict[str, int], chart: str, username: str | None = None) -> list[dict[str, Any]]:
    client = stack.login(username) if username else stack.admin()
    result = client.chart_data(charts[chart], force=True)
    assert len(result) == 1 and result[0]["status"] == "success", result
    data: list[dict[str, Any]] = result[0]["data"]
    return data


def scalar(stack: SupersetStack, sql: str) -> float:
    value = stack.warehouse_client().query(sql).result_rows[0][0]
    return float(value) if isinstance(value, Decimal | int | float) else value


def test_every_chart_returns_rows(superset_stack: SupersetStack, imported: Imported, charts: dict[str, int]) -> None:
    admin = superset_stack.admin()
    assert len(charts) == sum(1 for p in imported.assets_files if p.startswith("charts/"))
    empty, failed = [], {}
    for name, chart_id in sorted(charts.items()):
        try:
            result = admin.chart_data(chart_id, force=True)
        except SupersetError as err:
            failed[name] = str(err)[:300]
            continue
        if not result or result[0]["rowcount"] == 0:
            empty.append(name)
    assert failed == {}
    assert empty == []


def test_big_numbers_equal_their_metric_on_the_mart(
    superset_stack: SupersetStack, imported: Imported, charts: dict[str, int]
) -> None:
    """Each headline number equals its metric from the metrics layer, run straight on the warehouse (no filter
    slipped in; ratios to 1e-9, so a truncated Decimal ratio fails)."""
    datasets = {str(c["uuid"]): c for p, c in imported.assets_files.items() if p.startswith("datasets/")}
    layer = {(m.model, m.name): m for m in load_metrics()}
    checked = 0
    for path, chart in imported.assets_files.items():
        if not path.startswith("charts/") or chart["viz_type"] != "big_number_total":
            continue
        model = datasets[str(chart["dataset_uuid"])]["table_name"]
        metric = layer[(model, chart["params"]["metric"])]
        expected = scalar(superset_stack, f"SELECT {metric.sql} FROM {metric.table}")
        [row] = rows(superset_stack, charts, path.removeprefix("charts/").removesuffix(".yaml"))
        assert row[metric.name] == pytest.approx(expected, rel=1e-9), path
        checked += 1
    assert checked >= 57  # every big number chart (more as dashboards grow)


def chart_metrics(imported: Imported) -> dict[str, set[str]]:
    """model -> the layer metrics its charts name (anywhere in their params)."""
    datasets = {str(c["uuid"]): c["table_name"] for p, c in imported.assets_files.items() if p.startswith("datasets/")}
    layer = load_metrics()
    used: dict[str, set[str]] = {}

    def strings(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return []

    for path, chart in imported.assets_files.items():
        if path.startswith("charts/"):
            model = datasets[str(chart["dataset_uuid"])]
            names = {m.name for m in layer if m.model == model}
            used.setdefault(model, set()).update(names & set(strings(chart["params"])))
    return used


def test_every_charted_metric_equals_the_metrics_layer(superset_stack: SupersetStack, imported: Imported) -> None:
    """Every metric a chart shows, through Superset's chart-data API, equals the metrics layer compiled and run on
    the warehouse: for the whole table, two hospitals and two months (money to the cent, ratios to 1e-9)."""
    admin = superset_stack.admin()
    dataset_ids = {d["table_name"]: d["id"] for d in admin.listing("dataset")}
    layer = {(m.model, m.name): m for m in load_metrics()}
    warehouse = superset_stack.warehouse_client()
    hospital_ids = sorted(hid for hid, _ in hospitals(superset_stack).values())[:2]
    checked = 0
    for model, names in sorted(chart_metrics(imported).items()):
        for name in sorted(names):
            metric = layer[(model, name)]
            slices: list[tuple[dict[str, str], tuple[dt.date, dt.date] | None]] = [({}, None)]
            if "hospital_id" in metric.dimensions:
                slices += [({"hospital_id": str(hid)}, None) for hid in hospital_ids]
            if metric.time_dimension:
                months = warehouse.query(
                    f"SELECT DISTINCT toStartOfMonth({metric.time_dimension}) AS m FROM {metric.table} ORDER BY m DESC"
                ).result_rows
                slices += [({}, metrics_month(m)) for [m] in months[:2]]
            for where, period in slices:
                filters: list[dict[str, Any]] = [{"col": d, "op": "IN", "val": [int(v)]} for d, v in where.items()]
                if period:
                    val = f"{period[0]} : {period[1]}"
                    filters.append({"col": metric.time_dimension, "op": "TEMPORAL_RANGE", "val": val})
                query = {"metrics": [name], "columns": [], "filters": filters, "row_limit": 10, "extras": {}}
                body = {"datasource": {"id": dataset_ids[model], "type": "table"}, "queries": [query], "force": True}
                [[shown]] = [[r[name] for r in admin.post("/api/v1/chart/data", body)["result"][0]["data"]]]
                compiled = compile_query(metric, [], where, period)
                [[expected]] = warehouse.query(compiled.sql, parameters=compiled.parameters).result_rows
                context = f"{metric.key} {where} {period}"
                if expected is None:
                    assert shown is None, context
                elif metric.unit == "money" and metric.sql.startswith("sum("):
                    assert Decimal(str(shown)).quantize(Decimal("0.01")) == expected, context
                else:
                    assert shown == pytest.approx(float(expected), rel=1e-9), context
                checked += 1
    assert checked >= 150


def test_key_figures_equal_the_marts(superset_stack: SupersetStack, imported: Imported, charts: dict[str, int]) -> None:
    """Headline figures, written independently of the dataset metrics, against the marts."""

    def one(chart: str) -> float:
        [row] = rows(superset_stack, charts, chart)
        [value] = row.values()
        return float(value)

    marts = superset_stack.warehouse_client()
    revenue = scalar(superset_stack, "SELECT sum(vending_revenue_reporting) FROM marts.mart_executive_kpis_daily")
    assert revenue > 0
    assert one("exec_vending_revenue") == pytest.approx(revenue)
    assert one("vend_revenue") == pytest.approx(
        scalar(superset_stack, "SELECT sum(revenue_reporting) FROM marts.mart_vending_daily")
    )
    assert one("comm_net_sales") == pytest.approx(
        scalar(superset_stack, "SELECT sum(net_sales_reporting) FROM marts.mart_hospital_commissions_monthly")
    )
    assert one("exec_kits_sold") == scalar(superset_stack, "SELECT sum(kits_sold) FROM marts.mart_executive_kpis_daily")
    assert one("exec_active_customers") == scalar(
        superset_stack, "SELECT uniqExactIf(customer_id, vends > 0) FROM marts.mart_customer_spend_monthly"
    )
    assert one("ar_outstanding") == pytest.approx(
        scalar(superset_stack, "SELECT sum(outstanding_reporting) FROM marts.mart_receivables")
    )
    assert one("mk_cac") == pytest.approx(
        scalar(superset_stack, "SELECT toFloat64(sum(spend_reporting)) / sum(paid) FROM marts.mart_marketing_spend"),
        rel=1e-9,  # in Float64: Decimal(38, 2) / UInt64 keeps scale 2 and truncated the acquisition cost
    )
    assert one("cc_answered") == pytest.approx(
        scalar(
            superset_stack,
            "SELECT sum(answered_calls) / (sum(inbound_calls) + sum(outbound_calls)) FROM marts.mart_call_centre_daily",
        )
    )

    by_hospital = {r["hospital_name"]: r["commission"] for r in rows(superset_stack, charts, "comm_top_hospitals")}
    expected = marts.query(
        "SELECT hospital_name, sum(commission_reporting) AS c FROM marts.mart_hospital_commissions_monthly"
        " GROUP BY hospital_name ORDER BY c DESC LIMIT 15"
    ).result_rows
    assert by_hospital == {name: pytest.approx(float(c)) for name, c in expected}

    stages = {r["stage"]: r["leads"] for r in rows(superset_stack, charts, "funnel_stages")}
    totals = marts.query(
        "SELECT sum(leads), sum(contacted), sum(booked), sum(attended), sum(paid) FROM marts.mart_funnel"
    ).result_rows[0]
    assert stages == dict(zip(["1. Lead", "2. Contacted", "3. Booked", "4. Attended", "5. Paid"], totals, strict=True))

    weekly = rows(superset_stack, charts, "exec_revenue_by_week")
    assert sum(r["vending_revenue"] or 0 for r in weekly) == pytest.approx(revenue)


def hospitals(stack: SupersetStack) -> dict[str, tuple[int, str]]:
    """code -> (id, name) of every hospital in the marts."""
    result = stack.warehouse_client().query("SELECT hospital_code, hospital_id, hospital_name FROM marts.dim_hospitals")
    return {code: (hid, name) for code, hid, name in result.result_rows}


def filter_options_query(dataset_id: int, column: str) -> dict[str, Any]:
    """The query a native select filter sends for its options."""
    query = {
        "columns": [column],
        "metrics": [],
        "orderby": [[column, True]],
        "row_limit": 1000,
        "filters": [],
        "extras": {},
    }
    return {
        "datasource": {"id": dataset_id, "type": "table"},
        "queries": [query],
        "result_format": "json",
        "result_type": "full",
    }


def test_hospital_manager_sees_only_their_hospital(
    superset_stack: SupersetStack, imported: Imported, charts: dict[str, int]
) -> None:
    every = hospitals(superset_stack)
    all_sales = {r["hospital_name"] for r in rows(superset_stack, charts, "vend_top_hospitals")}
    assert len(all_sales) >= 2  # the administrator sees several hospitals, so the filter below has work to do
    for code in ("H001", "H002"):
        hospital_id, name = every[code]
        username = f"manager_{code.lower()}"
        manager = superset_stack.login(username)
        assert {d["slug"] for d in manager.listing("dashboard")} == {
            "hospital-commissions",
            "vending-operations",
            "machine-stock",
        }
        assert {r["hospital_name"] for r in rows(superset_stack, charts, "vend_top_hospitals", username)} == {name}
        assert {r["hospital_name"] for r in rows(superset_stack, charts, "vend_machines", username)} == {name}
        assert {r["hospital_name"] for r in rows(superset_stack, charts, "comm_statements", username)} == {name}
        assert {r["hospital_name"] for r in rows(superset_stack, charts, "ms_stock", username)} == {name}
        assert {r["hospital_name"] for r in rows(superset_stack, charts, "ms_machines", username)} == {name}
        [total] = rows(superset_stack, charts, "vend_revenue", username)
        expected = scalar(
            superset_stack,
            f"SELECT sum(revenue_reporting) FROM marts.mart_vending_daily WHERE hospital_id = {hospital_id}",
        )
        assert total["revenue"] == pytest.approx(expected)
        # The dashboards' hospital filter offers only their own hospital too (it asks as a filter_select does).
        dataset_id = next(d["id"] for d in manager.listing("dataset") if d["table_name"] == "mart_vending_daily")
        options = manager.post("/api/v1/chart/data", filter_options_query(dataset_id, "hospital_name"))["result"]
        assert [r["hospital_name"] for r in options[0]["data"]] == [name]
        # Charts of datasets they were not given stay closed.
        with pytest.raises(SupersetError, match=r"-> 40[34]"):
            rows(superset_stack, charts, "exec_vending_revenue", username)


def test_executive_sees_every_dashboard(
    superset_stack: SupersetStack, imported: Imported, charts: dict[str, int]
) -> None:
    executive = superset_stack.login("executive")
    slugs = {c["slug"] for p, c in imported.assets_files.items() if p.startswith("dashboards/")}
    assert {d["slug"] for d in executive.listing("dashboard")} == slugs
    [row] = rows(superset_stack, charts, "exec_vending_revenue", "executive")
    assert row["vending_revenue"] == pytest.approx(
        scalar(superset_stack, "SELECT sum(vending_revenue_reporting) FROM marts.mart_executive_kpis_daily")
    )
    with pytest.raises(SupersetError, match=r"-> 40[13]"):
        sql_lab(superset_stack, "executive", "SELECT 1")


def sql_lab(stack: SupersetStack, username: str, sql: str) -> Any:
    client = stack.login(username)
    database_id = next(d["id"] for d in client.listing("database"))
    payload = {
        "database_id": database_id,
        "sql": sql,
        "schema": "marts",
        "runAsync": False,
        "client_id": uuid.uuid4().hex[:10],
    }
    return client.post("/api/v1/sqllab/execute/", payload)


def test_analyst_queries_the_marts_read_only(superset_stack: SupersetStack, imported: Imported) -> None:
    result = sql_lab(superset_stack, "analyst", "SELECT count() AS n FROM marts.mart_funnel")
    assert result["data"] == [{"n": scalar(superset_stack, "SELECT count() FROM marts.mart_funnel")}]
    with pytest.raises(SupersetError, match="TABLE_SECURITY_ACCESS_ERROR"):
        sql_lab(superset_stack, "analyst", "SELECT count() FROM raw.vend_transactions")
    with pytest.raises(SupersetError, match="DML_NOT_ALLOWED_ERROR"):
        sql_lab(superset_stack, "analyst", "INSERT INTO marts.mart_funnel (channel) VALUES ('x')")


def commissions_dataset(client: SupersetClient) -> int:
    return next(d["id"] for d in client.listing("dataset") if d["table_name"] == "mart_hospital_commissions_monthly")


def explore_form_data(dataset_id: int, **extra: Any) -> dict[str, Any]:
    """A legacy (explore_json) chart: parallel coordinates of a count per hospital."""
    count = {"expressionType": "SIMPLE", "column": {"column_name": "hospital_id"}, "aggregate": "COUNT", "label": "n"}
    return {
        "datasource": f"{dataset_id}__table",
        "viz_type": "para",
        "series": "hospital_name",
        "metrics": [count],
        "row_limit": 1000,
        "time_range": "No filter",
        "adhoc_filters": [],
        **extra,
    }


def test_hospital_manager_gets_only_their_rows_from_every_path(
    superset_stack: SupersetStack, imported: Imported, charts: dict[str, int]
) -> None:
    """Chart data as JSON, CSV and XLSX, a legacy explore_json chart and dataset samples: one hospital's rows."""
    every = hospitals(superset_stack)
    _, name = every["H001"]
    others = {n for code, (_, n) in every.items() if code != "H001"}
    manager = superset_stack.login("manager_h001")
    dataset_id = commissions_dataset(manager)
    query = filter_options_query(dataset_id, "hospital_name")
    for result_format in ("json", "csv", "xlsx"):
        query["result_format"] = result_format
        body = manager.request("POST", "/api/v1/chart/data", json=query).content
        if result_format == "xlsx":
            with zipfile.ZipFile(io.BytesIO(body)) as book:
                body = book.read("xl/sharedStrings.xml")
        text = json.dumps(json.loads(body), ensure_ascii=False) if result_format == "json" else body.decode()
        assert name in text and not any(other in text for other in others), result_format
    form_data = json.dumps(explore_form_data(dataset_id))
    explored = manager.request("POST", "/superset/explore_json/", params={"form_data": form_data}).json()
    assert {r["hospital_name"] for r in explored["data"]} == {name}
    # Dataset samples: the administrator gets every hospital's rows; the manager is refused or gets only theirs.
    where = {"params": {"datasource_type": "table", "datasource_id": dataset_id}, "json": {}}
    seen = superset_stack.admin().http.post("/datasource/samples", **where)
    assert len({r["hospital_name"] for r in seen.json()["result"]["data"]}) >= 2, seen.text
    samples = manager.http.post("/datasource/samples", **where)
    assert samples.status_code in (200, 401, 403), samples.text
    if samples.status_code == 200:
        assert {r["hospital_name"] for r in samples.json()["result"]["data"]} == {name}


def test_hospital_manager_cannot_widen_the_filter_with_sql(
    superset_stack: SupersetStack, imported: Imported, charts: dict[str, int]
) -> None:
    """Superset 6.1 emits an ad-hoc SQL filter column unparenthesised before its RLS clause (`WHERE 1 OR 1 IS NOT
    NULL AND (hospital_id = 1)`). For a row-filtered role every request carrying SQL text is refused; the warehouse
    holds their identity to their rows besides (tests/security/test_warehouse_access.py)."""
    manager = superset_stack.login("manager_h001")
    dataset_id = commissions_dataset(manager)
    widen = {"col": {"sqlExpression": "1 OR 1", "label": "x"}, "op": "IS NOT NULL"}
    sql_metric = {"expressionType": "SQL", "sqlExpression": "count() + 0 * (1 OR 1)", "label": "n"}
    attacks: list[dict[str, Any]] = [{"filters": [widen]}, {"metrics": [sql_metric]}, {"orderby": [[sql_metric, True]]}]
    attacks += [{"extras": {"where": "1 = 1) OR (1 = 1"}}, {"extras": {"having": "1 OR 1"}}]
    attacks += [
        {"columns": [{"sqlExpression": "if(1 OR 1, hospital_name, '')", "label": "h", "expressionType": "SQL"}]}
    ]
    for attack in attacks:
        query = filter_options_query(dataset_id, "hospital_name")
        query["queries"][0].update(attack)
        for result_format in ("json", "csv"):
            query["result_format"] = result_format
            with pytest.raises(SupersetError, match=r"-> 403: .*Ad-hoc SQL is not allowed"):
                manager.request("POST", "/api/v1/chart/data", json=query)
    # What Superset's own charts send for an x-axis, an SQL "expression" that only names a column, still runs.
    axis = {
        "sqlExpression": "hospital_name",
        "label": "hospital_name",
        "expressionType": "SQL",
        "columnType": "BASE_AXIS",
    }
    query = filter_options_query(dataset_id, "hospital_name")
    query["queries"][0]["columns"] = [axis]
    data = manager.post("/api/v1/chart/data", query)["result"][0]["data"]
    assert {r["hospital_name"] for r in data} == {hospitals(superset_stack)["H001"][1]}
    adhoc = [{"expressionType": "SQL", "sqlExpression": "1 OR 1", "clause": "WHERE"}]
    form_data = json.dumps(explore_form_data(dataset_id, adhoc_filters=adhoc))
    for sent in ({"params": {"form_data": form_data}}, {"data": {"form_data": form_data}}):
        with pytest.raises(SupersetError, match=r"-> 403: .*Ad-hoc SQL is not allowed"):
            manager.request("POST", "/superset/explore_json/", **sent)
    stored = {"datasource_id": dataset_id, "datasource_type": "table", "form_data": form_data}
    with pytest.raises(SupersetError, match=r"-> 403: .*Ad-hoc SQL is not allowed"):
        manager.post("/api/v1/explore/form_data", stored)
    # Full-data roles keep ad-hoc SQL: the executive's same query runs and sees every hospital.
    executive = superset_stack.login("executive")
    query = filter_options_query(commissions_dataset(executive), "hospital_name")
    query["queries"][0]["filters"] = [widen]
    data = executive.post("/api/v1/chart/data", query)["result"][0]["data"]
    assert len({r["hospital_name"] for r in data}) == scalar(
        superset_stack, "SELECT uniqExact(hospital_name) FROM marts.mart_hospital_commissions_monthly"
    )


def test_analyst_cannot_read_files_through_sql_lab(superset_stack: SupersetStack, imported: Imported) -> None:
    secret = superset_stack.settings.secrets_dir / "superset_secret_key"
    for sql in (
        f"SELECT * FROM file('{secret}', 'LineAsString')",
        f"SELECT file('{secret}') AS k",
        f"SELECT * FROM sqlite('{superset_stack.settings.home / 'ops.db'}', 'customers')",
    ):
        with pytest.raises(SupersetError) as refused:
            sql_lab(superset_stack, "analyst", sql)
        assert secret.read_text().strip() not in str(refused.value)


def pulse_metrics(stack: SupersetStack, *args: str) -> subprocess.CompletedProcess[str]:
    settings = stack.settings
    env = {
        **os.environ,
        "PULSE_HOME": str(settings.home),
        "PULSE_CLICKHOUSE_URL": settings.clickhouse_url,
        "PULSE_WAREHOUSE_READER_PASSWORD": settings.reader_password(),
        "COLUMNS": "200",
    }
    command = [str(Path(sys.executable).parent / "pulse"), "metrics", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_pulse_metrics_query_answers_from_the_one_definition(superset_stack: SupersetStack, imported: Imported) -> None:
    """`pulse metrics query` for one hospital and month equals the commission rate its statement line states."""
    warehouse = superset_stack.warehouse_client()
    [[month]] = warehouse.query(
        "SELECT max(sales_month) FROM marts.mart_hospital_commissions_monthly WHERE hospital_code = 'H001'"
    ).result_rows
    [[commission, net]] = warehouse.query(
        "SELECT commission_reporting, net_sales_reporting FROM marts.mart_hospital_commissions_monthly"
        " WHERE hospital_code = 'H001' AND sales_month = {m:Date}",
        parameters={"m": month},
    ).result_rows
    period = f"{month:%Y-%m}"
    args = ["effective_commission_rate", "--by", "hospital_code", "--where", "hospital_code=H001", "--period", period]
    answered = pulse_metrics(superset_stack, "query", *args, "--json")
    assert answered.returncode == 0, answered.stderr
    [row] = json.loads(answered.stdout)
    assert row["hospital_code"] == "H001"
    assert row["effective_commission_rate"] == pytest.approx(float(commission / net), rel=1e-12)
    # A value is a parameter, never SQL; a column that is not one of the metric's dimensions is refused.
    injected = pulse_metrics(superset_stack, "query", "net_sales", "--where", "hospital_code=H001' OR '1'='1", "--json")
    assert injected.returncode == 0 and json.loads(injected.stdout) == [{"net_sales": None}], injected.stderr
    refused = pulse_metrics(superset_stack, "query", "net_sales", "--by", "commission_reporting")
    assert refused.returncode == 1
    assert "cannot be grouped or filtered by 'commission_reporting'" in refused.stdout + refused.stderr
    listed = pulse_metrics(superset_stack, "list", "--model", "mart_hospital_commissions_monthly")
    assert "effective_commission_rate" in listed.stdout and "Commission rate" in listed.stdout


def test_hospital_manager_sees_the_same_figures_on_the_dashboard_and_in_the_pdf(
    superset_stack: SupersetStack, imported: Imported, tmp_path: Path
) -> None:
    """The commissions dashboard, as manager_h001 for one month, and that month's PDF statement state the same net
    sales, commission, kits and commission rate (the rate to the two decimals both print)."""
    from reports.render import render_report
    from tests.reports.pdf_text import amount_after, integer_after, pages_text, to_decimal
    from warehouse.identities import reader_client

    hospital_id, _ = hospitals(superset_stack)["H001"]
    [[month]] = (
        superset_stack.warehouse_client()
        .query(
            "SELECT max(sales_month) FROM marts.mart_hospital_commissions_monthly"
            " WHERE hospital_id = {h:Int64} AND net_sales_reporting > 0",
            parameters={"h": hospital_id},
        )
        .result_rows
    )
    manager = superset_stack.login("manager_h001")
    names = ["net_sales", "commission", "total_kits_sold", "effective_commission_rate"]
    period = {"col": "sales_month", "op": "TEMPORAL_RANGE", "val": f"{month} : {metrics_month(month)[1]}"}
    query = {"metrics": names, "columns": [], "filters": [period], "row_limit": 10, "extras": {}}
    body = {"datasource": {"id": commissions_dataset(manager), "type": "table"}, "queries": [query], "force": True}
    [shown] = manager.post("/api/v1/chart/data", body)["result"][0]["data"]

    report = render_report(reader_client(superset_stack.settings), "hospital_statement",
                           {"hospital_id": str(hospital_id), "period": f"{month:%Y-%m}"}, "en")  # fmt: skip
    pdf = tmp_path / report.filename
    pdf.write_bytes(report.pdf)
    text = "\n".join(pages_text(pdf))
    cents = Decimal("0.01")
    assert amount_after(text, "Net sales, RUB", "en") == Decimal(str(shown["net_sales"])).quantize(cents)
    assert amount_after(text, "Commission, RUB", "en") == Decimal(str(shown["commission"])).quantize(cents)
    assert integer_after(text, "Kits sold", "en") == shown["total_kits_sold"]
    printed = re.search(r"Rate\s+([\d.,]+)\s?%", text, re.IGNORECASE)
    assert printed and to_decimal(printed.group(1), "en") == Decimal(f"{shown['effective_commission_rate'] * 100:.2f}")
