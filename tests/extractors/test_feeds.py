"""Feeds: a good file is loaded once, a re-sent file is ignored, bad rows go to quarantine with reasons."""

from __future__ import annotations

import shutil

from extractors.feeds import FEEDS, load_feeds
from tests.platform import Platform


def data_lines(platform: Platform, feed: str, fmt: str) -> int:
    files = sorted((platform.settings.landing_dir / feed).glob(f"*.{fmt}"))
    lines = sum(len([ln for ln in f.read_text().splitlines() if ln.strip()]) for f in files)
    return lines - (len(files) if fmt == "csv" else 0)  # CSV files start with a header


def test_feeds_load_once_with_quarantine(platform: Platform) -> None:
    client = platform.client()
    url = platform.settings.resolved_landing_url
    first = load_feeds(client, url)
    assert first
    for feed in FEEDS:
        loaded = client.query(f"SELECT count() FROM {feed.table} FINAL").result_rows[0][0]
        bad = client.query(f"SELECT count() FROM raw._quarantine FINAL WHERE feed = '{feed.name}'").result_rows[0][0]
        assert bad == 3, feed.name  # the simulator slipped three malformed rows into each feed
        assert loaded + bad == data_lines(platform, feed.name, feed.fmt), feed.name
    reasons = client.query("SELECT file, line, reason FROM raw._quarantine WHERE feed = 'fx'").result_rows
    assert all(file.startswith("fx/fx_rates_") and line >= 2 for file, line, _ in reasons)
    assert any("an exchange rate must be positive" in reason for _, _, reason in reasons)
    totals = {f.name: client.query(f"SELECT count() FROM {f.table}").result_rows[0][0] for f in FEEDS}

    again = load_feeds(client, url)
    assert all(r.skipped for r in again)
    landing = platform.settings.landing_dir
    sample = sorted((landing / "telephony").glob("*.csv"))[-1]
    shutil.copy(sample, landing / "telephony" / "calls_resent_by_mistake.csv")
    resent = load_feeds(client, url)
    assert [r.file for r in resent if not r.skipped] == []
    assert {f.name: client.query(f"SELECT count() FROM {f.table}").result_rows[0][0] for f in FEEDS} == totals


def test_a_new_file_with_bad_rows(platform: Platform) -> None:
    client = platform.client()
    url = platform.settings.resolved_landing_url
    load_feeds(client, url)
    before = client.query("SELECT count() FROM raw.feed_fx").result_rows[0][0]
    (platform.settings.landing_dir / "fx" / "fx_rates_2099-01-01.csv").write_text(
        "date,currency,rate_to_rub\n2099-01-01,USD,91.5\n2099-01-01,EUR,\n2099-01-01,CNY,12.61\nbroken\n"
    )
    results = [r for r in load_feeds(client, url) if not r.skipped]
    assert [(r.file, r.rows, r.quarantined) for r in results] == [("fx/fx_rates_2099-01-01.csv", 2, 2)]
    assert client.query("SELECT count() FROM raw.feed_fx").result_rows[0][0] == before + 2
    quarantined = client.query(
        "SELECT line, reason FROM raw._quarantine WHERE file = 'fx/fx_rates_2099-01-01.csv' ORDER BY line"
    ).result_rows
    assert quarantined[0] == (3, "rate_to_rub: required")
    assert quarantined[1][0] == 5
    assert "date: not an ISO date" in quarantined[1][1]
    rates = client.query("SELECT currency, rate_to_rub FROM raw.feed_fx WHERE date = '2099-01-01' ORDER BY currency")
    assert [(c, str(r)) for c, r in rates.result_rows] == [("CNY", "12.61000000"), ("USD", "91.50000000")]

    headerless = platform.settings.landing_dir / "fx" / "fx_rates_2099-01-02.csv"
    headerless.write_text("2099-01-02,USD,92\n")
    result = next(r for r in load_feeds(client, url) if not r.skipped)
    assert (result.rows, result.quarantined) == (0, 1)
    reason = client.query(f"SELECT reason FROM raw._quarantine WHERE file_sha256 = '{result.sha256}'").result_rows
    assert reason == [("header lacks required columns: date, currency, rate_to_rub",)]
