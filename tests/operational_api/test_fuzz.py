"""Property-based fuzzing of every operation from the OpenAPI schema (schemathesis, in-process ASGI):
valid and invalid inputs alike must never get a 5xx, and every response must match the schema."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

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
from pulse.core.settings import Settings
from tests.operational_api.conftest import BACKENDS, fresh_database
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


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_target(
    request: pytest.FixtureRequest, shared_app: FastAPI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[object, dict[str, str], Store]]:
    """One store per backend for the whole module (state accumulates, as in real use) and a client."""
    home = tmp_path_factory.mktemp("fuzz")
    url = fresh_database(request.param, request, home)
    store = Store(url, settings=Settings(home=home, ops_database_url=url))
    seed(store)  # so that small ids and known codes exist and requests reach deeper code
    with store.write() as session:
        key = create_api_key(session, name="fuzz", scope="admin")
    shared_app.state.store = store
    with asgi.get_client(shared_app) as client:
        yield client, {"Authorization": f"Bearer {key}"}, store
    store.dispose()


OPERATIONS = sorted(result.ok().label for result in schema.get_all_operations())


# Plain pytest parametrization (one item per operation, distinct node ids), so that pytest-xdist's
# loadgroup scheduling runs every operation; hypothesis drives schemathesis' strategies inside.
@pytest.mark.parametrize("label", OPERATIONS)
def test_openapi_fuzz(label: str, fuzz_target: tuple[object, dict[str, str], Store], shared_app: FastAPI) -> None:
    client, headers, store = fuzz_target
    shared_app.state.store = store  # other tests on this worker may have pointed it elsewhere
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
