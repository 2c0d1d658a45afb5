"""``python -m services.ingest``: serve the ingest over HTTP."""

import uvicorn

from services.common.logs import configure_logging
from services.ingest.app import create_app
from services.ingest.settings import get_settings

settings = get_settings()
configure_logging(settings.log_level)
uvicorn.run(
    create_app(settings),
    host=settings.http_host,
    port=settings.http_port,
    log_config=None,
    timeout_graceful_shutdown=30,
)
