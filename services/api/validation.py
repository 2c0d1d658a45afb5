"""Refusing bad query parameters with a message that names the field and what is allowed."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import JSONResponse

from services.api.history import EventNotFound
from services.api.queries import BadCursor, TalksNotFound
from services.api.timeparams import BadTime


class BadParameter(ValueError):
    def __init__(self, field: str, message: str, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.allowed = allowed


def one_of(field: str, value: str, allowed: Mapping[str, str]) -> str:
    """``value`` if it is one of ``allowed``; otherwise a 422 naming the field and the values."""
    if value not in allowed:
        raise BadParameter(field, f"{value!r} is not allowed", sorted(allowed))
    return value


def _problem(status: int, detail: str, field: str | None = None, **extra: object) -> JSONResponse:
    body: dict[str, object] = {"detail": detail}
    if field:
        body["errors"] = [{"field": field, "message": detail, **extra}]
    return JSONResponse(body, status_code=status)


async def bad_parameter(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BadParameter)
    extra = {"allowed": exc.allowed} if exc.allowed else {}
    return _problem(422, f"{exc.field}: {exc}", exc.field, **extra)


async def bad_time(_: Request, exc: Exception) -> JSONResponse:
    field = str(exc).split("=", 1)[0]
    return _problem(422, str(exc), field)


async def bad_cursor(_: Request, exc: Exception) -> JSONResponse:
    return _problem(400, str(exc), "cursor")


async def talks_not_found(_: Request, exc: Exception) -> JSONResponse:
    return _problem(404, f"no events recorded for talks {exc}")


async def event_not_found(_: Request, exc: Exception) -> JSONResponse:
    return _problem(404, f"no event {exc} has been recorded")


HANDLERS = {
    EventNotFound: event_not_found,
    BadParameter: bad_parameter,
    BadTime: bad_time,
    BadCursor: bad_cursor,
    TalksNotFound: talks_not_found,
}
