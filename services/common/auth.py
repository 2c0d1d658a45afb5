"""API keys: who may write.

A key looks like ``pk_<prefix>_<secret>``; only its SHA-256 is stored, with its scopes. Writes
need a key holding the route's scope (``events:write``, ``subscriptions:manage``, ``admin``);
reads need ``read`` only when ``PARLEY_REQUIRE_READ_KEY`` is set. ``PARLEY_BOOTSTRAP_KEY``
names one key, never stored, that holds every scope: for local runs and tests.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.schema import api_keys

SCOPES = {
    "events:write": "Post events (the ingest).",
    "subscriptions:manage": "Create, change and delete webhook subscriptions.",
    "admin": "Dead letters, rebuilds and other operations.",
    "read": "Read, when the deployment requires keys for reads.",
}


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str
    prefix: str
    digest: str


def new_key() -> NewKey:
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(24)
    key = f"pk_{prefix}_{secret}"
    return NewKey(key, prefix, digest(key))


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def prefix_of(key: str) -> str | None:
    parts = key.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "pk" else None


class Keys:
    """Looks keys up in ``api_keys`` (cached for a short while) or matches the bootstrap key."""

    def __init__(self, engine: AsyncEngine, bootstrap: str | None, ttl_s: float = 30.0) -> None:
        self._engine = engine
        self._bootstrap = bootstrap
        self._ttl = ttl_s
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def scopes(self, key: str) -> frozenset[str]:
        """The scopes ``key`` holds (empty: not a valid key)."""
        if self._bootstrap and hmac.compare_digest(key.encode(), self._bootstrap.encode()):
            return frozenset(SCOPES)
        hashed = digest(key)
        cached = self._cache.get(hashed)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        prefix = prefix_of(key)
        scopes: frozenset[str] = frozenset()
        if prefix:
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(
                        sa.select(api_keys.c.digest, api_keys.c.scopes).where(
                            api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None)
                        )
                    )
                ).one_or_none()
            if row is not None and hmac.compare_digest(row.digest, hashed):
                scopes = frozenset(row.scopes)
        self._cache[hashed] = (time.monotonic() + self._ttl, scopes)
        return scopes


def require(scope: str) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency: the request's bearer key must hold ``scope``."""

    async def check(request: Request) -> None:
        keys: Keys = request.state.keys
        settings = request.state.settings
        if scope == "read" and not getattr(settings, "require_read_key", False):
            return
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not key:
            raise HTTPException(
                401,
                f"this needs an API key with scope {scope!r}: send 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        held = await keys.scopes(key)
        if not held:
            raise HTTPException(
                401, "the API key is not valid", headers={"WWW-Authenticate": "Bearer"}
            )
        if scope not in held:
            raise HTTPException(
                403, f"the API key lacks the scope {scope!r} (it has: {', '.join(sorted(held))})"
            )

    return check


async def create_key(engine: AsyncEngine, name: str, scopes: list[str]) -> str:
    """Store a new key's digest with ``scopes``; return the key (shown once, never stored)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(
            f"scopes must be among {', '.join(SCOPES)} (got {', '.join(unknown) or 'none'})"
        )
    made = new_key()
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(api_keys).values(
                prefix=made.prefix,
                digest=made.digest,
                name=name,
                scopes=sorted(set(scopes)),
                created_at=datetime.now(UTC),
            )
        )
    return made.key


async def list_keys(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(api_keys).order_by(api_keys.c.created_at))
        return [{k: v for k, v in row._mapping.items() if k != "digest"} for row in rows]


async def revoke_key(engine: AsyncEngine, prefix: str) -> bool:
    async with engine.begin() as conn:
        result = await conn.execute(
            sa.update(api_keys)
            .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        return bool(result.rowcount)
