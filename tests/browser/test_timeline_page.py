"""The timeline page at ``/`` of the API, driven in a real (headless) chromium.

Uses Debian's chromium (``/usr/bin/chromium``), not a browser downloaded by Playwright.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import Stack
from tests.support.auth import post
from tests.support.example import example_events

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
REPORTS = {"report.corrected", "report.retracted", "source.added"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def load_example(stack: Stack, talks_id: str) -> list[dict[str, Any]]:
    """Posts the example under ``talks_id`` and waits until the read models hold all of it."""
    events = example_events(talks_id)
    for event in events:
        response = post(f"{stack.ingest.url}/v1/events", json=event, timeout=10)
        assert response.status_code == 202, response.text
    wanted = {e["event_id"] for e in events if e["type"] not in REPORTS}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        timeline = httpx.get(f"{stack.api.url}/v1/talks/{talks_id}/timeline", timeout=10)
        if wanted <= {e["event_id"] for e in timeline.json()["entries"]}:
            return events
        time.sleep(0.2)
    raise AssertionError("the example was not projected within 60 s")


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_timeline_page(stack: Stack, browser: Browser, talks_id: str) -> None:
    events = load_example(stack, talks_id)
    api = stack.api.url
    hosts: set[str] = set()
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # The day before round 2: it is not open yet.
        page.goto(f"{api}/?talks={talks_id}&as_of=2026-02-03")
        r2 = page.locator('.round[data-round="r2"]')
        expect(r2).to_be_visible()
        status = r2.get_attribute("data-status")
        assert status in {"scheduled", "postponed"}, status
        expect(page.locator("#slider-value")).to_have_text("2026-02-03")
        shot(page, "1-as-of-2026-02-03")

        # Two days later with the keyboard: round 2 is under way.
        page.evaluate("window.notReloaded = true")
        slider = page.get_by_label("Where the talks stood on")
        slider.focus()
        slider.press("ArrowRight")
        slider.press("ArrowRight")
        expect(page.locator("#slider-value")).to_have_text("2026-02-05")
        expect(page.locator("#as-of-date")).to_have_value("2026-02-05")
        expect(r2).to_have_attribute("data-status", "in_progress")
        assert "as_of=2026-02-05" in page.url
        assert f"talks={talks_id}" in page.url

        # The issues matrix: the parties are opposed on territory.
        territory = page.locator('#issues tr[data-issue="territory"]')
        expect(territory).to_have_attribute("data-gap", "opposed")
        expect(territory.locator(".gap")).to_have_text("opposed")
        expect(territory.locator('td[data-party="RUS"]')).to_have_class("stance fam-for clickable")
        expect(territory.locator('td[data-party="UKR"]')).to_have_class(
            "stance fam-against clickable"
        )
        shot(page, "2-as-of-2026-02-05")

        # A new event appears live, through the stream, without reloading.
        expect(page.locator("#live")).to_have_text("live", timeout=15_000)
        usa = page.locator('#issues tr[data-issue="ceasefire"] td[data-party="USA"]')
        expect(usa).to_have_count(0)
        new_id = str(uuid.uuid4())
        response = post(
            f"{stack.ingest.url}/v1/events",
            json={
                "event_id": new_id,
                "type": "position.stated",
                "talks_id": talks_id,
                "occurred_at": "2026-02-05",
                "sources": [{"url": "https://example.org/usa-ceasefire", "publisher": "Example"}],
                "data": {
                    "party": "USA",
                    "issue": "ceasefire",
                    "stance": "supports",
                    "proposition": "An energy ceasefire extended to the whole front line.",
                },
            },
            timeout=10,
        )
        assert response.status_code == 202, response.text
        expect(usa).to_have_text("supports", timeout=20_000)
        expect(page.locator(f'#timeline li[data-event-id="{new_id}"]')).to_be_visible()
        assert page.evaluate("window.notReloaded") is True
        shot(page, "3-live-event")

        # Clicking a round shows its provenance.
        r2.click()
        panel = page.locator("#provenance")
        expect(panel).to_be_visible()
        first_id = panel.locator(".event-id").first
        expect(first_id).to_have_text((r2.get_attribute("data-event-ids") or "").split()[0])
        r2_ids = {e["event_id"] for e in events if e["data"].get("round_id") == "r2"}
        assert first_id.inner_text() in r2_ids
        expect(panel.locator("a").first).to_have_attribute(
            "href", "https://example.org/seed/abu-dhabi-talks-feb-2026"
        )
        shot(page, "4-provenance")

        # A clicked timeline entry shows its own event.
        entry = page.locator(f'#timeline li[data-event-id="{new_id}"]')
        entry.click()
        expect(panel.locator(".event-id").first).to_have_text(new_id)

        # As we knew it the day before the events were recorded: nothing yet.
        before = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        page.locator("#known-at").fill(before)
        expect(page.locator("#rounds")).to_have_text("No round known yet.")
        assert f"known_at={before}" in page.url
        shot(page, "5-known-at-before")
        page.locator("#known-at-clear").click()
        expect(r2).to_have_attribute("data-status", "in_progress")
        assert "known_at" not in page.url

        # The same view on a phone: one column.
        phone = context.new_page()
        phone.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(page.url)
        expect(phone.locator('.round[data-round="r2"]')).to_have_attribute(
            "data-status", "in_progress"
        )
        rounds = phone.locator(".panel").nth(0).bounding_box()
        issues = phone.locator(".panel").nth(1).bounding_box()
        assert rounds and issues and issues["y"] > rounds["y"] + rounds["height"] - 1
        shot(phone, "6-phone")
    finally:
        context.close()

    assert hosts == {urlsplit(api).netloc}, f"requests to other hosts: {hosts}"
    assert not errors, errors


def test_page_needs_no_key_and_assets_are_served(stack: Stack) -> None:
    index = httpx.get(f"{stack.api.url}/", timeout=10)
    assert index.status_code == 200
    assert "text/html" in index.headers["content-type"]
    assert 'src="/ui/app.js"' in index.text
    for asset, kind in (("app.js", "javascript"), ("app.css", "text/css")):
        response = httpx.get(f"{stack.api.url}/ui/{asset}", timeout=10)
        assert response.status_code == 200, asset
        assert kind in response.headers["content-type"]
    assert httpx.get(f"{stack.api.url}/ui/missing.js", timeout=10).status_code == 404
