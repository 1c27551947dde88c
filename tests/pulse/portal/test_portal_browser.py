"""The portal as people use it, in Chromium (Debian's browser, driven by playwright): a report manager signs in,
creates a subscription from an audience preset, previews a statement, sends now; the recipient follows the link in
the email, switches language and unsubscribes, and the next run respects it. Every page is screenshotted into the
test artifacts (PULSE_TEST_ARTIFACTS keeps them) for a person to look at.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from operational_api.models import ReportDelivery, ReportSubscription
from reports.delivery import find_subscription
from reports.sink import outbox_files, read_message
from tests.pulse.portal.conftest import PASSWORDS, Portal
from tests.reports.conftest import PERIOD

pytestmark = [pytest.mark.xdist_group("portal"), pytest.mark.timeout(900)]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def pdf_page_png(pdf: bytes, target: Path) -> None:
    """The first page of a PDF as a PNG (poppler's pdftoppm), to look at."""
    source = target.with_suffix(".pdf")
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(source), str(target.with_suffix(""))],
                   check=True)  # fmt: skip


def test_a_manager_sets_up_a_subscription_and_a_recipient_manages_theirs(
    portal: Portal, browser: Any, report_artifacts: Path
) -> None:
    folder = report_artifacts / "portal"
    folder.mkdir(exist_ok=True)
    hospital_id = int(
        portal.env.warehouse.client()
        .query(
            "SELECT hospital_id FROM marts.dim_report_contacts GROUP BY hospital_id HAVING count() >= 2 "
            "ORDER BY hospital_id LIMIT 1"
        )
        .result_rows[0][0]
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()

    # -- the report manager ---------------------------------------------------------------------------------
    page.goto(f"{portal.url}/portal/")
    assert page.url.endswith("/portal/sign-in?next=%2Fportal%2F")
    shot(page, folder, "01-sign-in")
    page.fill("input[name=email]", "manager@portal.test")
    page.fill("input[name=password]", PASSWORDS["report_manager"])
    page.click("button.primary")
    page.wait_for_url("**/portal/subscriptions")
    page.click("a.button.primary")
    page.fill("input[name=name]", "ward-statements")
    page.select_option("#report_kind", "hospital_statement")
    page.select_option("#preset", "hospital_contacts")
    page.fill("input[name=hospital_ids]", str(hospital_id))
    page.select_option("#frequency", "weekly")
    page.select_option("select[name=weekday]", "tue")
    page.fill("input[name=time]", "06:30")
    page.check("input[name=attachments][value=csv]")
    # the form's script asks the server for the next five runs as the schedule is edited (polled with playwright's
    # expect: the page's Content-Security-Policy refuses the eval behind wait_for_function)
    expect(page.locator("#fires li").last).to_contain_text("Tue")
    fires = page.locator("#fires li").all_inner_texts()
    assert all(", Tue" in fire and " 06:30 " in fire for fire in fires), fires
    page.click("button[value=check]")
    preview = page.locator("#recipient-preview")
    assert re.search(r"\b[2-9] recipient rows", preview.inner_text())
    shot(page, folder, "02-new-subscription-with-recipients")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r".*/portal/subscriptions/\d+$"))
    assert "Saved." in page.inner_text(".notice")
    shot(page, folder, "03-subscription")
    with portal.store.read() as session:
        row = session.scalars(select(ReportSubscription).where(ReportSubscription.name == "ward-statements")).one()
        assert (row.cron, row.audience, row.attachments) == (
            "30 6 * * 2", {"preset": "hospital_contacts", "hospital_ids": [hospital_id]}, ["csv"])  # fmt: skip
        sub_id = row.id

    # preview one recipient's statement: a PDF, nothing recorded
    recipient = page.locator("#preview-form select[name=recipient] option").first.get_attribute("value")
    answer = page.request.get(f"{portal.url}/portal/subscriptions/{sub_id}/preview.pdf",
                              params={"recipient": recipient, "period": PERIOD})  # fmt: skip
    assert answer.status == 200 and answer.body().startswith(b"%PDF-")
    pdf_page_png(answer.body(), folder / "04-preview")
    assert not _ledger(portal, sub_id)

    # send now, for the simulated month: every recipient once, in the outbox and the ledger
    page.fill("#send-form input[name=period]", PERIOD)
    with page.expect_navigation():
        page.click("#send-form button.primary")
    shot(page, folder, "05-sent")
    ledger = _ledger(portal, sub_id)
    assert ledger and {d.state for d in ledger} == {"sent"}
    assert f"Period {PERIOD}: {len(ledger)} sent" in page.inner_text(".notice")
    messages = [read_message(path) for path in outbox_files(portal.env.outbox)]
    assert sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in messages) == sorted(d.email for d in ledger)
    # sending the same period again sends nothing twice
    page.fill("#send-form input[name=period]", PERIOD)
    with page.expect_navigation():
        page.click("#send-form button.primary")
    assert f"0 sent, 0 skipped, 0 failed ({len(ledger)} sent before" in page.inner_text(".notice")
    assert len(outbox_files(portal.env.outbox)) == len(messages) and len(_ledger(portal, sub_id)) == len(ledger)

    # -- the recipient ---------------------------------------------------------------------------------------
    message = messages[0]
    address = str(message["To"]).split("<")[-1].rstrip(">").lower()
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    link = re.search(r"https?://\S+/portal/me/\S+", body.get_content())
    assert link is not None, "the email carries no link to the recipient's page"
    recipient_page = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US").new_page()  # a phone
    recipient_page.goto(link[0].rstrip(">).,"))
    assert address in recipient_page.inner_text("main")
    shot(recipient_page, folder, "06-recipient-page")
    recipient_page.select_option("#language-form select[name=locale]", "ru")
    recipient_page.click("#language-form button")
    recipient_page.wait_for_load_state()
    assert "Ваши рассылки отчётов" in recipient_page.inner_text("h1")
    recipient_page.click("button[data-subscription='ward-statements']")
    recipient_page.wait_for_load_state()
    assert "Вы отписались" in recipient_page.inner_text("main")
    shot(recipient_page, folder, "07-recipient-unsubscribed")

    # the next run (the month before) skips them; the others get theirs
    report = portal.env.run(find_subscription(portal.store, sub_id), period="2026-02")
    skipped = [d for d in _ledger(portal, sub_id) if d.period == "2026-02" and d.state == "skipped"]
    assert [d.email for d in skipped] == [address], report.states


def _ledger(portal: Portal, sub_id: int) -> list[ReportDelivery]:
    with portal.store.read() as session:
        query = select(ReportDelivery).where(ReportDelivery.subscription_id == sub_id).order_by(ReportDelivery.id)
        return list(session.scalars(query))
