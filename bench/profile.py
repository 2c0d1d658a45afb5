"""Where a profiled service spent its time: a pyinstrument session summarised as tables."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from pyinstrument.frame import Frame
from pyinstrument.session import Session

#: Where a frame's own time goes, by the first fragment of its file path that matches.
CATEGORIES = (
    ("/shared/state/", "the pure fold and histories (shared/state)"),
    ("/shared/", "event models and the rest of shared/"),
    ("/services/", "Parley's service code (services/)"),
    ("/sqlalchemy/", "SQLAlchemy (statement building, compiling, result rows)"),
    ("/asyncpg/", "asyncpg (protocol, encoding parameters)"),
    ("/pydantic", "pydantic (validation, serialization)"),
    ("/aiokafka/", "aiokafka (fetching, decoding records)"),
    ("/json/", "json"),
    ("/asyncio/", "asyncio machinery"),
)


def _category(path: str) -> str:
    for fragment, name in CATEGORIES:
        if fragment in path:
            return name
    return "other"


def _own(frame: Frame) -> tuple[float, Frame]:
    """A frame's own time and the frame it belongs to (pyinstrument puts the time spent in a
    function itself into a synthetic ``[self]`` child)."""
    parent = getattr(frame, "parent", None)
    if frame.is_synthetic and parent is not None:
        return frame.time, parent
    return max(0.0, frame.time - sum(c.time for c in frame.children)), frame


def _label(frame: Frame) -> str:
    return f"`{frame.function}` ({frame.file_path_short}:{frame.line_no})"


def _find(frame: Frame, roots: tuple[str, ...]) -> list[Frame]:
    if frame.function in roots:
        return [frame]
    return [found for child in frame.children for found in _find(child, roots)]


def summarise(path: Path, service: str, roots: tuple[str, ...], events: int, top: int = 12) -> str:
    """Markdown: where the time under ``roots`` (the functions doing the benchmarked work, so
    that start-up and idle waiting are left out) went: by category of code, the busiest
    functions (own time) and the Parley functions that hold the most (with what they call)."""
    session = Session.load(str(path))
    root = session.root_frame()
    if root is None:
        return "(the profile is empty)\n"
    hot = _find(root, roots)
    busy = sum(f.time for f in hot) or 1.0
    by_category: dict[str, float] = defaultdict(float)
    own: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)

    def walk(frame: Frame, active: frozenset[str]) -> None:
        mine, owner = _own(frame)
        if mine:
            by_category[_category(owner.file_path or "")] += mine
            own[_label(owner)] += mine
        name, where = _label(frame), frame.file_path or ""
        mine_code = "/services/" in where or "/shared/" in where
        if not frame.is_synthetic and mine_code and name not in active:
            inclusive[name] += frame.time
            active = active | {name}
        for child in frame.children:
            if child.children or child.is_synthetic or child.time:
                walk(child, active)

    for frame in hot:
        walk(frame, frozenset())

    def pct(t: float) -> str:
        return f"{100 * t / busy:.1f}%"

    lines = [
        f"### Where the {service}'s time goes (pyinstrument, {events:,} events)",
        "",
        f"The profiled process ran for {root.time:.1f} s; {busy:.1f} s of samples were inside",
        f"{' / '.join(f'`{r}`' for r in roots)} (the work, without start-up and idle waits):",
        f"{busy / events * 1000:.2f} ms per event. Shares below are of those {busy:.1f} s.",
        "",
        "| own time in | share |",
        "|---|---|",
        *(f"| {name} | {pct(t)} |" for name, t in _most(by_category, 99)),
        "",
        "| busiest functions (own time) | share |",
        "|---|---|",
        *(f"| {name} | {pct(t)} |" for name, t in _most(own, top)),
        "",
        "| Parley functions, including what they call | share |",
        "|---|---|",
        *(f"| {name} | {pct(t)} |" for name, t in _most(inclusive, top)),
        "",
    ]
    return "\n".join(lines)


def _most(times: dict[str, float], top: int) -> list[tuple[str, float]]:
    return sorted(times.items(), key=lambda kv: -kv[1])[:top]
