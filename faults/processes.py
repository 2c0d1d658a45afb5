"""The services as processes, started, killed and stopped as an operator would."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import httpx

from faults.infra import ROOT, free_port


class ServiceFailed(RuntimeError):
    """A service exited, or did not become ready in time."""


class Service:
    """``python -m services.<name>`` on its own port, appending to ``<log_dir>/<name>.log``."""

    def __init__(self, name: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**os.environ, **env, "PARLEY_HTTP_PORT": str(self.port)}
        self.log_path = log_dir / f"{name}.log"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self, ready: str = "/healthz", timeout_s: float = 60.0) -> Service:
        """Start the process (again, on the same port) and wait until ``ready`` answers 200."""
        with self._open_log() as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                f"services.{self.name}",
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        await self.wait_until(ready, timeout_s)
        return self

    async def wait_until(self, path: str, timeout_s: float = 60.0) -> None:
        """Wait until ``path`` answers 200; fail with the log's tail if it never does."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if not self.alive:
                    raise ServiceFailed(f"{self.name} exited:\n{self.tail()}")
                try:
                    if (await client.get(path)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise ServiceFailed(f"{self.name}: {path} not 200 after {timeout_s:.0f}s:\n{self.tail()}")

    async def kill(self) -> None:
        """``kill -9``: no chance to finish anything."""
        if self._process is not None and self.alive:
            self._process.send_signal(signal.SIGKILL)
            await self._process.wait()

    async def stop(self) -> None:
        """SIGTERM, as a supervisor stops a service; SIGKILL if it is not gone within 30 s."""
        if self._process is None or not self.alive:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._process.wait(), 30)
        except TimeoutError:
            await self.kill()

    def log_lines(self) -> list[str]:
        if not self.log_path.exists():
            return []
        return self.log_path.read_text(errors="replace").splitlines()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_lines()[-lines:]) or "(empty log)"

    def _open_log(self) -> BinaryIO:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        return self.log_path.open("ab")
