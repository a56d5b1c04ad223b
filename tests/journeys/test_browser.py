"""The resolver and scan pages driven in a real headless browser (Playwright with Debian's
chromium at /usr/bin/chromium) against a real uvicorn server on 127.0.0.1 over the test
database: open a lot, see the red banner on a recalled lot, sign in on /scan with a store
key, record a receipt, and find it in the lot's history.

CI installs chromium (``.ci/run``); without it this test fails, it never skips.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect, sync_playwright

from api.app import create_app
from ledger import Ledger
from tests.api_fixtures import free_port, make_keys
from tests.conftest import LETTUCE, Events

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
LOT = "L2311/A"  # "/" in the lot: percent-encoded in its URI
HELD = "H-77"
RED = "rgb(179, 18, 31)"


@pytest.fixture
def server(world: Ledger) -> Iterator[str]:
    """The app over the test's ledger, served by uvicorn on a free 127.0.0.1 port."""
    port = free_port()
    config = uvicorn.Config(
        create_app(world), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive(), "uvicorn stopped before it started"
        assert time.monotonic() < deadline, "uvicorn did not start in 20 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def page() -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); "
            ".ci/run does this. The browser tests never skip."
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_resolver_and_scan_in_a_browser(
    server: str, world: Ledger, ev: Events, page: Page, tmp_path: Path
) -> None:
    keys = make_keys(world)
    world.append(
        [
            ev.register(LOT, "100", expiry="2030-12-31"),
            ev.ship(LOT, "40", frm="farm-field-1", to="store-1"),
            ev.register(HELD, "10", expiry="2030-01-31"),
        ],
        actor="farm",
    )
    uri = f"{server}/01/{LETTUCE}/10/L2311%2FA?17=301231"

    # A consumer opens the lot: product, lot, expiry, origin, status, the signed checkpoint.
    page.goto(uri)
    expect(page.locator("#product")).to_have_text("Romaine lettuce")
    expect(page.locator("#lot-code")).to_have_text(LOT)
    expect(page.locator("#expiry")).to_have_text("2030-12-31")
    expect(page.locator("#origin")).to_contain_text("Farm Field 1")
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator("#banner")).to_have_count(0)
    expect(page.locator("#checkpoint")).to_contain_text("signature verified")
    expect(page.locator("#tree-size")).to_have_text(str(world.size()))

    # The other lot is recalled: a red banner.
    recall = ev.hold(HELD, at="farm-field-1") | {"kind": "recall", "recall_id": "R-2026-7"}
    world.append([recall], actor="farm")
    page.goto(f"{server}/01/{LETTUCE}/10/{HELD}")
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("RECALLED: do not sell, use or eat this lot.")
    expect(banner).to_contain_text("recall R-2026-7")
    assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == RED
    expect(page.locator("#status")).to_have_text("recalled")
    page.screenshot(path=str(tmp_path / "recalled.png"), full_page=True)

    # A store clerk signs in on /scan with the store's key.
    page.goto(f"{server}/scan")
    page.fill("#key", keys.store)
    page.click("#signin")
    expect(page.locator("#who")).to_have_text("retail · store")
    # A scanner gun types the Digital Link URI into the field and presses Enter.
    page.fill("#code", uri)
    page.press("#code", "Enter")
    expect(page.locator("#product")).to_have_text("Romaine lettuce")
    expect(page.locator("#lot-code")).to_have_text(LOT)
    # Receive the 40 kg the farm shipped (the shipment's origin and destination preselected).
    page.click("#do-receive")
    receive = page.locator("form:has(#receive-qty)")
    expect(receive.locator("select[name=location]")).to_have_value("store-1")
    expect(receive.locator("select[name=from_location]")).to_have_value("farm-field-1")
    seq = world.size()
    page.fill("#receive-qty", "40")
    page.click("#submit-receive")
    expect(page.locator("#receipt")).to_contain_text("Recorded: receive 40 kg at store-1")
    expect(page.locator("#receipt-seq")).to_have_text(str(seq))
    assert world.size() == seq + 1
    expect(page.locator(f"#history tr[data-seq='{seq}']")).to_contain_text("receive")
    expect(page.locator("#stock")).to_contain_text("store-1")
    expect(page.locator("#stock")).to_contain_text("40 kg")
    page.screenshot(path=str(tmp_path / "receipt.png"), full_page=True)

    # The lot's page now shows the receipt in the history the store may see.
    page.click("#lot-page")
    expect(page.locator("#product")).to_have_text("Romaine lettuce")
    row = page.locator(f"#history tr[data-seq='{seq}']")
    expect(row).to_contain_text("receive")
    expect(row).to_contain_text("40 kg")
    expect(row).to_contain_text("store-1 from farm-field-1")
    expect(page.locator("#tree-size")).to_have_text(str(seq + 1))
    page.screenshot(path=str(tmp_path / "lot.png"), full_page=True)
    for shot in ("recalled.png", "receipt.png", "lot.png"):
        assert (tmp_path / shot).stat().st_size > 10_000
