"""The reminder pages in a real Chromium at 360 px: a patient's inbox and a dressing review
with its two answers, and the clinic's reminder log in German and Spanish. No WCAG 2.2 AA
violation, no sideways scrolling. The clock is fixed (the live server shares it)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from portal.models import Delivery, DressingLogEntry, Reminder
from portal.reminders import replan_patient, send_due_reminders
from tests.browser import axe_violations, describe, horizontal_overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REVIEW_DUE = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)  # visit 1 March 10:00 UTC + 7 days


@pytest.fixture
def history(patient, link_caregiver, make_visit, clock):
    """A course in its review day: sent, read, failed and missed reminders, and planned ones."""
    link_caregiver(patient, "helper@example.test", name="Hannelore Großmutter-Schneider")
    make_visit(patient, date(2026, 3, 1), time(10, 0))
    make_visit(patient, date(2026, 3, 22), time(10, 0))
    replan_patient(patient, now=datetime(2026, 2, 20, tzinfo=UTC))
    for day in range(1, 8):
        send_due_reminders(now=datetime(2026, 3, day, 11, 0, tzinfo=UTC))
    missed = Reminder.objects.filter(status="pending", due_at__lt=REVIEW_DUE).first()
    Reminder.objects.filter(due_at__lt=REVIEW_DUE, status="pending").update(status="missed")
    first_emails = list(
        Delivery.objects.filter(channel="email").order_by("pk").values_list("pk", flat=True)[:2]
    )
    Delivery.objects.filter(pk__in=first_emails).update(
        status="failed", error="email-unreachable", attempts=5
    )
    clock.now = REVIEW_DUE
    send_due_reminders(now=REVIEW_DUE)
    return missed


def check(page: Page, url: str) -> None:
    page.goto(url)
    violations = axe_violations(page)
    assert violations == [], f"{url}\n{describe(violations)}"
    assert horizontal_overflow(page) <= 0, url


def test_inbox_and_a_dressing_review_with_its_answers(
    live_server: LiveServer, phone_page: Page, patient, history
):
    sign_in(phone_page, live_server.url, patient.user)
    check(phone_page, f"{live_server.url}/reminders/")
    phone_page.get_by_role("link", name="Dressing review: is every site dry?").first.click()
    assert phone_page.get_by_role("heading", name="What do you see today?").is_visible()
    violations = axe_violations(phone_page)
    assert violations == [], describe(violations)
    assert horizontal_overflow(phone_page) <= 0
    phone_page.get_by_role("button", name="Still weeping or oozing").click()
    assert "Saved: Still weeping or oozing." in phone_page.locator("main").inner_text()
    assert DressingLogEntry.objects.get().kind == "weeping"
    # Tomorrow (9 March) the review comes again.
    assert Reminder.objects.filter(
        recipient=patient.user,
        rule="dressing_review",
        day=REVIEW_DUE.date() + timedelta(days=1),
        status="pending",
    ).exists()


def test_back_to_the_inbox_shows_a_reminder_just_read_as_read(
    live_server: LiveServer, phone_page: Page, patient, history
):
    """A walk found "New" still beside a reminder just read, after Back: the browser showed
    the inbox from its back-forward cache. A signed-in page shown that way is loaded again."""
    sign_in(phone_page, live_server.url, patient.user)
    phone_page.goto(f"{live_server.url}/reminders/")
    row = phone_page.locator("ul.reminders li.unread").first
    title = row.get_by_role("link").inner_text()
    unread = phone_page.locator("ul.reminders li.unread").count()
    row.get_by_role("link").click()
    assert phone_page.get_by_role("heading", level=1).inner_text() == title
    phone_page.go_back(wait_until="commit")  # a page from the cache fires no "load"
    phone_page.wait_for_function(
        f"document.querySelectorAll('ul.reminders li.unread').length == {unread - 1}"
    )


def test_back_to_a_form_with_something_typed_in_it_keeps_what_was_typed(
    live_server: LiveServer, phone_page: Page, patient, history
):
    """The reload above would throw away what someone typed before they left the page."""
    sign_in(phone_page, live_server.url, patient.user)
    phone_page.goto(f"{live_server.url}/patients/{patient.code}/caregivers/invite/")
    phone_page.get_by_label("Name").fill("Rosa Díaz")
    phone_page.get_by_role("link", name="Back").click()
    phone_page.wait_for_url(f"{live_server.url}/caregivers/")
    phone_page.go_back(wait_until="commit")
    phone_page.wait_for_timeout(1000)  # a reload, were there one, would have come by now
    assert phone_page.get_by_label("Name").input_value() == "Rosa Díaz"


@pytest.mark.parametrize(
    ("language", "words"),
    [("de", ["Erinnerungen für", "Verpasst", "Gesendet"]), ("es", ["Recordatorios de", "Enviado"])],
)
def test_the_clinic_reads_the_log_at_phone_width(
    live_server: LiveServer, phone_page: Page, patient, clinician, history, language, words
):
    clinician.language = language
    clinician.save(update_fields=["language"])
    sign_in(phone_page, live_server.url, clinician)
    check(phone_page, f"{live_server.url}/patients/{patient.code}/reminders/")
    assert phone_page.evaluate("document.documentElement.lang") == language
    text = phone_page.locator("main").inner_text()
    for word in words:
        assert word in text
    assert "helper@example.test" not in text and "Hannelore Großmutter-Schneider" in text
    assert "email-unreachable" not in text
