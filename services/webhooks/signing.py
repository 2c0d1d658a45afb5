"""The HTTP form of a delivery: the signature and the headers sent with the record's body.

The body is the record's value exactly as it is on the topic; ``X-Parley-Signature`` is
``sha256=`` and the hex HMAC-SHA256 of those bytes under the subscription's secret. The
record's CloudEvents attributes go along as ``ce-*`` headers (CloudEvents HTTP binary mode).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from uuid import UUID

SIGNATURE_HEADER = "X-Parley-Signature"
_KAFKA_PREFIX = "ce_"
_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F)) - {'"', "%"}


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of body under secret>``, the value of the signature header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> bool:
    """Whether ``signature`` is the one :func:`sign` gives, compared in constant time."""
    return hmac.compare_digest(sign(body, secret), signature)


def _percent_encoded(value: str) -> str:
    """CloudEvents HTTP binding: percent-encode space, ``"``, ``%`` and non-printable-ASCII."""
    return "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in value)


def cloudevents_http_headers(record_headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The record's ``ce_*`` Kafka headers as ``ce-*`` HTTP headers; other headers are dropped."""
    return {
        "ce-" + name[len(_KAFKA_PREFIX) :]: _percent_encoded(value)
        for name, value in record_headers
        if name.startswith(_KAFKA_PREFIX)
    }


def delivery_headers(
    *,
    body: bytes,
    secret: str,
    event_id: UUID,
    event_type: str,
    attempt: int,
    record_headers: Mapping[str, str],
) -> dict[str, str]:
    """Every header of one delivery attempt (``attempt`` counts from 1)."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body, secret),
        "X-Parley-Event-Id": str(event_id),
        "X-Parley-Event-Type": event_type,
        "X-Parley-Delivery-Attempt": str(attempt),
        **cloudevents_http_headers(record_headers.items()),
    }
