"""Ingest throughput: ``POST /v1/events:batch`` against a raw aiokafka producer, and
``POST /v1/events`` at 64 clients against the same app without Kafka."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from bench.context import Context, median, percentile, say, verdict
from bench.http import Connection
from bench.payloads import histories, record, submission
from bench.profile import summarise
from services.common.kafka import ensure_topic
from services.ingest.publisher import producer_options
from services.ingest.settings import IngestSettings

BATCH = 1000
BATCH_CLIENTS = 2
SINGLE_CLIENTS = 64


@dataclass
class IngestResult:
    batch_section: str
    single_section: str
    batch_rate: float  # Parley's median events/s through the batch endpoint


def producer(ctx: Context) -> AIOKafkaProducer:
    """A producer with exactly the ingest's settings (acks=all, idempotent, batching)."""
    settings = IngestSettings(kafka_bootstrap_servers=ctx.kafka)
    return AIOKafkaProducer(bootstrap_servers=ctx.kafka, **producer_options(settings))


async def post_batches(url: str, ctx: Context, bodies: Sequence[bytes]) -> float:
    """Post every batch, ``BATCH_CLIENTS`` at a time; the seconds it took."""
    pending = iter(bodies)

    async def client() -> None:
        conn = Connection(url, ctx.auth)
        try:
            for body in pending:
                status, answer = await conn.request("POST", "/v1/events:batch", body)
                if status != 202:
                    raise RuntimeError(f"batch answered {status}: {answer[:300]!r}")
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(BATCH_CLIENTS)))
    return time.perf_counter() - started


async def send_raw(kafka: AIOKafkaProducer, topic: str, records: Sequence[tuple]) -> float:
    """Send every record and wait for every acknowledgement; the seconds it took."""
    started = time.perf_counter()
    futures = [
        await kafka.send(topic, value=value, key=key, headers=headers)
        for key, value, headers in records
    ]
    await asyncio.gather(*futures)
    return time.perf_counter() - started


async def send_raw_batches(kafka: AIOKafkaProducer, topic: str, records: Sequence[tuple]) -> float:
    """The same records in record batches of the producer's own, per partition
    (``create_batch``, ``send_batch``), as Parley's batch path sends them, each partition
    chosen by the default partitioner; the seconds it took until every acknowledgement."""
    started = time.perf_counter()
    partitions = sorted(await kafka.partitions_for(topic))
    partitioner = DefaultPartitioner()
    placed: dict[int, list[tuple]] = defaultdict(list)
    for key, value, headers in records:
        placed[partitioner(key, partitions, partitions)].append((key, value, headers))
    futures = []
    for partition, members in placed.items():
        batch = kafka.create_batch()
        for key, value, headers in members:
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                batch.close()
                futures.append(await kafka.send_batch(batch, topic, partition=partition))
                batch = kafka.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        batch.close()
        futures.append(await kafka.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*futures)
    return time.perf_counter() - started


UNTUNED = {"PARLEY_PRODUCER_LINGER_MS": "0", "PARLEY_PRODUCER_MAX_BATCH_SIZE": "16384"}


async def batch_ingest(
    ctx: Context, ingest_url: str, untuned_url: str, topic: str
) -> tuple[str, float]:
    n, reps = ctx.sizes.batch_events, ctx.sizes.repeats
    kafka = producer(ctx)
    await kafka.start()
    parley_rates, raw_rates, batched_rates, untuned_rates = [], [], [], []
    try:
        for url in (ingest_url, untuned_url):
            warm = histories(f"bench-warm-{ctx.tag}", 2, BATCH // 2)
            await post_batches(url, ctx, [orjson.dumps([submission(e) for e in warm])])
        await send_raw(kafka, topic, [record(e) for e in warm])
        for rep in range(reps):
            events = histories(f"bench-batch{rep}-{ctx.tag}", 10, n // 10, seed=rep * 100)
            bodies = [
                orjson.dumps([submission(e) for e in events[i : i + BATCH]])
                for i in range(0, len(events), BATCH)
            ]
            records = [record(e) for e in events]
            # alternate which goes first, so neither always meets a warmer broker
            order = ("parley", "raw", "batched") if rep % 2 == 0 else ("batched", "raw", "parley")
            for which in order:
                if which == "parley":
                    parley_rates.append(len(events) / await post_batches(ingest_url, ctx, bodies))
                elif which == "raw":
                    raw_rates.append(len(events) / await send_raw(kafka, topic, records))
                else:
                    seconds = await send_raw_batches(kafka, topic, records)
                    batched_rates.append(len(events) / seconds)
            again = histories(f"bench-untuned{rep}-{ctx.tag}", 10, n // 10, seed=rep * 100 + 1)
            untuned_bodies = [
                orjson.dumps([submission(e) for e in again[i : i + BATCH]])
                for i in range(0, len(again), BATCH)
            ]
            untuned_rates.append(len(again) / await post_batches(untuned_url, ctx, untuned_bodies))
            say(
                f"batch ingest {rep + 1}/{reps}: Parley {parley_rates[-1]:,.0f} events/s, "
                f"raw producer {raw_rates[-1]:,.0f} events/s "
                f"({batched_rates[-1]:,.0f} in record batches), "
                f"Parley untuned {untuned_rates[-1]:,.0f} events/s"
            )
    finally:
        await kafka.stop()
    parley, raw = median(parley_rates), max(median(raw_rates), median(batched_rates))
    ratio = parley / raw  # against the faster way to use the raw producer: the limit
    s = IngestSettings(kafka_bootstrap_servers=ctx.kafka)
    lines = [
        f"## Batch ingest: {n:,} events per run, {reps} runs",
        "",
        f"`POST /v1/events:batch`, {BATCH:,} events per batch, {BATCH_CLIENTS} batches in flight,",
        "against the ingest as `python -m services.ingest` runs it by default",
        f"({_workers(s.workers)}, `PARLEY_INGEST_WORKERS`); the reference is an aiokafka",
        "producer in the benchmark's process sending the same events, serialized beforehand,",
        f"to the same broker with the same settings (acks=all, idempotent, "
        f"linger_ms={s.producer_linger_ms},",
        f"max_batch_size={s.producer_max_batch_size:,}, "
        f"compression={s.producer_compression or 'none'}), once with `send()` per record and",
        "once in record batches of its own per partition (`create_batch`, `send_batch`), as",
        "Parley's batch path sends them. The ratio is against the faster of the two.",
        "",
        "| | events/s (median) | runs |",
        "|---|---|---|",
        f"| Parley `POST /v1/events:batch` | {parley:,.0f} | {_runs(parley_rates)} |",
        f"| raw aiokafka producer, `send()` per record | {median(raw_rates):,.0f} | "
        f"{_runs(raw_rates)} |",
        f"| raw aiokafka producer, record batches | {median(batched_rates):,.0f} | "
        f"{_runs(batched_rates)} |",
        f"| Parley before tuning (linger_ms=0, max_batch_size=16,384) | "
        f"{median(untuned_rates):,.0f} | {_runs(untuned_rates)} |",
        "",
        "| ratio | value | target | |",
        "|---|---|---|---|",
        f"| Parley / the faster raw producer | {ratio:.2f} | >= 0.5 | "
        f"{verdict(ratio >= 0.5, ratio, 0.5)} |",
        "",
    ]
    return "\n".join(lines), parley


def _workers(count: int) -> str:
    return "one worker process" if count == 1 else f"{count} worker processes"


def _runs(values: Sequence[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


@dataclass
class Load:
    rate: float
    latencies: list[float]
    errors: int


async def hammer(url: str, ctx: Context, bodies: list[bytes], seconds: float) -> Load:
    """``SINGLE_CLIENTS`` clients posting one event after another for ``seconds``."""
    pending = iter(bodies)
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        conn = Connection(url, ctx.auth)
        try:
            for body in pending:
                started = time.perf_counter()
                if started > stop_at:
                    return
                status, _ = await conn.request("POST", "/v1/events", body)
                latencies.append(time.perf_counter() - started)
                errors += status != 202
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(SINGLE_CLIENTS)))
    return Load(len(latencies) / (time.perf_counter() - started), latencies, errors)


async def single_ingest(ctx: Context, ingest_url: str, reference_url: str) -> str:
    seconds, reps = ctx.sizes.single_seconds, ctx.sizes.repeats
    # enough events that neither app runs out: a generous bound on what 2 cores can answer
    per_run = int(seconds * 1500)
    say(f"single-event ingest: generating {per_run * reps * 2:,} events")
    pool = [
        orjson.dumps(submission(e))
        for e in histories(f"bench-single-{ctx.tag}", 20, per_run * reps * 2 // 20, seed=7)
    ]
    runs: dict[str, list[Load]] = {"parley": [], "reference": []}
    urls = {"parley": ingest_url, "reference": reference_url}
    for rep in range(reps):
        order = ("parley", "reference") if rep % 2 == 0 else ("reference", "parley")
        for which in order:
            bodies, pool = pool[:per_run], pool[per_run:]
            runs[which].append(await hammer(urls[which], ctx, bodies, seconds))
        say(
            f"single-event ingest {rep + 1}/{reps}: Parley {runs['parley'][-1].rate:,.0f} req/s,"
            f" without Kafka {runs['reference'][-1].rate:,.0f} req/s"
        )
    parley = median([r.rate for r in runs["parley"]])
    reference = median([r.rate for r in runs["reference"]])
    ratio = parley / reference
    rows = []
    for which, label in (("parley", "Parley ingest"), ("reference", "same app, no Kafka")):
        lat = [x for r in runs[which] for x in r.latencies]
        errors = sum(r.errors for r in runs[which])
        rate = median([r.rate for r in runs[which]])
        rows.append(
            f"| {label} | {rate:,.0f} | {percentile(lat, 0.5) * 1000:.1f} ms | "
            f"{percentile(lat, 0.99) * 1000:.1f} ms | {errors} |"
        )
    return "\n".join(
        [
            f"## Single-event ingest: {SINGLE_CLIENTS} clients, {seconds:.0f} s per run, "
            f"{reps} runs",
            "",
            f"`POST /v1/events` from {SINGLE_CLIENTS} concurrent keep-alive clients. The reference",
            "is the same application, built by `services/ingest/app.py` `create_app()` with the",
            "same receipts in PostgreSQL, but with a publisher that acknowledges at once",
            "(`bench/nokafka.py`), run as its own process the same way.",
            "",
            "| | requests/s (median) | p50 latency | p99 latency | non-202 |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "| ratio | value | target | |",
            "|---|---|---|---|",
            f"| Parley / no Kafka | {ratio:.2f} | >= 0.5 | {verdict(ratio >= 0.5, ratio, 0.5)} |",
            "",
        ]
    )


async def profiled(ctx: Context, topic: str) -> str:
    """One batch run against an ingest under pyinstrument; where its time went."""
    out = ctx.log_dir / f"ingest-{ctx.tag}.pyisession"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = ["-m", "pyinstrument", "-r", "pyisession", "-o", str(out), "-m", "services.ingest"]
    # one worker, in the profiled process itself: the per-event cost of the work
    ingest = ctx.service("ingest", topic, command, extra_env={"PARLEY_INGEST_WORKERS": "1"})
    await ingest.start()
    n = ctx.sizes.batch_events
    events = histories(f"bench-iprof-{ctx.tag}", 10, n // 10, seed=99)
    bodies = [
        orjson.dumps([submission(e) for e in events[i : i + BATCH]])
        for i in range(0, len(events), BATCH)
    ]
    try:
        await post_batches(ingest.url, ctx, bodies)
    finally:
        await ingest.stop(signal.SIGINT)
    return summarise(out, "ingest", ("post_batch",), len(events))


async def run(ctx: Context) -> IngestResult:
    topic = ctx.topic("ingest")
    await ensure_topic(ctx.kafka, topic, 6, 1)
    ingest = ctx.service("ingest", topic)
    untuned = ctx.service("ingest", topic, extra_env=UNTUNED)
    untuned.log_path = untuned.log_path.with_name("ingest-untuned.log")
    reference = ctx.service("ingest-nokafka", topic, ["-m", "bench.nokafka"])
    say("starting the ingest (tuned and not) and the no-Kafka reference")
    await asyncio.gather(ingest.start(), untuned.start(), reference.start())
    try:
        say("batch ingest")
        batch, rate = await batch_ingest(ctx, ingest.url, untuned.url, topic)
        say("single-event ingest")
        single = await single_ingest(ctx, ingest.url, reference.url)
    finally:
        await asyncio.gather(ingest.stop(), untuned.stop(), reference.stop())
    say("profiling the ingest under batch load")
    batch += "\n" + await profiled(ctx, topic)
    return IngestResult(batch, single, rate)
