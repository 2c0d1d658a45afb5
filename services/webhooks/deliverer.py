"""The port that sends one delivery attempt, and its HTTP adapter (httpx)."""

from __future__ import annotations

from typing import Protocol

import httpx
from prometheus_client import Counter

from services.webhooks.deliveries import DueDelivery, Outcome
from services.webhooks.signing import delivery_headers

_MAX_ERROR = 500

DELIVERIES = Counter(
    "parley_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome: delivered or failed.",
    ["outcome"],
)


class Deliverer(Protocol):
    """Sends one attempt of a delivery and says how it went; never raises for the receiver."""

    async def deliver(self, delivery: DueDelivery) -> Outcome: ...


class HttpDeliverer:
    """POSTs the record's bytes, signed, to the subscription's URL; a 2xx answer is success.

    Redirects are not followed: a receiver that moved should be registered anew.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def deliver(self, delivery: DueDelivery) -> Outcome:
        headers = delivery_headers(
            body=delivery.body,
            secret=delivery.secret,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            attempt=delivery.attempts + 1,
            record_headers=delivery.headers,
        )
        try:
            response = await self._client.post(
                delivery.url, content=delivery.body, headers=headers, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            DELIVERIES.labels("failed").inc()
            return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:_MAX_ERROR])
        if response.is_success:
            DELIVERIES.labels("delivered").inc()
            return Outcome(ok=True, status_code=response.status_code)
        DELIVERIES.labels("failed").inc()
        text = response.text.strip()
        error = f"HTTP {response.status_code}" + (f": {text}" if text else "")
        return Outcome(ok=False, status_code=response.status_code, error=error[:_MAX_ERROR])
