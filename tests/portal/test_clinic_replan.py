"""Clinic-wide re-planning in batches (issue 13, point 4): a change of the clinic's reminder
settings or time zone is re-planned by the worker, a few patients per transaction, resumable
after a crash, each patient once per change, and a newer change supersedes an older one."""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase
from django.urls import reverse

from portal import services, staff
from portal.models import ClinicReplan, Reminder
from portal.reminders import clinics, rows
from portal.reminders.clinics import replan_clinics
from tests.helpers import log_in

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VISIT = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def fixed_clock(clock):
    return clock


@pytest.fixture
def seven(clinic, make_patient, make_visit):
    """Seven patients with a visit on 10 March, planned with the default settings (7 dressing days)."""
    found = []
    for n in range(7):
        patient = make_patient(clinic, f"p{n}@example.test")
        make_visit(patient, VISIT, time(10, 0))
        rows.replan_patient(patient, now=NOW)
        found.append(patient)
    return found


@pytest.fixture
def committed(monkeypatch):
    """Counts each patient's re-planning only when its batch commits (a batch that rolls back
    leaves no count), by wrapping the function the batches call."""
    counts: Counter[int] = Counter()
    real = clinics.replan_patient

    def counting(patient, **kwargs):
        transaction.on_commit(lambda: counts.update([patient.pk]))
        return real(patient, **kwargs)

    monkeypatch.setattr(clinics, "replan_patient", counting)
    return counts


def step(**kwargs) -> Counter[str]:
    """One pass of the worker's re-planning; what its batch left for after the commit runs (the
    test's own transaction never commits)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return replan_clinics(batch=3, **kwargs)


def dressing_checks(patient) -> int:
    return Reminder.objects.filter(
        patient=patient, rule="dressing_check", status=Reminder.Status.PENDING
    ).count()


def run_until_done(**kwargs) -> int:
    passes = 0
    while ClinicReplan.objects.filter(finished_at__isnull=True).exists():
        step(**kwargs)
        passes += 1
        assert passes < 20
    return passes


def test_a_settings_change_is_replanned_by_the_worker_in_batches(clinic, clinic_admin, seven, committed):
    services.update_clinic_reminder_settings(clinic=clinic, by=clinic_admin, dressing_days=10)
    # Saving the settings changes no reminder yet: the worker does it.
    assert [dressing_checks(p) for p in seven] == [7] * 7
    first = step()
    assert first["replanned"] == 3
    assert [dressing_checks(p) for p in seven] == [10, 10, 10, 7, 7, 7, 7]
    replan = ClinicReplan.objects.get(clinic=clinic)
    assert (replan.done, replan.total, replan.finished_at) == (3, 7, None)
    # 7 patients in batches of 3: 3 + 3 + 1, the last one short, so it is finished.
    assert run_until_done() == 2
    assert [dressing_checks(p) for p in seven] == [10] * 7
    assert committed == {p.pk: 1 for p in seven}
    replan.refresh_from_db()
    assert replan.done == 7 and replan.finished_at is not None
    # Nothing left: a further pass does nothing.
    assert step() == Counter()


def test_a_batch_that_dies_is_done_again_by_the_next_worker_and_no_patient_twice(
    clinic, clinic_admin, seven, committed, monkeypatch
):
    services.update_clinic_reminder_settings(clinic=clinic, by=clinic_admin, dressing_days=10)
    step()
    calls = {"n": 0}
    counting = clinics.replan_patient

    def dies_on_the_second_patient(patient, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the worker was killed")
        return counting(patient, **kwargs)

    monkeypatch.setattr(clinics, "replan_patient", dies_on_the_second_patient)
    with pytest.raises(RuntimeError):
        step()
    monkeypatch.setattr(clinics, "replan_patient", counting)
    # The batch rolled back: the fourth patient is as before, and the clinic is still held by the
    # dead worker's lease, so another worker leaves it alone until the lease ends.
    assert dressing_checks(seven[3]) == 7
    assert step() == Counter()
    later = NOW + clinics.LEASE + timedelta(seconds=1)
    run_until_done(now=later)
    assert [dressing_checks(p) for p in seven] == [10] * 7
    assert committed == {p.pk: 1 for p in seven}


def test_a_second_change_during_the_first_supersedes_it(clinic, clinic_admin, seven, committed):
    services.update_clinic_reminder_settings(clinic=clinic, by=clinic_admin, dressing_days=10)
    step()
    services.update_clinic_reminder_settings(clinic=clinic, by=clinic_admin, dressing_days=12)
    replan = ClinicReplan.objects.get(clinic=clinic)
    assert (replan.generation, replan.done, replan.after_patient) == (2, 0, 0)
    run_until_done()
    assert [dressing_checks(p) for p in seven] == [12] * 7
    # The first three were re-planned for both changes; the others only for the second.
    assert committed == {p.pk: (2 if n < 3 else 1) for n, p in enumerate(seven)}


def test_a_batch_of_a_superseded_change_rolls_back(clinic, clinic_admin, seven, committed, monkeypatch):
    """A newer change lands while a batch of the older one runs: that batch leaves nothing."""
    services.update_clinic_reminder_settings(clinic=clinic, by=clinic_admin, dressing_days=10)
    counting = clinics.replan_patient

    def newer_change_meanwhile(patient, **kwargs):
        result = counting(patient, **kwargs)
        # What another connection's commit looks like to the batch's final check.
        ClinicReplan.objects.filter(clinic=clinic).update(generation=99, after_patient=0)
        return result

    monkeypatch.setattr(clinics, "replan_patient", newer_change_meanwhile)
    assert step() == Counter()
    assert committed == Counter()
    assert [dressing_checks(p) for p in seven] == [7] * 7


def test_a_clinic_time_zone_change_is_replanned_too(clinic, clinic_admin, seven):
    staff.update_clinic_settings(clinic=clinic, by=clinic_admin, changes={"time_zone": "America/Chicago"})
    assert ClinicReplan.objects.filter(clinic=clinic, finished_at__isnull=True).exists()
    run_until_done()
    # Visits are at the clinic's wall time: 10:00 in Chicago on 10 March (daylight time since
    # 8 March, UTC-5) is 15:00 UTC, and the day-0 dressing check comes an hour after it (before
    # the change: 11:00 UTC).
    for patient in seven:
        check = Reminder.objects.filter(patient=patient, rule="dressing_check", day=VISIT).get()
        assert check.due_at == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


def test_the_settings_page_says_replanning_is_under_way(client, clinic, clinic_admin, seven):
    url = reverse("clinic-reminder-settings", args=[clinic.code])
    log_in(client, clinic_admin)
    assert "being planned again" not in client.get(url).text
    response = client.post(
        url,
        {
            "visit_reminder_on": "on",
            "dressing_check_on": "on",
            "dressing_review_on": "on",
            "symptom_watch_on": "on",
            "dressing_days": "9",
            "symptom_days": "3",
            "default_reminder_time": "09:00",
        },
        follow=True,
    )
    assert "Every patient&#x27;s reminders are being planned again." in response.text
    assert "0 of 7 patients done" in response.text
    step()
    assert "3 of 7 patients done" in client.get(url).text
    run_until_done()
    assert "being planned again" not in client.get(url).text


def test_the_worker_command_replans_clinics(clinic, clinic_admin, seven):
    services.update_clinic_reminder_settings(clinic=clinic, by=clinic_admin, dressing_days=10)
    call_command("sendreminders", once=True)
    replan = ClinicReplan.objects.get(clinic=clinic)
    # One batch per pass (25 patients by default): all seven here.
    assert replan.finished_at is not None
    assert [dressing_checks(p) for p in seven] == [10] * 7
