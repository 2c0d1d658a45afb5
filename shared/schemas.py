"""The JSON Schemas of the event stream: one per event type, and one for any event.

Generated from the pydantic models, so that what the ingest accepts and what a subscriber
validates cannot drift apart. Constraints the models check in plain Python (a known party, a
slug, a time at the report's precision, an http(s) URL, a credibility grade) are carried into
the schemas too. The committed copies under ``schemas/`` are written by
``parley schemas write``; nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from shared.cloudevents import (
    SCHEMA_BASE,
    SCHEMA_VERSION,
    SOURCE,
    SPEC_VERSION,
    ce_type,
    schema_uri,
)
from shared.events import EVENT_ADAPTER, EVENT_CLASSES, Source
from shared.events.envelope import HttpUrl, PointInTime
from shared.occurrence import Precision
from shared.vocabulary import CREDIBILITY, PARTIES, LocalId, Party, Slug

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_URI = SCHEMA_BASE
#: The name of the schema of any event (the union of every type), beside the types' names.
ANY_EVENT = "event"
#: Marks a field whose schema is one of ``_SHARED_DEFS``, referred to rather than repeated.
_DEF_MARK = "x-parley-def"
#: A talks id (the events' ``talks_id``, the records' key).
SLUG = {"type": "string", "pattern": r"^[a-z0-9]+(?:-[a-z0-9]+)*$", "maxLength": 64}


def _after(alias: Any) -> Callable[..., Any]:
    """The function of the ``AfterValidator`` in an ``Annotated`` alias."""
    return next(m.func for m in alias.__metadata__ if hasattr(m, "func"))


def _refinements() -> dict[Callable[..., Any], dict[str, Any]]:
    credibility = get_args(Source.model_fields["credibility"].annotation)[0]
    return {
        _after(Party): {_DEF_MARK: "Party"},
        _after(Slug): {k: v for k, v in SLUG.items() if k != "type"},
        _after(LocalId): {"pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
        # Looser than the model (it also checks the calendar and the UTC offset), never stricter.
        _after(PointInTime): {
            "pattern": r"^(\d{4}-\d{2}(-\d{2})?|\S+T\S+)$",
            "description": "A timestamp with a UTC offset, a day (YYYY-MM-DD) or a month (YYYY-MM)"
            ", as the report gave it.",
        },
        _after(HttpUrl): {"pattern": r"^https?://[^/?#]+"},
        _after(credibility): {"minimum": min(CREDIBILITY), "maximum": max(CREDIBILITY)},
    }


_SHARED_DEFS: dict[str, dict[str, Any]] = {
    "Party": {
        "title": "Party",
        "description": "A state by its ISO 3166-1 alpha-3 code, or an organisation.",
        "type": "string",
        "enum": sorted(PARTIES),
    },
}


class _ContractSchema(GenerateJsonSchema):
    """Pydantic's generator, plus the constraints that live in validator functions."""

    refinements = _refinements()

    def function_after_schema(
        self, schema: core_schema.AfterValidatorFunctionSchema
    ) -> JsonSchemaValue:
        inner = super().function_after_schema(schema)
        return {**inner, **self.refinements.get(schema["function"]["function"], {})}


def schema_id(name: str, version: int = SCHEMA_VERSION) -> str:
    """``round.opened`` -> ``https://parley.example/schemas/round.opened.v1.json``."""
    return schema_uri(name, version)


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one event type, at the current version."""
    model = EVENT_CLASSES[event_type]
    schema = model.model_json_schema(schema_generator=_ContractSchema)
    _require_type(schema)
    return {
        "$schema": DIALECT,
        "$id": schema_id(event_type),
        "x-cloudevents-type": ce_type(event_type),
        **_with_shared_defs(schema),
        "title": f"{event_type} v{SCHEMA_VERSION}",
    }


def any_event_schema() -> dict[str, Any]:
    """The JSON Schema of any event: one of the types, told apart by ``type``."""
    schema = EVENT_ADAPTER.json_schema(schema_generator=_ContractSchema)
    for name in schema["discriminator"]["mapping"].values():
        _require_type(schema["$defs"][name.rpartition("/")[2]])
    return {
        "$schema": DIALECT,
        "$id": schema_id(ANY_EVENT),
        "title": f"Parley event v{SCHEMA_VERSION}",
        "description": "Any event on the topic; its `type` says which schema applies.",
        **_with_shared_defs(schema),
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every schema by name: each event type, then ``event`` (any type)."""
    return {**{t: event_schema(t) for t in EVENT_CLASSES}, ANY_EVENT: any_event_schema()}


def file_name(name: str, version: int = SCHEMA_VERSION) -> str:
    """Where a schema is committed under ``schemas/``: ``round.opened.v1.json``."""
    return f"{name}.v{version}.json"


def _require_type(schema: dict[str, Any]) -> None:
    """``type`` has a default in the models, but every event on the wire carries it."""
    if "type" not in schema["required"]:
        schema["required"] = ["type", *schema["required"]]


def _with_shared_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace the marks left by the refinements with ``$ref``s to shared definitions."""
    used: set[str] = set()

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if _DEF_MARK in node:
                used.add(node[_DEF_MARK])
                return {"$ref": f"#/$defs/{node[_DEF_MARK]}"}
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    result = walk(schema)
    if used:
        result["$defs"] = {**result.get("$defs", {}), **{n: _SHARED_DEFS[n] for n in used}}
    return result


def cloudevents_headers_schema() -> dict[str, Any]:
    """The JSON Schema of a record's Kafka headers (shared.cloudevents), each one UTF-8 text."""
    utc = {"type": "string", "format": "date-time"}
    properties: dict[str, dict[str, Any]] = {
        "ce_specversion": {"const": SPEC_VERSION, "description": "The CloudEvents version."},
        "ce_id": {"type": "string", "format": "uuid", "description": "The event's event_id."},
        "ce_type": {
            "type": "string",
            "pattern": r"^org\.parley\.[a-z_.]+\.v[0-9]+$",
            "description": "org.parley.<type>.v<version>: the type and its schema's version.",
        },
        "ce_source": {"const": SOURCE, "description": "Who recorded it: Parley's ingest."},
        "ce_subject": {
            **SLUG,
            "description": "The event's talks_id (also the record's key).",
        },
        "ce_time": {**utc, "description": "When Parley recorded it: recorded_at, in UTC."},
        "ce_dataschema": {
            "type": "string",
            "format": "uri",
            "description": "The $id of the value's JSON Schema (served at /v1/schemas/<type>).",
        },
        "ce_occurredat": {
            "type": "string",
            "description": "occurred_at as reported (a window as earliest/latest).",
        },
        "ce_occurredearliest": {**utc, "description": "When it happened, at the earliest."},
        "ce_occurredlatest": {**utc, "description": "When it happened, at the latest."},
        "ce_precision": {
            "enum": [p.value for p in Precision],
            "description": "How precisely the report dates it.",
        },
        "ce_recordedat": {**utc, "description": "The same as ce_time, by its Parley name."},
        "content-type": {"const": "application/json", "description": "The value is JSON."},
    }
    tracing: dict[str, dict[str, Any]] = {
        "traceparent": {
            "type": "string",
            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            "description": "W3C Trace Context of the ingest's span (CloudEvents Distributed "
            "Tracing extension); optional.",
        },
        "tracestate": {
            "type": "string",
            "maxLength": 512,
            "description": "W3C tracestate passed on from the request; optional.",
        },
    }
    return {
        "title": "CloudEvents headers",
        "description": "CloudEvents 1.0 attributes in Kafka binary mode, plus Parley extensions.",
        "type": "object",
        "required": list(properties),
        "properties": {**properties, **tracing},
    }
