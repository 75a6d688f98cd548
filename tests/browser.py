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
        # Playwright turns the back-forward cache off; phones have it on, and Back then shows a
        # page as it was left (tests/portal/test_browser_reminders.py).
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            ignore_default_args=["--disable-back-forward-cache"],
        )
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
    # A click that opens a page returns once the new page is committed, maybe not yet parsed.
    page.wait_for_load_state()
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


def deliver_push(page: Page, origin: str, payload: dict[str, Any], timeout_ms: int = 20_000) -> None:
    """Deliver a push message to the page's real service worker through CDP, as a push
    service would (pushManager.subscribe cannot reach one here).

    Waits for the registration of the site's scope that has an activated worker, rather than
    taking the first registration CDP reports: under load that can be one still installing,
    and a push sent to it is lost."""
    import json

    cdp = page.context.new_cdp_session(page)
    registrations: dict[str, dict[str, Any]] = {}
    activated: set[str] = set()

    def registration_updated(event: dict[str, Any]) -> None:
        for registration in event["registrations"]:
            registrations[registration["registrationId"]] = registration

    def version_updated(event: dict[str, Any]) -> None:
        for version in event["versions"]:
            if version["status"] == "activated":
                activated.add(version["registrationId"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", registration_updated)
    cdp.on("ServiceWorker.workerVersionUpdated", version_updated)
    cdp.send("ServiceWorker.enable")
    scope = origin.rstrip("/") + "/"
    waited = 0
    while True:
        ready = [
            registration_id
            for registration_id, registration in registrations.items()
            if registration["scopeURL"] == scope
            and not registration["isDeleted"]
            and registration_id in activated
        ]
        if ready:
            break
        assert waited < timeout_ms, f"no activated service worker for {scope}: {registrations}"
        page.wait_for_timeout(100)
        waited += 100
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": ready[-1], "data": json.dumps(payload)},
    )
