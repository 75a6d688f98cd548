"""The inbox, reminder settings, the calendar feed and the clinic's delivery log."""

from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
from django.urls import reverse

from portal import services
from portal.models import AuditEvent, CalendarFeed, ClinicReminderSettings, Delivery, Reminder
from portal.reminders import replan_patient, send_due_reminders
from portal.reminders.clinics import replan_clinics
from portal.reminders.planning import Audience, Rule
from portal.reminders.texts import render_reminder
from tests.helpers import confirm_steps, log_in

PLANNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
FORBIDDEN = ("t-vec", "imlygic", "talimogene", "virus", "herpes", "melanoma", "cancer", "oncolytic")


@pytest.fixture
def delivered(patient, make_visit):
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    send_due_reminders(now=DUE)
    return Reminder.objects.get(patient=patient, rule="visit_reminder")


# --- Rules and texts ----------------------------------------------------------------------------


def test_model_choices_match_the_planner():
    assert {value for value, _label in Reminder._meta.get_field("rule").choices} == {str(r) for r in Rule}
    assert {value for value, _label in Reminder._meta.get_field("audience").choices} == {
        str(a) for a in Audience
    }


TITLES = {
    Rule.VISIT_REMINDER: "Your treatment visit is tomorrow",
    Rule.DRESSING_CHECK: "Check the dressings today",
    Rule.DRESSING_SAFETY: "Please do not handle the dressings",
    Rule.DRESSING_REVIEW: "Dressing review: is every site dry?",
    Rule.SYMPTOM_WATCH: "How are you feeling after your treatment?",
}


@pytest.mark.parametrize("rule", list(Rule))
@pytest.mark.parametrize("discreet", [True, False])
def test_texts_are_clinical_and_previews_discreet(patient, make_visit, rule, discreet):
    patient.discreet = discreet
    visit = make_visit(patient, date(2026, 3, 10))
    audience = Audience.CAREGIVER_NON_HANDLER if rule is Rule.DRESSING_SAFETY else Audience.PATIENT
    reminder = Reminder(
        recipient=patient.user,
        patient=patient,
        visit=visit,
        rule=rule,
        audience=audience,
        day=date(2026, 3, 9) if rule is Rule.VISIT_REMINDER else date(2026, 3, 10),
        due_at=DUE,
        next_attempt_at=DUE,
    )
    rendered = render_reminder(reminder)
    everything = (rendered.title + rendered.preview + rendered.body).lower()
    for word in FORBIDDEN:
        assert word not in everything
    # The app never says it told the care team; urgent signs mean the person calls.
    for claim in ("we have told", "we told", "alerted", "we will call", "has been notified"):
        assert claim not in everything
    if discreet:
        assert (rendered.title, rendered.preview) == (
            "Home Care Companion",
            "You have a new reminder. Open it to read it.",
        )
    else:
        assert rendered.title == TITLES[rule]


def test_symptom_text_says_to_call_the_care_team_now(patient, make_visit):
    visit = make_visit(patient, date(2026, 3, 10))
    reminder = Reminder(
        recipient=patient.user,
        patient=patient,
        visit=visit,
        rule="symptom_watch",
        audience="patient",
        day=date(2026, 3, 10),
    )
    body = render_reminder(reminder).body
    assert "Most of these settle within about 3 days." in body
    assert "Call your care team now if you have:" in body
    assert "+1 555 0100" in body and "+1 555 0199" in body
    assert "get emergency care now" in body


def test_dressing_texts_keep_the_label_minimum_and_the_weeping_rule(patient, make_visit):
    visit = make_visit(patient, date(2026, 3, 10))
    check = Reminder(
        recipient=patient.user,
        patient=patient,
        visit=visit,
        rule="dressing_check",
        audience="patient",
        day=date(2026, 3, 11),
    )
    body = render_reminder(check).body
    assert "at least 7 days after each treatment, and longer if a site is still weeping or oozing" in body
    assert "Wear gloves" in body
    safety = Reminder(
        recipient=patient.user,
        patient=patient,
        visit=visit,
        rule="dressing_safety",
        audience="caregiver_non_handler",
        day=date(2026, 3, 11),
    )
    body = render_reminder(safety).body
    assert "Please do not change the dressings" in body
    assert "Wear gloves" not in body


# --- Inbox -----------------------------------------------------------------------------------


NEW_BADGE = '<strong class="badge">New</strong>'


def test_inbox_lists_delivered_reminders_and_marks_them_read(client, patient, delivered):
    log_in(client, patient.user)
    response = client.get(reverse("reminder-list"))
    assert response.status_code == 200
    assert "Your treatment visit is tomorrow" in response.text
    # The badge's markup, not the bare word: a random CSRF token can spell "New".
    assert NEW_BADGE in response.text
    # Only the delivered reminder is listed, not the ones planned for later.
    assert f"/reminders/{delivered.code}/" in response.text
    for later in Reminder.objects.filter(status=Reminder.Status.PENDING):
        assert str(later.code) not in response.text

    response = client.get(reverse("reminder-detail", args=[delivered.code]))
    assert response.status_code == 200
    assert "If you cannot come, call your care team: \u2066+1 555 0100\u2069." in response.text
    delivered.refresh_from_db()
    assert delivered.read_at is not None
    assert NEW_BADGE not in client.get(reverse("reminder-list")).text


def test_someone_elses_reminder_is_a_404(client, caregiver, other_patient, delivered, clinician):
    for user in (caregiver, other_patient.user, clinician):
        log_in(client, user)
        assert client.get(reverse("reminder-detail", args=[delivered.code])).status_code == 404


def test_a_revoked_caregiver_no_longer_reads_old_reminders(client, patient, link_caregiver, make_visit):
    link = link_caregiver(patient, "helper@example.test")
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    send_due_reminders(now=datetime(2026, 3, 10, 11, 0, tzinfo=UTC))
    reminder = Reminder.objects.get(recipient=link.caregiver, rule="dressing_check", day=date(2026, 3, 10))
    log_in(client, link.caregiver)
    assert client.get(reverse("reminder-detail", args=[reminder.code])).status_code == 200
    services.revoke_caregiver(link=link, by=patient.user)
    assert client.get(reverse("reminder-detail", args=[reminder.code])).status_code == 404


def test_inbox_queries_do_not_grow_with_reminders(
    client, patient, make_visit, django_assert_num_queries, settings
):
    settings.READER_PAGES_KEPT = 0  # the page as built (a kept one costs one query: test_keep.py)
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    for day in range(9, 14):
        send_due_reminders(now=datetime(2026, 3, day, 11, 0, tzinfo=UTC))
    assert Reminder.objects.filter(status="sent").count() > 5
    log_in(client, patient.user)
    client.get(reverse("reminder-list"))
    with django_assert_num_queries(6):  # the same few queries however many reminders
        assert client.get(reverse("reminder-list")).status_code == 200


# --- Calendar feed ----------------------------------------------------------------------------------


def feed_of(client, user):
    log_in(client, user)
    client.post(reverse("calendar-rotate"))
    return CalendarFeed.objects.get(user=user)


def test_calendar_feed_has_visits_and_dressing_periods_with_alarms(client, patient, make_visit, make_clinic):
    first = make_visit(patient, date(2026, 3, 10), time(10, 0))
    second = make_visit(patient, date(2026, 3, 31), time(14, 30))
    make_visit(patient, date(2026, 4, 14), time(9, 0), status="cancelled")
    feed = feed_of(client, patient.user)
    client.logout()

    response = client.get(reverse("calendar-feed", args=[feed.token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    events = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    assert set(events) == {
        f"visit-{first.code}@testserver",
        f"dressing-{first.code}@testserver",
        f"visit-{second.code}@testserver",
        f"dressing-{second.code}@testserver",
    }
    visit = events[f"visit-{first.code}@testserver"]
    assert visit.decoded("DTSTART") == datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    assert str(visit["SUMMARY"]) == "Appointment"  # discreet by default
    [alarm] = visit.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -timedelta(days=1)
    period = events[f"dressing-{first.code}@testserver"]
    assert (period.decoded("DTSTART"), period.decoded("DTEND")) == (date(2026, 3, 10), date(2026, 3, 17))
    assert str(period["SUMMARY"]) == "Home care"
    [alarm] = period.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(hours=9)
    text = response.content.decode().lower()
    for word in (*FORBIDDEN, "dressing:", "treatment", "patient@"):
        assert word not in text

    # Stable: the same UIDs and content on the next fetch.
    assert client.get(reverse("calendar-feed", args=[feed.token])).content == response.content


def test_calendar_names_the_treatment_only_when_discreet_mode_is_off(client, patient, make_visit):
    patient.discreet = False
    patient.save(update_fields=["discreet"])
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    feed = feed_of(client, patient.user)
    calendar = icalendar.Calendar.from_ical(client.get(reverse("calendar-feed", args=[feed.token])).content)
    assert sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT")) == [
        "Keep the dressings on",
        "Treatment visit",
    ]


def test_caregiver_calendar_follows_active_links(client, patient, link_caregiver, make_visit):
    link = link_caregiver(patient, "helper@example.test")
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    feed = feed_of(client, link.caregiver)
    url = reverse("calendar-feed", args=[feed.token])
    assert len(icalendar.Calendar.from_ical(client.get(url).content).walk("VEVENT")) == 2
    services.revoke_caregiver(link=link, by=patient.user)
    assert icalendar.Calendar.from_ical(client.get(url).content).walk("VEVENT") == []


def test_calendar_token_rotates_and_revokes(client, patient):
    old = feed_of(client, patient.user).token
    page = client.get(reverse("account-calendar")).content.decode()
    # Both break the address a phone's calendar reads: each takes a second step.
    assert confirm_steps(page) == ["Yes, make a new address", "Yes, stop the calendar"]
    client.post(reverse("calendar-rotate"))
    new = CalendarFeed.objects.get(user=patient.user).token
    assert new != old
    assert client.get(reverse("calendar-feed", args=[old])).status_code == 404
    assert client.get(reverse("calendar-feed", args=[new])).status_code == 200
    client.post(reverse("calendar-revoke"))
    assert client.get(reverse("calendar-feed", args=[new])).status_code == 404


# --- The clinic's delivery log ------------------------------------------------------------------------


def test_clinic_sees_what_was_sent_and_what_failed(client, clinician, patient, delivered):
    Delivery.objects.filter(reminder=delivered, channel="email").update(
        status="failed", error="email-unreachable", attempts=5
    )
    log_in(client, clinician)
    assert (
        reverse("patient-reminders", args=[patient.code])
        in client.get(reverse("patient-detail", args=[patient.code])).text
    )
    response = client.get(reverse("patient-reminders", args=[patient.code]))
    assert response.status_code == 200
    text = response.text
    assert "Appointment the next day" in text
    assert "Patient (patient)" in text and patient.email not in text
    assert "In the app: Sent" in text
    assert "Email: Failed after 5 attempts: The email server could not be reached." in text
    assert "email-unreachable" not in text
    assert (
        AuditEvent.objects.filter(action="patient.reminders_viewed", patient_code=patient.code).count() == 1
    )


def test_only_staff_of_the_clinic_see_the_log(client, patient, caregiver, other_clinician, delivered):
    url = reverse("patient-reminders", args=[patient.code])
    for user in (patient.user, caregiver, other_clinician):
        log_in(client, user)
        assert client.get(url).status_code == 404
        assert url not in client.get(reverse("patient-detail", args=[patient.code])).text


# --- The clinic's reminder settings -------------------------------------------------------------------


def test_clinic_admin_switches_a_rule_off_and_reminders_are_replanned(
    client, clinic, clinic_admin, clinician, patient, clock
):
    services.add_visit(patient=patient, by=clinician, local_date=date(2026, 3, 6), local_time=time(10, 0))
    url = reverse("clinic-reminder-settings", args=[clinic.code])
    log_in(client, clinic_admin)
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "visit_reminder_on": "on",
            "dressing_check_on": "on",
            "dressing_review_on": "on",
            "dressing_days": "8",
            "symptom_days": "3",
            "default_reminder_time": "08:30",
        },
    )
    assert response.status_code == 302
    replan_clinics()  # the worker's part (tests/portal/test_clinic_replan.py)
    pending = Reminder.objects.filter(patient=patient, status=Reminder.Status.PENDING)
    assert not pending.filter(rule="symptom_watch").exists()
    assert pending.filter(rule="dressing_check").count() == 8
    assert AuditEvent.objects.filter(action="clinic.reminder_settings_changed", clinic=clinic).exists()


def test_clinic_settings_refuse_a_short_dressing_period(client, clinic, clinic_admin):
    log_in(client, clinic_admin)
    response = client.post(
        reverse("clinic-reminder-settings", args=[clinic.code]),
        {"dressing_days": "2", "symptom_days": "3", "default_reminder_time": "09:00"},
    )
    assert response.status_code == 200
    assert not ClinicReminderSettings.objects.filter(clinic=clinic).exists()


def test_only_admins_of_the_clinic_change_its_reminders(client, clinic, clinician, other_clinician, patient):
    url = reverse("clinic-reminder-settings", args=[clinic.code])
    for user in (clinician, other_clinician, patient.user):
        log_in(client, user)
        assert client.get(url).status_code == 404


# --- The inbox API ------------------------------------------------------------------------------------


def test_inbox_api_lists_and_marks_read(client, patient, caregiver, delivered):
    log_in(client, patient.user)
    response = client.get(reverse("api-reminder-list"))
    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["code"] == str(delivered.code)
    assert item["title"] == "Your treatment visit is tomorrow"
    assert item["patient"] == str(patient.code)
    assert item["read_at"] is None
    response = client.post(reverse("api-reminder-read", args=[delivered.code]))
    assert response.status_code == 200 and response.json()["read_at"] is not None

    log_in(client, caregiver)
    assert client.get(reverse("api-reminder-list")).json()["results"] == []
    assert client.post(reverse("api-reminder-read", args=[delivered.code])).status_code == 404


def test_an_arabic_reminder_page_keeps_the_numbers_left_to_right(client, patient, make_visit):
    """/reminders/<id>/ for "How are you feeling after your treatment?" in Arabic: the numbers in
    the text are in left-to-right isolates, and the call box's links are left to right."""
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    send_due_reminders(now=datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    reminder = Reminder.objects.filter(
        patient=patient, rule="symptom_watch", status=Reminder.Status.SENT
    ).first()
    assert reminder is not None
    patient.user.language = "ar"
    patient.user.save(update_fields=["language"])
    log_in(client, patient.user)
    page = client.get(reverse("reminder-detail", args=[reminder.code])).text
    assert '<html lang="ar" dir="rtl">' in page
    assert "\u2066+1 555 0100\u2069" in page and "\u2066+1 555 0199\u2069" in page
    assert '<a href="tel:+15550100" dir="ltr">+1 555 0100</a>' in page
    assert '<a href="tel:+15550199" dir="ltr">+1 555 0199</a>' in page


def test_the_care_teams_numbers_are_links_a_phone_can_dial(client, patient, delivered):
    """The same tel: address as the Today page: digits and + only ("tel:+1 555 0100" had spaces)."""
    log_in(client, patient.user)
    page = client.get(reverse("reminder-detail", args=[delivered.code])).text
    assert '<a href="tel:+15550100" dir="ltr">+1 555 0100</a>' in page
    assert '<a href="tel:+15550199" dir="ltr">+1 555 0199</a>' in page
    assert "tel:+1 " not in page
