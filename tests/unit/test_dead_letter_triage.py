"""Which records wait behind a dead letter: the triage under the policies skip and pause."""

from __future__ import annotations

import pytest

from services.projector.poison import PARKED, PROJECTION_FAILED, DeadLetter, decode
from services.projector.records import RELEASE, REPLAY_OF, LogRecord
from services.projector.triage import Apply, Park, Triage
from shared.events import to_json
from tests.support.builders import Recorder

pytestmark = pytest.mark.unit


class Log:
    """Records on one partition, in order, of events recorded for talks ``a`` and ``b``."""

    def __init__(self) -> None:
        self.offset = 0
        self.talks = {"a": Recorder("a"), "b": Recorder("b")}

    def record(self, talks: str = "a", *headers: tuple[str, bytes]) -> LogRecord:
        event = self.talks[talks]("round.opened")
        self.offset += 1
        return LogRecord(0, self.offset, to_json(event), tuple(headers), talks.encode())

    def replay(self, talks: str = "a", release: bool = False) -> LogRecord:
        headers = [(REPLAY_OF, b"0:1")] + ([(RELEASE, talks.encode())] if release else [])
        return self.record(talks, *headers)

    def garbage(self, key: bytes | None = b"a") -> LogRecord:
        self.offset += 1
        return LogRecord(0, self.offset, b"not json", (), key)


def route(triage: Triage, record: LogRecord) -> Apply | DeadLetter:
    step = triage.route(record, decode(record))
    if isinstance(step, Apply):
        triage.applied(step)
    return step


def kinds(steps: list[Apply | DeadLetter]) -> list[str]:
    return ["apply" if isinstance(s, Apply) else s.error_type for s in steps]


def test_under_skip_a_dead_letter_holds_nothing_back() -> None:
    log, triage = Log(), Triage("skip", {})
    steps = [route(triage, r) for r in (log.record(), log.garbage(), log.record(), log.record())]
    assert kinds(steps) == ["apply", "undecodable", "apply", "apply"]
    assert triage.changes().park == []


def test_under_pause_the_talks_waits_and_the_others_go_on() -> None:
    log, triage = Log(), Triage("pause", {})
    records = [log.record("a"), log.garbage(b"a"), log.record("a"), log.record("b")]
    assert kinds([route(triage, r) for r in records]) == ["apply", "undecodable", PARKED, "apply"]
    assert triage.changes().park == ["a"]
    assert triage.parks["a"].open_letters == 2


def test_a_record_of_no_known_talks_parks_nothing() -> None:
    log, triage = Log(), Triage("pause", {})
    steps = [route(triage, r) for r in (log.garbage(key=None), log.record("a"))]
    assert kinds(steps) == ["undecodable", "apply"]
    assert triage.changes().park == []


def test_a_failed_projection_parks_its_talks() -> None:
    log, triage = Log(), Triage("pause", {})
    first = triage.route(log.record("a"), decode(log.record("a")))
    assert isinstance(first, Apply)
    assert triage.failed(first, ValueError("boom")).error_type == PROJECTION_FAILED
    assert kinds([route(triage, log.record("a"))]) == [PARKED]


def test_a_parked_talks_holds_live_records_and_replays_alike_until_released() -> None:
    log = Log()
    triage = Triage("skip", {"a": Park(releasing=False, open_letters=2)})  # parked earlier
    steps = [route(triage, r) for r in (log.record("a"), log.replay("a", release=True))]
    assert kinds(steps) == [PARKED, PARKED]
    assert triage.changes().release == []


def test_a_release_lets_the_replays_through_in_order_then_the_talks_goes() -> None:
    log = Log()
    triage = Triage("pause", {"a": Park(releasing=True, open_letters=0)})
    steps = [route(triage, r) for r in (log.replay(), log.replay(release=True), log.record())]
    assert kinds(steps) == ["apply", "apply", "apply"]
    changes = triage.changes()
    assert (changes.release, changes.halt, changes.park) == (["a"], [], [])


def test_records_parked_during_a_release_keep_the_talks_parked() -> None:
    log = Log()
    triage = Triage("pause", {"a": Park(releasing=True, open_letters=0)})
    records = [log.replay(), log.record(), log.replay(release=True), log.record()]
    assert kinds([route(triage, r) for r in records]) == ["apply", PARKED, "apply", PARKED]
    changes = triage.changes()
    assert (changes.halt, changes.release) == (["a"], [])


def test_a_replay_that_fails_again_halts_the_release() -> None:
    log = Log()
    triage = Triage("pause", {"a": Park(releasing=True, open_letters=0)})
    culprit = triage.route(log.replay(), decode(log.replay()))
    assert isinstance(culprit, Apply)
    triage.failed(culprit, RuntimeError("still broken"))
    assert kinds([route(triage, log.replay(release=True))]) == [PARKED]
    assert triage.changes().halt == ["a"]
