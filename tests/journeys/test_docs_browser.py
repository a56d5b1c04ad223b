# ruff: noqa: F811 - pytest fixtures imported by name are parameters of the tests
"""``/docs`` and ``/redoc`` in a real headless browser (Debian's chromium through
Playwright) against a real uvicorn server on 127.0.0.1: each page renders the API from
the assets that ship with the service, with every request to another host refused (as on
a network with no internet), and the page's Content-Security-Policy reports no violation.

CI installs chromium (``.ci/run``); without it this test fails, it never skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Route, expect, sync_playwright

from ledger import Ledger
from tests.journeys.test_browser import CHROMIUM, CHROMIUM_ARGS, server  # noqa: F401 - fixture

_REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def desktop() -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def _offline(page: Page) -> tuple[list[str], list[str]]:
    """Refuse every request that leaves 127.0.0.1; collect them and the CSP complaints."""
    outside: list[str] = []
    complaints: list[str] = []

    def route(r: Route, request: Request) -> None:
        host = urlsplit(request.url).hostname
        if request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            outside.append(request.url)
            r.abort()

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.type == "error":
            complaints.append(message.text)

    page.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda exc: complaints.append(str(exc)))
    return outside, complaints


def test_swagger_ui_renders_offline(server: str, world: Ledger, desktop: Page) -> None:
    outside, complaints = _offline(desktop)
    desktop.goto(f"{server}/docs")
    expect(desktop.locator(".swagger-ui .info .title")).to_contain_text("Lotledger", timeout=60_000)
    # The operations of the API are listed, e.g. the append.
    expect(desktop.locator(".opblock-summary-path[data-path='/v1/events']")).to_have_count(1)
    expect(desktop.locator(".opblock-tag").first).to_be_visible()
    assert outside == []
    assert complaints == []


def test_redoc_renders_offline(server: str, world: Ledger, desktop: Page) -> None:
    outside, complaints = _offline(desktop)
    desktop.goto(f"{server}/redoc")
    expect(desktop.locator("h1").first).to_contain_text("Lotledger", timeout=60_000)
    expect(desktop.get_by_text("/v1/events").first).to_be_attached()
    expect(desktop.get_by_role("menuitem", name="service")).to_be_visible()
    assert outside == []
    # ReDoc's sidebar shows a "Redocly" logo image from its CDN: the page's CSP refuses it
    # (no request leaves the machine); that refusal is the only complaint allowed.
    assert [c for c in complaints if _REDOCLY_LOGO not in c] == []
