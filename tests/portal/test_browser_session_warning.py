"""A nurse working slowly is warned before the idle sign-out and stays signed in with one
press (WCAG 2.2.1 Timing adjustable), in a real Chromium at 360 px, in English and Arabic."""

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser import axe_violations, describe, horizontal_overflow, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:unclosed database:ResourceWarning"),
]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_nurse_is_warned_and_stays_signed_in(
    live_server: LiveServer, phone_page: Page, clinician, settings, language
) -> None:
    # 8 seconds of idle time: the warning comes half-way, 4 seconds before the end.
    settings.STAFF_IDLE_SECONDS = 8
    clinician.language = language
    clinician.save()
    page = phone_page
    sign_in(page, live_server.url, clinician)
    page.goto(f"{live_server.url}/patients/")
    warning = page.locator("#session-warning")
    expect(warning).to_be_hidden()
    expect(warning).to_be_visible(timeout=8_000)
    assert axe_violations(page) == [], describe(axe_violations(page))
    assert horizontal_overflow(page) <= 0
    warning.get_by_role("button").click()
    expect(warning).to_be_hidden()
    # Past the end the first idle time had (8 s after the page came), still signed in.
    page.wait_for_timeout(5_000)
    page.goto(f"{live_server.url}/patients/")
    assert page.url == f"{live_server.url}/patients/"


def test_an_open_tab_does_not_keep_a_nurse_signed_in(
    live_server: LiveServer, phone_page: Page, clinician, settings
) -> None:
    settings.STAFF_IDLE_SECONDS = 8
    page = phone_page
    sign_in(page, live_server.url, clinician)
    page.goto(f"{live_server.url}/patients/")
    expect(page.locator("#session-warning")).to_be_visible(timeout=8_000)
    # Nobody presses: the page's own look at the time left must not count as being there.
    page.wait_for_timeout(6_000)
    page.goto(f"{live_server.url}/patients/")
    assert "/accounts/login/" in page.url
