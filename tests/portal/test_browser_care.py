"""The patient's own app in a real Chromium at 360 px (issue 11, points 1-4 and 9): signing in
with an emailed code lands on today, with the care team's numbers in the first screen; a module
is read and acknowledged; a wrong teach-back answer explains the right one; an urgent sign
shows tap-to-call and says the app does not alert the care team; axe-core finds nothing on any
of these pages in English and Arabic, and nothing scrolls sideways."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from portal import care
from portal.assignments import assign_modules
from portal.models import AssignmentProgress, SymptomCheck, TeachBackAnswer
from tests.browser import axe_violations, describe, horizontal_overflow, sign_in
from tests.helpers import deliver_emails
from tests.portal.test_care import QUESTIONS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_db_setup"),
]


def check(page: Page, label: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{label}\n{describe(violations)}"
    assert horizontal_overflow(page) <= 0, label


@pytest.fixture
def questions(monkeypatch):
    # The live server runs in this process: the reader asks this stub for its questions.
    monkeypatch.setattr(care, "teachback_questions", lambda slug, language, handles_dressings=True: QUESTIONS)
    return QUESTIONS


@pytest.fixture
def home_care(patient, make_visit, clinician):
    """Treated three days ago (the real clock: browser cookies expire by it), the next visit in
    eleven days, one module assigned."""
    today = timezone.localdate()
    make_visit(patient, today - timedelta(days=3), status="done")
    make_visit(patient, today + timedelta(days=11))
    [assignment] = assign_modules(patient=patient, by=clinician, slugs=["dressing-care"])
    return patient, assignment


def test_signing_in_with_an_emailed_code_lands_on_today_with_the_numbers_first(
    live_server: LiveServer, phone_page: Page, home_care
) -> None:
    patient, _assignment = home_care
    page = phone_page
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_role("link", name="Send me a sign-in code").click()
    page.get_by_label("Email").fill(patient.email)
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_url("**/accounts/login/code/confirm/")
    [message] = deliver_emails()
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", message.body, re.M).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").first.click()
    page.wait_for_url(f"{live_server.url}/care/")
    assert page.locator("h1").inner_text() == "Today"
    assert page.locator(".day-phrase").inner_text().startswith("Day 3 after your treatment on ")
    call = page.locator('a[href="tel:+15550100"]')
    box = call.bounding_box()
    assert box and box["y"] + box["height"] <= 740, box  # inside the first screen of a 360x740 phone
    assert page.get_by_text("In 11 days").is_visible()
    # One tap logs a check; the page says so.
    page.get_by_role("button", name="Dressing checked").click()
    expect(page.get_by_text("Saved: Checked.")).to_be_visible()
    check(page, "today")


def test_reading_a_module_answering_wrong_and_tapping_i_understand(
    live_server: LiveServer, phone_page: Page, home_care, questions
) -> None:
    patient, assignment = home_care
    page = phone_page
    sign_in(page, live_server.url, patient.user)
    page.goto(live_server.url + reverse("care-plan", args=[patient.code]))
    check(page, "my care")
    page.locator(".reading a").first.click()
    first = page.locator("#q-how-long")
    first.get_by_label("Two days").check()
    first.get_by_role("button", name="Check my answer").click()
    feedback = page.locator("#q-how-long .feedback")
    assert "Not quite." in feedback.inner_text()
    assert "The right answer is: At least a week, longer if a site weeps or oozes" in feedback.inner_text()
    assert "Keep the sites covered for at least a week after each treatment." in feedback.inner_text()
    check(page, "reader with feedback")
    page.get_by_role("button", name="I understand").click()
    page.wait_for_url(live_server.url + reverse("care-plan", args=[patient.code]))
    progress = AssignmentProgress.objects.get(assignment=assignment, reader=patient.user)
    assert progress.state == "acknowledged"
    assert TeachBackAnswer.objects.get().correct is False


def test_an_urgent_sign_shows_tap_to_call_and_says_the_app_does_not_alert(
    live_server: LiveServer, phone_page: Page, home_care
) -> None:
    patient, _assignment = home_care
    page = phone_page
    sign_in(page, live_server.url, patient.user)
    page.goto(live_server.url + reverse("care-symptoms", args=[patient.code]))
    check(page, "symptom check")
    page.get_by_label("Eye pain, eyes that hurt in light, or blurred vision").check()
    page.get_by_role("button", name="See what to do").click()
    assert page.get_by_text("This app does not alert your care team. Call them yourself, now.").is_visible()
    for number in ("+15550100", "+15550199"):
        assert page.locator(f'.call-now a[href="tel:{number}"]').is_visible()
    assert SymptomCheck.objects.get().urgent
    check(page, "symptom result")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_care_page_is_accessible_in_english_and_arabic(
    live_server: LiveServer, phone_page: Page, home_care, link_caregiver, other_patient, language
) -> None:
    """With the real teach-back questions (education/content/*/teach-back/), in Arabic too."""
    patient, assignment = home_care
    patient.user.language = language
    patient.user.save(update_fields=["language"])
    page = phone_page
    sign_in(page, live_server.url, patient.user)
    check_url = SymptomCheck.objects.create(
        patient=patient, recorded_by=patient.user, signs=["allergy", "flu"], urgent=True
    )
    care.log_dressing(patient=patient, by=patient.user, kind="changed")
    for url in (
        reverse("care-home"),
        reverse("care-plan", args=[patient.code]),
        reverse("care-read", args=[patient.code, assignment.code]),
        reverse("care-symptoms", args=[patient.code]),
        reverse("care-symptom-result", args=[patient.code, check_url.code]),
        reverse("care-dressings", args=[patient.code]),
    ):
        page.goto(live_server.url + url)
        assert page.evaluate("document.documentElement.lang") == language, url
        check(page, url)
    # An answered question, and an error on the symptom form.
    page.goto(live_server.url + reverse("care-read", args=[patient.code, assignment.code]))
    page.locator("form.question").first.get_by_role("radio").first.check()
    page.locator("form.question").first.locator("button").click()
    expect(page.locator(".feedback")).to_have_count(1)
    check(page, "answered")
    page.goto(live_server.url + reverse("care-symptoms", args=[patient.code]))
    page.locator('input[name="none"]').check()
    page.locator('input[value="eyes"]').check()
    page.locator("form.symptoms button[type=submit]").click()
    expect(page.locator("#symptoms-error")).to_be_visible()
    check(page, "symptom error")
    # A caregiver of two patients chooses one.
    helper = link_caregiver(patient, "helper@example.test").caregiver
    link_caregiver(other_patient, "helper@example.test")
    helper.language = language
    helper.save(update_fields=["language"])
    page.context.clear_cookies()
    sign_in(page, live_server.url, helper)
    page.goto(live_server.url + reverse("care-home"))
    check(page, "choose")
    page.goto(live_server.url + reverse("care-today", args=[patient.code]))
    check(page, "caregiver today")
