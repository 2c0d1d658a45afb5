"""As-of queries against the bitemporal read models, beside folding the same events.

Reports p50/p99 of the state query at the present, at random past dates, and at random
(as_of, known_at) pairs, and of ``fold()`` over that talks' events in Python, all in one run.
The state query is ``talks_state_json()``, what ``GET /v1/talks/{id}/state`` sends: the SQL
and the assembled JSON body, without HTTP, on the engine the API reads the state with
(``services.api.engine``: generic plans, no pre-ping).
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.generate import SPAN_DAYS, START, talks_history
from bench.loader import talks_ids
from services.api.engine import create_state_engine
from services.api.queries import talks_state_json
from services.api.timeparams import Bitemporal
from shared.state import fold


@dataclass(frozen=True)
class Timing:
    name: str
    samples: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _random_day(rnd: random.Random) -> datetime:
    return START + timedelta(days=rnd.uniform(30, SPAN_DAYS + 30))


async def measure(
    database_url: str, talks_count: int, size: int, samples: int, fold_samples: int
) -> list[Timing]:
    """``samples`` state queries of each case and ``fold_samples`` folds, interleaved: the
    three cases take turns, and a fold comes after every ``samples / fold_samples`` turns,
    so that all of them see the machine as it was over the same minute (on a shared machine
    its speed drifts, and a fold's sample measured after the queries saw other conditions).
    A fold's events are generated before its clock starts, and collected after it stops."""
    rnd = random.Random(7)
    talks = talks_ids(talks_count)
    # What this process holds from the sections before (in a full run, millions of objects)
    # is not the API's: frozen, as the API freezes what its start-up built, so that a full
    # collection set off by a query walks only what the queries made. Unfrozen, 2,000,000
    # objects held here put the p99 of every case at 58-79 ms (7-8 ms frozen).
    gc.collect()
    gc.freeze()
    engine = create_state_engine(database_url, pool_size=2)
    now = datetime.now(UTC)
    cases = {
        "state, present": lambda: Bitemporal(now, now),
        "state, past as_of": lambda: Bitemporal(_random_day(rnd), now),
        "state, past as_of and known_at": lambda: _pair(rnd),
    }
    taken: dict[str, list[float]] = {name: [] for name in cases}
    folds: list[float] = []
    every = max(1, samples // max(1, fold_samples))
    try:
        for _ in range(20):  # warm the pool and the caches alike for every case
            await talks_state_json(engine, rnd.choice(talks), Bitemporal(now, now), 30)
        for turn in range(samples):
            for name, when in cases.items():
                t, w = rnd.choice(talks), when()
                start = time.perf_counter()
                await talks_state_json(engine, t, w, 30)
                taken[name].append(time.perf_counter() - start)
            if (turn + 1) % every == 0 and len(folds) < fold_samples:
                folds.append(_fold_once(rnd, talks, len(folds), size))
    finally:
        await engine.dispose()
        gc.unfreeze()
    while len(folds) < fold_samples:
        folds.append(_fold_once(rnd, talks, len(folds), size))
    return [
        *(Timing(name, values) for name, values in taken.items()),
        Timing("fold() of the talks' events", folds),
    ]


def _fold_once(rnd: random.Random, talks: list[str], i: int, size: int) -> float:
    """Seconds to fold one talks' ``size`` events at a random (as_of, known_at) pair."""
    t = talks[i % len(talks)]
    events = talks_history(t, size, talks.index(t))
    w = _pair(rnd)
    start = time.perf_counter()
    fold(t, events, as_of=w.as_of, known_at=w.known_at)
    taken = time.perf_counter() - start
    del events
    gc.collect()  # the history's garbage, before the next query's clock starts
    return taken


def _pair(rnd: random.Random) -> Bitemporal:
    as_of = _random_day(rnd)
    return Bitemporal(as_of, as_of + timedelta(days=rnd.uniform(0, 60)))
