"""Delivery lanes on the in-memory store: order per talks, isolation, pausing, resuming."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from services.webhooks.deliveries import DELIVERED, FAILED, PAUSED, PENDING, DueDelivery, Outcome
from services.webhooks.lanes import Dispatcher
from services.webhooks.memory import InMemoryDeliveryStore, MemorySubscription
from services.webhooks.retries import RetryPolicy
from tests.support.polling import eventually

pytestmark = pytest.mark.unit

FAST = RetryPolicy(max_failures=4, base_s=0.001, max_s=0.005)


class FakeReceiver:
    """Answers per URL with ``answer(delivery)``; records every attempt it saw."""

    def __init__(self, answer: Callable[[DueDelivery], bool] = lambda d: True) -> None:
        self.answer = answer
        self.seen: list[DueDelivery] = []

    async def deliver(self, delivery: DueDelivery) -> Outcome:
        await asyncio.sleep(0)
        self.seen.append(delivery)
        ok = self.answer(delivery)
        return Outcome(ok=True, status_code=204) if ok else Outcome(False, 500, "HTTP 500")

    def delivered(self, talks_id: str) -> list[UUID]:
        return [d.event_id for d in self.seen if d.talks_id == talks_id]


def subscribe(store: InMemoryDeliveryStore, url: str = "http://receiver/hook") -> UUID:
    sub = uuid4()
    store.subscriptions[sub] = MemorySubscription(url=url, secret="s" * 16)
    return sub


def queue(store: InMemoryDeliveryStore, sub: UUID, talks_id: str, n: int) -> list[UUID]:
    ids = [uuid4() for _ in range(n)]
    for event_id in ids:
        store.add(sub, talks_id, event_id)
    return ids


async def run(dispatcher: Dispatcher, until: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    scanning = asyncio.create_task(dispatcher.run())

    async def check() -> bool:
        return until()

    done = await eventually(check, timeout_s, every_s=0.005)
    await dispatcher.stop(timeout_s=1)
    await scanning
    return done


def statuses(store: InMemoryDeliveryStore, sub: UUID) -> list[str]:
    return [r.status for r in store.rows if r.delivery.subscription_id == sub]


async def test_each_talks_is_delivered_in_log_order() -> None:
    store, receiver = InMemoryDeliveryStore(), FakeReceiver()
    sub = subscribe(store)
    a, b = queue(store, sub, "talks-a", 20), queue(store, sub, "talks-b", 20)
    dispatcher = Dispatcher(store, receiver, FAST, scan_interval_s=0.01)
    assert await run(dispatcher, lambda: set(statuses(store, sub)) == {DELIVERED})
    assert receiver.delivered("talks-a") == a
    assert receiver.delivered("talks-b") == b


async def test_a_failing_head_blocks_its_talks_only_and_is_retried_until_it_passes() -> None:
    store = InMemoryDeliveryStore()
    attempts: dict[UUID, int] = {}

    def flaky(d: DueDelivery) -> bool:  # the first event of talks-a fails twice
        attempts[d.event_id] = attempts.get(d.event_id, 0) + 1
        return not (d.event_id == stuck and attempts[d.event_id] <= 2)

    receiver = FakeReceiver(flaky)
    sub, other = subscribe(store), subscribe(store, "http://other/hook")
    a = queue(store, sub, "talks-a", 3)
    stuck = a[0]
    b = queue(store, sub, "talks-b", 3)
    c = queue(store, other, "talks-a", 3)
    dispatcher = Dispatcher(store, receiver, RetryPolicy(4, 0.05, 0.05), scan_interval_s=0.01)
    assert await run(dispatcher, lambda: all(r.status == DELIVERED for r in store.rows))
    lane_a = [
        d.event_id for d in receiver.seen if d.subscription_id == sub and d.talks_id == "talks-a"
    ]
    assert lane_a == [stuck, stuck, stuck, a[1], a[2]]
    # the other talks and the other subscription went ahead while talks-a waited for its retry
    order = [d.event_id for d in receiver.seen]
    assert order.index(b[-1]) < order.index(a[1])
    assert order.index(c[-1]) < order.index(a[1])
    assert [d.attempts for d in receiver.seen if d.event_id == stuck] == [0, 1, 2]


async def test_max_failures_pause_the_subscription_and_resume_redelivers_in_order() -> None:
    store = InMemoryDeliveryStore()
    healthy = False
    receiver = FakeReceiver(lambda d: healthy)
    sub = subscribe(store)
    ids = queue(store, sub, "talks-a", 3)
    dispatcher = Dispatcher(store, receiver, FAST, scan_interval_s=0.01)
    assert await run(dispatcher, lambda: store.subscriptions[sub].status == PAUSED)
    assert statuses(store, sub) == [FAILED, PENDING, PENDING]
    assert [d.event_id for d in receiver.seen] == [ids[0]] * FAST.max_failures
    assert store.rows[0].last_error == "HTTP 500"

    healthy = True
    store.resume(sub)
    dispatcher = Dispatcher(store, receiver, FAST, scan_interval_s=0.01)
    assert await run(dispatcher, lambda: set(statuses(store, sub)) == {DELIVERED})
    assert [d.event_id for d in receiver.seen[FAST.max_failures :]] == ids


async def test_a_paused_subscription_does_not_hold_up_another() -> None:
    store = InMemoryDeliveryStore()
    receiver = FakeReceiver(lambda d: d.url != "http://broken/hook")
    broken, fine = subscribe(store, "http://broken/hook"), subscribe(store)
    queue(store, broken, "talks-a", 2)
    good = queue(store, fine, "talks-a", 5)
    dispatcher = Dispatcher(store, receiver, FAST, scan_interval_s=0.01)
    assert await run(
        dispatcher,
        lambda: (
            store.subscriptions[broken].status == PAUSED
            and set(statuses(store, fine)) == {DELIVERED}
        ),
    )
    assert [d.event_id for d in receiver.seen if d.subscription_id == fine] == good


async def test_rows_queued_while_a_lane_runs_are_picked_up_at_once() -> None:
    store, receiver = InMemoryDeliveryStore(), FakeReceiver()
    sub = subscribe(store)
    dispatcher = Dispatcher(store, receiver, FAST, scan_interval_s=60)  # no help from scans
    scanning = asyncio.create_task(dispatcher.run())
    expected: list[UUID] = []
    for _ in range(5):
        expected += queue(store, sub, "talks-a", 3)
        dispatcher.notify({(sub, "talks-a")})
        await asyncio.sleep(0)

    async def all_delivered() -> bool:
        return set(statuses(store, sub)) == {DELIVERED}

    assert await eventually(all_delivered, 2, every_s=0.005)
    await dispatcher.stop(timeout_s=1)
    await scanning
    assert receiver.delivered("talks-a") == expected


async def test_stop_lets_the_attempt_in_flight_finish_and_be_recorded() -> None:
    store = InMemoryDeliveryStore()
    release = asyncio.Event()

    class Slow(FakeReceiver):
        async def deliver(self, delivery: DueDelivery) -> Outcome:
            await release.wait()
            return await super().deliver(delivery)

    receiver = Slow()
    sub = subscribe(store)
    queue(store, sub, "talks-a", 2)
    dispatcher = Dispatcher(store, receiver, FAST, scan_interval_s=0.01)
    scanning = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(0.05)
    stopping = asyncio.create_task(dispatcher.stop(timeout_s=2))
    await asyncio.sleep(0.05)
    release.set()
    await stopping
    await scanning
    assert statuses(store, sub) == [DELIVERED, PENDING]  # finished, and nothing new started


async def test_two_workers_on_one_store_never_send_a_head_twice_at_once() -> None:
    store = InMemoryDeliveryStore()
    in_flight: dict[str, int] = {}
    overlaps: list[str] = []

    class Counting(FakeReceiver):
        async def deliver(self, delivery: DueDelivery) -> Outcome:
            lane = delivery.talks_id
            in_flight[lane] = in_flight.get(lane, 0) + 1
            if in_flight[lane] > 1:
                overlaps.append(lane)
            await asyncio.sleep(0.001)
            in_flight[lane] -= 1
            return await super().deliver(delivery)

    receiver = Counting()
    sub = subscribe(store)
    a, b = queue(store, sub, "talks-a", 15), queue(store, sub, "talks-b", 15)
    workers = [Dispatcher(store, receiver, FAST, scan_interval_s=0.005) for _ in range(2)]
    scans = [asyncio.create_task(w.run()) for w in workers]

    async def all_delivered() -> bool:
        return set(statuses(store, sub)) == {DELIVERED}

    assert await eventually(all_delivered, 3, every_s=0.005)
    for worker in workers:
        await worker.stop(timeout_s=1)
    await asyncio.gather(*scans)
    assert overlaps == []
    assert receiver.delivered("talks-a") == a
    assert receiver.delivered("talks-b") == b
