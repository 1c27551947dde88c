"""The sales rep statement, rendered for the simulated business's reps from the built warehouse: its numbers are the
mart's (queried apart from the loader) and the metrics layer's, it lists the machines of the rep's territory and
no other, its first page renders to a PNG, and an unknown rep is an error rather than an empty statement."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from pulse import metrics
from reports.data import load_report_data
from reports.render import ReportDataError, render_report
from reports.sales_rep_statement import MART, SalesRepStatement
from tests.reports.conftest import PERIOD, ReportWarehouse
from tests.reports.pdf_text import amount_after, integer_after, pages_text, to_png

pytestmark = pytest.mark.xdist_group("reports")
MONTH = dt.date.fromisoformat(f"{PERIOD}-01")


@pytest.fixture(scope="module")
def client(report_warehouse: ReportWarehouse) -> Any:
    return report_warehouse.client()


def rows(client: Any, sql: str, **parameters: Any) -> list[dict[str, Any]]:
    result = client.query(sql, parameters=parameters)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


@pytest.fixture(scope="module")
def reps(client: Any) -> list[dict[str, Any]]:
    """Every simulated rep with their territory's hospitals (the simulator gives each hospital one rep)."""
    found = rows(
        client,
        "SELECT sales_rep_id, groupArray(hospital_id) AS hospitals FROM marts.dim_sales_rep_hospitals"
        " GROUP BY sales_rep_id ORDER BY sales_rep_id",
    )
    assert len(found) >= 2, found  # two territories at least, so that one has machines the other must not show
    return found


def test_the_statement_prints_the_marts_numbers_for_every_rep(
    client: Any, reps: list[dict[str, Any]], tmp_path: Path
) -> None:
    for rep in reps:
        params = {"sales_rep_id": str(rep["sales_rep_id"]), "period": PERIOD}
        (mart,) = rows(
            client,
            "SELECT sum(completed_vends) AS vends, sum(kits_sold) AS kits, sum(revenue_reporting) AS revenue,"
            " sum(declines) AS declines, sum(out_of_stock_declines) AS out_of_stock, sum(stock_out_days) AS days,"
            " sum(previous_month_kits_sold) AS previous_kits, groupUniqArray(machine_serial) AS serials,"
            " count() AS lines"
            " FROM marts.mart_sales_rep_machine_monthly WHERE sales_rep_id = {r:Int64} AND sales_month = {m:Date}",
            r=rep["sales_rep_id"], m=MONTH,
        )  # fmt: skip
        # Every machine standing in the territory, straight from the machines' own mart, not from the rep mart.
        standing = rows(
            client,
            "SELECT DISTINCT machine_serial FROM marts.mart_machine_product_daily"
            " WHERE hospital_id IN {h:Array(Int64)} AND toStartOfMonth(day) = {m:Date}",
            h=rep["hospitals"],
            m=MONTH,
        )
        territory = {r["machine_serial"] for r in standing}
        assert set(mart["serials"]) == territory and mart["kits"] > 0

        data = load_report_data(client, "sales_rep_statement", params, "en")
        assert isinstance(data, SalesRepStatement)
        assert (data.total.vends, data.total.kits, data.total.revenue) == (mart["vends"], mart["kits"], mart["revenue"])
        assert (data.total.declines, data.total.out_of_stock_declines, data.total.stock_out_days) == (
            mart["declines"], mart["out_of_stock"], mart["days"],
        )  # fmt: skip
        assert sum(len(m.products) for h in data.hospitals for m in h.machines) == mart["lines"]
        # The simulated month is the first of data: nothing the month before, so no trend to compute.
        assert data.total.previous_kits == mart["previous_kits"] == 0 and data.kits_change is None

        # The layer's figures (what a dashboard on the mart shows) are the same.
        layer = [m for m in metrics.project_metrics() if m.model == MART]
        query = metrics.compile_metrics(layer, [], {"sales_rep_id": str(rep["sales_rep_id"])}, metrics.month(MONTH))
        (values,) = rows(client, query.sql, **query.parameters)
        assert values["revenue"] == mart["revenue"] and values["total_kits_sold"] == mart["kits"]

        report = render_report(client, "sales_rep_statement", params, "en")
        pdf = tmp_path / report.filename
        pdf.write_bytes(report.pdf)
        text = "\n".join(pages_text(pdf))
        assert integer_after(text, "Kits sold", "en") == mart["kits"]
        assert amount_after(text, "Revenue, RUB", "en") == mart["revenue"]
        flat = re.sub(r"\s+", " ", text)
        assert integer_after(text, "Declines", "en") == mart["declines"]
        printed = set(re.findall(r"Machine (VM-\S+?)(?:,| )", flat))
        assert printed == territory  # the territory's machines, every one of them, and no other rep's
        # The last line: vends, kits, the month before (none: "new"), revenue, the month before, declines...
        total = flat.rsplit("Total ", 1)[1]
        assert total.startswith(f"{mart['vends']:,} {mart['kits']:,} 0 new {mart['revenue']:,} 0.00 new "
                                f"{mart['declines']:,} {mart['out_of_stock']:,} {mart['days']:,}"), total[:120]  # fmt: skip


def test_a_statement_page_as_png(client: Any, reps: list[dict[str, Any]], report_artifacts: Path) -> None:
    """The Russian statement's first page as a person sees it (kept in the artifacts directory)."""
    params = {"sales_rep_id": str(reps[0]["sales_rep_id"]), "period": PERIOD}
    report = render_report(client, "sales_rep_statement", params, "ru")
    pdf = report_artifacts / report.filename
    pdf.write_bytes(report.pdf)
    pngs = to_png(pdf, report_artifacts, resolution=70)
    assert len(pngs) == report.pages >= 1
    assert pngs[0].stat().st_size > 20_000  # a page of tables, not a blank A4
    first = re.sub(r"\s+", " ", pages_text(pdf)[0])
    assert "Отчёт по территории" in first and "Территория за месяц" in first and "Автомат VM-" in first
    assert report.subject.startswith("Отчёт по территории за март 2026")


def test_an_unknown_rep_or_a_bad_id_is_an_error(client: Any) -> None:
    for params, expected in (
        ({"sales_rep_id": "987654", "period": PERIOD}, "no sales rep with sales_rep_id 987654"),
        ({"sales_rep_id": "rep-1", "period": PERIOD}, "sales_rep_id must be a whole number"),
        ({"period": PERIOD}, "missing parameter(s) sales_rep_id"),
    ):
        with pytest.raises(ReportDataError) as caught:
            render_report(client, "sales_rep_statement", params, "en")
        assert expected in str(caught.value) and caught.value.hint


def test_a_month_without_sales_is_a_zero_statement_with_its_fall(client: Any, reps: list[dict[str, Any]]) -> None:
    """The month after the latest one with data (the history ends at midnight UTC, so an eastern hospital's last
    hours are already in the next local month): the mart holds no rows past the latest month, so the statement is
    empty rather than showing the month before's kits as a fall to zero of a month nobody has lived yet."""
    latest = rows(client, "SELECT toStartOfMonth(max(day)) AS month FROM marts.mart_machine_product_daily")[0]["month"]
    after = (latest + dt.timedelta(days=32)).strftime("%Y-%m")
    data = load_report_data(client, "sales_rep_statement", {"sales_rep_id": str(reps[0]["sales_rep_id"]),
                                                             "period": after}, "en")  # fmt: skip
    assert isinstance(data, SalesRepStatement)
    assert data.hospitals == () and data.total.kits == 0 and not data.has_activity
