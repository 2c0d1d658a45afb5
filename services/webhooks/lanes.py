"""Delivery lanes: one task per (subscription, talks) that sends its outbox rows in log order.

A lane sends its head, waits for the answer, and only then moves on; a failing head is retried
with backoff and blocks its own lane only. Lanes start when the consumer records new rows and
when a periodic scan finds pending rows no lane is working on (after a restart or a resume).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from services.webhooks.deliverer import Deliverer
from services.webhooks.deliveries import DeliveryStore, LaneKey
from services.webhooks.retries import RetryPolicy

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """Keeps a task running for every lane that has work, until stopped."""

    def __init__(
        self,
        store: DeliveryStore,
        deliverer: Deliverer,
        policy: RetryPolicy,
        *,
        concurrency: int = 32,
        scan_interval_s: float = 1.0,
        lease_s: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._deliverer = deliverer
        self._policy = policy
        self._scan_interval_s = scan_interval_s
        self._lease = timedelta(seconds=lease_s)
        self._clock = clock
        self._in_flight = asyncio.Semaphore(concurrency)
        self._stopping = asyncio.Event()
        self._tasks: dict[LaneKey, asyncio.Task[None]] = {}
        self._more: dict[LaneKey, asyncio.Event] = {}

    @property
    def lanes(self) -> set[LaneKey]:
        """The lanes being worked on now."""
        return set(self._tasks)

    def notify(self, lanes: Iterable[LaneKey]) -> None:
        """These lanes have new rows: start their tasks, or tell the running ones to look again."""
        if self._stopping.is_set():
            return
        for key in lanes:
            if key in self._tasks:
                self._more[key].set()
                continue
            self._more[key] = asyncio.Event()
            self._tasks[key] = asyncio.create_task(self._drain(key), name=f"lane {key}")

    async def run(self) -> None:
        """Scan for lanes with pending deliveries every ``scan_interval_s`` until stopped."""
        while not self._stopping.is_set():
            try:
                self.notify(await self._store.pending_lanes())
            except Exception as exc:  # the database may be away for a while: scan again later
                log.warning("could not look for pending deliveries: %r", exc)
            await self._sleep(self._scan_interval_s)

    async def stop(self, timeout_s: float) -> None:
        """Start no new attempt; let those in flight finish and be recorded (``timeout_s``)."""
        self._stopping.set()
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, unfinished = await asyncio.wait(tasks, timeout=timeout_s)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _drain(self, key: LaneKey) -> None:
        try:
            await self._drain_lane(key, self._more[key])
        except Exception as exc:  # e.g. the database went away: the next scan restarts the lane
            log.error("lane %s/%s stopped: %r", key[0], key[1], exc)
        finally:
            self._tasks.pop(key, None)
            self._more.pop(key, None)

    async def _drain_lane(self, key: LaneKey, more: asyncio.Event) -> None:
        while not self._stopping.is_set():
            more.clear()
            due = await self._store.next_pending(key)
            if due is None:
                if more.is_set():  # rows arrived while we looked
                    continue
                return  # drained, paused or deleted; no await between here and leaving
            wait_s = (due.next_attempt_at - self._clock()).total_seconds()
            if wait_s > 0:
                await self._sleep(wait_s)
                continue
            async with self._in_flight:
                if self._stopping.is_set():
                    return
                now = self._clock()
                if not await self._store.claim(due, now, now + self._lease):
                    return  # another worker is sending it; a later scan looks again
                outcome = await self._deliverer.deliver(due)
            now = self._clock()
            if outcome.ok:
                await self._store.record_success(due, outcome, now)
                log.debug("delivered %s to %s", due.event_id, due.url)
                continue
            verdict = await self._store.record_failure(due, outcome, now, self._policy)
            if verdict.paused:
                log.warning(
                    "subscription %s paused: %s failed at %s (%s)",
                    due.subscription_id,
                    due.event_id,
                    due.url,
                    outcome.error,
                )
                return
            log.info(
                "delivery of %s to %s failed (%s); retry at %s",
                due.event_id,
                due.url,
                outcome.error,
                verdict.retry_at,
            )
