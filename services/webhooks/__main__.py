"""``python -m services.webhooks``: push subscribed events to their receivers."""

import asyncio
import logging

from services.common.logs import configure_logging
from services.webhooks.app import run
from services.webhooks.settings import get_settings

settings = get_settings()
configure_logging(settings.log_level)
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per delivery: the lanes log failures
asyncio.run(run(settings))
