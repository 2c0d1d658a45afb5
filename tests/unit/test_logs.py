import json
import logging

import pytest

from services.common.logs import JsonFormatter

pytestmark = pytest.mark.unit


def test_a_record_is_one_json_line_with_its_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "parley.test", "levelname": "INFO", "msg": "recorded %s", "args": ("r2",)}
    )
    record.event_id, record.talks_id = "e1", "abu-dhabi"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "recorded r2"
    assert (parsed["level"], parsed["logger"]) == ("info", "parley.test")
    assert (parsed["event_id"], parsed["talks_id"]) == ("e1", "abu-dhabi")
    assert parsed["time"].endswith("Z")
