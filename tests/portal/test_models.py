"""Invariants the database itself holds, whatever code writes the rows."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from portal.models import CaregiverLink, Clinic, Delivery, InjectionVisit, Patient, Reminder, TreatmentCourse


def test_one_active_link_per_patient_and_caregiver(patient, caregiver):
    with pytest.raises(IntegrityError), transaction.atomic():
        CaregiverLink.objects.create(
            patient=patient,
            caregiver=caregiver,
            email=caregiver.email,
            status="active",
            consented_at=patient.created_at,
        )


def test_revoked_links_may_repeat(patient, link_caregiver):
    link_caregiver(patient, "a@example.test", CaregiverLink.Status.REVOKED)
    link_caregiver(patient, "a@example.test", CaregiverLink.Status.REVOKED)
    link_caregiver(patient, "a@example.test", CaregiverLink.Status.ACTIVE)


def test_pregnant_caregiver_cannot_handle_dressings_in_the_database(patient, link_caregiver):
    with pytest.raises(IntegrityError), transaction.atomic():
        link_caregiver(patient, "b@example.test", handles_dressings=True, pregnant_or_immunocompromised=True)


def test_active_link_needs_consent(patient, make_user):
    user = make_user("c@example.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        CaregiverLink.objects.create(patient=patient, caregiver=user, email=user.email, status="active")


@pytest.mark.parametrize("model", ["clinic", "patient"])
def test_unknown_time_zones_are_refused(clinic, model):
    with pytest.raises(IntegrityError), transaction.atomic():
        if model == "clinic":
            Clinic.objects.create(
                name="X", phone_daytime="1", phone_after_hours="2", time_zone="Mars/Olympus"
            )
        else:
            Patient.objects.create(clinic=clinic, name="X", email="x@example.test", time_zone="Mars/Olympus")
    with pytest.raises(ValidationError):
        Patient(clinic=clinic, name="X", email="x@example.test", time_zone="Mars/Olympus").full_clean()


def test_quiet_hours_are_both_or_neither(clinic):
    from datetime import time

    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(
            clinic=clinic, name="X", email="x@example.test", time_zone="UTC", quiet_start=time(22)
        )


def test_course_cannot_end_before_it_starts(patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentCourse.objects.create(
            patient=patient, started_on=date(2026, 5, 1), ended_on=date(2026, 4, 1)
        )


def test_a_visit_belongs_to_the_patient_of_its_course(patient, other_patient, make_visit):
    visit = make_visit(patient, date(2026, 5, 1))
    assert visit.patient == visit.course.patient == patient
    # The database refuses a visit that names another patient than its course's.
    with pytest.raises(IntegrityError), transaction.atomic():
        InjectionVisit.objects.filter(pk=visit.pk).update(patient=other_patient)


def test_emails_are_unique_whatever_the_case(make_user):
    make_user("Same@Example.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("same@example.test")


@pytest.mark.parametrize("model", [Reminder, Delivery])
def test_the_workers_tables_keep_no_index_that_another_covers(db, model):
    """Every claim, finish and delivery writes each index of these tables: an index whose
    columns begin another index serves no lookup the longer one does not, and is written for
    nothing (a sixth of one worker's morning rush, BENCHMARKS.md)."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    indexes = {name: c["columns"] for name, c in found.items() if c["index"] or c["unique"]}
    covered = [
        (name, longer)
        for name, columns in indexes.items()
        if not found[name]["unique"]
        for longer, other in indexes.items()
        if len(other) > len(columns) and other[: len(columns)] == columns
    ]
    assert covered == []
