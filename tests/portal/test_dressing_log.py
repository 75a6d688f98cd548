"""B7: "look again tomorrow" now has something behind it. The dressing review (and check) page
asks whether every site is dry; "still weeping or oozing" keeps a daily check and review going
until "dry", for at most 14 days after the review, and the last review says to call."""

from datetime import UTC, date, datetime, time

import pytest
from django.urls import reverse

from portal import services
from portal.models import DressingLogEntry, Reminder
from portal.reminders import replan_patient, send_due_reminders
from portal.reminders.texts import render_reminder
from tests.helpers import log_in

# Visit 1 March 10:00 UTC; 7 dressing days; the review is due 8 March 09:00 UTC.
VISIT_DAY = date(2026, 3, 1)
REVIEW_DUE = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)


@pytest.fixture
def review(patient, make_visit, clock):
    make_visit(patient, VISIT_DAY, time(10, 0))
    replan_patient(patient, now=datetime(2026, 2, 20, tzinfo=UTC))
    clock.now = REVIEW_DUE
    send_due_reminders(now=REVIEW_DUE)
    return Reminder.objects.get(patient=patient, recipient=patient.user, rule="dressing_review")


def pending_days(patient, rule):
    return list(
        Reminder.objects.filter(patient=patient, recipient=patient.user, rule=rule, status="pending")
        .order_by("day")
        .values_list("day", flat=True)
    )


def test_the_review_page_offers_the_two_answers(client, patient, review):
    log_in(client, patient.user)
    page = client.get(reverse("reminder-detail", args=[review.code])).text
    assert "All sites are dry" in page and "Still weeping or oozing" in page
    assert reverse("reminder-dressing-report", args=[review.code]) in page


def test_still_weeping_plans_tomorrows_check_and_review_until_dry(
    client, patient, review, link_caregiver, clock
):
    helper = link_caregiver(patient, "helper@example.test").caregiver
    replan_patient(patient, now=clock.now)
    log_in(client, patient.user)
    clock.now = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)
    response = client.post(reverse("reminder-dressing-report", args=[review.code]), {"kind": "weeping"})
    assert response.status_code == 302
    entry = DressingLogEntry.objects.get()
    assert (entry.kind, entry.recorded_by, entry.visit, entry.at) == (
        "weeping",
        patient.user,
        review.visit,
        clock.now,
    )
    # 9 March 09:00: a check and a review again, for the patient and the caregiver who helps.
    assert pending_days(patient, "dressing_review")[:1] == [date(2026, 3, 9)]
    assert pending_days(patient, "dressing_check")[:1] == [date(2026, 3, 9)]
    assert Reminder.objects.filter(recipient=helper, rule="dressing_review", day=date(2026, 3, 9)).exists()
    due = Reminder.objects.get(recipient=patient.user, rule="dressing_review", day=date(2026, 3, 9)).due_at
    assert due == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)

    # The follow-up says it is 8 days since the treatment; the caregiver answers "dry" on 9 March.
    send_due_reminders(now=due)
    follow_up = Reminder.objects.get(recipient=helper, rule="dressing_review", day=date(2026, 3, 9))
    assert "It is 8 days since the last treatment." in render_reminder(follow_up).body
    log_in(client, helper)
    clock.now = datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
    client.post(reverse("reminder-dressing-report", args=[follow_up.code]), {"kind": "dry"})
    assert pending_days(patient, "dressing_review") == []
    assert pending_days(patient, "dressing_check") == []


def test_the_last_follow_up_says_to_call_the_care_team(patient, review, clock):
    services.record_dressing_report(patient=patient, by=patient.user, kind="weeping", at=REVIEW_DUE)
    days = pending_days(patient, "dressing_review")
    assert days == [date(2026, 3, d) for d in range(9, 23)]  # 8 March + 1 .. 8 March + 14
    last = Reminder.objects.get(recipient=patient.user, rule="dressing_review", day=date(2026, 3, 22))
    body = render_reminder(last).body
    assert "It is 21 days since the last treatment." in body
    # Still weeping three weeks on is a site that does not heal: the same action as everywhere.
    assert (
        "A site that still weeps or oozes is not healing. "
        "Keep it covered with a dressing and call your care team now."
    ) in body
    assert "look again tomorrow" not in body
    earlier = Reminder.objects.get(recipient=patient.user, rule="dressing_review", day=date(2026, 3, 21))
    assert "look again tomorrow" in render_reminder(earlier).body


def test_only_the_two_answers_and_only_on_dressing_reminders(client, patient, review, make_visit):
    log_in(client, patient.user)
    url = reverse("reminder-dressing-report", args=[review.code])
    response = client.post(url, {"kind": "changed"}, follow=True)
    assert "Choose one of the two answers." in response.text
    assert client.get(url).status_code == 405
    assert not DressingLogEntry.objects.exists()
    symptom = Reminder.objects.get(recipient=patient.user, rule="symptom_watch", day=VISIT_DAY)
    assert (
        client.post(reverse("reminder-dressing-report", args=[symptom.code]), {"kind": "dry"}).status_code
        == 404
    )


def test_nobody_else_answers_for_a_reminder(client, patient, other_patient, clinician, review):
    url = reverse("reminder-dressing-report", args=[review.code])
    for outsider in (other_patient.user, clinician):
        log_in(client, outsider)
        assert client.post(url, {"kind": "weeping"}).status_code == 404
    assert not DressingLogEntry.objects.exists()


@pytest.mark.django_db
def test_the_log_refuses_unknown_kinds_in_the_database(patient):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        DressingLogEntry.objects.create(patient=patient, recorded_by=patient.user, kind="wet")
