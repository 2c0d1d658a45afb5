"""What is poison and what is not, and how a dead letter travels (headers, stored headers)."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from services.projector.deadletters import decode_headers, encode_headers
from services.projector.dlq import dlq_headers
from services.projector.poison import (
    INVALID,
    UNDECODABLE,
    UNKNOWN_TYPE,
    DeadLetter,
    decode,
    is_poison,
)
from services.projector.records import LogRecord
from shared.cloudevents import headers_for
from shared.events import RoundOpened, to_json
from shared.upcasting import UpcastError
from tests.support.builders import Recorder

pytestmark = pytest.mark.unit


def letter_of(value: bytes, key: bytes | None = None) -> DeadLetter:
    found = decode(LogRecord(3, 17, value, (), key))
    assert isinstance(found, DeadLetter)
    return found


def test_a_good_record_decodes() -> None:
    event = Recorder("abu-dhabi")("round.opened")
    assert isinstance(
        decode(LogRecord(0, 0, to_json(event), tuple(headers_for(event)))), RoundOpened
    )


def test_garbage_is_undecodable_and_belongs_to_its_key() -> None:
    letter = letter_of(b"\xff not json", key=b"abu-dhabi")
    assert (letter.error_type, letter.talks_id, letter.event_id) == (UNDECODABLE, "abu-dhabi", None)
    assert letter_of(b"[1, 2]").error_type == UNDECODABLE


def test_an_unknown_type_names_its_talks_and_event() -> None:
    event_id = uuid.uuid4()
    value = {"type": "round.teleported", "talks_id": "geneva", "event_id": str(event_id)}
    letter = letter_of(json.dumps(value).encode(), key=b"ignored")
    assert (letter.error_type, letter.talks_id, letter.event_id) == (
        UNKNOWN_TYPE,
        "geneva",
        event_id,
    )


def test_a_record_failing_validation_is_invalid() -> None:
    body = json.loads(to_json(Recorder("geneva")("round.opened")))
    del body["data"]["round_id"]
    letter = letter_of(json.dumps(body).encode())
    assert (letter.error_type, letter.talks_id) == (INVALID, "geneva")
    assert "round_id" in letter.error


def test_a_talks_id_that_is_not_a_slug_is_not_trusted() -> None:
    assert letter_of(json.dumps({"talks_id": "DROP TABLE"}).encode()).talks_id is None


def test_a_newer_version_is_not_poison_but_stops_the_projector() -> None:
    event = Recorder("abu-dhabi")("round.opened")
    newer = (("ce_type", b"org.parley.round.opened.v99"),)
    with pytest.raises(UpcastError):
        decode(LogRecord(0, 0, to_json(event), newer))


def db_error(kind: type[sa.exc.DBAPIError], sqlstate: str) -> sa.exc.DBAPIError:
    class Orig(Exception):
        pass

    orig = Orig("refused")
    orig.sqlstate = sqlstate  # type: ignore[attr-defined]
    return kind("INSERT ...", {}, orig)


@pytest.mark.parametrize(
    ("error", "poison"),
    [
        (ValueError("a fold that cannot cope"), True),
        (KeyError("x"), True),
        (db_error(sa.exc.DBAPIError, "22P05"), True),  # a value PostgreSQL cannot store
        (db_error(sa.exc.DataError, "22003"), True),
        (db_error(sa.exc.IntegrityError, "23514"), False),  # a constraint: the database's call
        (db_error(sa.exc.OperationalError, "57P01"), False),  # the server went away
        (db_error(sa.exc.ProgrammingError, "42P01"), False),  # a table is missing
        (ConnectionResetError(), False),
        (TimeoutError(), False),
        (sa.exc.TimeoutError("pool"), False),
        (UpcastError("v2"), False),
    ],
)
def test_only_the_records_own_failures_are_poison(error: BaseException, poison: bool) -> None:
    assert is_poison(error) is poison


def test_the_dead_letter_topic_gets_the_original_headers_and_why() -> None:
    event = Recorder("abu-dhabi")("round.opened")
    record = LogRecord(4, 42, to_json(event), tuple(headers_for(event)), b"abu-dhabi")
    headers = dict(dlq_headers(DeadLetter(record, "invalid", "no round_id"), "parley.events"))
    assert headers["ce_id"] == str(event.event_id).encode()
    assert headers["parley_error"] == b"no round_id"
    assert headers["parley_error_type"] == b"invalid"
    assert headers["parley_original_topic"] == b"parley.events"
    assert (headers["parley_original_partition"], headers["parley_original_offset"]) == (
        b"4",
        b"42",
    )


def test_stored_headers_come_back_byte_for_byte() -> None:
    headers = (("ce_id", b"abc"), ("odd", b"\x00\xff\xfe"), ("ce_id", b"twice"))
    assert decode_headers(json.loads(json.dumps(encode_headers(headers)))) == headers
