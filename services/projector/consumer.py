"""The consumer loop: fetch batches from the log and hand them to the projection.

The log's committed positions are not trusted for correctness: every batch starts where the
positions stored with the read models say. They are committed to the log too, after the
database and at most once a second, only so that lag shows in the log's own tools (Kafka's
consumer groups).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from prometheus_client import Counter, Gauge

from services.common.eventlog import Consumer, EventLog, open_log
from services.projector.projection import BatchResult, Projection
from services.projector.records import LogRecord
from services.projector.settings import ProjectorSettings

log = logging.getLogger(__name__)

PROJECTED = Counter(
    "parley_projector_events_total",
    "Records handled by the projector, by outcome: applied, duplicate, replay, dead_lettered.",
    ["outcome"],
)
LAG = Gauge(
    "parley_projector_lag",
    "Records behind the end of the partition (end offset minus next offset), per partition.",
    ["partition"],
)


#: Positions are committed to the log (for its tools' lag, not for correctness) at most
#: this often: a commit is a round trip to the broker that the next batch would wait for.
COMMIT_EVERY_S = 1.0


def next_positions(records: list[LogRecord]) -> dict[int, int]:
    """The offset after the last record of each partition in ``records``."""
    positions: dict[int, int] = {}
    for record in records:
        positions[record.partition] = max(positions.get(record.partition, 0), record.offset + 1)
    return positions


def _observe(consumer: Consumer, positions: dict[int, int], result: BatchResult) -> None:
    PROJECTED.labels("applied").inc(result.applied)
    PROJECTED.labels("duplicate").inc(result.duplicates)
    PROJECTED.labels("replay").inc(result.replays)
    PROJECTED.labels("dead_lettered").inc(result.rejected)
    for partition, offset in positions.items():
        lag = consumer.lag(partition, offset)
        if lag is not None:
            LAG.labels(str(partition)).set(lag)


class ProjectorLoop:
    """Consumes the topic until stopped, applying each fetched batch in one transaction."""

    def __init__(
        self, settings: ProjectorSettings, projection: Projection, log: EventLog | None = None
    ) -> None:
        self._settings = settings
        self._projection = projection
        self._log = log or open_log(settings, "parley-projector")
        self._stopping = asyncio.Event()
        self.running = False

    def stop(self) -> None:
        """Finish the batch in hand, then return from :meth:`run`."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def _recount(self) -> int | None:
        try:
            return await self._projection.recount()
        except Exception:  # the next assignment tries again; the batches go on meanwhile
            log.exception("recounting event_counts failed")
            return None

    async def wait_stopping(self, timeout_s: float) -> None:
        """Sleep ``timeout_s``, or less if told to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout_s)

    async def run(self) -> None:
        s = self._settings
        recounting: asyncio.Task[int | None] | None = None

        async def assigned() -> dict[int, int]:
            """Where each partition given to this member starts; and, in the background,
            ``event_counts`` recounted, in case a projector from before it wrote uncounted."""
            nonlocal recounting
            if recounting is None or recounting.done():
                recounting = asyncio.create_task(self._recount())
            return await self._projection.positions()

        consumer = await self._log.consumer(s.topic, s.consumer_group, assigned, s.max_batch)
        self.running = True

        async def fetch() -> list[LogRecord]:
            delivered = await consumer.fetch(s.poll_timeout_ms / 1000, s.max_batch)
            records = [
                LogRecord(d.partition, d.offset, d.value, d.headers, d.key) for d in delivered
            ]
            self._projection.prepare(records)
            return records

        # The next batch is fetched, decoded and prepared while the database works on this
        # one. If the loop stops first, it is dropped: the positions stored with the read
        # models decide where the next start reads from, not the consumer's.
        ahead = asyncio.create_task(fetch())
        unsent: dict[int, int] = {}  # positions not yet committed to the log
        committed_at = float("-inf")
        try:
            while not self._stopping.is_set():
                waited = time.perf_counter()
                records = await ahead
                started = time.perf_counter()
                ahead = asyncio.create_task(fetch())
                if not records:
                    continue
                result = await self._projection.apply(records)
                log.debug(
                    "applied a batch of %d records in %.1f ms, after waiting %.1f ms for it: %s",
                    len(records),
                    (time.perf_counter() - started) * 1000,
                    (started - waited) * 1000,
                    result,
                )
                positions = next_positions(records)
                _observe(consumer, positions, result)
                unsent.update(positions)
                if time.monotonic() - committed_at >= COMMIT_EVERY_S:
                    await consumer.commit(unsent)
                    unsent, committed_at = {}, time.monotonic()
        finally:
            self.running = False
            if recounting is not None:
                recounting.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await recounting
            ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ahead
            if unsent:
                with contextlib.suppress(Exception):
                    await consumer.commit(unsent)
            await consumer.close()
