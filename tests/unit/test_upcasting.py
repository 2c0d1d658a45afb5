"""Reading records of an older version of their type: upcasters, versions from headers.

The tests register a fictional v0 of ``round.opened`` whose data said ``city`` and
``country`` where v1 has a ``venue``; the fixture takes it out of the registry again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from services.projector.projection import LogRecord, _decode
from shared.cloudevents import SCHEMA_VERSION, headers_for
from shared.events import RoundOpened, parse_recorded, to_json
from shared.upcasting import (
    Document,
    UpcastError,
    register,
    unregister,
    upcast,
    upcast_value,
    upcaster,
    version_of,
)
from tests.support.builders import Recorder

pytestmark = pytest.mark.unit

V0_HEADERS = (("ce_type", b"org.parley.round.opened.v0"), ("ce_subject", b"abu-dhabi"))


def round_opened_v0_to_v1(document: Document) -> Document:
    data = dict(document["data"])
    data["venue"] = {"city": data.pop("city"), "country": data.pop("country")}
    return {**document, "data": data}


@pytest.fixture
def round_opened_v0() -> Iterator[None]:
    register("round.opened", 0, round_opened_v0_to_v1)
    yield
    unregister("round.opened", 0)


def v0_document() -> dict[str, Any]:
    """A round.opened as a v0 producer would have recorded it."""
    event = json.loads(to_json(Recorder("abu-dhabi")("round.opened", parties=["UKR", "RUS"])))
    event["data"].update(city="Abu Dhabi", country="ARE")
    return event


def test_an_old_document_is_brought_to_the_current_version(round_opened_v0: None) -> None:
    event = parse_recorded(upcast(v0_document(), 0))
    assert isinstance(event, RoundOpened)
    assert event.data.venue is not None and event.data.venue.city == "Abu Dhabi"
    assert event.data.parties == ["UKR", "RUS"]


def test_without_its_upcaster_an_old_document_cannot_be_read() -> None:
    with pytest.raises(UpcastError, match=r"no upcaster takes round.opened from v0 to v1"):
        upcast(v0_document(), 0)


def test_a_version_newer_than_known_is_a_clear_error() -> None:
    document = json.loads(to_json(Recorder("abu-dhabi")("round.opened")))
    with pytest.raises(UpcastError, match=r"round.opened v2 is newer than this build knows \(v1\)"):
        upcast(document, SCHEMA_VERSION + 1)
    assert not issubclass(UpcastError, ValueError)  # a reader stops rather than skip the record


def test_upcasters_apply_in_order_up_to_the_current_version() -> None:
    calls: list[int] = []

    for step in (0, 1, 2):

        @upcaster("round.closed", step)
        def record_step(document: Document, step: int = step) -> Document:
            calls.append(step)
            return {**document, "steps": [*document.get("steps", []), step]}

    try:
        assert upcast({"type": "round.closed"}, 0, current=3)["steps"] == [0, 1, 2]
        assert upcast({"type": "round.closed"}, 2, current=3)["steps"] == [2]
        assert upcast({"type": "round.closed"}, 3, current=3) == {"type": "round.closed"}
        with pytest.raises(ValueError, match="already registered"):
            register("round.closed", 1, record_step)
    finally:
        for step in (0, 1, 2):
            unregister("round.closed", step)
    assert calls == [0, 1, 2, 2]


def test_the_version_comes_from_the_ce_type_header() -> None:
    event = Recorder("abu-dhabi")("round.opened")
    assert version_of(headers_for(event)) == SCHEMA_VERSION == 1
    assert version_of(V0_HEADERS) == 0
    assert version_of([]) == SCHEMA_VERSION  # records written before the headers existed
    with pytest.raises(ValueError, match="not a Parley"):
        version_of([("ce_type", b"com.example.thing")])


def test_a_current_record_is_passed_on_untouched() -> None:
    value = to_json(Recorder("abu-dhabi")("round.opened"))
    assert upcast_value(value, SCHEMA_VERSION) is value


def test_the_projector_upcasts_what_it_reads(round_opened_v0: None) -> None:
    current = Recorder("abu-dhabi")("round.opened")
    records = [
        LogRecord(0, 0, json.dumps(v0_document()).encode(), V0_HEADERS),
        LogRecord(0, 1, to_json(current), tuple(headers_for(current))),
        LogRecord(0, 2, to_json(Recorder("abu-dhabi")("round.closed"))),  # no headers
    ]
    decoded, rejected = _decode(records)
    assert rejected == 0
    venues = [e.data.venue for _, e in decoded if isinstance(e, RoundOpened)]
    assert [v.city if v else None for v in venues] == ["Abu Dhabi", None]


def test_the_projector_stops_at_a_record_from_a_newer_version() -> None:
    """Skipping it would move the position past it and lose it from the read models."""
    event = Recorder("abu-dhabi")("round.opened")
    newer = (("ce_type", f"org.parley.round.opened.v{SCHEMA_VERSION + 1}".encode()),)
    with pytest.raises(UpcastError):
        _decode([LogRecord(0, 0, to_json(event), newer)])
