"""The console in a real headless Chromium: branding, an exception worked end to end, roles.

Screenshots of every page go to ``build/screenshots/``. With ``UPDATE_SCREENSHOTS=1`` the
fleet overview and the exception queue are also copied to ``docs/screenshots/`` for the
README (``make screenshots``); otherwise a test run leaves the work tree as it was.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ledgerbridge import store
from tests.browser import world as world_mod
from tests.browser.world import HOST_A, PASSWORD, World

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
BRAND_A = world_mod.BRAND_A["display_name"]
BRAND_B = world_mod.BRAND_B["display_name"]
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The two-partner world, built once for this module."""
    path = tmp_path_factory.mktemp("console") / "console.db"
    db = store.Database(f"sqlite:///{path}")
    store.migrate(db)
    return world_mod.build(db, path)


@pytest.fixture(scope="module")
def port(world: World) -> Iterator[int]:
    """The served app's port."""
    with world_mod.serve(world) as found:
        yield found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def _page(browser: Browser, *, viewport: dict[str, int] = LAPTOP) -> Page:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _login(page: Page, port: int, email: str) -> None:
    page.goto(f"http://{HOST_A}:{port}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _check_brand(page: Page, name: str) -> None:
    """The page wears partner A's brand and nothing else's."""
    html = page.content()
    title = page.title()
    assert title.endswith(f"· {BRAND_A}"), title
    assert BRAND_A in html and BRAND_B not in html
    assert "ledgerbridge" not in (html + title).lower(), name
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select')]
            .filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name)"""
    )
    assert unlabelled == [], f"{name}: inputs without a label: {unlabelled}"


def _shot(page: Page, name: str, *, docs: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / f"{name}.png")


def test_console_operator_works_an_exception_end_to_end(
    browser: Browser, port: int, world: World
) -> None:
    """An operator of A sees A's brand only, fixes the ERP, retries from the page, sees it succeed."""
    page = _page(browser)
    _login(page, port, world.users["operator_a"])
    page.wait_for_url(re.compile(r"/fleet$"))
    rows = page.locator("#fleet-rows tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#fleet-rows")).not_to_contain_text("Initech")
    _check_brand(page, "fleet")
    _shot(page, "fleet-overview", docs=True)

    page.get_by_role("navigation").get_by_role("link", name="Exceptions").click()
    page.get_by_label("Tenant").select_option(label="Contoso Consulting")
    expect(page.locator("#exception-rows tbody tr")).to_have_count(1)
    page.get_by_label("Tenant").select_option(value="")
    expect(page.locator("#exception-rows tbody tr")).to_have_count(2)
    _check_brand(page, "exceptions")
    _shot(page, "exception-queue", docs=True)

    page.get_by_role("link", name=world_mod.ERP_REFUSAL).click()
    expect(page.locator("h1")).to_have_text(world_mod.ERP_REFUSAL)
    expect(page.get_by_text("te-refused").first).to_be_visible()
    expect(page.locator("[data-run-status]")).to_have_text("parked")
    _check_brand(page, "exception")
    _shot(page, "exception-detail")

    world.targets[world.tenants["Contoso Consulting"]].fail_plan.clear()  # the customer now exists
    page.get_by_role("button", name="Retry", exact=True).click()
    expect(page.locator("#action-result")).to_contain_text("retried")
    expect(page.locator("[data-exception-status]")).to_have_text("retried")
    world.drain()
    expect(page.locator("[data-run-status]")).to_have_text("succeeded")
    badge = page.locator("[data-run-status]")
    assert badge.evaluate("e => getComputedStyle(e).color") == "rgb(30, 122, 52)"  # green
    _shot(page, "exception-retried")

    page.locator("dd a[href^='/runs/']").click()
    expect(page.locator("table.data tbody tr")).to_have_count(2)
    expect(page.locator("svg.chart")).to_be_visible()
    _check_brand(page, "run")
    _shot(page, "run-timeline")

    page.goto(f"http://{HOST_A}:{port}/tenants/{world.tenants['Contoso Consulting']}")
    expect(page.locator("svg.chart polyline")).to_have_count(2)
    page.get_by_role("button", name="Test connection erp").click()
    expect(page.locator("#test-erp")).to_contain_text("Connection works")
    _check_brand(page, "tenant")
    _shot(page, "tenant")

    page.get_by_role("navigation").get_by_role("link", name="Audit log").click()
    expect(page.get_by_text("exception.retried").first).to_be_visible()
    expect(page.get_by_text(world.users["operator_a"]).first).to_be_visible()
    page.get_by_role("button", name="Verify chain").click()
    expect(page.locator("#verify-result")).to_contain_text("intact")
    _check_brand(page, "audit")
    _shot(page, "audit-log")


def test_console_tenant_viewer_on_a_phone_sees_one_tenant_and_no_actions(
    browser: Browser, port: int, world: World
) -> None:
    """A tenant viewer, on a phone-sized screen, sees its tenant only and no action buttons."""
    page = _page(browser, viewport=PHONE)
    page.goto(f"http://{HOST_A}:{port}/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    _check_brand(page, "login")
    _shot(page, "login-phone")
    _login(page, port, world.users["viewer_a"])
    page.wait_for_url(re.compile(r"/tenants/"))
    expect(page.locator("h1")).to_have_text("Fabrikam Advisory")
    assert page.get_by_role("button", name=re.compile("Test connection")).count() == 0
    page.get_by_role("navigation").get_by_role("link", name="Exceptions").click()
    expect(page.locator("#exception-rows tbody tr")).to_have_count(1)
    assert page.locator("main button, main input[type=checkbox]").count() == 0
    assert "Contoso" not in page.content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width} px)"
    _check_brand(page, "viewer exceptions")
    _shot(page, "exception-queue-phone")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(f"http://{HOST_A}:{port}/exceptions")
    page.wait_for_url(re.compile(r"/login$"))
