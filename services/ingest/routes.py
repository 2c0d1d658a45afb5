"""HTTP routes of the ingest: translate requests into :func:`record_event` and back."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from services.ingest.recording import NotRecorded, record_event
from shared.events import EVENT_ADAPTER, EVENT_TYPES, parse_submission

router = APIRouter(prefix="/v1", tags=["events"])


class Accepted(BaseModel):
    """The log acknowledged the event."""

    event_id: str
    recorded_at: str
    partition: int
    offset: int


class Problem(BaseModel):
    detail: str
    errors: list[dict[str, Any]] | None = None
    event_id: str | None = None


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


@router.post(
    "/events",
    status_code=202,
    response_model=Accepted,
    responses={
        400: {"model": Problem, "description": "The body is not JSON."},
        413: {"model": Problem, "description": "The body is too large."},
        422: {"model": Problem, "description": "A field is missing or not allowed."},
        503: {"model": Problem, "description": "Kafka did not acknowledge; retry later."},
    },
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
    once the broker acknowledged it (`acks=all`). Send the same `event_id` when retrying.
    """
    settings = request.state.settings
    body = await request.body()
    if len(body) > settings.max_body_bytes:
        return _problem(413, f"body exceeds {settings.max_body_bytes} bytes")
    try:
        event = parse_submission(body)
    except ValidationError as exc:
        errors = field_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return _problem(400, "the body is not valid JSON", errors)
        return _problem(422, "the event is not valid", errors)
    try:
        recorded = await record_event(event, request.state.publisher)
    except NotRecorded as exc:
        return JSONResponse(
            Problem(
                detail=f"the event was not recorded: {exc.reason}; retry with the same event_id",
                event_id=str(exc.event_id),
            ).model_dump(exclude_none=True),
            status_code=503,
            headers={"Retry-After": str(settings.retry_after_s)},
        )
    return JSONResponse(
        Accepted(
            event_id=str(recorded.event_id),
            recorded_at=recorded.recorded_at.isoformat().replace("+00:00", "Z"),
            partition=recorded.partition,
            offset=recorded.offset,
        ).model_dump(),
        status_code=202,
    )


def _problem(status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse(
        Problem(detail=detail, errors=errors).model_dump(exclude_none=True), status_code=status
    )
