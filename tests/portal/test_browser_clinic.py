"""The clinic workspace in a real Chromium, at 360 px and on a desktop screen: a nurse enrols
a patient, plans the whole course, assigns the default care plan, prints the pack, then sees
who has read what. Every page passes axe-core (WCAG 2.2 AA), in English and Arabic, and fits
a phone without sideways scrolling."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from portal import assignments
from portal.models import InjectionVisit, Patient
from tests.browser import PHONE, axe_violations, describe, horizontal_overflow, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # The live server's request threads leave SQLite connections for the garbage collector.
    pytest.mark.filterwarnings("ignore:unclosed database:ResourceWarning"),
]

DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(params=["phone", "desktop"])
def screen(request, chromium_browser: Browser) -> Iterator[Page]:
    context = chromium_browser.new_context(
        **(PHONE if request.param == "phone" else DESKTOP), bypass_csp=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def check(page: Page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{where}\n{describe(violations)}"
    assert horizontal_overflow(page) <= 0, where


def test_a_nurse_runs_the_whole_journey(
    live_server: LiveServer, screen: Page, clinic, clinician, make_user
) -> None:
    page = screen
    from django.utils import timezone

    sign_in(page, live_server.url, clinician)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/clinic/")
    check(page, "clinic home")

    # Enrol, choosing the time zone through the search box.
    page.get_by_role("link", name="Enrol a patient").first.click()
    page.get_by_label("Name").fill("María Núñez")
    page.get_by_label("Email address").fill("maria@example.test")
    page.get_by_label("Language").first.select_option("es")
    page.get_by_label("Search time zones").fill("madrid")
    page.locator("select.zone-picker").select_option("Europe/Madrid")
    check(page, "enrol")
    page.get_by_role("button", name="Enrol and send invitation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("María Núñez")
    check(page, "patient page")
    patient = Patient.objects.get(email="maria@example.test")
    assert patient.time_zone == "Europe/Madrid"

    # The whole course on one screen.
    page.get_by_role("link", name="Plan and change visits").click()
    page.wait_for_url("**/course/")
    check(page, "course page, empty")
    page.get_by_role("link", name="Plan the course").click()
    first = timezone.localdate() + timedelta(days=7)
    page.locator("#id_first_date").fill(first.isoformat())
    page.locator("#id_first_time").fill("10:00")
    page.locator("#id_sites").fill("left forearm, left upper arm")
    page.locator("#id_count").fill("13")
    page.get_by_role("button", name="Propose the visits").click()
    expect(page.locator(".plan-row")).to_have_count(13)
    check(page, "proposed course")
    # One row moved too close to the first treatment: a warning, then a tick to save anyway.
    page.locator("#id_visit-1-local_date").fill((first + timedelta(days=20)).isoformat())
    page.get_by_role("button", name="Save these visits").click()
    expect(page.get_by_role("alert").filter(has_text="closer to the visit")).to_be_visible()
    check(page, "proposed course with a warning")
    page.locator("#id_visit-1-local_date").fill((first + timedelta(days=21)).isoformat())
    page.get_by_role("button", name="Check again").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    page.get_by_role("button", name="Save these visits").click()
    expect(page.get_by_text("13 visits planned.")).to_be_visible()
    check(page, "course page, planned")
    dates = list(
        InjectionVisit.objects.filter(course__patient=patient)
        .order_by("local_date")
        .values_list("local_date", flat=True)
    )
    assert dates[:3] == [first, first + timedelta(21), first + timedelta(35)] and len(dates) == 13

    # Cancelling the last visit takes a second step that says what it does; a visit to come
    # offers no "Mark as done".
    last = InjectionVisit.objects.filter(course__patient=patient).order_by("local_date").last()
    assert last is not None
    page.goto(f"{live_server.url}/visits/{last.code}/")
    expect(page.get_by_text("A visit can be marked as done from its day on.")).to_be_visible()
    expect(page.get_by_role("button", name="Mark as done")).to_have_count(0)
    yes = page.get_by_role("button", name="Yes, cancel the visit")
    expect(yes).to_be_hidden()
    page.get_by_text("Cancel the visit", exact=True).click()
    expect(page.get_by_text("Its reminders stop. This cannot be undone.")).to_be_visible()
    check(page, "visit, cancel step open")
    yes.click()
    expect(page.get_by_text("Visit cancelled.")).to_be_visible()
    last.refresh_from_db()
    assert last.status == InjectionVisit.Status.CANCELLED

    # The default care plan, then the pack.
    page.get_by_role("link", name="Back to María Núñez").click()
    page.get_by_role("link", name="Reading: assign modules, see who read what").click()
    page.get_by_role("button", name="Assign the plan").click()
    expect(page.get_by_text("modules assigned.")).to_be_visible()
    check(page, "reading page")
    page.get_by_role("link", name="Back to María Núñez").click()
    page.get_by_role("link", name="Print the handout pack").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_contain_text("María Núñez")
    expect(page.get_by_text("+1 555 0100").first).to_be_visible()
    assert page.locator(".pack-module").count() >= 8
    check(page, "handout pack")
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1

    # The patient accepts and reads one module (the patient app records it this way).
    patient.user = make_user("maria@example.test")
    patient.save(update_fields=["user"])
    dressing = patient.assignments.get(module_slug="dressing-care")
    assignments.record_progress(assignment=dressing, reader=patient.user, state="acknowledged", language="es")
    page.goto(f"{live_server.url}/patients/{patient.code}/reading/")
    card = page.locator(".progress > li").filter(has=page.locator(".badge.ok"))
    expect(card).to_have_count(1)
    expect(page.get_by_text("Not opened yet").first).to_be_visible()
    check(page, "who read what")


def test_arabic_clinic_pages_are_accessible(
    live_server: LiveServer, phone_page: Page, clinic_admin, patient, clinician, make_visit
) -> None:
    from django.utils import timezone

    clinic_admin.language = "ar"
    clinic_admin.save(update_fields=["language"])
    make_visit(patient, timezone.localdate() + timedelta(days=2))
    assignments.assign_modules(patient=patient, by=clinician, slugs=["dressing-care", "for-caregivers"])
    sign_in(phone_page, live_server.url, clinic_admin)
    clinic = patient.clinic
    for path in (
        "/clinic/",
        "/patients/",
        f"/patients/{patient.code}/course/",
        f"/patients/{patient.code}/reading/",
        f"/patients/{patient.code}/edit/",
        f"/clinics/{clinic.code}/settings/",
        f"/clinics/{clinic.code}/staff/",
        f"/clinics/{clinic.code}/api-keys/",
        f"/clinics/{clinic.code}/care-plans/",
        f"/clinics/{clinic.code}/audit/",
    ):
        phone_page.goto(live_server.url + path)
        assert phone_page.evaluate("document.documentElement.dir") == "rtl", path
        check(phone_page, path)


def test_english_admin_pages_are_accessible(
    live_server: LiveServer, phone_page: Page, clinic_admin, patient, clinician, make_visit
) -> None:
    from django.utils import timezone

    visit = make_visit(patient, timezone.localdate() + timedelta(days=2))
    sign_in(phone_page, live_server.url, clinic_admin)
    clinic = patient.clinic
    for path in (
        f"/visits/{visit.code}/",
        f"/patients/{patient.code}/erase/",
        f"/clinics/{clinic.code}/settings/",
        f"/clinics/{clinic.code}/staff/",
        f"/clinics/{clinic.code}/api-keys/",
        f"/clinics/{clinic.code}/care-plans/add/",
        f"/clinics/{clinic.code}/audit/",
    ):
        phone_page.goto(live_server.url + path)
        check(phone_page, path)
