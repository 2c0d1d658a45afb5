"""HTTP routes for operators: the projector's dead letters (docs/dead-letters-and-rebuild.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from services.api.queries import BadCursor, decode_cursor, encode_cursor
from services.projector.deadletters import decode_headers
from services.projector.letters import list_letters

router = APIRouter(prefix="/v1/admin", tags=["admin"])

Status = Literal["open", "replayed", "skipped"]


class RecordHeader(BaseModel):
    name: str
    value: str = Field(description="As UTF-8 text (bytes that are not UTF-8 replaced).")


class DeadLetter(BaseModel):
    """A record the projector set aside: where it was on the log, why, and what became of it."""

    id: int
    consumer_group: str
    partition: int
    offset: int
    talks_id: str | None
    event_id: UUID | None
    error_type: str = Field(
        description="undecodable, unknown_type, invalid, projection_failed or parked."
    )
    error: str
    status: Status
    dead_at: datetime
    resolved_at: datetime | None
    headers: list[RecordHeader]
    value: str = Field(description="The record's value as UTF-8 text.")


class DeadLettersPage(BaseModel):
    items: list[DeadLetter]
    next_cursor: str | None


def _shown(row: dict[str, Any]) -> DeadLetter:
    return DeadLetter(
        **{k: v for k, v in row.items() if k in DeadLetter.model_fields and k != "headers"}
        | {
            "headers": [
                RecordHeader(name=name, value=value.decode("utf-8", errors="replace"))
                for name, value in decode_headers(row["headers"])
            ],
            "value": row["value"].decode("utf-8", errors="replace"),
        }
    )


@router.get("/dead-letters", response_model=DeadLettersPage)
async def get_dead_letters(
    request: Request,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Items per page.")] = 100,
    cursor: str | None = None,
) -> DeadLettersPage:
    """The records the projector could not apply, oldest first, paged with `next_cursor`.

    Each names its partition and offset on the topic, its talks and event when known, why it
    was set aside (`error_type`, `error`) and its `status`: `open` until an operator replays
    it onto the topic (`replayed`) or skips it (`skipped`) with `parley dead-letters replay`.
    """
    after = None
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, int):
            raise BadCursor("cursor is not one this API handed out; start again without it")
    rows, next_after = await list_letters(
        request.state.engine, request.state.settings.topic, status=status, limit=limit, after=after
    )
    return DeadLettersPage(
        items=[_shown(row) for row in rows],
        next_cursor=None if next_after is None else encode_cursor(next_after),
    )
