"""``parley projections rebuild`` stops on SIGTERM as on Ctrl-C: exit 130, the live tables
unchanged (the switch is one transaction, never committed half-way)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

# The command's entry point, with a rebuild that only waits (the signal is what is tested).
SCRIPT = """
import argparse, asyncio, sys
from services.cli import rebuild

async def waits(**_):
    print("rebuilding", flush=True)
    await asyncio.sleep(60)
    return 0

rebuild.rebuild_projections = waits
args = argparse.Namespace(keep_old=False, quiet=True, metrics_port=None)
sys.exit(rebuild.run_projections(args))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_rebuild_stops_cleanly_on_sigterm_and_ctrl_c(sig: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "rebuilding"
    started = time.monotonic()
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "interrupted; the live tables are unchanged" in stderr
    assert time.monotonic() - started < 10
