"""Reminder rows derived from visits (DESIGN.md section 4, guarantee 1), through the services
that change visits, settings and caregiver links."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from portal import services
from portal.models import CaregiverLink, ClinicReminderSettings, InjectionVisit, Reminder
from portal.reminders import replan_patient, send_due_reminders
from portal.reminders.clinics import replan_clinics
from tests.helpers import log_in

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(clock):
    """Services re-plan at timezone.now(): 1 March 2026 12:00 UTC here, whatever today is."""
    return clock


def rows(patient, **filters):
    return Reminder.objects.filter(patient=patient, **filters).order_by("due_at", "rule", "recipient_id")


def plan_of(patient, user, status=Reminder.Status.PENDING):
    return sorted(
        (r.rule, r.day)
        for r in Reminder.objects.filter(patient=patient, recipient=user, status=status).order_by("day")
    )


def in_days(n: int) -> date:
    return NOW.date() + timedelta(days=n)


@pytest.fixture
def household(patient, link_caregiver):
    """The patient, a caregiver who helps with dressings, one who must not, one who asked for no
    reminders, and one whose link was revoked."""
    return {
        "handler": link_caregiver(patient, "helper@example.test").caregiver,
        "unsafe": link_caregiver(
            patient, "pregnant@example.test", handles_dressings=False, pregnant_or_immunocompromised=True
        ).caregiver,
        "quiet": link_caregiver(patient, "noreminders@example.test", gets_reminders=False).caregiver,
        "revoked": link_caregiver(patient, "gone@example.test", CaregiverLink.Status.REVOKED).caregiver,
    }


def test_each_recipient_gets_the_rules_of_their_audience(patient, household, make_visit):
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=NOW)
    d = date(2026, 3, 10)
    checks = [("dressing_check", d + timedelta(days=n)) for n in range(7)]
    assert plan_of(patient, patient.user) == sorted(
        [("visit_reminder", d - timedelta(days=1)), *checks, ("dressing_review", d + timedelta(days=7))]
        + [("symptom_watch", d + timedelta(days=n)) for n in range(3)]
    )
    assert plan_of(patient, household["handler"]) == sorted(
        [*checks, ("dressing_review", d + timedelta(days=7))]
    )
    # Pregnant or immunocompromised: the safety version, never "check/replace the dressing".
    assert plan_of(patient, household["unsafe"]) == [
        ("dressing_safety", d + timedelta(days=n)) for n in range(7)
    ]
    assert plan_of(patient, household["quiet"]) == []
    assert plan_of(patient, household["revoked"]) == []
    assert set(rows(patient, recipient=household["unsafe"]).values_list("audience", flat=True)) == {
        "caregiver_non_handler"
    }


def test_rows_land_at_the_planned_utc_times_across_dst(make_clinic, make_patient, make_visit):
    """New York springs forward on 8 March 2026: 09:00 local is 14:00 UTC before, 13:00 after."""
    clinic = make_clinic("East Clinic", time_zone="America/New_York")
    patient = make_patient(clinic, "ny@example.test", time_zone="America/New_York", reminder_time=time(9, 0))
    make_visit(patient, date(2026, 3, 6), time(8, 0))
    replan_patient(patient, now=NOW)
    checks = list(rows(patient, rule="dressing_check").values_list("day", "due_at"))
    assert checks[0] == (date(2026, 3, 6), datetime(2026, 3, 6, 14, 0, tzinfo=UTC))
    assert checks[1] == (date(2026, 3, 7), datetime(2026, 3, 7, 14, 0, tzinfo=UTC))
    assert checks[2] == (date(2026, 3, 8), datetime(2026, 3, 8, 13, 0, tzinfo=UTC))
    assert rows(patient, rule="visit_reminder").get().due_at == datetime(2026, 3, 5, 14, 0, tzinfo=UTC)


def test_planning_twice_changes_nothing(patient, household, make_visit):
    make_visit(patient, date(2026, 3, 10))
    first = replan_patient(patient, now=NOW)
    before = list(rows(patient).values_list("pk", "recipient_id", "rule", "day", "due_at", "status"))
    second = replan_patient(patient, now=NOW)
    assert first.created == len(before) > 0
    assert second.changed == 0
    assert list(rows(patient).values_list("pk", "recipient_id", "rule", "day", "due_at", "status")) == before


def test_only_future_rows_are_created(patient, make_visit):
    make_visit(patient, date(2026, 2, 27))  # 1 March is day 2 of its dressing period
    replan_patient(patient, now=NOW)
    # Today's 09:00 check and symptom reminder passed (it is 12:00): due now, not lost.
    assert list(rows(patient).filter(due_at__lte=NOW).values_list("rule", "day", "due_at")) == [
        ("dressing_check", date(2026, 3, 1), NOW),
        ("symptom_watch", date(2026, 3, 1), NOW),
    ]
    assert min(rows(patient).exclude(day=date(2026, 3, 1)).values_list("due_at", flat=True)) > NOW


def test_moving_a_visit_cancels_old_rows_and_keeps_sent_ones(patient, clinician):
    visit = services.add_visit(patient=patient, by=clinician, local_date=in_days(5), local_time=time(10, 0))
    pending = rows(patient, status=Reminder.Status.PENDING)
    assert pending.count() == 1 + 7 + 1 + 3
    sent = pending.filter(rule="visit_reminder").get()
    Reminder.objects.filter(pk=sent.pk).update(status=Reminder.Status.SENT)

    services.change_visit(visit=visit, by=clinician, local_date=in_days(9))
    sent.refresh_from_db()
    assert (sent.status, sent.day) == (Reminder.Status.SENT, in_days(4))
    assert set(rows(patient, status=Reminder.Status.PENDING).values_list("day", flat=True)) == {
        in_days(9) + timedelta(days=n) for n in range(-1, 8)
    }
    assert not rows(patient, status=Reminder.Status.PENDING, day=in_days(5)).exists()
    assert rows(patient, status=Reminder.Status.CANCELLED, day=in_days(5)).exists()

    # Moving it back reuses the cancelled rows: the unique key (recipient, visit, rule, day) holds.
    services.change_visit(visit=visit, by=clinician, local_date=in_days(5))
    assert rows(patient, status=Reminder.Status.PENDING).count() == 7 + 1 + 3  # the sent one stays sent
    assert rows(patient, day=in_days(5), rule="dressing_check").count() == 1


@pytest.mark.parametrize("status", [InjectionVisit.Status.CANCELLED, InjectionVisit.Status.MISSED])
def test_cancelled_or_missed_visit_cancels_its_reminders(patient, clinician, status):
    visit = services.add_visit(patient=patient, by=clinician, local_date=in_days(5), local_time=time(10, 0))
    services.change_visit(visit=visit, by=clinician, status=status)
    assert not rows(patient, status=Reminder.Status.PENDING).exists()
    assert rows(patient, status=Reminder.Status.CANCELLED).count() == 12


def test_completed_visit_keeps_its_reminders(patient, clinician):
    visit = services.add_visit(patient=patient, by=clinician, local_date=in_days(5), local_time=time(10, 0))
    services.change_visit(visit=visit, by=clinician, status=InjectionVisit.Status.DONE)
    assert rows(patient, status=Reminder.Status.PENDING).count() == 12


def test_a_new_visit_cuts_the_previous_dressing_period(patient, clinician):
    services.add_visit(patient=patient, by=clinician, local_date=in_days(5), local_time=time(10, 0))
    services.add_visit(patient=patient, by=clinician, local_date=in_days(8), local_time=time(10, 0))
    days = list(
        rows(patient, status=Reminder.Status.PENDING, rule="dressing_check").values_list("day", flat=True)
    )
    assert days == [in_days(n) for n in range(5, 15)]  # never two checks on one day


def test_settings_change_moves_pending_reminders(patient, clinician):
    services.add_visit(patient=patient, by=clinician, local_date=in_days(5), local_time=time(7, 0))
    services.update_patient_settings(patient=patient, by=patient.user, reminder_time=time(18, 30))
    due = rows(patient, status=Reminder.Status.PENDING, rule="dressing_check").first().due_at
    assert due.astimezone(UTC).time() == time(18, 30)
    services.update_patient_settings(
        patient=patient,
        by=patient.user,
        time_zone="Asia/Tokyo",
        quiet_start=time(18, 0),
        quiet_end=time(20, 0),
    )
    for row in rows(patient, status=Reminder.Status.PENDING, rule="dressing_check"):
        local = row.due_at.astimezone(timezone.get_fixed_timezone(9 * 60))
        assert local.time() == time(20, 0)  # 18:30 in Tokyo falls in quiet hours until 20:00


def test_revoking_a_caregiver_cancels_their_reminders(patient, clinician, link_caregiver):
    link = link_caregiver(patient, "helper@example.test")
    services.add_visit(patient=patient, by=clinician, local_date=in_days(5), local_time=time(10, 0))
    assert rows(patient, recipient=link.caregiver, status=Reminder.Status.PENDING).count() == 8
    services.revoke_caregiver(link=link, by=patient.user)
    assert not rows(patient, recipient=link.caregiver, status=Reminder.Status.PENDING).exists()
    assert rows(patient, recipient=patient.user, status=Reminder.Status.PENDING).count() == 12


@pytest.mark.django_db(transaction=True)
def test_accepting_a_caregiver_invitation_plans_their_reminders(patient, clinician):
    services.add_visit(patient=patient, by=clinician, local_date=in_days(5), local_time=time(10, 0))
    link = services.invite_caregiver(
        patient=patient,
        by=patient.user,
        email="new.helper@example.test",
        handles_dressings=False,
        pregnant_or_immunocompromised=True,
    )
    invitation = link.invitations.get()
    accepted = services.accept_invitation(token=services.invitation_token(invitation), user=None)
    assert set(
        rows(patient, recipient=accepted.user, status=Reminder.Status.PENDING).values_list("rule", flat=True)
    ) == {"dressing_safety"}


def test_caregiver_reminders_follow_their_own_time_and_zone(patient, clinician, link_caregiver):
    caregiver = link_caregiver(patient, "helper@example.test").caregiver
    services.update_reminder_preferences(user=caregiver, time_zone="Europe/Berlin", reminder_time=time(20, 0))
    services.add_visit(patient=patient, by=clinician, local_date=in_days(5), local_time=time(10, 0))
    for row in rows(patient, recipient=caregiver, rule="dressing_check"):
        assert row.due_at.astimezone(timezone.get_fixed_timezone(0)).hour in (18, 19)  # 20:00 CET/CEST


def test_clinic_settings_switch_rules_and_lengthen_the_dressing_period(
    patient, clinician, clinic_admin, clinic
):
    services.add_visit(patient=patient, by=clinician, local_date=in_days(5), local_time=time(10, 0))
    services.update_clinic_reminder_settings(
        clinic=clinic,
        by=clinic_admin,
        symptom_watch_on=False,
        dressing_days=10,
        visit_reminder_time=time(17, 0),
    )
    replan_clinics()  # the worker's part (tests/portal/test_clinic_replan.py)
    pending = rows(patient, status=Reminder.Status.PENDING)
    assert not pending.filter(rule="symptom_watch").exists()
    assert pending.filter(rule="dressing_check").count() == 10
    assert pending.get(rule="dressing_review").day == in_days(15)
    assert pending.get(rule="visit_reminder").due_at.time() == time(17, 0)


def test_clinics_cannot_shorten_the_dressing_period(clinic, clinic_admin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.update_clinic_reminder_settings(clinic=clinic, by=clinic_admin, dressing_days=2)
    assert not ClinicReminderSettings.objects.filter(clinic=clinic, dressing_days=2).exists()


def test_patient_without_an_account_gets_no_rows_until_they_join(clinic, make_patient, make_visit):
    patient = make_patient(clinic, "later@example.test", account=False)
    make_visit(patient, date(2026, 3, 10))
    assert replan_patient(patient, now=NOW).created == 0


def test_demo_data_comes_with_planned_reminders(db):
    from portal.demo import seed_demo
    from portal.models import Patient

    seed_demo()
    patient = Patient.objects.get(email="patient@demo.example")
    pending = rows(patient, status=Reminder.Status.PENDING)
    assert pending.filter(recipient=patient.user).exists()
    assert pending.exclude(recipient=patient.user).filter(rule="dressing_check").exists()
    seed_demo()
    assert rows(patient, status=Reminder.Status.PENDING).count() == pending.count()


def test_rows_land_at_hand_computed_times(make_clinic, make_patient, make_visit, link_caregiver):
    """A patient in New York (07:30, quiet 22:00-08:00) and a caregiver in Berlin (02:30) for a
    visit on 6 March 09:00 EST. US clocks change on 8 March, EU clocks on 29 March."""
    clinic = make_clinic("East Clinic", time_zone="America/New_York")
    patient = make_patient(
        clinic,
        "ny@example.test",
        time_zone="America/New_York",
        reminder_time=time(7, 30),
        quiet_start=time(22, 0),
        quiet_end=time(8, 0),
    )
    caregiver = link_caregiver(patient, "berlin@example.test").caregiver
    caregiver.time_zone, caregiver.reminder_time = "Europe/Berlin", time(2, 30)
    caregiver.save(update_fields=["time_zone", "reminder_time"])
    make_visit(patient, date(2026, 3, 6), time(9, 0))  # 14:00Z
    make_visit(patient, date(2026, 3, 27), time(16, 0))  # EDT: 20:00Z
    replan_patient(patient, now=NOW)

    def due(user, rule, day):
        return rows(patient, recipient=user, rule=rule, day=day).get().due_at

    # 07:30 EST is quiet, so 08:00 EST = 13:00Z; after 8 March 08:00 EDT = 12:00Z.
    assert due(patient.user, "visit_reminder", date(2026, 3, 5)) == datetime(2026, 3, 5, 13, 0, tzinfo=UTC)
    assert due(patient.user, "dressing_check", date(2026, 3, 6)) == datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    assert due(patient.user, "dressing_check", date(2026, 3, 7)) == datetime(2026, 3, 7, 13, 0, tzinfo=UTC)
    assert due(patient.user, "dressing_check", date(2026, 3, 9)) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert due(patient.user, "dressing_review", date(2026, 3, 13)) == datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
    # Berlin: 6 March 14:00Z is 15:00 CET, day 0 from 16:00 CET (15:00Z); 02:30 CET = 01:30Z;
    # 29 March 02:30 does not exist, 03:30 CEST = 01:30Z; 30 March 02:30 CEST = 00:30Z.
    assert due(caregiver, "dressing_check", date(2026, 3, 6)) == datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    assert due(caregiver, "dressing_check", date(2026, 3, 7)) == datetime(2026, 3, 7, 1, 30, tzinfo=UTC)
    # The second visit: 27 March 20:00Z = 21:00 CET; day 0 would be 22:00 CET (21:00Z).
    assert due(caregiver, "dressing_check", date(2026, 3, 27)) == datetime(2026, 3, 27, 21, 0, tzinfo=UTC)
    assert due(caregiver, "dressing_check", date(2026, 3, 29)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert due(caregiver, "dressing_check", date(2026, 3, 30)) == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)
    # 7 checks per visit per person; the first period is cut by nothing (13 March review).
    assert rows(patient, recipient=caregiver, rule="dressing_check").count() == 14
    assert rows(patient, recipient=patient.user, rule="visit_reminder").count() == 2


def test_a_worker_down_past_the_lateness_window_leaves_missed_rows_not_cancelled(
    client, patient, clinician, make_visit, settings
):
    """B1: the visit reminder was due 9 March 09:00; the worker was down until 13:00 (lateness
    120 minutes). The patient saves settings at 12:00: the overdue row stays pending, the worker
    marks it missed, and the clinic's log shows it as missed."""
    settings.REMINDER_MAX_LATENESS_MINUTES = 120
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=NOW)
    row = rows(patient, rule="visit_reminder").get()
    assert row.due_at == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    replan_patient(patient, now=datetime(2026, 3, 9, 12, 0, tzinfo=UTC))  # a settings save, say
    row.refresh_from_db()
    assert row.status == Reminder.Status.PENDING
    send_due_reminders(now=datetime(2026, 3, 9, 13, 0, tzinfo=UTC))
    row.refresh_from_db()
    assert row.status == Reminder.Status.MISSED
    log_in(client, clinician)
    from django.urls import reverse

    page = client.get(reverse("patient-reminders", args=[patient.code])).text
    assert "Appointment the next day" in page and "Missed (too late to send)" in page


def test_a_claimed_or_overdue_row_is_withdrawn_not_cancelled(patient, clinician, make_visit):
    visit = make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=NOW)
    row = rows(patient, rule="visit_reminder").get()
    Reminder.objects.filter(pk=row.pk).update(claim_token="00000000-0000-0000-0000-000000000001")
    visit.status = InjectionVisit.Status.CANCELLED
    visit.save(update_fields=["status"])
    result = replan_patient(patient, now=NOW)
    row.refresh_from_db()
    assert (row.status, row.withdrawn_at) == (Reminder.Status.PENDING, NOW)
    assert result.withdrawn == 1 and result.cancelled == 11
    # Planned again (the visit is back): the mark goes, still the worker's row.
    visit.status = InjectionVisit.Status.SCHEDULED
    visit.save(update_fields=["status"])
    replan_patient(patient, now=NOW)
    row.refresh_from_db()
    assert (row.status, row.withdrawn_at) == (Reminder.Status.PENDING, None)


def test_a_visit_entered_late_on_its_day_gets_a_day_zero_check_due_now(patient, clinician, clock):
    """B6, through the service: 1 March, a 10:00 UTC visit entered at 15:00 UTC."""
    clock.now = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
    services.add_visit(patient=patient, by=clinician, local_date=date(2026, 3, 1), local_time=time(10, 0))
    check = rows(patient, rule="dressing_check", day=date(2026, 3, 1)).get()
    assert check.due_at == datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
    assert rows(patient, rule="symptom_watch", day=date(2026, 3, 1)).get().due_at == check.due_at
    assert send_due_reminders(now=clock.now)["reminder_sent"] == 2


def test_moving_east_mid_day_keeps_that_days_reminder(make_clinic, make_patient, make_visit, clock):
    """B6: at 12:00Z a patient in New York (08:00 EDT, check at 09:00 = 13:00Z) moves to Berlin
    (14:00 CEST), where 09:00 has passed: the check is due now, not cancelled."""
    clinic = make_clinic("East Clinic", time_zone="America/New_York")
    patient = make_patient(clinic, "ny@example.test", time_zone="America/New_York")
    make_visit(patient, date(2026, 6, 10), time(10, 0))
    replan_patient(patient, now=datetime(2026, 6, 1, tzinfo=UTC))
    clock.now = datetime(2026, 6, 12, 12, 0, tzinfo=UTC)
    services.update_patient_settings(patient=patient, by=patient.user, time_zone="Europe/Berlin")
    check = rows(patient, rule="dressing_check", day=date(2026, 6, 12)).get()
    assert (check.status, check.due_at) == (Reminder.Status.PENDING, clock.now)
    assert rows(patient, rule="dressing_check", day=date(2026, 6, 13)).get().due_at == datetime(
        2026, 6, 13, 7, 0, tzinfo=UTC
    )


def test_two_visits_on_one_day_make_one_row_per_rule_and_day(patient, clinician):
    """B4 in the database: visits at 10:00 and 14:00 on 10 March (UTC)."""
    services.add_visit(patient=patient, by=clinician, local_date=in_days(9), local_time=time(10, 0))
    services.add_visit(patient=patient, by=clinician, local_date=in_days(9), local_time=time(14, 0))
    pending = rows(patient, status=Reminder.Status.PENDING)
    assert list(pending.filter(rule="visit_reminder").values_list("day", "due_at")) == [
        (date(2026, 3, 9), datetime(2026, 3, 9, 9, 0, tzinfo=UTC))
    ]
    assert list(pending.filter(rule="symptom_watch").values_list("day", flat=True)) == [
        date(2026, 3, 10),
        date(2026, 3, 11),
        date(2026, 3, 12),
    ]


def test_a_caregiver_who_becomes_pregnant_gets_the_safety_reminders(
    client, patient, clinician, link_caregiver
):
    from django.urls import reverse

    link = link_caregiver(patient, "helper@example.test")
    services.add_visit(patient=patient, by=clinician, local_date=in_days(5), local_time=time(10, 0))
    pending = rows(patient, recipient=link.caregiver, status=Reminder.Status.PENDING)
    assert set(pending.values_list("rule", flat=True)) == {"dressing_check", "dressing_review"}
    log_in(client, link.caregiver)
    url = reverse("caregiver-edit", args=[link.code])
    # Pregnant and still handling dressings is refused, and nothing changes.
    response = client.post(
        url, {"handles_dressings": "on", "pregnant_or_immunocompromised": "on", "gets_reminders": "on"}
    )
    assert response.status_code == 200
    link.refresh_from_db()
    assert (link.handles_dressings, link.pregnant_or_immunocompromised) == (True, False)
    response = client.post(url, {"pregnant_or_immunocompromised": "on", "gets_reminders": "on"})
    assert response.status_code == 302
    link.refresh_from_db()
    assert (link.handles_dressings, link.pregnant_or_immunocompromised) == (False, True)
    assert set(pending.values_list("rule", flat=True)) == {"dressing_safety"}


def test_only_the_people_around_a_caregiver_change_their_role(
    client, patient, other_patient, other_clinician, link_caregiver
):
    from django.urls import reverse

    link = link_caregiver(patient, "helper@example.test")
    url = reverse("caregiver-edit", args=[link.code])
    for outsider in (other_patient.user, other_clinician):
        log_in(client, outsider)
        assert client.post(url, {"gets_reminders": ""}).status_code == 404
    link.refresh_from_db()
    assert link.gets_reminders
    log_in(client, patient.user)
    assert client.post(url, {"handles_dressings": "on"}).status_code == 302
    link.refresh_from_db()
    assert not link.gets_reminders
