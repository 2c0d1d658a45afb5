"""HTTP routes of the stream's public contract: the event schemas and the AsyncAPI document."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.api.asyncapi import asyncapi_document
from shared.cloudevents import SCHEMA_VERSION, ce_type
from shared.events import EVENT_TYPES
from shared.schemas import ANY_EVENT, all_schemas, schema_id

router = APIRouter(prefix="/v1", tags=["contract"])

SCHEMA_MEDIA_TYPE = "application/schema+json"


class SchemaEntry(BaseModel):
    """One event type's schema: where the API serves it and what it is called."""

    type: str
    version: int
    ce_type: str
    url: str
    id: str


class SchemaList(BaseModel):
    """Every event type's schema, and where the schema of any event is."""

    schemas: list[SchemaEntry]
    any_event: str


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    return all_schemas()


@cache
def _asyncapi(topic: str, partitions: int) -> dict[str, Any]:
    return asyncapi_document(topic, partitions)


@router.get("/schemas", response_model=SchemaList)
async def list_schemas() -> SchemaList:
    """The JSON Schema of every event type, at its current version.

    `url` serves the schema (as the records' `ce_dataschema` header names it), `id` is its
    `$id`; `any_event` serves the schema of an event of any type.
    """
    return SchemaList(
        schemas=[
            SchemaEntry(
                type=t,
                version=SCHEMA_VERSION,
                ce_type=ce_type(t),
                url=f"/v1/schemas/{t}",
                id=schema_id(t),
            )
            for t in EVENT_TYPES
        ],
        any_event=f"/v1/schemas/{ANY_EVENT}",
    )


@router.get(
    "/schemas/{event_type}",
    responses={200: {"content": {SCHEMA_MEDIA_TYPE: {}}}, 404: {"description": "Unknown type"}},
)
async def get_schema(event_type: str) -> JSONResponse:
    """The JSON Schema (draft 2020-12) of one event type, or of any event (`event`).

    A record on the topic validates against the schema of its type; so does a submission to
    the ingest (which may leave out `event_id` and must leave out `recorded_at`).
    """
    schemas = _schemas()
    if event_type not in schemas:
        return JSONResponse(
            {"detail": f"no event type {event_type!r}", "known_types": sorted(schemas)},
            status_code=404,
        )
    return JSONResponse(schemas[event_type], media_type=SCHEMA_MEDIA_TYPE)


@router.get("/asyncapi.json", response_class=JSONResponse)
async def get_asyncapi(request: Request) -> JSONResponse:
    """The AsyncAPI 3.0 document of the Kafka topic: its messages, headers and key."""
    settings = request.state.settings
    return JSONResponse(_asyncapi(settings.topic, settings.topic_partitions))
