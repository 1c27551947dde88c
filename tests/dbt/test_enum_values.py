"""A staging column's `accepted_values` are the store's enum for that column. The operational models define each enum
once (a tuple in operational_api/models, e.g. FUNNEL_STEPS); the dbt test beside the column repeats it for the
warehouse, and this test keeps the two from drifting apart."""

from __future__ import annotations

import re
from typing import Any

import yaml
from sqlalchemy import Enum

from operational_api.models import Base
from pulse.dbt.runner import PROJECT_DIR
from tests.dbt.test_model_sources import source_calls

STAGING_DIR = PROJECT_DIR / "models" / "staging"
_RENAME = re.compile(r"^\s*(\w+)\s+as\s+(\w+),?\s*$", re.M | re.I)


def accepted_values(column: dict[str, Any]) -> list[str] | None:
    for test in column.get("data_tests") or []:
        if isinstance(test, dict) and "accepted_values" in test:
            spec = test["accepted_values"]
            return list((spec.get("arguments") or spec)["values"])
    return None


def staged_enum_columns() -> list[tuple[str, str, list[str], Enum]]:
    """(model, column, its accepted values, the store column's enum) for every staging column with both."""
    found = []
    for path in sorted(STAGING_DIR.glob("stg_*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            sql = "\n".join(
                p.read_text() for p in (STAGING_DIR / f"{model['name']}.sql", STAGING_DIR / f"{model['name']}_versions.sql")
                if p.exists()
            )  # fmt: skip
            tables = [call.split(",")[1].strip(" '\"") for call in source_calls(sql)]
            if not tables or tables[0] not in Base.metadata.tables:
                continue
            table = Base.metadata.tables[tables[0]]
            raw_name = {alias: raw for raw, alias in _RENAME.findall(sql)}
            for column in model.get("columns", []):
                values = accepted_values(column)
                store = table.c.get(raw_name.get(column["name"], column["name"]))
                if values is not None and store is not None and isinstance(store.type, Enum):
                    found.append((model["name"], column["name"], values, store.type))
    return found


def test_staging_accepted_values_are_the_store_enums() -> None:
    checked = staged_enum_columns()
    assert len(checked) >= 10, checked  # the lookup finds the enum columns (a renamed one included)
    assert ("stg_pipeline_stages", "funnel_step") in {(model, column) for model, column, _, _ in checked}
    drifted = [
        (model, column, values, list(enum.enums))
        for model, column, values, enum in checked
        if sorted(values) != sorted(enum.enums)
    ]
    assert drifted == []
