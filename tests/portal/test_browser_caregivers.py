"""Caregivers in a real Chromium at 360 px (issue 11, points 5 and 9): a pregnant caregiver signs
in and never sees the dressing-change steps (guide, patient page, reminders, offline), sees the
safety banner; the patient invites and the caregiver accepts; ending a link asks first; a
caregiver of two patients switches. axe-core finds nothing on these pages, in English and in
Arabic, and nothing scrolls sideways."""

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from portal.models import CaregiverLink, Patient, User
from portal.reminders import replan_patient
from portal.reminders.delivery import send_due_reminders
from tests.browser import axe_violations, describe, horizontal_overflow, sign_in
from tests.portal.test_browser_app import CACHED_URLS, controlled, go_offline, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_db_setup"),
]

CONTENT = Path(__file__).resolve().parents[2] / "education" / "content"
# Sentences of the dressing-change steps (dressing-care/en.html, for-caregivers/en.html).
STEPS = [
    "Put on clean gloves.",
    "Gently take off the old dressing.",
    "Put the old dressing in a plastic bag.",
]


def heading(slug: str, language: str, section_id: str) -> str:
    text = (CONTENT / slug / f"{language}.html").read_text(encoding="utf-8")
    found = re.search(rf'<section id="{section_id}">\s*<h2>(.*?)</h2>', text, re.S)
    assert found
    return found.group(1)


def clean(page: Page) -> None:
    """No axe violation (WCAG 2.2 AA) and no sideways scrolling at 360 px."""
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    assert horizontal_overflow(page) <= 0


def speak(user: User, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


@pytest.fixture
def pregnant(patient, link_caregiver) -> User:
    return link_caregiver(
        patient, "pregnant@example.test", handles_dressings=False, pregnant_or_immunocompromised=True
    ).caregiver


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_pregnant_caregiver_never_sees_the_dressing_change_steps(
    live_server: LiveServer,
    phone_page: Page,
    patient: Patient,
    pregnant: User,
    make_visit,
    clinician,
    language: str,
) -> None:
    page = phone_page
    speak(pregnant, language)
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    for hour in range(0, 72, 1):  # each reminder on time (an overdue one is missed, not sent)
        send_due_reminders(now=datetime(2026, 3, 9, 0, 30, tzinfo=UTC) + timedelta(hours=hour))
    sign_in(page, live_server.url, pregnant)

    for slug, hidden in [
        ("dressing-care", ["how-to-change-it", "if-it-comes-loose"]),
        ("for-caregivers", ["change-a-dressing"]),
    ]:
        page.goto(f"{live_server.url}/{language}/guide/{slug}/")
        assert page.locator(".safety-banner").is_visible()
        headings = page.locator("h2").all_inner_texts()
        for section_id in hidden:
            assert heading(slug, language, section_id) not in headings
            assert page.locator(f"#{section_id}").count() == 0
        if language == "en":
            for sentence in STEPS:
                assert sentence not in page.content()
            assert (
                "must not change dressings or clean injection sites"
                in page.locator(".safety-banner").inner_text()
            )
        clean(page)

    # The module reader of the care pages (/care/), with the module the care team assigned.
    from portal import assignments
    from portal.models import Assignment

    assignments.assign_modules(patient=patient, by=clinician, slugs=["for-caregivers"])
    found = Assignment.objects.get(patient=patient, module_slug="for-caregivers")
    page.goto(f"{live_server.url}/care/{patient.code}/read/{found.code}/")
    assert page.locator(".safety-banner").is_visible()
    # The banner comes under the page's own heading, as on every other page: a screen reader's
    # list of headings starts with the module, then the warning.
    assert page.locator("main h1, main h2").evaluate_all("hs => hs.map(h => h.tagName)")[:2] == ["H1", "H2"]
    assert page.locator("#change-a-dressing").count() == 0
    assert (
        heading("for-caregivers", language, "change-a-dressing") not in page.locator("h2").all_inner_texts()
    )
    clean(page)

    # The patient's page, as the caregiver sees it: the banner names the patient.
    page.goto(f"{live_server.url}/patients/{patient.code}/")
    assert patient.name in page.locator(".safety-banner h2").inner_text()
    clean(page)

    # Reminders: the safety reminder, never a dressing check.
    page.goto(live_server.url + "/reminders/")
    titles = page.locator("main").inner_text()
    if language == "en":
        assert "Please do not handle the dressings" in titles
        assert "Check the dressings today" not in titles
    clean(page)
    page.locator("main a[href^='/reminders/']").first.click()
    page.wait_for_load_state()
    if language == "en":
        body = page.locator("main").inner_text()
        assert "Please do not change the dressings of" in body
        assert "replace it straight away" not in body
    assert page.locator("form[action$='/dressing/']").count() == 0  # no dressing task
    clean(page)


def test_offline_the_restricted_caregiver_gets_their_safe_copy_never_the_public_one(
    live_server: LiveServer, phone_page: Page, pregnant: User, patient: Patient
) -> None:
    page = phone_page
    sign_in(page, live_server.url, pregnant)
    url = live_server.url + "/en/guide/dressing-care/"
    page.goto(url)
    controlled(page)
    page.goto(url)  # now through the worker: it keeps the public copy and the reader's own
    wait_until(
        page,
        "caches.open('hcc-safe-v1').then(c => c.match(location.href)).then(Boolean)",
    )
    # The public copy (with the steps) is on the phone too, for other readers of the guide.
    wait_until(
        page,
        f"{CACHED_URLS}.then(urls => urls.filter(u => u.endsWith('/en/guide/dressing-care/')).length >= 2)",
    )
    go_offline(page)
    page.goto(url)
    assert page.locator(".safety-banner").is_visible()
    for sentence in STEPS:
        assert sentence not in page.content()
    # A guide page this reader never opened signed in: the offline page, not the public copy.
    page.context.set_offline(False)
    page.evaluate(
        "caches.open('hcc-pages-v1').then(c => fetch('/en/guide/household-safety/', {credentials: 'omit'})"
        ".then(r => c.put('/en/guide/household-safety/', r)))"
    )
    go_offline(page)
    page.goto(live_server.url + "/en/guide/household-safety/")
    assert "Handle dressings safely" not in page.locator("body").inner_text()
    page.context.set_offline(False)

    # Someone else signs in on this phone (the patient): the safe copies go, and they get the
    # whole page offline.
    page.context.clear_cookies()
    sign_in(page, live_server.url, patient.user)
    page.goto(url)
    wait_until(page, "caches.has('hcc-safe-v1').then(has => !has)")
    go_offline(page)
    page.goto(url)
    assert "Put on clean gloves." in page.content()
    page.context.set_offline(False)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_patient_invites_and_the_caregiver_accepts(
    live_server: LiveServer, chromium_browser, phone_page: Page, patient: Patient, make_user, language: str
) -> None:
    from tests.browser import PHONE

    page = phone_page
    speak(patient.user, language)
    sign_in(page, live_server.url, patient.user)
    page.goto(live_server.url + "/caregivers/")
    clean(page)
    page.locator(f"a[href='/patients/{patient.code}/caregivers/invite/']").first.click()
    page.wait_for_load_state()
    clean(page)
    page.locator("#id_name").fill("Sam")
    page.locator("#id_email").fill("sam@example.test")
    page.locator("#id_pregnant_or_immunocompromised").check()
    page.locator("#id_handles_dressings").uncheck()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/caregivers/")
    assert "Sam" in page.locator("#mine-heading + ul").inner_text()
    link = CaregiverLink.objects.get(email="sam@example.test")
    assert link.pregnant_or_immunocompromised and not link.handles_dressings

    sam = make_user("sam@example.test", language=language)
    context = chromium_browser.new_context(**PHONE, bypass_csp=True)
    other = context.new_page()
    try:
        sign_in(other, live_server.url, sam)
        other.goto(live_server.url + "/caregivers/")
        clean(other)
        other.locator("a[href^='/caregivers/invitations/']").click()
        other.wait_for_load_state()
        assert other.locator("#id_pregnant_or_immunocompromised").is_checked()
        clean(other)
        other.locator("button[value=accept]").click()
        other.wait_for_url("**/caregivers/")
        assert other.locator(f"a[href='/patients/{patient.code}/']").is_visible()
        clean(other)
    finally:
        context.close()
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.ACTIVE


@pytest.mark.parametrize("language", ["en", "ar"])
def test_ending_a_link_asks_first_and_takes_effect_at_once(
    live_server: LiveServer, phone_page: Page, patient: Patient, caregiver: User, language: str
) -> None:
    page = phone_page
    speak(caregiver, language)
    link = CaregiverLink.objects.get(caregiver=caregiver)
    sign_in(page, live_server.url, caregiver)
    page.goto(live_server.url + "/caregivers/")
    page.locator(f"a[href='/caregivers/{link.code}/revoke/']").click()
    page.wait_for_url(f"**/caregivers/{link.code}/revoke/")
    clean(page)
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.ACTIVE  # the page alone changes nothing
    page.locator("button.danger").click()
    page.wait_for_url("**/caregivers/")
    clean(page)
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.REVOKED
    response = page.goto(f"{live_server.url}/patients/{patient.code}/")
    assert response is not None and response.status == 404


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_caregiver_of_two_patients_switches(
    live_server: LiveServer,
    phone_page: Page,
    patient,
    other_patient,
    caregiver,
    link_caregiver,
    language: str,
) -> None:
    page = phone_page
    speak(caregiver, language)
    link_caregiver(other_patient, caregiver.email)
    sign_in(page, live_server.url, caregiver)
    page.goto(f"{live_server.url}/patients/{patient.code}/")
    switcher = page.locator("form.switcher")
    assert switcher.is_visible()
    clean(page)
    switcher.locator("select").select_option(str(other_patient.code))
    switcher.locator("button").click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/caregivers/")
    assert page.locator("form.switcher select").input_value() == str(other_patient.code)
    clean(page)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_emailed_invitation_shows_what_they_will_see_and_takes_a_no(
    live_server: LiveServer, phone_page: Page, patient: Patient, language: str
) -> None:
    from portal import services
    from portal.models import Invitation

    link = services.invite_caregiver(
        patient=patient, by=patient.user, email="kim@example.test", handles_dressings=False
    )
    token = services.invitation_token(Invitation.objects.get(caregiver_link=link))
    page = phone_page
    page.goto(f"{live_server.url}/invitation/{token}/?lang={language}")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("button[value=decline]").is_visible()
    clean(page)
    page.locator("button[value=decline]").click()
    page.wait_for_load_state()
    clean(page)
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.REVOKED


def test_the_guide_list_shows_the_banner_to_the_restricted_caregiver(
    live_server: LiveServer, phone_page: Page, pregnant: User
) -> None:
    for language in ("en", "ar"):
        speak(pregnant, language)
        sign_in(phone_page, live_server.url, pregnant)
        phone_page.goto(f"{live_server.url}/{language}/guide/")
        assert phone_page.locator(".safety-banner").is_visible()
        clean(phone_page)
