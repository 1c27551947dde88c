"""The pieces under the templates, without a warehouse: locale formatting, amounts in words, the message
catalogues, the SVG charts."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET  # parses markup this test generated, nothing untrusted
from decimal import Decimal

import pytest

from pulse import metrics
from reports.charts import column_chart, paired_bars, sparkline
from reports.executive_weekly import KPI_GROUPS, KPIS, MART
from reports.formatting import Formatter, amount_in_words
from reports.messages import MESSAGES_DIR, load_catalogues


@pytest.mark.parametrize(
    ("locale", "amount", "money", "date", "month"),
    [
        ("en", "RUB\u00a01,234.50", "-RUB\u00a01,234.50", "05 Mar 2026", "March 2026"),
        ("ru", "1\u00a0234,50", "-1\u00a0234,50\u00a0₽", "05.03.2026", "Март 2026"),
    ],
)
def test_numbers_money_and_dates_follow_the_locale(locale: str, amount: str, money: str, date: str, month: str) -> None:
    fmt = Formatter(locale)
    assert fmt.money(Decimal("1234.5"), "RUB") == amount if locale == "en" else fmt.amount(Decimal("1234.5")) == amount
    assert fmt.money(Decimal("-1234.5"), "RUB") == money
    assert fmt.date(dt.date(2026, 3, 5)) == date
    assert fmt.month(dt.date(2026, 3, 1)) == month
    assert fmt.amount(None) == "—"


def test_percent_change_and_ranges() -> None:
    en, ru = Formatter("en"), Formatter("ru")
    assert en.percent(0.065, 2) == "6.50%" and ru.percent(0.065, 2) == "6,50%"
    assert en.signed_percent(0.123) == "+12.3%" and en.signed_percent(-0.04) == "-4.0%"
    assert en.signed_percent(None) == "—"
    assert en.day_range(dt.date(2026, 3, 16), dt.date(2026, 3, 22)) == "16–22 March 2026"
    assert ru.day_range(dt.date(2026, 3, 30), dt.date(2026, 4, 5)) == "30 марта – 5 апреля 2026 г."
    assert en.amount(Decimal("0.005")) == "0.01"  # kopecks round half up, as accountants do


@pytest.mark.parametrize(
    ("value", "d3_format", "en", "ru"),
    [
        (Decimal("1234567.495"), ",.0f", "1,234,567", "1\u00a0234\u00a0567"),
        (2325.95671, ",.2f", "2,325.96", "2\u00a0325,96"),
        (0.0647312, ".2%", "6.47%", "6,47%"),
        (12.25, ",.1f", "12.3", "12,3"),  # half up, not to even
        (1234.4, ",d", "1,234", "1\u00a0234"),
        (None, ".1%", "—", "—"),
    ],
)
def test_metric_values_print_in_their_d3_format(
    value: float | Decimal | None, d3_format: str, en: str, ru: str
) -> None:
    assert Formatter("en").metric(value, d3_format) == en
    assert Formatter("ru").metric(value, d3_format) == ru


def test_a_format_reports_cannot_print_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be printed"):
        Formatter("en").metric(1.0, "$,.2s")


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "words"),
    [
        ("1234.56", "RUB", "ru", "Одна тысяча двести тридцать четыре рубля, пятьдесят шесть копеек"),
        ("1234.56", "RUB", "en", "One thousand, two hundred and thirty-four roubles, fifty-six kopeks"),
        ("21.01", "USD", "en", "Twenty-one dollars, one cent"),
        ("16178.94", "KZT", "ru", "Шестнадцать тысяч сто семьдесят восемь тенге, девяносто четыре тиына"),
        ("302.82", "CNY", "en", "Three hundred and two Chinese yuan 82/100"),  # num2words has no CNY: Babel's name
        ("-5.00", "EUR", "en", "Minus five euro, zero cents"),
    ],
)
def test_amount_in_words(amount: str, currency: str, locale: str, words: str) -> None:
    assert amount_in_words(Decimal(amount), currency, locale) == words


def test_catalogues_have_the_same_keys_and_every_template_label_exists() -> None:
    catalogues = load_catalogues()
    assert set(catalogues["en"].catalogue) == set(catalogues["ru"].catalogue)
    assert all(v.strip() for c in catalogues.values() for v in c.catalogue.values())
    assert {k.group for k in KPIS} == set(KPI_GROUPS)
    for group in KPI_GROUPS:  # every KPI group has a heading in both languages
        for messages in catalogues.values():
            assert messages(f"executive.groups.{group}")
    layer = metrics.named(MART, *(k.metric for k in KPIS))  # every KPI is a metric, labelled in both languages
    assert all(m.label and m.label_ru for m in layer)
    assert all(Formatter("en").metric(1, m.format) for m in layer)  # and printable in its declared format
    assert (MESSAGES_DIR / "ru.yml").read_text(encoding="utf-8").count("\t") == 0
    with pytest.raises(KeyError, match="no message"):
        catalogues["en"]("customer.no_such_label")


def test_charts_are_well_formed_svg_scaled_to_the_data() -> None:
    spark = ET.fromstring(str(sparkline([1.0, None, 3.0, 2.0], width=30, height=6)))  # noqa: S314
    points = spark.find("{http://www.w3.org/2000/svg}polyline").get("points").split()  # type: ignore[union-attr]
    assert len(points) == 3  # the unknown week is skipped, not drawn as zero
    bars = ET.fromstring(str(paired_bars([1, 2, 0], [2, 2, 2], ["Mo", "Tu", "We"])))  # noqa: S314
    rects = bars.findall("{http://www.w3.org/2000/svg}rect")
    assert len(rects) == 5  # zero draws no bar
    heights = sorted(float(r.get("height", 0)) for r in rects)
    assert heights[0] == pytest.approx(heights[-1] / 2)  # 1 is half of 2
    columns = ET.fromstring(str(column_chart([0, 5, 10], ["1", "2", "3"], label="<kits & more>")))  # noqa: S314
    assert columns.get("aria-label") == "<kits & more>"  # escaped in the markup, intact once parsed
    texts = [t.text for t in columns.findall("{http://www.w3.org/2000/svg}text")]
    assert texts == ["1", "5", "2", "10", "3"]  # day labels, and values over the non-empty columns
