"""Serving the ingest over HTTP in ``PARLEY_INGEST_WORKERS`` processes.

Each worker is the whole ingest: its own producer (idempotent, ``acks=all``), database pool
and receipts. The receipts table, which claims each ``event_id`` once, is all they share,
so a duplicate is caught whichever worker it reaches. With more than one worker, uvicorn's
supervisor shares the listening socket among them and passes SIGTERM on, so that each
answers its requests in flight; ``/metrics`` adds up every worker's metrics through files in
a directory of their own (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile

import uvicorn
from fastapi import FastAPI

from services.common.logs import configure_logging
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings, get_settings

#: Seconds a worker may leave its supervisor's health ping unanswered before it is killed.
WORKER_HEALTHCHECK_S = 30

#: prometheus_client reads it when imported: it is set before any worker starts.
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def app() -> FastAPI:
    """The application of one worker (uvicorn's factory)."""
    die_with_the_supervisor()
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def die_with_the_supervisor() -> None:
    """In a worker process, have the kernel send SIGTERM when the supervisor that started it
    dies, even by SIGKILL: no orphaned worker keeps the port and a producer open. (Linux;
    nothing elsewhere, and nothing when the application runs in the supervisor's process.)"""
    supervisor = multiprocessing.parent_process()
    if supervisor is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor.pid:  # it died before prctl
        os.kill(os.getpid(), signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def serve(factory: str, settings: IngestSettings) -> None:
    """Serve the application ``factory`` (``"module:function"``) makes, in each worker."""
    configure_logging(settings.log_level)
    workers = settings.workers
    metrics = tempfile.mkdtemp(prefix="parley-ingest-metrics-") if workers > 1 else None
    if metrics is not None:
        os.environ[METRICS_DIR] = metrics
    try:
        uvicorn.run(
            factory,
            factory=True,
            workers=workers,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            timeout_graceful_shutdown=30,
            # The supervisor kills a worker that leaves its health ping unanswered this long,
            # starting up too: uvicorn's 5 s is about what a start takes on a busy 2-core machine.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        )
    finally:
        if metrics is not None:
            shutil.rmtree(metrics, ignore_errors=True)
