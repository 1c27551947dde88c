"""The rendering API answers with a PDF for a customer statement straight from the marts (part B builds on it)."""

from __future__ import annotations

import pytest

from reports.render import RenderedReport, render_report
from tests.reports.conftest import PERIOD, ReportWarehouse

pytestmark = pytest.mark.xdist_group("reports")


def test_customer_statement_renders_to_pdf(report_warehouse: ReportWarehouse) -> None:
    client = report_warehouse.client()
    customer_id = client.query(
        "SELECT customer_id FROM marts.mart_customer_spend_monthly WHERE month = {m:Date} AND ledger_entries > 0"
        " ORDER BY customer_id LIMIT 1",
        parameters={"m": f"{PERIOD}-01"},
    ).result_rows[0][0]
    report = render_report(client, "customer_statement", {"customer_id": str(customer_id), "period": PERIOD}, "en")
    assert isinstance(report, RenderedReport)
    assert report.pdf.startswith(b"%PDF-") and report.pages >= 1
    assert report.filename.endswith(f"-{PERIOD}-en.pdf")
    assert "March 2026" in report.subject
