"""A real browser (headless Debian Chromium through playwright) signs in and opens every dashboard: each chart
must draw (a canvas, an SVG, a table or a number) and none may show an error or "No results". A screenshot of
each dashboard is written to the artefacts folder (PULSE_TEST_ARTIFACTS/superset when set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pulse.superset.conftest import Imported, SupersetStack

pytestmark = [pytest.mark.superset, pytest.mark.xdist_group("superset")]

CHROMIUM = "/usr/bin/chromium"
# Tall enough that every chart is on screen: Superset only renders charts in the viewport (virtualisation).
VIEWPORT = {"width": 1600, "height": 2400}
CHART_STATES = """
() => Array.from(document.querySelectorAll('[data-test="chart-grid-component"]')).map(chart => {
  const container = chart.querySelector('[data-test="slice-container"]');
  const error = chart.querySelector('.ant-alert-error, [data-test="error-tooltip"]');
  const text = chart.innerText || '';
  return {
    name: chart.getAttribute('data-test-chart-name'),
    loading: !!chart.querySelector('[data-test="loading-indicator"]'),
    error: error ? error.innerText : null,
    drawn: !!(container && container.querySelector('canvas, svg, table, .header-line')),
    empty: /No results|No data/.test(text),
  };
})
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield chromium
        chromium.close()


def signed_in_page(browser: Any, stack: SupersetStack, username: str, password: str) -> Any:
    """Sign in through Superset's React login form. The form can re-render while its bundle settles, dropping
    what was typed (then the click only shows "Please enter ..." and nothing navigates): so wait for the page to
    go quiet, check the typed values are still there before clicking, and try again, up to three times, naming
    what the page said when a sign-in does not navigate."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(90_000)
    said = []
    for _attempt in range(3):
        page.goto(f"{stack.url}/login/")
        page.wait_for_load_state("networkidle")
        page.fill('[data-test="username-input"]', username)
        page.fill('[data-test="password-input"]', password)
        if page.input_value('[data-test="username-input"]') != username:
            said.append("the typed username was dropped by a re-render")
            continue
        page.click('[data-test="login-button"]')
        try:
            page.wait_for_url("**/superset/welcome/**", timeout=30_000)
            return page
        except PlaywrightTimeout:
            said.append(page.inner_text("body")[:300])
    raise AssertionError(f"{username} could not sign in: {said}")


def open_dashboard(page: Any, stack: SupersetStack, slug: str, expected_charts: int) -> list[dict[str, Any]]:
    """Open a dashboard and wait until every chart has either drawn or failed."""
    page.goto(f"{stack.url}/superset/dashboard/{slug}/")
    page.wait_for_function(
        """expected => {
            const charts = document.querySelectorAll('[data-test="chart-grid-component"]');
            return charts.length === expected && Array.from(charts).every(c =>
                !c.querySelector('[data-test="loading-indicator"]') &&
                (c.querySelector('.ant-alert-error') ||
                 c.querySelector('[data-test="slice-container"] canvas, [data-test="slice-container"] svg,'
                                 + ' [data-test="slice-container"] table, [data-test="slice-container"] .header-line')));
        }""",
        arg=expected_charts,
    )
    page.wait_for_load_state("networkidle")
    states: list[dict[str, Any]] = page.evaluate(CHART_STATES)
    return states


def dashboards(imported: Imported) -> list[tuple[str, int]]:
    """(slug, number of charts) of every dashboard in superset_assets/."""
    found = []
    for path, config in sorted(imported.assets_files.items()):
        if path.startswith("dashboards/"):
            charts = sum(
                1 for node in config["position"].values() if isinstance(node, dict) and node.get("type") == "CHART"
            )
            found.append((config["slug"], charts))
    return found


def assert_all_drawn(slug: str, states: list[dict[str, Any]]) -> None:
    failed = {s["name"]: s["error"] for s in states if s["error"]}
    assert failed == {}, f"{slug}: charts with errors"
    assert [s["name"] for s in states if s["empty"] or not s["drawn"] or s["loading"]] == [], f"{slug}: not drawn"


def test_every_dashboard_renders_in_chromium(
    browser: Any, superset_stack: SupersetStack, imported: Imported, artifacts: Path
) -> None:
    from pulse.superset.runtime import admin_password

    page = signed_in_page(
        browser, superset_stack, superset_stack.settings.superset_admin_user, admin_password(superset_stack.settings)
    )
    opened = []
    for slug, charts in dashboards(imported):
        states = open_dashboard(page, superset_stack, slug, charts)
        page.screenshot(path=str(artifacts / f"dashboard-{slug}.png"), full_page=True)
        assert_all_drawn(slug, states)
        opened.append(slug)
    assert len(opened) == len(dashboards(imported)) >= 10
    page.close()


def test_hospital_manager_dashboard_renders_in_chromium(
    browser: Any, superset_stack: SupersetStack, imported: Imported, artifacts: Path
) -> None:
    from pulse.superset.security import demo_password

    page = signed_in_page(
        browser, superset_stack, "manager_h001", demo_password(superset_stack.settings, "manager_h001")
    )
    charts = dict(dashboards(imported))["vending-operations"]
    states = open_dashboard(page, superset_stack, "vending-operations", charts)
    page.screenshot(path=str(artifacts / "dashboard-vending-operations-manager_h001.png"), full_page=True)
    assert_all_drawn("vending-operations", states)
    hospital = (
        superset_stack.warehouse_client()
        .query("SELECT hospital_name FROM marts.dim_hospitals WHERE hospital_code = 'H001'")
        .result_rows[0][0]
    )
    # The charts are drawn; their tables' text may land a moment later on a loaded machine: wait for it to.
    from playwright.sync_api import expect

    wrapper = page.locator('[data-test="dashboard-content-wrapper"]')
    expect(wrapper).to_contain_text(hospital, timeout=60_000)
    text = wrapper.inner_text()
    others = (
        superset_stack.warehouse_client()
        .query("SELECT hospital_name FROM marts.dim_hospitals WHERE hospital_code != 'H001'")
        .result_rows
    )
    assert hospital in text
    assert [name for (name,) in others if name in text] == []
    page.close()
