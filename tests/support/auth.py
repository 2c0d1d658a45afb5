"""The key the test stack's services accept (``PARLEY_BOOTSTRAP_KEY``), and authorised calls."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

KEY = f"test-bootstrap-{secrets.token_hex(12)}"
AUTH = {"Authorization": f"Bearer {KEY}"}


def post(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.post`` with the test key."""
    return httpx.post(url, headers={**AUTH, **kwargs.pop("headers", {})}, **kwargs)


def delete(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.delete`` with the test key."""
    return httpx.delete(url, headers={**AUTH, **kwargs.pop("headers", {})}, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.get`` with the test key (subscriptions are not public)."""
    return httpx.get(url, headers={**AUTH, **kwargs.pop("headers", {})}, **kwargs)
