"""Arabic and Chinese in a real Chromium at phone width: no WCAG 2.2 AA violation,
no sideways scrolling, and Arabic laid out right to left."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from tests.browser import axe_violations, describe, horizontal_overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def pages_for(live_server: LiveServer, page: Page, patient, language: str) -> list[str]:
    patient.user.language = language
    patient.user.save(update_fields=["language"])
    return [
        f"{live_server.url}/{language}/guide/",
        f"{live_server.url}/{language}/guide/dressing-care/",
        f"{live_server.url}/{language}/guide/when-to-call/",
    ]


@pytest.mark.parametrize("language", ["ar", "zh-hans"])
def test_pages_are_accessible_and_fit_a_phone(
    live_server: LiveServer, phone_page: Page, patient, language
) -> None:
    urls = pages_for(live_server, phone_page, patient, language)
    phone_page.context.add_cookies(
        [
            {
                "name": "django_language",
                "value": language,
                "domain": urlparse(live_server.url).hostname,
                "path": "/",
            }
        ]
    )
    urls.append(f"{live_server.url}/accounts/login/")
    for url in urls:
        phone_page.goto(url)
        assert phone_page.evaluate("document.documentElement.lang") == language, url
        violations = axe_violations(phone_page)
        assert violations == [], f"{url}\n{describe(violations)}"
        assert horizontal_overflow(phone_page) <= 0, url
    sign_in(phone_page, live_server.url, patient.user)
    phone_page.goto(f"{live_server.url}/patients/{patient.code}/")
    assert phone_page.evaluate("document.documentElement.lang") == language
    violations = axe_violations(phone_page)
    assert violations == [], describe(violations)
    assert horizontal_overflow(phone_page) <= 0


def test_arabic_mirrors_the_layout(live_server: LiveServer, phone_page: Page, patient) -> None:
    patient.user.language = "ar"
    patient.user.save(update_fields=["language"])
    sign_in(phone_page, live_server.url, patient.user)
    phone_page.goto(f"{live_server.url}/patients/{patient.code}/")
    assert phone_page.evaluate("document.documentElement.dir") == "rtl"
    brand = phone_page.locator(".site-header .brand").bounding_box()
    items = phone_page.locator(".site-header nav li")
    first, second = items.nth(0).bounding_box(), items.nth(1).bounding_box()
    width = phone_page.viewport_size["width"]
    # The header starts on the right: the brand hugs the right edge, and the
    # navigation reads from right to left.
    assert brand["x"] + brand["width"] > width - 40
    if abs(first["y"] - second["y"]) < 5:
        assert first["x"] > second["x"]
    # Text in the main column is aligned to the right.
    assert phone_page.evaluate("getComputedStyle(document.querySelector('main h1')).textAlign") in (
        "start",
        "right",
    )
    assert phone_page.evaluate("getComputedStyle(document.querySelector('main')).direction") == "rtl"
