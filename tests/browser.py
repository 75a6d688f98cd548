"""Browser fixtures (a pytest plugin; tests/conftest.py loads it).

Debian's Chromium (/usr/bin/chromium) driven by Playwright's sync API, never a
downloaded browser. axe-core 4.14.1 is vendored in tests/vendor/; pages send a
strict CSP (script-src 'self'), so contexts bypass it to let axe be injected.
"""

import re
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


# What the focused element shows (WCAG 2.4.7, 2.4.11, 1.4.11): its box, whether anything of the
# page's own covers its middle, and the colours of its focus ring against what is behind it.
_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const seen = window.__tabbed || (window.__tabbed = new Set());
  const repeat = seen.has(el);
  seen.add(el);
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  const x = Math.min(Math.max(box.left + box.width / 2, 1), innerWidth - 1);
  const y = Math.min(Math.max(box.top + box.height / 2, 1), innerHeight - 1);
  const top = document.elementFromPoint(x, y);
  const labels = el.labels ? [...el.labels] : [];
  let behind = el.parentElement;
  while (behind && getComputedStyle(behind).backgroundColor === 'rgba(0, 0, 0, 0)') behind = behind.parentElement;
  const ring = [];
  if (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) ring.push(style.outlineColor);
  ring.push(...(style.boxShadow.match(/rgba?\\([^)]*\\)/g) || []));
  return {
    repeat,
    element: el.outerHTML.slice(0, 120),
    inMain: !!el.closest('main'),
    inView: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
      && box.left < innerWidth && box.top < innerHeight,
    covered: !!top && !(el.contains(top) || top.contains(el) || labels.some(label => label.contains(top))),
    ring,
    background: behind ? getComputedStyle(behind).backgroundColor : 'rgb(255, 255, 255)',
  };
}"""


def _luminance(colour: str) -> float:
    red, green, blue = (int(part) / 255 for part in re.findall(r"[\d.]+", colour)[:3])
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _from_the_top(page: Page) -> None:
    """Move where the next Tab starts to the top of the page, as on a page just opened."""
    page.evaluate("""() => { const start = document.createElement('span'); start.tabIndex = -1;
      document.body.prepend(start); start.focus(); start.remove(); window.scrollTo(0, 0); }""")


def keyboard_problems(page: Page, limit: int = 200) -> list[str]:
    """Tab through the page from its top, as a keyboard user does; what goes wrong at each
    stop. The skip link comes first and takes focus into the main content; every stop is on
    screen, not covered, and ringed in a colour 3:1 against what is behind it (WCAG technique
    C40: one of a two-colour ring suffices)."""
    problems = []
    _from_the_top(page)
    page.keyboard.press("Tab")
    first = page.evaluate(_FOCUS)
    if not first or 'class="skip"' not in first["element"] or not first["inView"]:
        problems.append(f"the first stop is not a visible skip link: {first}")
    else:
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        after = page.evaluate(_FOCUS)
        if not after or not after["inMain"]:
            problems.append(f"the skip link does not lead into the main content: {after}")
    _from_the_top(page)
    page.evaluate("window.__tabbed = new Set()")
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(_FOCUS)
        if stop is None or stop["repeat"]:
            break
        if not stop["inView"]:
            problems.append(f"off screen: {stop['element']}")
        if stop["covered"]:
            problems.append(f"covered: {stop['element']}")
        best = max((contrast(colour, stop["background"]) for colour in stop["ring"]), default=0)
        if best < 3:
            problems.append(
                f"focus ring {stop['ring']} on {stop['background']} ({best:.1f}:1): {stop['element']}"
            )
    return problems
