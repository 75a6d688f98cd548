"""Browser fixtures (a pytest plugin; tests/conftest.py loads it).

Debian's Chromium (/usr/bin/chromium) driven by Playwright's sync API, never a
downloaded browser. axe-core 4.14.1 is vendored in tests/vendor/; pages send a
strict CSP (script-src 'self'), so contexts bypass it to let axe be injected.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
# A small Android phone: the narrowest screen we promise to fit without sideways scrolling.
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Browser]:
    # Module scope: Playwright's event loop lives only as long as the browser tests need it.
    if not CHROMIUM.exists():
        pytest.skip(
            "Chromium is not installed at /usr/bin/chromium (apt-get install chromium); "
            "bin/test installs it and fails CI without it."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone_page(chromium_browser: Browser) -> Iterator[Page]:
    """A fresh phone-sized page whose context lets axe-core in despite the CSP."""
    context = chromium_browser.new_context(**PHONE, bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def axe_violations(page: Page, tags: list[str] = WCAG_TAGS) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", tags)
    return result["violations"]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per failing element, readable in a test failure."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            lines.append(f"{violation['id']}: {violation['help']} at {node['target']}")
    return "\n".join(lines)


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the screen (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def sign_in(page: Page, live_server_url: str, user: Any) -> None:
    """Give the page's browser a signed-in session for ``user`` (no sign-in form; staff pass
    their authenticator as in tests.helpers.log_in)."""
    from urllib.parse import urlparse

    from django.conf import settings
    from django.test import Client

    from tests.helpers import log_in

    client = Client()
    log_in(client, user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "domain": urlparse(live_server_url).hostname,
                "path": "/",
            }
        ]
    )
