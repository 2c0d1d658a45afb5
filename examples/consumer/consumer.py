"""A subscriber of Parley's event stream that needs none of Parley's code.

It reads the topic with a consumer group of its own, takes each record's type from its
CloudEvents headers, fetches that type's JSON Schema from the API once (``GET
{api}/v1/schemas/{type}``), validates the record's value against it and prints one line per
event: ``talks_id type event_id ok`` or ``... INVALID: reason``. See README.md beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

TYPE_PREFIX = "org.parley."
#: A schema older than this is fetched again when a record fails it: within a version a type
#: may gain optional fields, which the schema fetched before would refuse.
REFRESH_AFTER_S = 60.0


class Schemas:
    """The validator of each event type, built from the schema the API serves, fetched once."""

    def __init__(self, api_url: str) -> None:
        self._api_url = api_url.rstrip("/")
        self._cache: dict[str, tuple[float, Draft202012Validator]] = {}

    async def validator(self, event_type: str, *, fresh: bool = False) -> Draft202012Validator:
        """The validator of ``event_type``; fetched again from the API if ``fresh``."""
        if fresh or event_type not in self._cache:
            url = f"{self._api_url}/v1/schemas/{event_type}"
            schema = await asyncio.to_thread(fetch_json, url)
            checker = Draft202012Validator.FORMAT_CHECKER
            self._cache[event_type] = (
                time.monotonic(),
                Draft202012Validator(schema, format_checker=checker),
            )
        return self._cache[event_type][1]

    def age(self, event_type: str) -> float:
        return time.monotonic() - self._cache[event_type][0]


def fetch_json(url: str) -> Any:
    """GET ``url`` and decode its JSON (blocking: run it in a thread)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


async def verdict(record: Any, schemas: Schemas) -> tuple[str, str, str, str]:
    """(talks_id, type, event_id, "ok" or "INVALID: reason") of one record."""
    headers = {name: value.decode(errors="replace") for name, value in record.headers}
    ce_type = headers.get("ce_type", "")
    name, _, version = ce_type.removeprefix(TYPE_PREFIX).rpartition(".v")
    talks_id, event_id = headers.get("ce_subject", "-"), headers.get("ce_id", "-")
    if not ce_type.startswith(TYPE_PREFIX) or not version.isdigit():
        return talks_id, name or "-", event_id, f"INVALID: no Parley ce_type header ({ce_type!r})"
    try:
        value = json.loads(record.value or b"")
    except ValueError as exc:
        return talks_id, name, event_id, f"INVALID: the value is not JSON ({exc})"
    problem = await schema_problem(value, name, ce_type, schemas) or header_problem(
        value, headers, record.key
    )
    return talks_id, name, event_id, f"INVALID: {problem}" if problem else "ok"


async def schema_problem(value: Any, name: str, ce_type: str, schemas: Schemas) -> str | None:
    """What is wrong with ``value`` by the schema of its type; None if nothing."""
    try:
        validator = await schemas.validator(name)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return f"the API knows no event type {name!r}"
        raise
    if validator.schema.get("x-cloudevents-type") != ce_type:
        return f"the API serves {validator.schema.get('x-cloudevents-type')}, not {ce_type}"
    error = best_match(validator.iter_errors(value))
    if error is not None and schemas.age(name) > REFRESH_AFTER_S:
        error = best_match((await schemas.validator(name, fresh=True)).iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "(the event)"
    return f"{where}: {error.message}"


def header_problem(value: dict[str, Any], headers: dict[str, str], key: bytes | None) -> str | None:
    """Whether the headers and the key say the same as the value; None if they do."""
    if headers.get("ce_id") != value.get("event_id"):
        return "ce_id is not the event_id"
    if headers.get("ce_subject") != value.get("talks_id"):
        return "ce_subject is not the talks_id"
    if key is None or key.decode() != value.get("talks_id"):
        return "the key is not the talks_id"
    return None


class FromBeginning(ConsumerRebalanceListener):
    """Rewind each partition the first time it is assigned, whatever the group committed."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._rewound: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Nothing to do: offsets are committed automatically."""

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        # seek() to the first offset rather than seek_to_beginning(): the latter races the
        # fetch already under way and can deliver the first record twice.
        first = await self._consumer.beginning_offsets(
            [tp for tp in assigned if tp not in self._rewound]
        )
        for tp, offset in first.items():
            self._consumer.seek(tp, offset)
        self._rewound.update(first)


async def consume(args: argparse.Namespace) -> int:
    """Print a line per event until interrupted or ``--max-events``; 1 if any was invalid."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap_servers,
        group_id=args.group,
        client_id="parley-example-consumer",
        auto_offset_reset="earliest" if args.from_beginning else "latest",
    )
    if args.from_beginning:
        consumer.subscribe([args.topic], listener=FromBeginning(consumer))
    else:
        consumer.subscribe([args.topic])
    schemas, seen, invalid = Schemas(args.api_url), 0, 0
    await consumer.start()
    try:
        async for record in consumer:
            talks_id, name, event_id, result = await verdict(record, schemas)
            print(talks_id, name, event_id, result, flush=True)
            seen, invalid = seen + 1, invalid + (result != "ok")
            if args.max_events and seen >= args.max_events:
                break
    finally:
        await consumer.stop()
    return 1 if invalid else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags, each defaulting to an environment variable, then to a local stack."""
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bootstrap-servers",
        default=env("PARLEY_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        help="Kafka (default: $PARLEY_KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092)",
    )
    parser.add_argument(
        "--topic",
        default=env("PARLEY_TOPIC", "parley.events"),
        help="the topic (default: $PARLEY_TOPIC, else parley.events)",
    )
    parser.add_argument(
        "--group",
        default=env("EXAMPLE_CONSUMER_GROUP", "parley-example-consumer"),
        help="this subscriber's own consumer group "
        "(default: $EXAMPLE_CONSUMER_GROUP, else parley-example-consumer)",
    )
    parser.add_argument(
        "--api-url",
        default=env("PARLEY_API_URL", "http://127.0.0.1:8000"),
        help="Parley's API, which serves the schemas (default: $PARLEY_API_URL, else :8000)",
    )
    parser.add_argument(
        "--from-beginning",
        action="store_true",
        help="read every record from the start of the topic, not only new ones",
    )
    parser.add_argument(
        "--max-events", type=int, default=0, metavar="N", help="stop after N records"
    )
    return parser.parse_args(argv)


def main() -> int:
    """Run until interrupted or ``--max-events``; return the exit code."""
    args = parse_args()
    try:
        return asyncio.run(consume(args))
    except KeyboardInterrupt:
        return 130
    except (OSError, KafkaError) as exc:  # the API or the broker cannot be reached
        print(f"consumer: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
