"""Schemathesis against both services' OpenAPI documents, on the running stack: no 5xx.

Schemathesis's own pytest plugin does not run under this pytest version, so each operation's
strategy is driven with hypothesis directly.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.support.auth import AUTH

pytestmark = pytest.mark.e2e

FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
)
#: /v1/stream never ends by design; test_stream.py covers it.
ENDLESS = {"/v1/stream"}


def fuzz(url: str) -> list[str]:
    """Run every operation of the OpenAPI document at ``url``; return the operations run."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    ran = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in ENDLESS:
            continue

        @given(case=operation.as_strategy())
        @FUZZ
        def call(case) -> None:
            case.call_and_validate(headers=AUTH, checks=[not_a_server_error], timeout=30)

        call()
        ran.append(f"{operation.method.upper()} {operation.path}")
    return ran


def test_the_ingest_never_answers_5xx(stack) -> None:
    assert "POST /v1/events" in fuzz(stack.ingest.url)


def test_the_api_never_answers_5xx(stack) -> None:
    ran = fuzz(stack.api.url)
    assert {"GET /v1/talks/{talks_id}/state", "POST /v1/subscriptions"} <= set(ran)
