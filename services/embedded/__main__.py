"""``python -m services.embedded``: Parley in one process on one port (what ``make run`` runs).

On the first start it makes a dev key (kept in the data directory) and loads the example
dataset, unless ``--empty``. Ctrl-C stops it; everything posted is kept for the next start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import sys
from pathlib import Path

import uvicorn

from services.cli.load import load_file
from services.common.logs import configure_logging
from services.embedded.app import create_app
from services.embedded.settings import EmbeddedSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "abu-dhabi-2026.jsonl"


def dev_key(data_dir: Path) -> str:
    """``PARLEY_BOOTSTRAP_KEY``, or a key made on the first start and kept in ``data_dir``."""
    if key := os.environ.get("PARLEY_BOOTSTRAP_KEY"):
        return key
    stored = data_dir / "bootstrap-key"
    if not stored.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        stored.write_text(f"dev-{secrets.token_urlsafe(24)}\n")
        stored.chmod(0o600)
    return stored.read_text().strip()


async def serve(settings: EmbeddedSettings, key: str, load_example: bool) -> None:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            timeout_graceful_shutdown=30,
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # it failed to start (the port is taken, ...): say why
            return
        await asyncio.sleep(0.05)
    url = f"http://{settings.http_host}:{settings.http_port}"
    loaded = settings.data_dir / "example-loaded"
    if load_example and not loaded.exists():
        say(f"first start: loading {EXAMPLE.name} (--empty skips it)")
        if await load_file(str(EXAMPLE), url, quiet=True, api_key=key) == 0:
            loaded.touch()
    say(
        f"Parley is running (embedded mode; data in {settings.data_dir}/)\n"
        f"  timeline page   {url}/\n"
        f"  API docs        {url}/docs\n"
        f"  state           {url}/v1/talks/abu-dhabi-trilateral/state?as_of=2026-02-05\n"
        f"  live events     {url}/v1/stream\n"
        f"  dev key         {key}\n"
        f"  load a file     PARLEY_API_KEY={key} .venv/bin/parley load FILE --ingest {url}\n"
        "Ctrl-C stops it; everything posted is kept."
    )
    await serving


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m services.embedded", description=__doc__)
    parser.add_argument("--empty", action="store_true", help="do not load the example dataset")
    args = parser.parse_args()
    probe = EmbeddedSettings()
    key = dev_key(probe.data_dir)
    settings = EmbeddedSettings(bootstrap_key=key)
    configure_logging(settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the example's requests, one per line
    example = not args.empty and os.environ.get("PARLEY_EXAMPLE", "1") != "0" and EXAMPLE.exists()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn stopped cleanly, then re-raised it
        asyncio.run(serve(settings, key, example))
    say(f"stopped; every event is kept in {settings.data_dir}/ for the next start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
