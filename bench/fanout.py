"""Fan-out: many SSE clients on ``/v1/stream`` while events are posted at a steady rate;
does every client get every event, and how long after it was recorded?"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.context import Context, percentile, say, verdict
from bench.freshness import probe_event
from bench.http import Connection
from services.common.kafka import ensure_topic

PARTITIONS = 6
POSTERS = 64  # enough in flight that a slow answer does not hold the schedule back
ID_MARK = b'"event_id":"'
RECORDED_MARK = b'"recorded_at":"'
DATA = b"\ndata: "


class Receiver(asyncio.Protocol):
    """One SSE client that only looks for each message's ``event_id`` and ``recorded_at``.

    A bare protocol (no stream reader, no task): the 500 clients share the benchmark's
    process and its cores with the services, so each costs as little as an honest reader can.
    """

    def __init__(self, recorded: dict[bytes, float], path: str, host: str) -> None:
        self.recorded = recorded  # shared: event_id -> recorded_at (epoch seconds)
        self.request = f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode()
        self.delays: list[float] = []
        self.seen: set[bytes] = set()
        self.expected = 0
        self.buffer = b""
        self.head = True  # still reading the answer's head and the server's first comment
        loop = asyncio.get_running_loop()
        self.streaming: asyncio.Future[None] = loop.create_future()
        self.finished: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer + data
        if self.head:
            end = buffer.find(b"\n\n", buffer.find(b"\r\n\r\n") + 4)
            if end < 0:
                self.buffer = buffer
                return
            status = buffer[: buffer.find(b"\r\n")]
            if int(status.split()[1]) != 200:
                self._fail(RuntimeError(f"the stream answered {status!r}"))
                return
            self.head, buffer = False, buffer[end + 2 :]
            self.streaming.set_result(None)  # the server's first comment: streaming
        last = buffer.rfind(b"\n\n")
        if last < 0:
            self.buffer = buffer
            return
        complete, at = last + 2, 0
        while (at := buffer.find(DATA, at, complete)) >= 0:
            end = buffer.find(b"\n\n", at)
            i = buffer.find(ID_MARK, at, end)
            if i >= 0:
                i += len(ID_MARK)
                event_id = buffer[i : i + 36]
                recorded = self.recorded.get(event_id)
                if recorded is None:
                    recorded = self.recorded[event_id] = recorded_at(buffer[at:end])
                self.seen.add(event_id)
                self.delays.append(now - recorded)
            at = end
        self.buffer = buffer[complete:]
        if self.expected and len(self.seen) >= self.expected and not self.finished.done():
            self.finished.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the stream closed"))

    def _fail(self, exc: BaseException) -> None:
        if not self.streaming.done():
            self.streaming.set_exception(exc)
        if not self.finished.done():
            self.finished.set_result(None)  # with what it got

    async def connect(self, host: str, port: int) -> None:
        await asyncio.get_running_loop().create_connection(lambda: self, host, port)
        await self.streaming

    async def receive(self, expected: int) -> None:
        self.expected = expected
        if len(self.seen) < expected:
            await self.finished

    def close(self) -> None:
        if hasattr(self, "transport"):
            self.transport.close()


def recorded_at(value: bytes) -> float:
    r = value.find(RECORDED_MARK) + len(RECORDED_MARK)
    stamp = value[r : value.index(b'"', r)].decode()
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def log_delays(
    kafka: str, topic: str, expected: int, delays: list[float], ready: asyncio.Future[None]
) -> None:
    """The reference: a bare aiokafka consumer in this process, reading the topic from its
    end, notes when it reads each event. Whatever the clients wait beyond it is the fan-out's."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        ready.set_result(None)
        while len(delays) < expected:
            fetched = await consumer.getmany(timeout_ms=500)
            now = time.time()
            delays.extend(
                now - recorded_at(r.value) for rs in fetched.values() for r in rs if r.value
            )
    finally:
        await consumer.stop()


async def run(ctx: Context) -> str:
    clients, rate, seconds = (
        ctx.sizes.fanout_clients,
        ctx.sizes.fanout_rate,
        ctx.sizes.fanout_seconds,
    )
    total = int(rate * seconds)
    topic = ctx.topic("fanout")
    await ensure_topic(ctx.kafka, topic, PARTITIONS, 1)
    ingest, api = ctx.service("ingest", topic), ctx.service("api", topic)
    say("fan-out: starting the ingest and the API")
    await asyncio.gather(ingest.start(), api.start())
    talks_id = f"bench-fanout-{ctx.tag}"
    recorded: dict[bytes, float] = {}
    path = f"/v1/stream?talks_id={talks_id}"
    receivers = [Receiver(recorded, path, "127.0.0.1") for _ in range(clients)]
    reference: list[float] = []
    reading: asyncio.Task[None] | None = None
    try:
        say(f"fan-out: connecting {clients} SSE clients")
        for start in range(0, clients, 50):
            await asyncio.gather(
                *(r.connect("127.0.0.1", api.port) for r in receivers[start : start + 50])
            )
        ready = asyncio.get_running_loop().create_future()
        reading = asyncio.create_task(log_delays(ctx.kafka, topic, total, reference, ready))
        await asyncio.wait([ready, reading], return_when=asyncio.FIRST_COMPLETED)
        await asyncio.sleep(1)
        assert api.process is not None
        api_cpu = psutil.Process(api.process.pid)
        cpu_before = sum(api_cpu.cpu_times()[:2])
        say(f"fan-out: posting {total:,} events at {rate} events/s")
        bodies = enumerate([probe_event(talks_id) for _ in range(total)])
        started = time.perf_counter()

        async def poster() -> None:
            conn = Connection(ingest.url, ctx.auth)
            try:
                for n, body in bodies:  # shared: the n-th event is due n / rate s in
                    due = started + n / rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    status, answer = await conn.request("POST", "/v1/events", body)
                    if status != 202:
                        raise RuntimeError(f"POST answered {status}: {answer[:300]!r}")
            finally:
                conn.close()

        receiving = [asyncio.create_task(r.receive(total)) for r in receivers]
        await asyncio.gather(*(poster() for _ in range(POSTERS)))
        posted_in = time.perf_counter() - started
        _, late = await asyncio.wait([*receiving, reading], timeout=30)
        for task in late:
            task.cancel()
        api_seconds = sum(api_cpu.cpu_times()[:2]) - cpu_before
        if reading.done() and not reading.cancelled():
            reading.result()  # the reference failed: say so
    finally:
        if reading is not None:
            reading.cancel()
        for r in receivers:
            r.close()
        await asyncio.gather(ingest.stop(), api.stop())
    delays = [d for r in receivers for d in r.delays]
    complete = sum(len(r.seen) == total for r in receivers)
    delivered = sum(len(r.seen) for r in receivers)
    p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
    log50, log99 = percentile(reference, 0.5), percentile(reference, 0.99)
    everyone = complete == clients
    return "\n".join(
        [
            f"## Fan-out: {clients} SSE clients, {rate} events/s offered for {seconds:.0f} s",
            "",
            f"{clients} clients hold `GET /v1/stream?talks_id=...` open on the API process while",
            f"{POSTERS} clients post {total:,} events to `POST /v1/events` on schedule (posted in",
            f"{posted_in:.1f} s: {total / posted_in:,.0f} events/s). Delay: from the event's",
            "`recorded_at` (stamped by the ingest before it publishes) to the moment a client",
            "read it. The clients run in the benchmark's process and share the 2 cores. The",
            "reference is a bare aiokafka consumer in the same process reading the same topic:",
            "what the clients wait beyond it is the fan-out's (the API reading, framing, sending).",
            "",
            "| figure | value | target | |",
            "|---|---|---|---|",
            f"| clients that got every event | {complete} of {clients} | all | "
            f"{'holds' if everyone else f'misses: {clients - complete} did not'} |",
            f"| events delivered | {delivered:,} of {clients * total:,} | | |",
            f"| delivery delay p50 | {p50 * 1000:,.0f} ms | | |",
            f"| delivery delay p99 | {p99 * 1000:,.0f} ms | <= 1,000 ms | "
            f"{verdict(p99 <= 1.0, p99, 1.0, higher_is_better=False)} |",
            f"| reference: raw consumer's delay p50 | {log50 * 1000:,.0f} ms "
            f"({len(reference):,} events) | | |",
            f"| reference: raw consumer's delay p99 | {log99 * 1000:,.0f} ms | | |",
            f"| API process CPU while posting and delivering | {api_seconds:.1f} s "
            f"({api_seconds / max(delivered, 1) * 1e6:.0f} µs per event delivered) | | |",
            "",
        ]
    )
