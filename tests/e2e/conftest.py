"""Browser-test fixtures: Debian's chromium driven by Playwright against the ``server`` fixture
(tests/conftest.py). Screenshots of failing tests go to test-artifacts/e2e/."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("BIOFM_CHROMIUM", "/usr/bin/chromium")

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around
# it are ordinary blocking calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def new_page(request, server):
    """Opens pages in fresh browser contexts (one per user); all are screenshotted on failure."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        pages = []
        console: list[str] = []

        def make():
            context = browser.new_context(
                base_url=server, accept_downloads=True, viewport={"width": 1280, "height": 900}
            )
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.on("console", lambda msg: console.append(f"page {len(pages)} {msg.type}: {msg.text}"))
            pages.append(page)
            return page

        try:
            yield make
            # A Content-Security-Policy violation is a broken feature even when the test passes.
            violations = [line for line in console if "Content Security Policy" in line]
            assert not violations, "the page broke the Content-Security-Policy:\n" + "\n".join(violations)
        finally:
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                for index, page in enumerate(pages):
                    shot = ARTIFACTS / f"{request.node.name}-{index}.png"
                    page.screenshot(path=str(shot), full_page=True)
                    print(f"screenshot of the failure: {shot}")
                (ARTIFACTS / f"{request.node.name}.console.txt").write_text("\n".join(console))
            browser.close()


@pytest.fixture
def page(new_page):
    return new_page()


def sign_in(page, username: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def choose(page, scope, label: str, option: str) -> None:
    """Pick ``option`` in the Element Plus select labelled ``label`` (the visible selection text
    lies over the combobox input, so the click goes to the select's box around it)."""
    scope.get_by_label(label).locator("xpath=ancestor::div[contains(@class, 'el-select__wrapper')][1]").click()
    page.get_by_role("option", name=option, exact=True).click()
