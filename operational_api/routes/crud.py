"""Routes generated for each generic resource: list (filters + cursor), get, create, patch, tombstone,
and upsert by external ID.

No `from __future__ import annotations` here: FastAPI reads these closures' annotations at runtime.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, Field, create_model
from sqlalchemy import Enum as SAEnum

from operational_api.db import Store
from operational_api.routes.deps import IdempotencyKey, get_store, idempotent_write, require
from operational_api.schemas.common import INT64_MAX, Day, ExternalId, Page, Str200
from operational_api.services import crud
from operational_api.services.crud import Resource
from operational_api.services.keys import Caller

IntId = Annotated[int, Path(ge=1, le=INT64_MAX, description="Row id.")]
StrId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$", description="Row id.")]


class ListParams(BaseModel):
    limit: int = Field(default=100, ge=1, le=1000, description="Page size.")
    cursor: str | None = Field(default=None, max_length=200, description="From the previous page's next_cursor.")
    include_deleted: bool = Field(default=False, description="Also return tombstoned rows.")
    changed_since: int | None = Field(
        default=None, ge=0, le=INT64_MAX, description="Only rows with change_seq greater than this."
    )


def _filter_type(res: Resource, name: str) -> Any:
    column = res.model.__table__.c[name]
    if isinstance(column.type, SAEnum):
        return Literal[tuple(column.type.enums)] | None
    python_type = column.type.python_type
    if python_type is bool:
        return bool | None
    if python_type is int:
        return Annotated[int, Field(ge=-INT64_MAX, le=INT64_MAX)] | None
    if python_type is dt.date:
        return Day | None
    if column.key == "external_id":
        return ExternalId | None
    return Str200 | None


def _filters_model(res: Resource) -> type[ListParams]:
    fields: dict[str, Any] = {name: (_filter_type(res, name), None) for name in res.filters}
    name = "".join(part.title() for part in res.name.split("-")) + "Filters"
    return create_model(name, __base__=ListParams, **fields)


def router_for(res: Resource) -> APIRouter:
    router = APIRouter(prefix=f"/v1/{res.name}", tags=[res.tag])
    reader = require(*res.read_scopes)
    writer = require(*res.write_scopes)
    Out = res.out
    Filters = _filters_model(res)
    PathId = IntId if res.id_is_int else StrId
    label = res.name.replace("-", " ")

    @router.get("", response_model=Page[Out], summary=f"List {label}")  # type: ignore[valid-type]
    def list_rows(
        params: Annotated[Filters, Query()],  # type: ignore[valid-type]
        caller: Annotated[Caller, Depends(reader)],
        store: Annotated[Store, Depends(get_store)],
    ) -> Any:
        values = params.model_dump()  # type: ignore[attr-defined]
        filters = {name: values[name] for name in res.filters}
        with store.read() as session:
            rows, next_cursor = crud.list_rows(
                session,
                res,
                filters=filters,
                limit=values["limit"],
                cursor=values["cursor"],
                include_deleted=values["include_deleted"],
                changed_since=values["changed_since"],
            )
            return {"items": [Out.model_validate(row) for row in rows], "next_cursor": next_cursor}

    @router.get("/{row_id}", response_model=Out, summary=f"Get one of {label}")
    def get_row(
        row_id: PathId,  # type: ignore[valid-type]
        caller: Annotated[Caller, Depends(reader)],
        store: Annotated[Store, Depends(get_store)],
    ) -> Any:
        with store.read() as session:
            return Out.model_validate(crud.get_row(session, res, row_id))

    if res.create is not None and res.write_scopes:
        Create = res.create

        @router.post("", response_model=Out, status_code=status.HTTP_201_CREATED, summary=f"Create in {label}")
        async def create_row(
            request: Request,
            body: Create,  # type: ignore[valid-type]
            caller: Annotated[Caller, Depends(writer)],
            store: Annotated[Store, Depends(get_store)],
            key: IdempotencyKey = None,
        ) -> Response:
            values = body.model_dump()  # type: ignore[attr-defined]
            return await idempotent_write(
                request,
                store,
                caller,
                key,
                lambda session: Out.model_validate(crud.create_row(session, res, values)),
                status_code=status.HTTP_201_CREATED,
            )

    if res.patch is not None and res.write_scopes:
        Patch = res.patch

        @router.patch("/{row_id}", response_model=Out, summary=f"Change one of {label}")
        def patch_row(
            row_id: PathId,  # type: ignore[valid-type]
            body: Patch,  # type: ignore[valid-type]
            caller: Annotated[Caller, Depends(writer)],
            store: Annotated[Store, Depends(get_store)],
        ) -> Any:
            with store.write() as session:
                values = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
                return Out.model_validate(crud.update_row(session, res, row_id, values))

    if res.deletable and res.write_scopes:

        @router.delete(
            "/{row_id}",
            status_code=status.HTTP_204_NO_CONTENT,
            response_class=Response,
            summary=f"Delete one of {label} (tombstone)",
        )
        def delete_row(
            row_id: PathId,  # type: ignore[valid-type]
            caller: Annotated[Caller, Depends(writer)],
            store: Annotated[Store, Depends(get_store)],
        ) -> Response:
            with store.write() as session:
                crud.delete_row(session, res, row_id)
            return Response(status_code=status.HTTP_204_NO_CONTENT)

    if res.upsertable and res.write_scopes:
        Upsert: Any = res.create

        @router.put(
            "/by-external-id/{external_id}",
            response_model=Out,
            summary=f"Create or replace one of {label} by its external ID (one-way sync)",
            responses={201: {"model": Out, "description": "Created"}},
        )
        def upsert_row(
            external_id: Annotated[ExternalId, Path()],
            body: Upsert,
            caller: Annotated[Caller, Depends(writer)],
            store: Annotated[Store, Depends(get_store)],
            response: Response,
        ) -> Any:
            with store.write() as session:
                values = body.model_dump()
                values.pop("external_id", None)
                obj, created = crud.upsert_row(session, res, external_id, values)
                response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
                return Out.model_validate(obj)

    return router
