"""The dashboard in headless Chromium (issue 13): sign in with a token, answer a wait through
its form and see the flow complete, replay with an override from the execution page, and
open the side-by-side view. Playwright drives Debian's /usr/bin/chromium.

With ``KITARU_DOCS_IMAGES=DIR`` the test saves a screenshot of each page there
(docs/images holds the ones docs/guides/server.md shows).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_flows import write
from server_helpers import Served

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
IMAGES = os.environ.get("KITARU_DOCS_IMAGES")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium package (.ci/run installs it)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, connected: Served) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{connected.url}/")
    assert "/login" in page.url
    shot(page, "login")
    page.fill("input[name=token]", connected.token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{connected.url}/")
    try:
        yield page
    finally:
        context.close()


def shot(page: Any, name: str) -> None:
    if IMAGES:
        Path(IMAGES).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(IMAGES) / f"server-{name}.png"), full_page=True)


def _status(page: Any, expected: str) -> None:
    playwright_api.expect(page.locator("#status")).to_have_text(expected, timeout=60_000)


def test_answer_a_wait_through_its_form_and_see_the_flow_complete(
    page: Any, connected: Served
) -> None:
    handle = write.run("forms")
    cookie = next(c for c in page.context.cookies() if c["name"] == "kitaru_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.goto(f"{connected.url}/")
    row = page.locator(f"tr[data-exec='{handle.exec_id}']")
    playwright_api.expect(row.locator("[data-status]")).to_have_text("waiting")
    shot(page, "executions")
    row.locator("a").first.click()
    form = page.locator("form.wait-form[data-wait=approve]")
    playwright_api.expect(form).to_contain_text("Publish it?")
    shot(page, "execution-waiting")
    assert connected.token not in page.content()

    form.locator("input[type=checkbox]").check()
    form.locator("button[type=submit]").click()
    _status(page, "completed")  # the page follows the execution over SSE, then reloads
    playwright_api.expect(page.locator("#result")).to_have_text('"ABOUT FORMS"')
    playwright_api.expect(page.locator("#logs")).to_contain_text("drafting about forms")
    playwright_api.expect(page.locator("#logs")).to_contain_text("▸ drafting (topic=forms)")
    shot(page, "execution")

    # A form post without the session's CSRF token is refused, even with the cookie.
    refused = page.request.post(
        f"{connected.url}/executions/{handle.exec_id}/action/cancel", form={"csrf": "wrong"}
    )
    assert refused.status == 403
    anonymous = httpx.get(f"{connected.url}/executions/{handle.exec_id}")
    assert "/login" in str(anonymous.url) or anonymous.status_code in (303, 401)


def test_replay_with_an_override_and_compare_side_by_side(page: Any, connected: Served) -> None:
    handle = write.run("replays")
    httpx.post(
        f"{connected.url}/api/executions/{handle.exec_id}/input",
        json={"value": True},
        headers=connected.headers,
    )
    page.goto(f"{connected.url}/executions/{handle.exec_id}")
    _status(page, "completed")

    row = page.locator("table.timeline tr[data-op=polish]")
    row.locator("summary").click()
    row.locator("textarea[name=overrides]").fill('{"checkpoint.polish": "OVERRIDDEN"}')
    row.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/executions/(?!" + handle.exec_id + ")"))
    _status(page, "completed")
    playwright_api.expect(page.locator("#result")).to_have_text('"OVERRIDDEN"')

    page.locator("#compare-link").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    playwright_api.expect(page.locator("tr[data-op=polish]")).to_have_class("differs")
    playwright_api.expect(page.locator("tr[data-op=draft]")).to_have_class("same")
    shot(page, "compare")
