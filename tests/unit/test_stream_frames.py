"""The live fan-out renders each frame once, yet every client gets exactly what it would if it
rendered its own: the same ids (resumable positions), the same filtering, no duplicate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.api.stream import positions
from services.api.stream.hub import Batch, Closed, Record, StreamHub
from services.api.stream.sse import Cursor

pytestmark = pytest.mark.unit

TALKS = ("geneva", "istanbul")
TYPES = ("round.opened", "strike.reported")


def record(partition: int, offset: int, talks_id: str, type_: str) -> Record:
    value = f'{{"talks_id":"{talks_id}","type":"{type_}","n":{offset}}}'.encode()
    headers = {"ce_subject": talks_id.encode(), "ce_type": f"org.parley.{type_}.v1".encode()}
    return Record(partition, offset, value, headers)


def expected(start: positions.Position, records: list[Record], talks_id, type_) -> bytes:
    """What a client is owed, record by record: its own position as each id."""
    position, out = dict(start), []
    for r in records:
        if r.offset < position.get(r.partition, 0):
            continue
        position[r.partition] = r.offset + 1
        described = r.headers["ce_subject"].decode(), r.headers["ce_type"].decode()[11:-3]
        if (talks_id and described[0] != talks_id) or (type_ and described[1] != type_):
            continue
        out.append(
            f"id: {positions.encode(position)}\nevent: {described[1]}\ndata: ".encode()
            + r.value
            + b"\n\n"
        )
    return b"".join(out)


@st.composite
def scenario(draw):
    """Live records on 3 partitions in fetches, from a hub that started at ``origin``; between
    fetches the hub may reconnect (an equal position, but a new one)."""
    origin = {p: draw(st.integers(0, 3)) for p in range(3)}
    next_offset = dict(origin)
    fetches = []
    for _ in range(draw(st.integers(1, 6))):
        fetch = []
        for _ in range(draw(st.integers(0, 8))):
            p = draw(st.integers(0, 2))
            talks_id, type_ = draw(st.sampled_from(TALKS)), draw(st.sampled_from(TYPES))
            fetch.append(record(p, next_offset[p], talks_id, type_))
            next_offset[p] += 1
        fetches.append((fetch, draw(st.booleans())))
    return origin, fetches


client = st.tuples(
    st.integers(0, 6),  # joins before this fetch
    st.one_of(st.none(), st.dictionaries(st.integers(0, 3), st.integers(0, 12), max_size=4)),
    st.sampled_from((None, *TALKS)),
    st.sampled_from((None, *TYPES)),
)


@settings(max_examples=300, deadline=None)
@given(scenario(), st.lists(client, min_size=1, max_size=6))
def test_every_client_gets_what_it_would_render_itself(scenario, clients) -> None:
    origin, fetches = scenario
    hub = StreamHub(log=None, topic="t", queue_size=10_000)  # type: ignore[arg-type]
    hub._position = dict(origin)
    subscribed = []
    for n, (fetch, reconnect) in enumerate([*fetches, ([], False)]):
        for joins, start, talks_id, type_ in clients:
            if joins == n or (joins > len(fetches) and n == len(fetches)):
                subscriber, live_from = hub.subscribe()
                # None: "now", in step; else any position, behind (caught up first) or ahead
                cursor = Cursor(live_from if start is None else start, talks_id, type_)
                for p, o in live_from.items():  # what catch-up leaves it at
                    cursor.position[p] = max(cursor.position.get(p, 0), o)
                subscribed.append((n, subscriber, cursor, dict(cursor.position)))
        if reconnect:
            hub._position = dict(hub._position)
        hub.fan_out(fetch)
    for n, subscriber, cursor, begin in subscribed:
        got = []
        while (item := subscriber.get_nowait()) is not None:
            assert isinstance(item, Batch)
            got.append(cursor.frames(item))
        live = [r for fetch, _ in fetches[n:] for r in fetch]
        assert b"".join(got) == expected(begin, live, cursor.talks_id, cursor.type_)


def test_clients_in_step_with_one_filter_share_the_same_bytes() -> None:
    hub = StreamHub(log=None, topic="t", queue_size=100)  # type: ignore[arg-type]
    hub._position = {0: 0, 1: 0}
    (a, a_from), (b, b_from) = hub.subscribe(), hub.subscribe()
    records = [record(0, 0, "geneva", TYPES[0]), record(1, 0, "istanbul", TYPES[0])]
    hub.fan_out(records)
    batch_a, batch_b = a.get_nowait(), b.get_nowait()
    assert isinstance(batch_a, Batch) and batch_a is batch_b
    sent_a = Cursor(a_from, "geneva", None).frames(batch_a)
    sent_b = Cursor(b_from, "geneva", None).frames(batch_a)
    assert sent_a is sent_b
    assert sent_a == expected({0: 0, 1: 0}, records, "geneva", None)
    assert sent_a.startswith(b"id: 0:1,1:0\nevent: round.opened\ndata: ")


def test_a_subscriber_more_than_its_limit_of_events_behind_is_closed_with_a_reason() -> None:
    hub = StreamHub(log=None, topic="t", queue_size=5)  # type: ignore[arg-type]
    hub._position = {0: 0}
    subscriber, _ = hub.subscribe()
    hub.fan_out([record(0, n, "geneva", TYPES[0]) for n in range(3)])
    hub.fan_out([record(0, n, "geneva", TYPES[0]) for n in range(3, 6)])  # 6 would wait
    hub.fan_out([record(0, 6, "geneva", TYPES[0])])  # after closing: nothing more
    items = []
    while (item := subscriber.get_nowait()) is not None:
        items.append(item)
    assert [len(i) for i in items if isinstance(i, Batch)] == [3]
    assert isinstance(items[-1], Closed) and "more than 5 events behind" in items[-1].reason
    assert subscriber.pending == 0
