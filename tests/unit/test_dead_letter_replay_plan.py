"""What a replay puts back on the topic, and what it skips, parked talks included."""

from __future__ import annotations

import pytest

from services.projector.poison import INVALID, PARKED, PROJECTION_FAILED
from services.projector.records import RELEASE, REPLAY_OF
from services.projector.redrive import Letter, plan

pytestmark = pytest.mark.unit


def letter(id_: int, talks: str | None, kind: str, *headers: tuple[str, bytes]) -> Letter:
    return Letter(id_, 1, 100 + id_, talks, kind, f"value {id_}".encode(), None, tuple(headers))


LETTERS = [
    letter(1, "a", PROJECTION_FAILED, ("ce_id", b"e1")),
    letter(2, None, INVALID),
    letter(3, "a", PARKED),
    letter(4, "a", PARKED),
    letter(5, "b", INVALID),
]


def headers(out) -> dict[str, bytes]:
    return dict(out.headers)


def test_a_replay_puts_every_letter_back_in_order_marked() -> None:
    done = plan(LETTERS, parked={"a"}, skip=False)
    assert [x.id for x, _ in done.replay] == [1, 2, 3, 4, 5]
    first = done.replay[0][1]
    assert (first.value, first.key) == (b"value 1", b"a")  # the talks id when the key is lost
    assert headers(first) == {"ce_id": b"e1", REPLAY_OF: b"1:101"}
    assert [RELEASE in headers(out) for _, out in done.replay] == [False] * 3 + [True, False]
    assert headers(done.replay[3][1])[RELEASE] == b"a"
    assert (done.releasing, done.released, done.skip) == (["a"], [], [])


def test_skip_skips_the_poison_but_replays_what_was_parked_behind_it() -> None:
    done = plan(LETTERS, parked={"a"}, skip=True)
    assert [x.id for x, _ in done.replay] == [3, 4]
    assert done.skip == [1, 2, 5]
    assert done.releasing == ["a"]


def test_a_parked_talks_with_nothing_to_replay_is_released_at_once() -> None:
    done = plan([LETTERS[0]], parked={"a"}, skip=True)
    assert (done.replay, done.skip, done.released, done.releasing) == ([], [1], ["a"], [])


def test_a_replay_of_a_replay_carries_fresh_markers() -> None:
    again = letter(7, "a", PARKED, (REPLAY_OF, b"1:3"), (RELEASE, b"a"), ("ce_id", b"e7"))
    ((_, out),) = plan([again], parked=set(), skip=False).replay
    assert out.headers == (("ce_id", b"e7"), (REPLAY_OF, b"1:107"))
