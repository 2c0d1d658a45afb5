"""Logging set-up shared by the services' entrypoints."""

import logging
import sys


def configure_logging(level: str) -> None:
    """Timestamped lines on stderr at ``level``; aiokafka's chatter kept at warnings."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
