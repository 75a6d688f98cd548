"""The guide in a real Chromium on a 360 px phone: axe-core finds no WCAG 2.2 AA
violation, nothing scrolls sideways, right-to-left works, and a visited page opens offline."""

import html
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from education.catalog import load_catalog
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
    assert phone_page.locator("h1").inner_text() == "Read offline"
    assert phone_page.locator("#not-kept").is_visible()


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
    assert (
        phone_page.evaluate("getComputedStyle(document.querySelector('.site-header .bar')).display") == "flex"
    )
    # A page never opened falls back to the offline page in the reader's language, which the
    # worker kept when the reader first opened a page in it (and only then: issue 13).
    phone_page.context.set_offline(False)
    phone_page.goto(host + "ar/guide/index.html")
    phone_page.wait_for_timeout(300)
    phone_page.context.set_offline(True)
    phone_page.goto(host + "ar/guide/when-to-call/index.html")
    offline = (exported / "site" / "ar" / "offline" / "index.html").read_text()
    assert phone_page.evaluate("document.documentElement.lang") == "ar"
    assert phone_page.title() == html.unescape(re.search(r"<title>(.*?)</title>", offline).group(1))


def test_printed_handout_keeps_content_and_numbers_and_ends_with_a_compact_source_list(
    live_server: LiveServer, phone_page: Page
) -> None:
    phone_page.goto(live_server.url + "/en/guide/when-to-call/")
    shown = "sel => [...document.querySelectorAll(sel)].some(e => getComputedStyle(e).display !== 'none')"
    assert not phone_page.evaluate(shown, "#sources"), "the full list is for the handout only"
    phone_page.emulate_media(media="print")
    for hidden in (".site-header", ".language-menu", ".toc", ".site-footer", ".skip", ".section-sources"):
        assert not phone_page.evaluate(shown, hidden), hidden
    for kept in ("h1", ".module-body section", "#sources li", ".clinic-phones", ".emergency-number"):
        assert phone_page.evaluate(shown, kept), kept
    # Compact: it follows the text on the same page, in small type, one line per source.
    sources = phone_page.locator("#sources")
    assert sources.evaluate("e => getComputedStyle(e).breakBefore") != "page"
    assert sources.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") < 12
    assert phone_page.locator("#sources li").count() == len(
        load_catalog().get("when-to-call").documents["en"].cited
    )
    # The last thing the handout prints is the source list.
    last = phone_page.evaluate(
        "() => [...document.querySelectorAll('main *')].filter(e => getComputedStyle(e).display !== 'none'"
        " && e.offsetParent !== null).map(e => e.closest('#sources') !== null).at(-1)"
    )
    assert last


VISIBLE_SOURCE_LINKS = """section => [...section.querySelectorAll('a, summary')]
  .filter(e => e.checkVisibility())
  .filter(e => e.tagName === 'SUMMARY' || !e.href.startsWith('tel:'))
  .length"""


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("slug", ["dressing-care", "when-to-call"])
def test_each_section_shows_one_sources_link_that_opens_its_list(
    live_server: LiveServer, phone_page: Page, language: str, slug: str
) -> None:
    phone_page.goto(f"{live_server.url}/{language}/guide/{slug}/")
    sections = phone_page.locator(".module-body section")
    assert sections.count() == len(load_catalog().get(slug).documents[language].sections)
    for index in range(sections.count()):
        assert sections.nth(index).evaluate(VISIBLE_SOURCE_LINKS) == 1
    # Opening one list shows that section's sources, left to right even on a right-to-left page.
    first = sections.first
    first.locator("summary").click()
    listing = first.locator(".section-sources ul")
    assert listing.is_visible()
    assert listing.evaluate("e => getComputedStyle(e).direction") == "ltr"
    assert listing.locator("a").first.is_visible()
    assert phone_page.evaluate("getComputedStyle(document.body).direction") == (
        "rtl" if language == "ar" else "ltr"
    )
    for index in range(sections.count()):
        sections.nth(index).locator("summary").click()
    violations = axe_violations(phone_page)
    assert violations == [], describe(violations)
    assert horizontal_overflow(phone_page) <= 0
