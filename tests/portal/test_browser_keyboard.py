"""Keyboard only, in a real Chromium (WCAG 2.2 AA 2.1.1, 2.4.1, 2.4.7, 2.4.11, 1.4.11): on each
page the skip link comes first and works, and every Tab stop is on screen, not covered, and
ringed in a colour that stands out from what is behind it; the language menu, opened, closes
again from the keyboard and never hides the next stop. At 360 px and on a desktop screen, in
English and Arabic."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from portal.assignments import assign_modules
from tests.browser import PHONE, keyboard_problems, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_db_setup"),
    pytest.mark.filterwarnings("ignore:unclosed database:ResourceWarning"),
]

DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(params=["phone", "desktop"])
def screen(request, chromium_browser: Browser) -> Iterator[Page]:
    context = chromium_browser.new_context(**(PHONE if request.param == "phone" else DESKTOP))
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def walk(page: Page, url: str) -> None:
    page.goto(url)
    problems = keyboard_problems(page)
    assert problems == [], f"{url}\n" + "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_visitor_can_tab_through_every_page(live_server: LiveServer, screen: Page, language: str) -> None:
    for path in (
        f"/?lang={language}",
        f"/{language}/guide/",
        f"/{language}/guide/dressing-care/",
        f"/accounts/login/?lang={language}",
    ):
        walk(screen, live_server.url + path)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_patient_can_tab_through_their_pages(
    live_server: LiveServer, screen: Page, patient, make_visit, clinician, language: str
) -> None:
    patient.user.language = language
    patient.user.save(update_fields=["language"])
    today = timezone.localdate()
    make_visit(patient, today - timedelta(days=2), status="done")
    make_visit(patient, today + timedelta(days=12))
    [reading] = assign_modules(patient=patient, by=clinician, slugs=["dressing-care"])
    sign_in(screen, live_server.url, patient.user)
    base = f"{live_server.url}/care/{patient.code}/"
    for url in (
        base,
        base + "plan/",
        base + f"read/{reading.code}/",
        base + "symptoms/",
        base + "dressings/",
        f"{live_server.url}/reminders/",
        f"{live_server.url}/account/settings/",
        f"{live_server.url}/caregivers/",
    ):
        walk(screen, url)


def test_clinic_pages_can_be_used_by_keyboard(
    live_server: LiveServer, screen: Page, clinic_admin, patient, make_visit
) -> None:
    visit = make_visit(patient, timezone.localdate() + timedelta(days=3))
    sign_in(screen, live_server.url, clinic_admin)
    clinic = patient.clinic
    for path in (
        "/clinic/",
        "/patients/",
        f"/patients/{patient.code}/",
        f"/patients/{patient.code}/course/",
        f"/visits/{visit.code}/",
        f"/clinics/{clinic.code}/settings/",
        f"/clinics/{clinic.code}/audit/",
    ):
        walk(screen, live_server.url + path)
    # The second steps opened: their buttons are stops too.
    screen.goto(f"{live_server.url}/visits/{visit.code}/")
    screen.evaluate("document.querySelectorAll('details.confirm').forEach(d => d.open = true)")
    assert keyboard_problems(screen) == []


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_language_menu_closes_from_the_keyboard_and_hides_no_stop(
    live_server: LiveServer, phone_page: Page, patient, signed_in: bool
) -> None:
    page = phone_page
    if signed_in:
        sign_in(page, live_server.url, patient.user)
        page.goto(f"{live_server.url}/account/")
    else:
        page.goto(f"{live_server.url}/en/guide/")
    menu = page.locator("details.language-menu")
    summary = menu.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    # Escape closes it and leaves focus where it was opened.
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()
    # Tabbing out of it closes it: the list would cover the links that come next.
    page.keyboard.press("Enter")
    for _ in range(8):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('details.language-menu') !== null")
    page.keyboard.press("Tab")
    expect(menu).not_to_have_attribute("open", "")
    assert page.evaluate("document.activeElement.closest('details.language-menu') === null")
    problems = keyboard_problems(page)
    assert problems == [], "\n".join(problems)
