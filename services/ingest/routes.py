"""HTTP routes of the ingest: translate requests into :func:`record_event` and back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.common import tracing
from services.common.auth import require
from services.common.heap import frozen_heap
from services.ingest.recording import Conflict, NotRecorded, Recorded, record_events
from shared.events import EVENT_ADAPTER, EVENT_TYPES, SUBMISSION, Event, parse_submission


class Answer(JSONResponse):
    """A JSON answer serialized by orjson: the same bytes as :class:`JSONResponse` gives for
    the plain dicts of strings, numbers and booleans the ingest answers with, faster."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


#: A whole batch in one validation call.
BATCH_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


@asynccontextmanager
async def _frozen_heap(app: Any) -> AsyncIterator[None]:
    """Once the service is up, its heap is frozen and the young generation collected less
    often (services/common/heap.py). A batch allocates some 100,000 objects that live for
    the whole request: before, each full collection walked the whole heap of modules,
    schemas and pools (~100 ms every second or third batch, half the ingest's CPU), and at
    the default threshold the young generation was walked ~45 times per 1,000 events
    (~47 -> ~10 us per event in the collector on a loaded 2-core machine)."""
    with frozen_heap():
        yield


router = APIRouter(
    prefix="/v1",
    tags=["events"],
    dependencies=[Depends(require("events:write"))],
    lifespan=_frozen_heap,
)


class Accepted(BaseModel):
    """The log holds the event (``duplicate``: it already did, from an earlier request)."""

    event_id: str
    recorded_at: str
    partition: int
    offset: int
    duplicate: bool = False


class Problem(BaseModel):
    detail: str
    errors: list[dict[str, Any]] | None = None
    event_id: str | None = None


class BatchItem(BaseModel):
    index: int
    status: int
    event_id: str
    recorded_at: str | None = None
    partition: int | None = None
    offset: int | None = None
    duplicate: bool = False
    detail: str | None = None


class BatchResult(BaseModel):
    results: list[BatchItem]


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as ``{field, message, type}``, the field as a dotted path."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = list(err["loc"])
        if loc and loc[0] in EVENT_TYPES:
            loc = loc[1:]  # the discriminator's tag, not a field
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["type"]
        problem: dict[str, Any] = {
            "field": ".".join(str(part) for part in loc) or "(body)",
            "message": err["msg"],
            "type": err["type"],
        }
        allowed = _allowed(err)
        if allowed:
            problem["allowed"] = allowed
        out.append(problem)
    return out


def _allowed(err: Any) -> list[str] | None:
    """The values a field allows, when pydantic knows them (enums, the event type)."""
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return list(EVENT_TYPES)
    if err["type"] == "enum":
        return re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
    return None


RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not JSON."},
    401: {"model": Problem, "description": "No valid API key (`Authorization: Bearer <key>`)."},
    403: {"model": Problem, "description": "The key lacks the scope `events:write`."},
    409: {"model": Problem, "description": "The event_id was recorded with a different body."},
    413: {"model": Problem, "description": "The body is too large."},
    422: {"model": Problem, "description": "A field is missing or not allowed."},
    503: {"model": Problem, "description": "Kafka did not acknowledge; retry later."},
}


@router.post(
    "/events",
    status_code=202,
    response_model=Accepted,
    responses={200: {"model": Accepted, "description": "Already recorded."}, **RESPONSES},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EVENT_ADAPTER.json_schema()}},
        }
    },
)
async def post_event(request: Request) -> JSONResponse:
    """Record one event.

    Answers `202` with the event's id, `recorded_at` and its Kafka partition and offset only
    once the broker acknowledged it (`acks=all`). Send the same `event_id` when retrying: a
    retry of the same body answers `200` with the original receipt and `"duplicate": true`;
    another body under a recorded `event_id` is a `409`.

    A valid W3C `traceparent` header continues the caller's trace, else a new one starts; the
    answer's `traceparent` names the ingest's span, which the Kafka record carries too.
    """
    return await _traced(request, _post_event)


async def _post_event(
    request: Request, trace: tracing.TraceContext, tracestate: str | None
) -> JSONResponse:
    settings = request.state.settings
    body = await _read(request, settings.max_body_bytes)
    if isinstance(body, JSONResponse):
        return body
    try:
        event = parse_submission(body)
    except ValidationError as exc:
        errors = field_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return _problem(400, "the body is not valid JSON", errors)
        return _problem(422, "the event is not valid", errors)
    [outcome] = await record_events(
        [event],
        request.state.publisher,
        request.state.receipts,
        trace=trace,
        tracestate=tracestate,
    )
    if isinstance(outcome, Conflict):
        return _problem(409, str(outcome), event_id=outcome.event_id)
    if isinstance(outcome, NotRecorded):
        return _unavailable(settings, outcome)
    return Answer(_accepted(outcome, {}), status_code=200 if outcome.duplicate else 202)


@router.post(
    "/events:batch",
    status_code=202,
    response_model=BatchResult,
    responses=RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "maxItems": 1000,
                        "items": EVENT_ADAPTER.json_schema(),
                    }
                }
            },
        }
    },
)
async def post_batch(request: Request) -> JSONResponse:
    """Record up to 1,000 events at once.

    Every event is validated first: if any is invalid the answer is `422` listing each bad
    item's `index` and field, and nothing is published. Otherwise every event is published
    and `results` gives each one's answer, in order (`202`, `200` duplicate, `409`, `503`).
    The batch answers `202` when the log holds every event, else the worst status. Every
    record of the batch carries the request's `traceparent`, as for `POST /v1/events`.
    """
    return await _traced(request, _post_batch)


async def _post_batch(
    request: Request, trace: tracing.TraceContext, tracestate: str | None
) -> JSONResponse:
    settings = request.state.settings
    body = await _read(request, settings.max_batch_bytes)
    if isinstance(body, JSONResponse):
        return body
    events = _valid_batch(body, settings.max_batch_events)
    if isinstance(events, JSONResponse):
        return events
    outcomes = await record_events(
        events, request.state.publisher, request.state.receipts, trace=trace, tracestate=tracestate
    )
    stamps: dict[datetime, str] = {}
    results = [_batch_item(index, outcome, stamps) for index, outcome in enumerate(outcomes)]
    statuses = {r["status"] for r in results}
    status = 503 if 503 in statuses else 409 if 409 in statuses else 202
    headers = {"Retry-After": str(settings.retry_after_s)} if status == 503 else None
    return Answer({"results": results}, status_code=status, headers=headers)


def _valid_batch(body: bytes, most: int) -> list[Event] | JSONResponse:
    """Every event of the batch, or the problem: a 400 if the body is not JSON, a 422 if it
    is not an array of 1 to ``most`` events or lists each bad item. A valid batch takes one
    call of the batch's adapter on the raw bytes (as ``POST /v1/events`` validates its body:
    no Python objects of the JSON in between); only a bad one is parsed and gone through item
    by item, to name what is wrong."""
    try:
        events = BATCH_ADAPTER.validate_json(body, context=SUBMISSION)
    except ValidationError:
        return _checked(body, most)
    if not 1 <= len(events) <= most:
        return _not_a_batch(most)
    ids = [event.event_id for event in events if event.event_id is not None]
    if len(set(ids)) != len(ids):  # compared as UUIDs: the case of the hex digits is no matter
        return _checked(body, most)
    return events


def _not_a_batch(most: int) -> JSONResponse:
    return _problem(422, f"the body must be a JSON array of 1 to {most} events")


def _checked(body: bytes, most: int) -> list[Event] | JSONResponse:
    """The batch parsed and validated item by item: each bad item's errors, or its events."""
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _problem(400, f"the body is not valid JSON: {exc}")
    if not isinstance(items, list) or not 1 <= len(items) <= most:
        return _not_a_batch(most)
    return _checked_one_by_one(items)


def _checked_one_by_one(items: list[Any]) -> list[Event] | JSONResponse:
    events, errors = [], []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            event = EVENT_ADAPTER.validate_python(item, context=SUBMISSION)
        except ValidationError as exc:
            errors += [{"index": index, **e} for e in field_errors(exc)]
            continue
        events.append(event)
        event_id = event.event_id
        if event_id is not None and str(event_id) in seen:
            message = f"repeats the event_id of item {seen[str(event_id)]}"
            errors.append(
                {"index": index, "field": "event_id", "message": message, "type": "repeated"}
            )
        elif event_id is not None:
            seen[str(event_id)] = index
    if errors:
        bad = len({e["index"] for e in errors})
        detail = f"{bad} of {len(items)} events are not valid; nothing was published"
        return _problem(422, detail, errors)
    return events


async def _traced(
    request: Request,
    handle: Callable[[Request, tracing.TraceContext, str | None], Awaitable[JSONResponse]],
) -> JSONResponse:
    """Run ``handle`` in the ingest's span of the request's trace (continued or new): log
    lines carry its ``trace_id``, and the answer its ``traceparent``."""
    trace, continued = tracing.continue_or_start(request.headers.get(tracing.HEADER))
    # An invalid or absent traceparent makes the tracestate meaningless (W3C, 3.3.1).
    state = tracing.parse_state(request.headers.get(tracing.STATE_HEADER)) if continued else None
    token = tracing.current.set(trace)
    try:
        response = await handle(request, trace, state)
    finally:
        tracing.current.reset(token)
    response.headers[tracing.HEADER] = trace.header()
    return response


async def _read(request: Request, limit: int) -> bytes | JSONResponse:
    """The body, or a 413 as soon as it is known to be over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return _problem(413, f"the body exceeds {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return _problem(413, f"the body exceeds {limit} bytes")
    return bytes(body)


def _utc(moment: datetime, stamps: dict[datetime, str]) -> str:
    """``moment`` in ISO 8601 with a ``Z``; ``stamps`` remembers it (a batch shares one)."""
    text = stamps.get(moment)
    if text is None:
        text = stamps[moment] = moment.isoformat().replace("+00:00", "Z")
    return text


def _accepted(recorded: Recorded, stamps: dict[datetime, str]) -> dict[str, Any]:
    """An :class:`Accepted`, as the dict it serializes to."""
    return {
        "event_id": recorded.id_text,
        "recorded_at": _utc(recorded.recorded_at, stamps),
        "partition": recorded.partition,
        "offset": recorded.offset,
        "duplicate": recorded.duplicate,
    }


def _batch_item(
    index: int, outcome: Recorded | NotRecorded | Conflict, stamps: dict[datetime, str]
) -> dict[str, Any]:
    """A :class:`BatchItem`, as the dict it serializes to (``None`` fields left out)."""
    if isinstance(outcome, Recorded):  # an Accepted's fields after these two, in one dict
        return {
            "index": index,
            "status": 200 if outcome.duplicate else 202,
            "event_id": outcome.id_text,
            "recorded_at": _utc(outcome.recorded_at, stamps),
            "partition": outcome.partition,
            "offset": outcome.offset,
            "duplicate": outcome.duplicate,
        }
    return {
        "index": index,
        "status": 409 if isinstance(outcome, Conflict) else 503,
        "event_id": str(outcome.event_id),
        "duplicate": False,
        "detail": str(outcome),
    }


def _unavailable(settings: Any, outcome: NotRecorded) -> JSONResponse:
    return JSONResponse(
        Problem(
            detail=f"the event was not recorded: {outcome.reason}; retry with the same event_id",
            event_id=str(outcome.event_id),
        ).model_dump(exclude_none=True),
        status_code=503,
        headers={"Retry-After": str(settings.retry_after_s)},
    )


def _problem(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    event_id: UUID | None = None,
) -> JSONResponse:
    problem = Problem(detail=detail, errors=errors, event_id=event_id and str(event_id))
    return JSONResponse(problem.model_dump(exclude_none=True), status_code=status)
