"""The AsyncAPI 3.0 description of the topic, built from the event schemas.

The schemas' own ``$defs`` move to ``components.schemas`` (shared ones such as ``Source`` once),
so that every ``$ref`` in the document points inside it.
"""

from __future__ import annotations

from typing import Any

from shared.cloudevents import SCHEMA_VERSION
from shared.events import EVENT_CLASSES
from shared.schemas import SLUG, cloudevents_headers_schema, event_schema

KAFKA_BINDING = "0.5.0"
CHANNEL = "events"
KEY = {**SLUG, "description": "The record's key: the event's talks_id, as UTF-8."}
DESCRIPTION = """\
Every event Parley records, in the order recorded per talks: the record's key is the talks_id,
its value the event as JSON, its headers the CloudEvents 1.0 attributes (binary mode). The
topic keeps every record forever: it is the log of record. Within a version, an event type
only gains optional fields; a breaking change is a new version (`org.parley.<type>.v2`)."""


def asyncapi_document(topic: str, partitions: int) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of ``topic``: one message per event type, read-only."""
    schemas: dict[str, Any] = {"CloudEventsHeaders": cloudevents_headers_schema()}
    messages = {}
    for event_type in EVENT_CLASSES:
        payload = _hoist(event_schema(event_type), schemas)
        schemas[event_type] = payload
        messages[event_type] = _message(event_type, payload)
    return {
        "asyncapi": "3.0.0",
        "id": "urn:parley:events",
        "info": {
            "title": "Parley event stream",
            "version": f"{SCHEMA_VERSION}.0.0",
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": topic,
                "title": "Parley events",
                "description": "One record per event, keyed by talks_id.",
                "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in messages},
                "bindings": {"kafka": _topic_binding(topic, partitions)},
            }
        },
        "operations": {
            "receiveEvents": {
                "action": "receive",
                "title": "Receive the events",
                "summary": "Subscribe with a consumer group of your own; order holds per talks.",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/{t}"} for t in messages],
                "bindings": {
                    "kafka": {
                        "groupId": {"type": "string", "description": "Your own consumer group."},
                        "bindingVersion": KAFKA_BINDING,
                    }
                },
            }
        },
        "components": {"messages": messages, "schemas": schemas},
    }


def _message(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    ce_type = payload["x-cloudevents-type"]
    return {
        "name": ce_type,
        "title": event_type,
        "summary": EVENT_CLASSES[event_type].__doc__,
        "contentType": "application/json",
        "headers": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEventsHeaders"},
                {"type": "object", "properties": {"ce_type": {"const": ce_type}}},
            ]
        },
        "payload": {"$ref": f"#/components/schemas/{event_type}"},
        # Inline, not a $ref: the AsyncAPI 3.0.0 JSON Schema finds a $ref here ambiguous.
        "bindings": {"kafka": {"key": KEY, "bindingVersion": KAFKA_BINDING}},
    }


def _topic_binding(topic: str, partitions: int) -> dict[str, Any]:
    return {
        "topic": topic,
        "partitions": partitions,
        "topicConfiguration": {
            "cleanup.policy": ["delete"],
            "retention.ms": -1,
            "retention.bytes": -1,
        },
        "bindingVersion": KAFKA_BINDING,
    }


def _hoist(schema: dict[str, Any], into: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without ``$defs`` (moved into ``into``) and with its ``$ref``s rewritten."""
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    for name, definition in _rewrite(defs).items():
        if into.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are both named {name!r}")
    return _rewrite(schema)


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" else _rewrite(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    return node
