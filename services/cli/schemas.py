"""``parley schemas write|check``: the committed JSON Schemas of the events, under ``schemas/``.

The schemas are generated from the event models (:mod:`shared.schemas`); the files are the
copy subscribers read in the repository. A schema of an older version stays where it is when
a type moves on to a new version: only the current version's files are written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from shared.schemas import all_schemas, file_name

DEFAULT_DIR = Path("schemas")


def render(schema: dict[str, Any]) -> str:
    """A schema as committed: pretty-printed, keys sorted, with a trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered_schemas() -> dict[str, str]:
    """The text of every current schema file by its file name."""
    return {file_name(name): render(schema) for name, schema in all_schemas().items()}


def stale_files(directory: Path) -> list[str]:
    """The current schema files that are missing from ``directory`` or differ from the models."""
    return [
        name
        for name, text in rendered_schemas().items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != text
    ]


def write_schemas(directory: Path, out: TextIO) -> int:
    """Write every current schema into ``directory``; return the exit code (0)."""
    directory.mkdir(parents=True, exist_ok=True)
    stale = set(stale_files(directory))
    for name, text in rendered_schemas().items():
        if name in stale:
            (directory / name).write_text(text, encoding="utf-8")
    print(f"{len(stale)} schema(s) written to {directory}, the others were up to date", file=out)
    return 0


def check_schemas(directory: Path, out: TextIO) -> int:
    """Exit code 0 if the files in ``directory`` match the models, else 1 (naming them)."""
    stale = stale_files(directory)
    for name in stale:
        print(f"{directory / name}: missing or out of date", file=out)
    if stale:
        print("run `parley schemas write` and commit the result", file=out)
    return 1 if stale else 0
