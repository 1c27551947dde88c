"""Property-based fuzzing of every operation from the OpenAPI schema (schemathesis, in-process ASGI):
valid and invalid inputs alike must never get a 5xx, and every response must match the schema."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from operational_api.app import create_app
from operational_api.db import Store
from operational_api.services.keys import create_api_key
from pulse.settings import Settings
from tests.operational_api.factories import seed

MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _schema() -> schemathesis.BaseSchema:
    """The schema of the app as served (it does not depend on the database, which stays untouched)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/unused.db"
        app = create_app(store=Store(url), settings=Settings(home=tmp, ops_database_url=url), check_schema=False)
        loaded = schemathesis.openapi.from_dict(app.openapi())
    loaded.config.generation.update(
        max_examples=MAX_EXAMPLES,
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        allow_x00=True,
        no_shrink=True,
        with_security_parameters=False,
        database="none",
    )
    return loaded


schema = _schema()


@pytest.fixture(scope="module")
def fuzz_target(
    shared_app: FastAPI, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[object, dict[str, str]]]:
    """One SQLite store for the whole module (state accumulates, as in real use) and its client.
    The store tests cover PostgreSQL; fuzzing is about the API layer."""
    home = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, home / "ops.db")
    url = f"sqlite:///{home / 'ops.db'}"
    store = Store(url, settings=Settings(home=home, ops_database_url=url))
    seed(store)  # so that small ids and known codes exist and requests reach deeper code
    with store.write() as session:
        key = create_api_key(session, name="fuzz", scope="admin")
    shared_app.state.store = store
    with asgi.get_client(shared_app) as client:
        yield client, {"Authorization": f"Bearer {key}"}
    store.dispose()


OPERATIONS = sorted(result.ok().label for result in schema.get_all_operations())


# Plain pytest parametrization (one item per operation, distinct node ids), so that pytest-xdist's
# loadgroup scheduling runs every operation; hypothesis drives schemathesis' strategies inside.
@pytest.mark.parametrize("label", OPERATIONS)
def test_openapi_fuzz(label: str, fuzz_target: tuple[object, dict[str, str]]) -> None:
    client, headers = fuzz_target
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(session=client, headers=headers, checks=CHECKS)  # type: ignore[arg-type]

    run()
