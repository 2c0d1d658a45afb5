"""Signing a delivery and the headers it carries: what a receiver relies on to verify it."""

import hashlib
import hmac
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.webhooks.signing import (
    cloudevents_http_headers,
    delivery_headers,
    sign,
    verify,
)
from shared.cloudevents import headers_for
from shared.events import parse_submission, stamp, to_json

pytestmark = pytest.mark.unit

SECRET = "s3cret-of-sixteen-chars"


def test_the_signature_is_the_hex_hmac_sha256_of_the_exact_body() -> None:
    body = b'{"type": "round.opened", "talks_id": "abu-dhabi"}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, SECRET) == f"sha256={expected}"
    # a known vector (RFC 4231 style: key and message of our own, computed independently)
    assert sign(b"hello", "0123456789abcdef") == (
        "sha256=" + hmac.new(b"0123456789abcdef", b"hello", "sha256").hexdigest()
    )


def test_verify_accepts_the_signature_and_refuses_any_change() -> None:
    body = b'{"a": 1}'
    signature = sign(body, SECRET)
    assert verify(body, SECRET, signature)
    assert not verify(b'{"a": 2}', SECRET, signature)
    assert not verify(body, SECRET + "x", signature)
    assert not verify(b'{"a":1}', SECRET, signature)  # whitespace matters: sign the raw bytes
    assert not verify(body, SECRET, signature.replace("sha256=", "sha1="))


def test_a_delivery_carries_its_ids_attempt_and_cloudevents_attributes() -> None:
    event = parse_submission(
        '{"type": "round.opened", "talks_id": "abu-dhabi", '
        '"occurred_at": "2026-02-04T09:00:00+04:00", "data": {"round_id": "r2"}}'
    )
    event_id = uuid4()
    recorded = stamp(event, event_id, datetime(2026, 2, 4, 6, tzinfo=UTC))
    body = to_json(recorded)
    record_headers = {k: v.decode() for k, v in headers_for(recorded)}
    headers = delivery_headers(
        body=body,
        secret=SECRET,
        event_id=event_id,
        event_type="round.opened",
        attempt=3,
        record_headers=record_headers,
    )
    assert headers["Content-Type"] == "application/json"
    assert verify(body, SECRET, headers["X-Parley-Signature"])
    assert headers["X-Parley-Event-Id"] == str(event_id)
    assert headers["X-Parley-Event-Type"] == "round.opened"
    assert headers["X-Parley-Delivery-Attempt"] == "3"
    assert headers["ce-id"] == str(event_id)
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-type"] == "org.parley.round.opened.v1"
    assert headers["ce-subject"] == "abu-dhabi"
    assert headers["ce-occurredat"] == "2026-02-04T09:00:00+04:00"
    assert "content-type" not in headers  # the Kafka content-type is the HTTP Content-Type
    assert not any(name.startswith("ce_") for name in headers)


def test_cloudevents_header_values_are_percent_encoded_where_http_needs_it() -> None:
    headers = cloudevents_http_headers(
        [("ce_subject", 'a "b" 100% ü'), ("ce_id", "plain-1:+/"), ("other", "x")]
    )
    assert headers == {"ce-subject": "a%20%22b%22%20100%25%20%C3%BC", "ce-id": "plain-1:+/"}
