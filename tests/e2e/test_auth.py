"""Keys on the real stack: writes need one with the right scope; reads are public by default."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest

from tests.support.infra import ROOT

pytestmark = pytest.mark.e2e

PARLEY = ROOT / ".venv" / "bin" / "parley"
EVENT = {
    "type": "round.opened",
    "talks_id": "auth-check",
    "occurred_at": "2026-02-04",
    "data": {"round_id": "r1"},
}


def parley(stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARLEY_DATABASE_URL": stack.database_url}
    return subprocess.run([str(PARLEY), *args], env=env, capture_output=True, text=True, timeout=60)


def test_a_write_without_a_key_is_refused(stack) -> None:
    response = httpx.post(f"{stack.ingest.url}/v1/events", content=json.dumps(EVENT))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    subscribe = httpx.post(
        f"{stack.api.url}/v1/subscriptions", json={"url": "http://127.0.0.1:9/x"}
    )
    assert subscribe.status_code == 401


def test_keys_are_created_scoped_and_revoked(stack) -> None:
    made = parley(stack, "keys", "create", "--scope", "subscriptions:manage", "--name", "test")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("pk_")
    headers = {"Authorization": f"Bearer {key}"}
    wrong_scope = httpx.post(
        f"{stack.ingest.url}/v1/events", content=json.dumps(EVENT), headers=headers
    )
    assert wrong_scope.status_code == 403
    assert "events:write" in wrong_scope.json()["detail"]
    listed = parley(stack, "keys", "list")
    prefix = key.split("_")[1]
    assert prefix in listed.stdout and key not in listed.stdout  # never the key itself
    assert parley(stack, "keys", "revoke", prefix).returncode == 0
    writer = parley(stack, "keys", "create", "--scope", "events:write")
    accepted = httpx.post(
        f"{stack.ingest.url}/v1/events",
        content=json.dumps(EVENT),
        headers={"Authorization": f"Bearer {writer.stdout.strip()}"},
    )
    assert accepted.status_code == 202


def test_reads_are_public_by_default(stack) -> None:
    assert httpx.get(f"{stack.api.url}/v1/talks").status_code == 200
