"""``python -m services.api``: serve the API over HTTP."""

import gc

import uvicorn

from services.api.app import create_app
from services.api.settings import get_settings
from services.common.logs import configure_logging

settings = get_settings()
configure_logging(settings.log_level)
app = create_app(settings)
# What start-up built (about 116,000 objects) lives as long as the process: moved out of the
# collector's way, a full collection no longer walks it (45 ms a pass on a 2-core machine,
# paid by whichever request set it off).
gc.collect()
gc.freeze()
uvicorn.run(
    app,
    host=settings.http_host,
    port=settings.http_port,
    log_config=None,
    timeout_graceful_shutdown=30,
)
