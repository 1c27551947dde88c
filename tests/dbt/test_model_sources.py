"""Raw tables are read by staging only, each by one staging model: that is where a raw table's columns are renamed and
typed, once, so every model downstream (facts included) sees the same names (dbt_project/README.md). A model outside
models/staging calling `source()` would rename the raw columns a second time, and the two would drift apart."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from pulse.dbt.runner import PROJECT_DIR

MODELS_DIR = PROJECT_DIR / "models"
STAGING_DIR = MODELS_DIR / "staging"
MODELS = sorted(MODELS_DIR.rglob("*.sql"))
OUTSIDE_STAGING = [m for m in MODELS if not m.is_relative_to(STAGING_DIR)]
_COMMENT = re.compile(r"\{#.*?#\}|--[^\n]*|/\*.*?\*/", re.S)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_SOURCE_CALL = re.compile(r"\bsource\s*\(\s*(?P<args>[^)]*)\)")


def source_calls(sql: str) -> list[str]:
    """The arguments of every `source(...)` the model's Jinja calls (comments left out), e.g. `'raw', 'calls'`."""
    code = _COMMENT.sub("", sql)
    return [
        " ".join(call.group("args").split())
        for block in _JINJA.finditer(code)
        for call in _SOURCE_CALL.finditer(block.group(0))
    ]


def test_the_project_reads_raw_in_staging() -> None:
    staged = [m for m in MODELS if m.is_relative_to(STAGING_DIR) and source_calls(m.read_text())]
    assert len(staged) >= 30


@pytest.mark.parametrize("model", OUTSIDE_STAGING, ids=lambda p: p.stem)
def test_only_staging_reads_sources(model: Path) -> None:
    calls = source_calls(model.read_text())
    assert not calls, (
        f"{model.relative_to(PROJECT_DIR)} reads source({calls[0]}): ref() its staging model instead"
        " (rename raw columns there, once)"
    )


def test_each_raw_table_has_one_staging_model() -> None:
    readers: dict[str, list[str]] = defaultdict(list)
    for model in MODELS:
        for call in source_calls(model.read_text()):
            readers[call].append(model.stem)
    shared = {table: models for table, models in readers.items() if len(models) > 1}
    assert not shared, f"raw tables read by more than one model (rename each in one staging model): {shared}"


def test_the_check_sees_a_source_call() -> None:
    assert source_calls("select * from {{ source('raw', 'calls') }} final") == ["'raw', 'calls'"]
    assert source_calls("{{ latest_versions(source( 'raw' , 'calls' )) }}") == ["'raw' , 'calls'"]
    assert source_calls("{% set rows = source('raw', 'calls') %}select 1") == ["'raw', 'calls'"]
    assert source_calls("-- read {{ source('raw', 'calls') }} in staging\nselect entries.source as entry_source") == []
    assert source_calls("{# {{ source('raw', 'calls') }} #}select {{ ref('stg_calls') }}") == []


_REF_CALL = re.compile(r"\bref\s*\(\s*['\"](?P<name>\w+)['\"]\s*\)")


def ref_calls(sql: str) -> set[str]:
    """The models the model's Jinja `ref()`s (comments left out)."""
    code = _COMMENT.sub("", sql)
    return {call.group("name") for block in _JINJA.finditer(code) for call in _REF_CALL.finditer(block.group(0))}


def unread_staging_models(models: list[Path], staging_dir: Path = STAGING_DIR) -> list[str]:
    """Staging models that nothing outside staging reads, directly or through another staging model: data loaded
    and typed, then analysed nowhere."""
    reads = {m.stem: ref_calls(m.read_text()) for m in models}
    staging = {m.stem for m in models if m.is_relative_to(staging_dir)}
    read = set().union(*(refs for name, refs in reads.items() if name not in staging))
    frontier = read & staging
    while frontier:  # a staging model read by a read staging model (stg_calls reads stg_calls_versions) is read too
        frontier = set().union(*(reads[name] for name in frontier)) - read
        read |= frontier
    return sorted(staging - read)


def test_every_staging_model_is_read_downstream() -> None:
    unread = unread_staging_models(MODELS)
    assert unread == [], f"staging models no intermediate model or mart reads (use them, or drop them): {unread}"


def test_the_check_sees_an_unread_staging_model(tmp_path: Path) -> None:
    staging, marts = tmp_path / "models" / "staging", tmp_path / "models" / "marts"
    staging.mkdir(parents=True)
    marts.mkdir(parents=True)
    files = {
        staging / "stg_a_versions.sql": "select * from {{ source('raw', 'a') }}",
        staging / "stg_a.sql": "select * from {{ ref('stg_a_versions') }}",
        staging / "stg_b.sql": "select * from {{ source('raw', 'b') }} -- {{ ref('stg_a') }} in a comment only",
        staging / "stg_c.sql": "select * from {{ source('raw', 'c') }}",
        marts / "fct_a.sql": "{{ latest_versions(ref('stg_a'), ref( 'stg_a_versions' )) }}",
        marts / "fct_c.sql": "-- {{ ref('stg_b') }}\nselect * from {{ ref(\"stg_c\") }}",
    }
    for path, sql in files.items():
        path.write_text(sql)
    assert unread_staging_models(sorted(files), staging) == ["stg_b"]
