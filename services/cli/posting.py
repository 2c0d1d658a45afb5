"""Posting one event line to the ingest, and what its answer means for the line."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from services.cli.source import EventLine
from services.cli.summary import Outcome, Rejection

EVENTS_PATH = "/v1/events"
MAX_RETRIES = 5  # per line, after the first attempt
MAX_WAIT_S = 30.0
DEFAULT_WAIT_S = 1.0

Sleep = Callable[[float], Awaitable[None]]


class IngestUnreachable(Exception):
    """The ingest did not accept a connection."""

    def __init__(self, url: str) -> None:
        super().__init__(f"cannot reach the ingest at {url}: is it running? (make stack)")
        self.url = url


class IngestRefused(IngestUnreachable):
    """The ingest refused the API key: no line can be recorded with it."""

    def __init__(self, url: str, detail: str) -> None:
        Exception.__init__(
            self,
            f"the ingest at {url} refused the API key ({detail}); give one with the scope "
            "events:write in --key or $PARLEY_API_KEY (make stack prints one)",
        )
        self.url = url


async def post_line(
    client: httpx.AsyncClient, line: EventLine, sleep: Sleep = asyncio.sleep
) -> Outcome:
    """Post one line; on ``503`` wait as told and send it again, under the same ``event_id``."""
    content, event_id, detail = line.text.encode(), line.event_id, ""
    for attempt in range(MAX_RETRIES + 1):
        try:
            response = await client.post(
                EVENTS_PATH, content=content, headers={"content-type": "application/json"}
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise IngestUnreachable(str(client.base_url).rstrip("/")) from exc
        except httpx.TransportError as exc:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return Rejection(line.number, (f"no answer ({why}); it may have been recorded",))
        if response.status_code in (401, 403):
            raise IngestRefused(
                str(client.base_url).rstrip("/"), str(json_of(response).get("detail", ""))
            )
        if response.status_code != 503:
            return outcome_of(line, response)
        body = json_of(response)
        detail = str(body.get("detail", ""))
        if event_id is None and body.get("event_id") and isinstance(line.body, dict):
            # The retry must not record the event a second time under a new id.
            event_id = body["event_id"]
            content = json.dumps({**line.body, "event_id": event_id}).encode()
        if attempt < MAX_RETRIES:
            await sleep(retry_after(response))
    reason = f"not recorded: the ingest answered 503 {MAX_RETRIES + 1} times ({detail})"
    return Rejection(line.number, (f"{reason}; event_id {event_id}" if event_id else reason,))


def outcome_of(line: EventLine, response: httpx.Response) -> Outcome:
    """What an answer other than ``503`` means for the line."""
    body = json_of(response)
    status = response.status_code
    if response.is_success:
        return "duplicate" if status == 200 and body.get("duplicate") is True else "accepted"
    detail = str(body.get("detail") or response.text[:200] or response.reason_phrase)
    if status in (400, 422) and isinstance(body.get("errors"), list) and body["errors"]:
        return Rejection(line.number, tuple(describe_error(e) for e in body["errors"]))
    if status == 409:
        return Rejection(line.number, (f"conflict: {detail}",))
    if status in (400, 413, 422):
        return Rejection(line.number, (detail,))
    return Rejection(line.number, (f"unexpected answer {status}: {detail}",))


def describe_error(error: Any) -> str:
    """``field: message`` for one of the ingest's field errors."""
    if not isinstance(error, dict):
        return str(error)
    field_name, message = error.get("field"), error.get("message", "invalid")
    return f"{field_name}: {message}" if field_name and field_name != "(body)" else str(message)


def retry_after(response: httpx.Response) -> float:
    """The wait the ``Retry-After`` header asks for (seconds or an HTTP date), at most 30 s."""
    value = response.headers.get("retry-after", "").strip()
    try:
        wait = float(value)
    except ValueError:
        try:
            wait = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            wait = DEFAULT_WAIT_S
    return min(max(wait, 0.0), MAX_WAIT_S) if math.isfinite(wait) else DEFAULT_WAIT_S


def json_of(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or ``{}`` when it has none."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
