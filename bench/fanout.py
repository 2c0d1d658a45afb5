"""Fan-out: many SSE clients on ``/v1/stream`` while events are posted at a steady rate;
does every client get every event, and how long after it was recorded?"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from bench.context import Context, percentile, say, verdict
from bench.freshness import probe_event
from bench.http import Connection
from services.common.kafka import ensure_topic

POSTERS = 8
ID_MARK = b'"event_id":"'
RECORDED_MARK = b'"recorded_at":"'


class Receiver:
    """One SSE client that only looks for each message's ``event_id`` and ``recorded_at``."""

    def __init__(self, recorded: dict[bytes, float]) -> None:
        self.recorded = recorded  # shared: event_id -> recorded_at (epoch seconds)
        self.delays: list[float] = []
        self.seen: set[bytes] = set()

    async def connect(self, host: str, port: int, path: str) -> None:
        self.reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        await self.writer.drain()
        status = await self.reader.readline()
        if int(status.split()[1]) != 200:
            raise RuntimeError(f"the stream answered {status!r}")
        while (await self.reader.readline()) not in (b"\r\n", b""):
            pass
        await self.reader.readuntil(b"\n\n")  # the server's first comment: streaming

    async def receive(self, expected: int) -> None:
        buffer = b""
        while len(self.seen) < expected:
            chunk = await self.reader.read(65536)
            if not chunk:
                return
            now = time.time()
            buffer += chunk
            *messages, buffer = buffer.split(b"\n\n")
            for message in messages:
                at = message.find(ID_MARK)
                if at < 0:
                    continue
                event_id = message[at + len(ID_MARK) : at + len(ID_MARK) + 36]
                recorded = self.recorded.get(event_id)
                if recorded is None:
                    r = message.find(RECORDED_MARK) + len(RECORDED_MARK)
                    stamp = message[r : message.index(b'"', r)].decode()
                    recorded = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
                    self.recorded[event_id] = recorded
                self.seen.add(event_id)
                self.delays.append(now - recorded)

    def close(self) -> None:
        self.writer.close()


async def run(ctx: Context) -> str:
    clients, rate, seconds = (
        ctx.sizes.fanout_clients,
        ctx.sizes.fanout_rate,
        ctx.sizes.fanout_seconds,
    )
    total = int(rate * seconds)
    topic = ctx.topic("fanout")
    await ensure_topic(ctx.kafka, topic, 6, 1)
    ingest, api = ctx.service("ingest", topic), ctx.service("api", topic)
    say("fan-out: starting the ingest and the API")
    await asyncio.gather(ingest.start(), api.start())
    talks_id = f"bench-fanout-{ctx.tag}"
    recorded: dict[bytes, float] = {}
    receivers = [Receiver(recorded) for _ in range(clients)]
    try:
        say(f"fan-out: connecting {clients} SSE clients")
        path = f"/v1/stream?talks_id={talks_id}"
        for start in range(0, clients, 50):
            await asyncio.gather(
                *(r.connect("127.0.0.1", api.port, path) for r in receivers[start : start + 50])
            )
        await asyncio.sleep(1)
        say(f"fan-out: posting {total:,} events at {rate} events/s")
        bodies = iter([probe_event(talks_id) for _ in range(total)])
        started = time.perf_counter()

        async def poster(i: int) -> None:
            conn = Connection(ingest.url, ctx.auth)
            try:
                for n, body in enumerate(bodies):
                    due = started + (n * POSTERS + i) / rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    status, answer = await conn.request("POST", "/v1/events", body)
                    if status != 202:
                        raise RuntimeError(f"POST answered {status}: {answer[:300]!r}")
            finally:
                conn.close()

        receiving = [asyncio.create_task(r.receive(total)) for r in receivers]
        await asyncio.gather(*(poster(i) for i in range(POSTERS)))
        posted_in = time.perf_counter() - started
        _, late = await asyncio.wait(receiving, timeout=30)
        for task in late:
            task.cancel()
    finally:
        for r in receivers:
            r.close()
        await asyncio.gather(ingest.stop(), api.stop())
    delays = [d for r in receivers for d in r.delays]
    complete = sum(len(r.seen) == total for r in receivers)
    delivered = sum(len(r.seen) for r in receivers)
    p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
    everyone = complete == clients
    return "\n".join(
        [
            f"## Fan-out: {clients} SSE clients, {rate} events/s offered for {seconds:.0f} s",
            "",
            f"{clients} clients hold `GET /v1/stream?talks_id=...` open on the API process while",
            f"{POSTERS} clients post {total:,} events to `POST /v1/events` on schedule (posted in",
            f"{posted_in:.1f} s: {total / posted_in:,.0f} events/s). Delay: from the event's",
            "`recorded_at` (stamped by the ingest before it publishes) to the moment a client",
            "read it. The clients run in the benchmark's process and share the 2 cores.",
            "",
            "| figure | value | target | |",
            "|---|---|---|---|",
            f"| clients that got every event | {complete} of {clients} | all | "
            f"{'holds' if everyone else f'misses: {clients - complete} did not'} |",
            f"| events delivered | {delivered:,} of {clients * total:,} | | |",
            f"| delivery delay p50 | {p50 * 1000:,.0f} ms | | |",
            f"| delivery delay p99 | {p99 * 1000:,.0f} ms | <= 1,000 ms | "
            f"{verdict(p99 <= 1.0, p99, 1.0, higher_is_better=False)} |",
            "",
        ]
    )
