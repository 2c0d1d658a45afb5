"""The AsyncAPI document of the topic and the routes that serve the contract.

``tests/contracts/asyncapi-3.0.0.json`` is the AsyncAPI 3.0.0 JSON Schema (draft-07), vendored
verbatim from the npm package ``@asyncapi/specs`` 6.11.1, file ``schemas/3.0.0.json``
(397,860 bytes, sha256 d4571a420e6ffb7fcc7066c95a6db1202f299a3c51daa103d0706bf30f95e626),
published from github.com/asyncapi/spec-json-schemas (Apache-2.0).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jsonschema import Draft7Validator, Draft202012Validator

from services.api.app import create_app
from services.api.asyncapi import asyncapi_document
from services.api.contract_routes import router
from services.api.settings import ApiSettings
from shared.cloudevents import headers_for
from shared.events import EVENT_TYPES, to_json
from tests.unit.test_schemas import SCHEMAS, one_event_of_each_type

pytestmark = pytest.mark.unit

ASYNCAPI_SCHEMA = Path(__file__).resolve().parents[1] / "contracts" / "asyncapi-3.0.0.json"
TOPIC = "parley.events.contract"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document(TOPIC, 3)


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = document
    for token in ref[2:].split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_required_fields_are_there(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert {"title", "version"} <= set(document["info"])
    assert {"channels", "operations", "components"} <= set(document)
    assert [op["action"] for op in document["operations"].values()] == ["receive"]


def test_every_ref_resolves_inside_the_document(document: dict[str, Any]) -> None:
    found = list(refs(document))
    assert len(found) > 3 * len(EVENT_TYPES)
    for ref in found:
        resolve(document, ref)


def test_it_is_a_valid_asyncapi_3_document(document: dict[str, Any]) -> None:
    schema = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    errors = list(Draft7Validator(schema).iter_errors(document))
    assert not errors, [e.message[:300] for e in errors]
    broken = {**document, "operations": {"read": {"action": "consume", "channel": {}}}}
    assert list(Draft7Validator(schema).iter_errors(broken)), "the vendored schema checks nothing"


def test_the_channel_is_the_topic_keyed_by_talks(document: dict[str, Any]) -> None:
    [channel] = document["channels"].values()
    assert channel["address"] == TOPIC
    kafka = channel["bindings"]["kafka"]
    assert (kafka["topic"], kafka["partitions"]) == (TOPIC, 3)
    assert kafka["topicConfiguration"]["retention.ms"] == -1
    assert sorted(channel["messages"]) == sorted(EVENT_TYPES)
    [operation] = document["operations"].values()
    assert resolve(document, operation["channel"]["$ref"]) is channel
    assert len(operation["messages"]) == len(EVENT_TYPES)


def errors(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    """What is wrong with ``instance`` by ``schema``, whose ``$ref``s point into ``document``."""
    rooted = {**schema, "components": document["components"]}
    return [e.message for e in Draft202012Validator(rooted).iter_errors(instance)]


def test_each_record_fits_its_message(document: dict[str, Any]) -> None:
    """A record as the ingest writes it: key, headers and value, against the message."""
    messages = document["channels"]["events"]["messages"]
    for event in one_event_of_each_type("abu-dhabi"):
        message = resolve(document, messages[event.type]["$ref"])
        assert message["name"] == f"org.parley.{event.type}.v1"
        headers = {k: v.decode() for k, v in headers_for(event)}
        assert not errors(document, message["payload"], json.loads(to_json(event)))
        assert not errors(document, message["headers"], headers)
        assert not errors(document, message["bindings"]["kafka"]["key"], event.talks_id)
        other = next(t for t in EVENT_TYPES if t != event.type)
        mislabelled = {**headers, "ce_type": f"org.parley.{other}.v1"}
        assert errors(document, message["headers"], mislabelled)


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = ApiSettings(topic=TOPIC, topic_partitions=3)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"settings": settings}

    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    with TestClient(app) as client:
        yield client


def test_the_api_serves_the_committed_schemas(client: TestClient) -> None:
    listed = client.get("/v1/schemas").json()
    assert [s["type"] for s in listed["schemas"]] == list(EVENT_TYPES)
    for entry in listed["schemas"]:
        assert entry["ce_type"] == f"org.parley.{entry['type']}.v1"
        assert entry["version"] == 1
        response = client.get(entry["url"])
        assert response.headers["content-type"] == "application/schema+json"
        committed = json.loads((SCHEMAS / f"{entry['type']}.v1.json").read_text())
        assert response.json() == committed
        assert entry["id"] == committed["$id"]
    any_event = client.get(listed["any_event"]).json()
    assert any_event == json.loads((SCHEMAS / "event.v1.json").read_text())


def test_an_unknown_type_is_a_404_listing_the_known_ones(client: TestClient) -> None:
    response = client.get("/v1/schemas/round.adjourned")
    assert response.status_code == 404
    assert "round.opened" in response.json()["known_types"]


def test_the_api_serves_the_asyncapi_document_of_its_topic(client: TestClient) -> None:
    document = client.get("/v1/asyncapi.json").json()
    assert document == asyncapi_document(TOPIC, 3)


def test_the_contract_routes_are_wired_into_the_api() -> None:
    paths = create_app(ApiSettings()).openapi()["paths"]
    assert {"/v1/schemas", "/v1/schemas/{event_type}", "/v1/asyncapi.json"} <= set(paths)
