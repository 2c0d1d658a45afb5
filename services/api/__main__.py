"""``python -m services.api``: serve the API over HTTP."""

import uvicorn

from services.api.app import create_app
from services.api.settings import get_settings
from services.common.logs import configure_logging

settings = get_settings()
configure_logging(settings.log_level)
uvicorn.run(
    create_app(settings),
    host=settings.http_host,
    port=settings.http_port,
    log_config=None,
    timeout_graceful_shutdown=30,
)
