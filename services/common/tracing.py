"""W3C Trace Context (``traceparent``): parse, format, and start or continue a trace.

Parley records no spans; it only carries the trace through: the ingest continues the trace of
an incoming request (or starts one), puts its own ``traceparent`` on the Kafka record, and the
projector logs the trace id of every event it applies. https://www.w3.org/TR/trace-context/

No framework here: plain values, plus the context variable the JSON log lines read
``trace_id`` from.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

HEADER = "traceparent"
STATE_HEADER = "tracestate"

_HEX = re.compile(r"[0-9a-f]+")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
#: tracestate: printable ASCII, at most 512 characters (what every vendor must propagate).
_STATE = re.compile(r"[\x20-\x7e]{1,512}")

#: The trace of the work in hand (a request, an event); log lines carry its ``trace_id``.
current: ContextVar[TraceContext | None] = ContextVar("parley_trace", default=None)


@dataclass(frozen=True, slots=True)
class TraceContext:
    """One ``traceparent``: the trace, the span that sent it, and its flags (``01`` sampled)."""

    trace_id: str
    span_id: str
    flags: str = "00"

    def header(self) -> str:
        """The ``traceparent`` value, always version ``00``."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self) -> TraceContext:
        """A new span of the same trace, with the same flags."""
        return TraceContext(self.trace_id, new_span_id(), self.flags)

    @property
    def sampled(self) -> bool:
        return int(self.flags, 16) & 1 == 1


def new_trace_id() -> str:
    while (value := secrets.token_hex(16)) == _ZERO_TRACE:  # pragma: no cover - 2**-128
        pass
    return value


def new_span_id() -> str:
    while (value := secrets.token_hex(8)) == _ZERO_SPAN:  # pragma: no cover - 2**-64
        pass
    return value


def new_trace() -> TraceContext:
    """The start of a trace: fresh ids, not sampled (Parley records no spans)."""
    return TraceContext(new_trace_id(), new_span_id(), "00")


def parse(value: str | None) -> TraceContext | None:
    """A ``traceparent`` header as a :class:`TraceContext`, or ``None`` when absent or invalid.

    Follows the W3C rules: lower-case hex only; version ``ff`` is invalid; version ``00`` is
    exactly 55 characters; a later version may append fields after a ``-``, which are ignored;
    an all-zero trace id or parent id is invalid.
    """
    if value is None:
        return None
    value = value.strip(" \t")
    if len(value) < 55 or (len(value) > 55 and value[55] != "-"):
        return None
    version, trace_id, span_id, flags = value[:2], value[3:35], value[36:52], value[53:55]
    if (value[2], value[35], value[52]) != ("-", "-", "-"):
        return None
    if not all(_HEX.fullmatch(part) for part in (version, trace_id, span_id, flags)):
        return None
    if version == "ff" or (version == "00" and len(value) != 55):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    if version != "00":  # of a later version's flags, only the sampled bit is known
        flags = "01" if int(flags, 16) & 1 else "00"
    return TraceContext(trace_id, span_id, flags)


def parse_state(value: str | None) -> str | None:
    """A ``tracestate`` worth passing on (printable, at most 512 characters), else ``None``."""
    if value is None:
        return None
    value = value.strip(" \t")
    return value if _STATE.fullmatch(value) else None


def continue_or_start(traceparent: str | None) -> tuple[TraceContext, bool]:
    """This service's span: a child of ``traceparent`` when it is valid, else a new trace.

    Returns the span and whether the incoming trace was continued.
    """
    parent = parse(traceparent)
    return (parent.child(), True) if parent is not None else (new_trace(), False)


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id in a ``traceparent`` value, or ``None`` when absent or invalid."""
    parsed = parse(traceparent)
    return parsed.trace_id if parsed is not None else None
