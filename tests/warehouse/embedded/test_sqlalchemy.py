"""SQLAlchemy 2.x with clickhouse-connect's `clickhousedb://` dialect (in .venv) against a real warehouse process.

Proves what Pulse's Python code and Airflow rely on when they go through SQLAlchemy: the inspector lists
schemas, tables (and views), columns with their ClickHouse types and nullability; tables reflect; and
a GROUP BY runs with bound parameters both as text() and as a Core select (including an expanding IN).
The same checks run under SQLAlchemy 1.4 in test_superset_client.py.
"""

from __future__ import annotations

import decimal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa


@pytest.fixture
def engine(warehouse: Any) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"clickhousedb://default:{warehouse.admin_password}@127.0.0.1:{warehouse.port}/default")
    yield engine
    engine.dispose()


@pytest.fixture
def schema(engine: sa.Engine) -> Iterator[str]:
    """A fresh database with a `sales` table (30 rows, 3 regions) and a `big_sales` view."""
    name = f"sa_{uuid.uuid4().hex[:12]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {name}.sales (id UInt32, region LowCardinality(String), amount Decimal(12, 2),"
                " note Nullable(String), at DateTime) ENGINE = MergeTree ORDER BY id"
            )
        )
        conn.execute(
            sa.text(
                f"INSERT INTO {name}.sales SELECT number, ['north', 'south', 'east'][number % 3 + 1],"
                " number * 1.5, NULL, toDateTime('2024-01-01 00:00:00') + number FROM numbers(30)"
            )
        )
        conn.execute(sa.text(f"CREATE VIEW {name}.big_sales AS SELECT * FROM {name}.sales WHERE amount > 10"))
    yield name
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} SYNC"))


def test_versions() -> None:
    assert sa.__version__.startswith("2.")


def test_inspector_lists_schemas_tables_and_columns(engine: sa.Engine, schema: str) -> None:
    inspector = sa.inspect(engine)
    assert {schema, "default", "system"} <= set(inspector.get_schema_names())
    assert sorted(inspector.get_table_names(schema=schema)) == ["big_sales", "sales"]
    assert inspector.get_view_names(schema=schema) == ["big_sales"]
    assert inspector.has_table("sales", schema=schema)
    assert not inspector.has_table("nope", schema=schema)
    columns = inspector.get_columns("sales", schema=schema)
    assert [c["name"] for c in columns] == ["id", "region", "amount", "note", "at"]
    assert [c["nullable"] for c in columns] == [False, False, False, True, False]
    assert [type(c["type"]).__name__ for c in columns] == ["UInt32", "String", "Decimal", "String", "DateTime"]
    assert (columns[2]["type"].precision, columns[2]["type"].scale) == (12, 2)


def test_reflected_table(engine: sa.Engine, schema: str) -> None:
    sales = sa.Table("sales", sa.MetaData(), autoload_with=engine, schema=schema)
    assert list(sales.c.keys()) == ["id", "region", "amount", "note", "at"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sales)).scalar_one() == 30


def test_group_by_with_bound_parameters_as_text(engine: sa.Engine, schema: str) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                f"SELECT region, count() AS n, sum(amount) AS total FROM {schema}.sales "
                "WHERE id >= :lo AND region != :skip GROUP BY region ORDER BY region"
            ),
            {"lo": 3, "skip": "east"},
        ).all()
    assert [tuple(r) for r in rows] == [
        ("north", 9, decimal.Decimal("202.50")),
        ("south", 9, decimal.Decimal("216.00")),
    ]


def test_group_by_with_bound_parameters_as_core_select(engine: sa.Engine, schema: str) -> None:
    sales = sa.Table("sales", sa.MetaData(), autoload_with=engine, schema=schema)
    query = (
        sa.select(sales.c.region, sa.func.count().label("n"), sa.func.sum(sales.c.amount).label("total"))
        .where(sales.c.id >= sa.bindparam("lo"), sales.c.region.in_(sa.bindparam("regions", expanding=True)))
        .group_by(sales.c.region)
        .order_by(sales.c.region)
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"lo": 3, "regions": ["east", "north"]}).mappings().all()
    assert [dict(r) for r in rows] == [
        {"region": "east", "n": 9, "total": decimal.Decimal("229.50")},
        {"region": "north", "n": 9, "total": decimal.Decimal("202.50")},
    ]
