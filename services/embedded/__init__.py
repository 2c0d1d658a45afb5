"""Parley in one process: the ingest and API routes, the projector and the webhook worker,
on the embedded log and SQLite (``PARLEY_MODE=embedded``, what ``make run`` starts)."""
