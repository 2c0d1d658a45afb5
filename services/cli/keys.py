"""``parley keys create|list|revoke``: API keys, straight in the database (PARLEY_DATABASE_URL)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from services.common.auth import SCOPES, create_key, list_keys, revoke_key
from services.common.database import create_engine
from services.projector.settings import get_settings

DESCRIPTION = """\
create: make a key with the given scopes and print it once (only its digest is stored).
list: the keys (prefix, name, scopes, created, revoked), never the keys themselves.
revoke: revoke the key with the given prefix (the part after 'pk_').

Scopes: """ + "; ".join(f"{name}: {text}" for name, text in SCOPES.items())


def add_keys_command(commands: Any) -> None:
    keys = commands.add_parser(
        "keys",
        help="create, list or revoke API keys",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    keys.add_argument("action", choices=["create", "list", "revoke"])
    keys.add_argument("prefix", nargs="?", help="revoke: the key's prefix")
    keys.add_argument(
        "--scope", action="append", choices=sorted(SCOPES), default=[], help="repeatable"
    )
    keys.add_argument("--name", default="unnamed", help="who or what the key is for")


def run_keys(args: argparse.Namespace) -> int:
    """Run a ``parley keys`` action; return the exit code."""
    if args.action == "create" and not args.scope:
        print("parley keys create: give at least one --scope", file=sys.stderr)
        return 2
    if args.action == "revoke" and not args.prefix:
        print("parley keys revoke: give the key's prefix", file=sys.stderr)
        return 2
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    engine = create_engine(get_settings().database_url)
    try:
        if args.action == "create":
            key = await create_key(engine, args.name, args.scope)
            print(key)
            print(
                f"scopes: {', '.join(sorted(set(args.scope)))}; shown once, keep it safe",
                file=sys.stderr,
            )
            return 0
        if args.action == "list":
            for row in await list_keys(engine):
                revoked = f", revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else ""
                scopes = ", ".join(str(s) for s in row["scopes"])  # type: ignore[attr-defined]
                print(f"pk_{row['prefix']}_…  {row['name']}  {scopes}{revoked}")
            return 0
        if await revoke_key(engine, args.prefix):
            print(f"revoked pk_{args.prefix}_…")
            return 0
        print(f"parley keys revoke: no active key with prefix {args.prefix!r}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
