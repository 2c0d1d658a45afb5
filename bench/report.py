"""The benchmark report: the machine, the command, each figure and each ratio, in Markdown."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            kb = int(next(line.split()[1] for line in info if line.startswith("MemTotal")))
            memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    postgres = _version(["psql", "--version"])
    system = f"{platform.system()} {platform.release()}"
    python = f"Python {platform.python_version()}"
    return f"{os.cpu_count()} x {cpu}{memory}; {system}; {python}; {postgres}"


def _version(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=5).stdout.strip()
    except OSError:
        return "unknown"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


#: Hand-written notes on the profiles, appended to every report.
FINDINGS = Path(__file__).with_name("findings.md")


def document(sections: list[str], command: str, elapsed_s: float, sizes: object) -> str:
    """The whole report; ``sizes`` (a :class:`bench.context.Sizes`) is listed as run."""
    head = [
        "# Benchmarks",
        "",
        "Figures drift on shared machines; ratios against a reference measured in the same run",
        "do not. Regenerate with the command below; `make test` runs a `--quick` size so that",
        "the benchmarks never rot, but only the full size belongs here.",
        "",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {elapsed_s / 60:.1f} minutes",
        f"- sizes: {_sizes(sizes)}",
        "",
    ]
    findings = FINDINGS.read_text().rstrip("\n").splitlines() if FINDINGS.exists() else []
    return "\n".join([*head, *sections, *findings]) + "\n"


def _sizes(sizes: object) -> str:
    return ", ".join(f"{k}={v:,}" for k, v in vars(sizes).items())
