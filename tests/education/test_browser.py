"""The guide in a real Chromium on a 360 px phone: axe-core finds no WCAG 2.2 AA
violation, nothing scrolls sideways, right-to-left works, and a visited page opens offline."""

import html
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from tests.browser import axe_violations, describe, horizontal_overflow

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/en/guide/", "/en/guide/dressing-care/", "/en/guide/when-to-call/"])
def test_guide_page_is_accessible_on_a_phone(live_server: LiveServer, phone_page: Page, path: str) -> None:
    response = phone_page.goto(live_server.url + path)
    assert response is not None and response.status == 200
    violations = axe_violations(phone_page)
    assert violations == [], describe(violations)
    assert horizontal_overflow(phone_page) <= 0


def test_arabic_index_is_accessible_right_to_left(live_server: LiveServer, phone_page: Page) -> None:
    phone_page.goto(live_server.url + "/ar/guide/")
    assert phone_page.evaluate("document.documentElement.dir") == "rtl"
    assert phone_page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    violations = axe_violations(phone_page)
    assert violations == [], describe(violations)
    assert horizontal_overflow(phone_page) <= 0


def test_a_visited_guide_page_opens_offline(live_server: LiveServer, phone_page: Page) -> None:
    url = live_server.url + "/en/guide/side-effects/"
    phone_page.goto(url)
    phone_page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone_page.reload()  # now the worker controls the page and saves it
    assert phone_page.evaluate("navigator.serviceWorker.controller !== null")
    phone_page.context.set_offline(True)
    response = phone_page.reload()
    assert response is not None and response.status == 200
    assert phone_page.locator("h1").inner_text() == "Side effects"
    unseen = phone_page.goto(live_server.url + "/en/guide/household-safety/")
    assert unseen is not None and unseen.status == 200
    assert phone_page.locator("h1").inner_text() == "You are offline"


def test_the_static_export_works_offline_from_a_sub_folder(
    exported: Path, host: str, phone_page: Page
) -> None:
    url = host + "en/guide/side-effects/index.html"
    phone_page.goto(url)
    scope = phone_page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == host
    phone_page.reload()
    assert phone_page.evaluate("navigator.serviceWorker.controller !== null")
    phone_page.context.set_offline(True)
    response = phone_page.reload()
    assert response is not None and response.status == 200
    assert phone_page.locator("h1").inner_text() == "Side effects"
    assert phone_page.evaluate("getComputedStyle(document.querySelector('.site-header')).display") == "flex"
    # A page never opened falls back to the offline page in its language.
    phone_page.goto(host + "ar/guide/when-to-call/index.html")
    offline = (exported / "site" / "ar" / "offline" / "index.html").read_text()
    assert phone_page.evaluate("document.documentElement.lang") == "ar"
    assert phone_page.title() == html.unescape(re.search(r"<title>(.*?)</title>", offline).group(1))


def test_printed_handout_keeps_content_sources_and_numbers_but_no_navigation(
    live_server: LiveServer, phone_page: Page
) -> None:
    phone_page.goto(live_server.url + "/en/guide/when-to-call/")
    phone_page.emulate_media(media="print")
    shown = "sel => [...document.querySelectorAll(sel)].some(e => getComputedStyle(e).display !== 'none')"
    for hidden in (".site-header", ".languages", ".toc", ".site-footer", ".skip"):
        assert not phone_page.evaluate(shown, hidden), hidden
    for kept in ("h1", ".module-body section", "sup.src", "#sources li", ".clinic-phones"):
        assert phone_page.evaluate(shown, kept), kept
    assert phone_page.evaluate("getComputedStyle(document.querySelector('#sources')).breakBefore") == "page"
