"""Logging set-up shared by the services' entrypoints: one JSON object per line on stderr.

Fields: ``time``, ``level``, ``logger``, ``message``, and whatever a call passes in
``extra`` (``event_id``, ``talks_id``, ``trace_id``, ...). A line logged while a trace is
current (services/common/tracing.py: the ingest sets it per request) carries its
``trace_id`` unless the call gave one. ``PARLEY_LOG_FORMAT=text`` gives plain lines for
reading by eye.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

from services.common import tracing

#: Attributes of every record, and uvicorn's terminal-coloured copy of its message.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON, with its ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        trace = tracing.current.get()
        if trace is not None and "trace_id" not in line:
            line["trace_id"] = trace.trace_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    """JSON lines on stderr at ``level``; aiokafka's chatter kept at warnings."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("PARLEY_LOG_FORMAT", "json") == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
