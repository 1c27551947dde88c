"""A model whose rows depend on today's date must carry the `clock` tag, or the hourly build (pulse/dbt/runner.py:
only what changed, plus `tag:clock+` when the date changed) never rebuilds it and its "today" goes stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pulse.dbt.runner import PROJECT_DIR

MODELS = sorted((PROJECT_DIR / "models").rglob("*.sql"))
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/|\{#.*?#\}", re.S)
_CLOCK_CALL = re.compile(
    r"\b(today|now|yesterday|current_date|current_timestamp)\s*\(|\bnow64\s*\((?P<args>[^)]*)\)", re.I
)
# now64() stamped into an audit column (`_applied_at`) records when a row was written; the data does not change.
_AUDIT_STAMP = re.compile(r"\bnow64\s*\([^)]*\)\s+as\s+_\w+", re.I)
_CLOCK_TAG = re.compile(r"tags\s*=\s*\[[^\]]*['\"]clock['\"]")


def reads_the_clock(sql: str) -> bool:
    code = _AUDIT_STAMP.sub("", _COMMENT.sub("", sql))
    return _CLOCK_CALL.search(code) is not None


def test_the_project_has_clock_models() -> None:
    clocked = [m.stem for m in MODELS if reads_the_clock(m.read_text())]
    expected = {"dim_date", "mart_executive_kpis_daily", "int_invoice_balances", "mart_customer_spend_monthly"}
    assert expected <= set(clocked)


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_a_model_reading_the_clock_is_tagged_clock(model: Path) -> None:
    sql = model.read_text()
    if reads_the_clock(sql):
        assert _CLOCK_TAG.search(sql), f"{model.name} reads today's date: add {{{{ config(tags=['clock']) }}}}"


def test_the_check_sees_a_forgotten_tag() -> None:
    assert reads_the_clock("select toDate(now()) as day -- today()")
    assert reads_the_clock("select d from t where d <= TODAY ()")
    assert not reads_the_clock("select now64(3, 'UTC') as _applied_at from t")  # an audit stamp
    assert not reads_the_clock("-- today() is only mentioned here\nselect 1")
    assert _CLOCK_TAG.search("{{ config(tags=['clock']) }}") and not _CLOCK_TAG.search("{{ config(tags=['x']) }}")
