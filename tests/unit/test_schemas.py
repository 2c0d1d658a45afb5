"""The committed JSON Schemas: current, valid, and true to what the ingest accepts and records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from services.cli.__main__ import main
from services.cli.schemas import rendered_schemas, stale_files
from shared.cloudevents import ce_type, headers_for
from shared.events import EVENT_TYPES, Event, as_dict, parse_submission, to_json
from shared.schemas import ANY_EVENT, cloudevents_headers_schema, schema_id
from tests.support.builders import Recorder
from tests.support.example import example_events

pytestmark = pytest.mark.unit

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
#: What a report needs besides its target, by type.
REPORTS: dict[str, dict[str, Any]] = {
    "report.corrected": {"changes": {"data": {"summary": "Ended without a date for round 3."}}},
    "report.retracted": {},
    "source.added": {"source": {"url": "https://example.org/more", "credibility": 2}},
}


def one_event_of_each_type(talks_id: str) -> list[Event]:
    """A recorded event of every type; the reports are about the first event."""
    record = Recorder(talks_id)
    events = [record(t) for t in EVENT_TYPES if t not in REPORTS]
    target = str(events[0].event_id)
    return events + [record(t, target_event_id=target, **extra) for t, extra in REPORTS.items()]


def committed(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.v1.json").read_text(encoding="utf-8"))


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(committed(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_committed_schemas_are_current() -> None:
    stale = stale_files(SCHEMAS)
    assert not stale, (
        f"schemas/ is out of date with the event models ({', '.join(stale)}): "
        "run `parley schemas write` and commit the result"
    )


@pytest.mark.parametrize("name", [*EVENT_TYPES, ANY_EVENT])
def test_each_schema_is_valid_and_names_itself(name: str) -> None:
    schema = committed(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == schema_id(name) == f"https://parley.example/schemas/{name}.v1.json"
    assert schema["title"].endswith(" v1")
    if name != ANY_EVENT:
        assert schema["x-cloudevents-type"] == ce_type(name)
        assert schema["properties"]["type"]["const"] == name
        assert "type" in schema["required"]


def test_every_line_of_the_example_validates() -> None:
    events = example_events()
    assert len(events) == 18
    for event in events:
        for name in (event["type"], ANY_EVENT):
            errors = [e.message for e in validator(name).iter_errors(event)]
            assert not errors, (event["event_id"], name, errors)


def test_recorded_events_of_every_type_validate() -> None:
    """What the ingest writes on the topic (with event_id and recorded_at) fits the schema."""
    events = one_event_of_each_type("abu-dhabi")
    assert sorted(e.type for e in events) == sorted(EVENT_TYPES)
    for event in events:
        value = json.loads(to_json(event))
        assert not list(validator(event.type).iter_errors(value)), event.type
        assert not list(validator(ANY_EVENT).iter_errors(value)), event.type


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("data", "parties"), ["ukr"]),  # a party code, in upper case
        (("talks_id",), "Abu Dhabi"),  # a slug
        (("data", "round_id"), "round 2"),  # a local id
        (("occurred_at",), "4 February 2026"),  # a time as the report gives it
        (("sources",), [{"url": "ftp://example.org/a"}]),  # an http(s) URL
        (("sources",), [{"url": "https://example.org/a", "credibility": 7}]),  # Admiralty 1..6
        (("data", "colour"), "blue"),  # unknown fields are refused
    ],
)
def test_the_schema_refuses_what_the_ingest_refuses(path: tuple[str, ...], value: Any) -> None:
    event = as_dict(Recorder("abu-dhabi")("round.opened", parties=["UKR"]))
    node = event
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    del event["recorded_at"]
    with pytest.raises(ValueError):
        parse_submission(json.dumps(event))
    assert list(validator("round.opened").iter_errors(event))


def test_a_record_without_its_type_is_refused() -> None:
    event = as_dict(Recorder("abu-dhabi")("round.opened"))
    del event["type"]
    assert list(validator("round.opened").iter_errors(event))
    assert list(validator(ANY_EVENT).iter_errors(event))


def test_headers_schema_describes_every_header_the_ingest_writes() -> None:
    schema = cloudevents_headers_schema()
    trace = ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc")
    for event in one_event_of_each_type("abu-dhabi"):
        headers = {name: value.decode() for name, value in headers_for(event)}
        assert set(headers) == set(schema["required"])
        traced = {name: value.decode() for name, value in headers_for(event, *trace)}
        assert set(traced) == set(schema["properties"])  # the trace headers are optional
        for written in (headers, traced):
            assert not list(Draft202012Validator(schema).iter_errors(written)), event.type


def test_parley_schemas_write_then_check(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["schemas", "check", "--dir", str(tmp_path)]) == 1
    assert "parley schemas write" in capsys.readouterr().out
    assert main(["schemas", "write", "--dir", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(rendered_schemas())
    assert main(["schemas", "check", "--dir", str(tmp_path)]) == 0
    text = (tmp_path / "round.opened.v1.json").read_text()
    assert text.endswith("}\n") and text.startswith('{\n  "$defs"')  # pretty, sorted keys
    (tmp_path / "round.opened.v1.json").write_text(text.replace("venue", "place"))
    (tmp_path / "round.opened.v0.json").write_text("{}\n")  # an older version stays as it is
    assert main(["schemas", "check", "--dir", str(tmp_path)]) == 1
    assert main(["schemas", "write", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "round.opened.v0.json").read_text() == "{}\n"
    assert main(["schemas", "check", "--dir", str(tmp_path)]) == 0
