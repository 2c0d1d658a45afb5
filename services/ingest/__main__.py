"""``python -m services.ingest``: serve the ingest over HTTP, in ``PARLEY_INGEST_WORKERS``
processes (see :mod:`services.ingest.serve`)."""

from services.ingest.serve import serve
from services.ingest.settings import get_settings

if __name__ == "__main__":
    serve("services.ingest.serve:app", get_settings())
