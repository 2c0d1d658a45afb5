"""The log contract: the Kafka adapter and the embedded (SQLite) adapter behave alike.

Every test runs on both: a real Kafka broker, and a SQLite file. What the services rely on is
here: per-key order, consecutive offsets, end offsets, consumers that start from stored
positions, readers from the end or from positions, headers and keys kept byte for byte, and
acknowledged records surviving a new process (a new log object on the same storage).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from services.common.eventlog import Delivered, EmbeddedLog, EventLog, KafkaLog, Outgoing

pytestmark = pytest.mark.integration

PARTITIONS = 3


@pytest.fixture(params=["kafka", "embedded"])
def make_log(request: pytest.FixtureRequest, tmp_path) -> Callable[[], EventLog]:
    """A factory of log objects on the same storage (each call: a new process's view)."""
    if request.param == "kafka":
        bootstrap = request.getfixturevalue("infra").kafka_bootstrap_servers
        return lambda: KafkaLog(bootstrap, "parley-contract-tests")
    path = tmp_path / "log.sqlite3"
    return lambda: EmbeddedLog(path, poll_s=0.05)


@pytest.fixture
async def log(make_log: Callable[[], EventLog]) -> AsyncIterator[EventLog]:
    opened = make_log()
    await opened.start()
    yield opened
    await opened.stop()


@pytest.fixture
async def topic(log: EventLog) -> str:
    name = f"contract-{uuid.uuid4().hex[:10]}"
    await log.ensure_topic(name, PARTITIONS)
    return name


def outgoing(key: str, n: int) -> Outgoing:
    return Outgoing(
        f"{key}-{n}".encode(), key.encode(), (("n", str(n).encode()), ("raw", b"\xff\x00"))
    )


async def read_all(
    log: EventLog, topic: str, count: int, start: dict[int, int] | None = None
) -> list[Delivered]:
    reader = await log.reader(topic, start if start is not None else {})
    got: list[Delivered] = []
    try:
        for _ in range(100):
            got += await reader.fetch(0.5, 500)
            if len(got) >= count:
                break
    finally:
        await reader.close()
    return got


async def test_a_topic_is_made_once_with_its_partitions(log: EventLog, topic: str) -> None:
    await log.ensure_topic(topic, PARTITIONS + 4)  # exists: its partitions are kept
    assert await log.partitions(topic) == list(range(PARTITIONS))
    assert await log.partitions(f"missing-{uuid.uuid4().hex[:8]}") == []
    assert await log.end_offsets(topic) == dict.fromkeys(range(PARTITIONS), 0)


async def test_one_key_keeps_one_partition_consecutive_offsets_and_its_order(
    log: EventLog, topic: str
) -> None:
    appended = await log.append(topic, [outgoing("abu-dhabi", n) for n in range(5)])
    appended += await log.append(topic, [outgoing("abu-dhabi", n) for n in range(5, 8)])
    assert len({a.partition for a in appended}) == 1
    assert [a.offset for a in appended] == list(range(8))
    partition = appended[0].partition
    assert (await log.end_offsets(topic))[partition] == 8

    got = await read_all(log, topic, 8)
    assert [d.value for d in got] == [f"abu-dhabi-{n}".encode() for n in range(8)]
    assert all(d.partition == partition and d.key == b"abu-dhabi" for d in got)
    assert [d.offset for d in got] == list(range(8))
    assert got[3].headers == (("n", b"3"), ("raw", b"\xff\x00"))  # bytes kept as they were


async def test_an_explicit_partition_is_honoured(log: EventLog, topic: str) -> None:
    [appended] = await log.append(topic, [Outgoing(b"x", b"k", (), partition=2)])
    assert appended.partition == 2


async def test_a_consumer_starts_where_its_stored_positions_say(log: EventLog, topic: str) -> None:
    appended = await log.append(topic, [outgoing(f"talks-{n % 5}", n) for n in range(30)])
    stored = {p: 0 for p in range(PARTITIONS)}
    done = {a.partition: a.offset + 1 for a in appended[:10]}  # the first 10 were applied
    for a in appended[:10]:
        stored[a.partition] = max(stored[a.partition], done[a.partition])

    async def positions() -> dict[int, int]:
        return dict(stored)

    group = f"group-{uuid.uuid4().hex[:8]}"
    consumer = await log.consumer(topic, group, positions, 100)
    got: list[Delivered] = []
    try:
        for _ in range(100):
            got += await consumer.fetch(0.5, 100)
            if len(got) >= 20:
                break
        await consumer.commit({p: o for p, o in stored.items()})
    finally:
        await consumer.close()
    expected = {(a.partition, a.offset) for a in appended if a.offset >= stored[a.partition]}
    assert {(d.partition, d.offset) for d in got} == expected
    assert len(got) == len(expected)


async def test_a_reader_from_the_end_sees_only_what_comes_after(log: EventLog, topic: str) -> None:
    await log.append(topic, [outgoing("before", n) for n in range(4)])
    reader = await log.reader(topic, None)
    try:
        assert await reader.positions() == await log.end_offsets(topic)
        await log.append(topic, [outgoing("after", n) for n in range(3)])
        got: list[Delivered] = []
        for _ in range(40):
            got += await reader.fetch(0.5, 100)
            if len(got) >= 3:
                break
        assert [d.value for d in got] == [b"after-0", b"after-1", b"after-2"]
        assert (await reader.positions())[got[0].partition] == got[-1].offset + 1
    finally:
        await reader.close()


async def test_a_reader_from_positions_skips_what_is_before_them(log: EventLog, topic: str) -> None:
    appended = await log.append(topic, [outgoing("one", n) for n in range(6)])
    partition = appended[0].partition
    got = await read_all(log, topic, 2, {**dict.fromkeys(range(PARTITIONS), 0), partition: 4})
    assert [(d.partition, d.offset, d.value) for d in got] == [
        (partition, 4, b"one-4"),
        (partition, 5, b"one-5"),
    ]


async def test_acknowledged_records_outlive_the_process(
    make_log: Callable[[], EventLog], log: EventLog, topic: str
) -> None:
    await log.append(topic, [outgoing("kept", n) for n in range(5)])
    await log.stop()  # the writer goes away; a new one opens the same storage
    again = make_log()
    await again.start()
    try:
        got = await read_all(again, topic, 5)
        assert [d.value for d in got] == [f"kept-{n}".encode() for n in range(5)]
        more = await again.append(topic, [outgoing("kept", 5)])
        assert more[0].offset == 5
    finally:
        await again.stop()
