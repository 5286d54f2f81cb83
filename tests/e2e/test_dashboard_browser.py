"""The page at `/` in a real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from .servers import Server, running_server

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed ('make test' installs it)"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo server, once the deployments it starts with have ended."""
    with running_server(tmp_path_factory.mktemp("browser") / "home", "--demo") as server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            items = httpx.get(f"{server.url}/api/v1/deployments").json()["items"]
            if all(d["state"] not in ("queued", "running") for d in items):
                break
            time.sleep(0.2)
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


def test_the_inventory_page_shows_what_runs_where(
    demo: Server, browser: Browser, tmp_path: Path
) -> None:
    page = browser.new_page()
    page.goto(demo.url + "/")
    assert page.title() == "relman · what runs where"
    headers = page.locator("#inventory thead th").all_inner_texts()
    assert [h.split("\n")[0] for h in headers] == ["Service", "dev", "staging", "production"]
    rows = page.locator("#inventory tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.service)"
    )
    assert rows == ["api", "billing", "docs-site", "shop", "web"]
    billing_prod = page.locator('tr[data-service="billing"] td[data-environment="production"]')
    assert "2.0.3" in billing_prod.inner_text()  # 2.1.0 failed its check and was rolled back
    web_staging = page.locator('tr[data-service="web"] td[data-environment="staging"]')
    assert "3.2.0" in web_staging.inner_text()  # promoted by the demo when it started
    rows = page.locator("#deployments tbody tr")
    texts = [" ".join(t.split()) for t in rows.all_inner_texts()]
    assert any("billing 2.0.3 (rollback) production succeeded" in t for t in texts)
    undone = rows.filter(has_text="billing 2.1.0").filter(has_text="rolled back").first
    assert "billing 2.1.0 production rolled back" in " ".join(undone.inner_text().split())
    state = undone.locator(".state")
    assert state.evaluate("el => getComputedStyle(el).color") == "rgb(154, 103, 0)"
    docs_prod = page.locator('tr[data-service="docs-site"] td[data-environment="production"]')
    assert "latest: 1.1.0 waiting" in docs_prod.inner_text()  # for a person's approval
    waiting = docs_prod.locator(".state-waiting")
    assert waiting.evaluate("el => getComputedStyle(el).color") == "rgb(154, 103, 0)"
    not_in_lifecycle = page.locator('tr[data-service="docs-site"] td[data-environment="dev"]')
    assert not_in_lifecycle.inner_text().strip() == "n/a"
    shot = tmp_path / "inventory.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.close()


def test_the_page_links_to_the_api_docs_and_json(demo: Server, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(demo.url + "/")
    page.click("text=JSON")
    assert '"services"' in page.locator("body").inner_text()
    page.goto(demo.url + "/")
    with page.expect_navigation() as navigation:
        page.click("text=API docs")
    assert navigation.value is not None
    assert navigation.value.status == 200
    assert page.url.endswith("/docs")
    assert "relman" in page.title()
    page.close()
