"""Freshness: from a ``202`` to the event being visible in ``GET /v1/talks/{id}/state``,
while the ingest is offered a steady load."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from bench.context import Context, percentile, say, verdict
from bench.http import Connection
from bench.payloads import histories, submission
from services.common.kafka import ensure_topic

PROBES = 4  # talks whose every event is followed until it is visible
POLL_S = 0.01
TICK_S = 0.05  # the background load is posted as one batch every tick


def probe_event(talks_id: str) -> bytes:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    return orjson.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "type": "position.stated",
            "talks_id": talks_id,
            "occurred_at": yesterday,
            "sources": [{"url": "https://news.example/freshness"}],
            "data": {
                "party": "UKR",
                "issue": "territory",
                "stance": "demands",
                "proposition": "A normalised proposition on the issue.",
            },
        }
    )


async def run(ctx: Context) -> str:
    rate, seconds, timeout_s = (
        ctx.sizes.fresh_rate,
        ctx.sizes.fresh_seconds,
        ctx.sizes.fresh_timeout_s,
    )
    topic = ctx.topic("freshness")
    await ensure_topic(ctx.kafka, topic, 6, 1)
    services = [ctx.service(name, topic) for name in ("ingest", "projector", "api")]
    say("freshness: starting the ingest, the projector and the API")
    await asyncio.gather(*(s.start() for s in services))
    ingest, _, api = services
    background = histories(f"bench-fresh-{ctx.tag}", 20, int(rate * seconds) // 20 + 1, seed=3)
    per_tick = max(1, int(rate * TICK_S))
    # serialised beforehand, so that making the load does not take CPU from the services
    bodies = [
        orjson.dumps([submission(e) for e in background[start : start + per_tick]])
        for start in range(0, len(background), per_tick)
    ]
    delays: list[float] = []
    unseen = 0
    posted = 0
    stop_at = 0.0

    async def load() -> None:
        nonlocal posted
        conn = Connection(ingest.url, ctx.auth)
        pending = iter(bodies)
        next_at = time.perf_counter()
        try:
            while time.perf_counter() < stop_at:
                body = next(pending, None)
                if body is None:
                    return
                status, answer = await conn.request("POST", "/v1/events:batch", body)
                if status != 202:
                    raise RuntimeError(f"batch answered {status}: {answer[:300]!r}")
                posted += per_tick
                next_at += TICK_S
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        finally:
            conn.close()

    async def probe(i: int) -> None:
        nonlocal unseen, posted
        talks_id = f"bench-fprobe{i}-{ctx.tag}"
        post, poll = Connection(ingest.url, ctx.auth), Connection(api.url)
        count = 0
        try:
            while time.perf_counter() < stop_at:
                status, answer = await post.request("POST", "/v1/events", probe_event(talks_id))
                if status != 202:
                    raise RuntimeError(f"POST answered {status}: {answer[:300]!r}")
                accepted = time.perf_counter()
                posted += 1
                count += 1
                while True:
                    status, answer = await poll.request("GET", f"/v1/talks/{talks_id}/state")
                    if status == 200 and orjson.loads(answer)["event_count"] >= count:
                        delays.append(time.perf_counter() - accepted)
                        break
                    if time.perf_counter() - accepted > timeout_s:
                        unseen += 1
                        return
                    await asyncio.sleep(POLL_S)
        finally:
            post.close()
            poll.close()

    try:
        say(f"freshness: {rate:,} events/s offered for {seconds:.0f} s, {PROBES} probes")
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(load(), *(probe(i) for i in range(PROBES)))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(s.stop() for s in services))
    p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
    worst = max(delays) if delays else float("nan")
    return "\n".join(
        [
            f"## Freshness: {rate:,} events/s offered for {seconds:.0f} s",
            "",
            "The ingest, the projector and the API run as processes. The load is posted to",
            f"`POST /v1/events:batch`, {per_tick} events every {TICK_S * 1000:.0f} ms (bodies",
            "serialised beforehand), over 20",
            f"talks; meanwhile {PROBES} probes each post one event at a time to a talks of",
            "their own with `POST /v1/events` and, from its `202`, poll",
            f"`GET /v1/talks/{{id}}/state` every {POLL_S * 1000:.0f} ms until `event_count`",
            f"counts it (at most {timeout_s:.0f} s). Achieved: {posted:,} events accepted in",
            f"{elapsed:.1f} s ({posted / elapsed:,.0f} events/s); {len(delays):,} probe events",
            f"seen, {unseen} not seen within {timeout_s:.0f} s.",
            "",
            "| 202 to visible | value | target | |",
            "|---|---|---|---|",
            f"| p50 | {p50 * 1000:,.0f} ms | <= 100 ms | "
            f"{verdict(p50 <= 0.1, p50, 0.1, higher_is_better=False)} |",
            f"| p99 | {p99 * 1000:,.0f} ms | <= 500 ms | "
            f"{verdict(p99 <= 0.5 and not unseen, p99, 0.5, higher_is_better=False)} |",
            f"| max | {worst * 1000:,.0f} ms | | |",
            "",
        ]
    )
