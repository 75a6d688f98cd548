"""Constant SQL query counts: the clinic home, the patient list, a patient's pages and the API
lists make as many queries for a clinic with 50 times the data as for one with a little."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal import assignments
from portal.api_keys import create_api_key
from portal.models import (
    AssignmentProgress,
    CaregiverLink,
    Delivery,
    InjectionVisit,
    Patient,
    Reminder,
    TeachBackAnswer,
    TreatmentCourse,
    User,
)
from tests.helpers import log_in

SLUGS = ["dressing-care", "when-to-call", "for-caregivers"]


def build(clinic, clinician, scale: int, tag: str) -> Patient:
    """``scale`` patients, each with a caregiver, ``scale`` visits, reading progress and
    reminders with deliveries. Returns the first patient."""
    today = timezone.localdate()
    now = timezone.now()
    first = None
    for i in range(scale):
        user = User.objects.create_user(f"{tag}-p{i}@example.test")
        patient = Patient.objects.create(
            clinic=clinic, user=user, name=f"{tag} Patient {i}", email=user.email, time_zone="UTC"
        )
        first = first or patient
        helper = User.objects.create_user(f"{tag}-c{i}@example.test")
        CaregiverLink.objects.create(
            patient=patient, caregiver=helper, email=helper.email, status="active", consented_at=now
        )
        CaregiverLink.objects.create(patient=patient, email=f"{tag}-inv{i}@example.test")
        course = TreatmentCourse.objects.create(patient=patient, started_on=today)
        visits = InjectionVisit.objects.bulk_create(
            InjectionVisit(
                course=course,
                patient=patient,
                local_date=today + timedelta(days=14 * v - 7),
                local_time=timezone.datetime.min.time(),
            )
            for v in range(scale)
        )
        reminders = Reminder.objects.bulk_create(
            Reminder(
                recipient=user,
                patient=patient,
                visit=visit,
                rule="dressing_check",
                audience="patient",
                day=visit.local_date,
                due_at=now - timedelta(hours=1 + v),
                next_attempt_at=now,
                status=Reminder.Status.SENT if v % 2 else Reminder.Status.FAILED,
            )
            for v, visit in enumerate(visits)
        )
        Delivery.objects.bulk_create(
            Delivery(reminder=reminder, channel=channel, status="sent")
            for reminder in reminders
            for channel in ("inbox", "email")
        )
        for assignment in assignments.assign_modules(
            patient=patient, by=clinician, slugs=SLUGS, now=now - timedelta(days=30)
        ):
            reader = helper if assignment.module_slug == "for-caregivers" else user
            progress = AssignmentProgress.objects.create(
                assignment=assignment, reader=reader, state="opened", opened_at=now, module_version=1
            )
            TeachBackAnswer.objects.create(
                progress=progress, question_id="q1", answer="a", correct=True, module_version=1
            )
    return first


def count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


@pytest.fixture
def sizes(clinic, other_clinic, clinician, make_staff):
    """The same pages, measured for a small clinic and for one with 50 times the data."""
    small_staff = clinician
    big_staff = make_staff(other_clinic, "big@example.test")
    small = build(clinic, small_staff, 1, "s")
    big = build(other_clinic, big_staff, 50, "b")
    return [(small_staff, small, clinic), (big_staff, big, other_clinic)]


PAGES = [
    lambda p: "/clinic/",
    lambda p: "/patients/",
    lambda p: f"/patients/{p.code}/",
    lambda p: f"/patients/{p.code}/course/",
    lambda p: f"/patients/{p.code}/reading/",
]
API_LISTS = [
    lambda p: "/api/v1/patients/",
    lambda p: f"/api/v1/patients/{p.code}/visits/",
    lambda p: f"/api/v1/patients/{p.code}/courses/",
    lambda p: f"/api/v1/patients/{p.code}/assignments/",
    lambda p: f"/api/v1/patients/{p.code}/reminders/",
]


@pytest.mark.parametrize("page", range(len(PAGES)))
def test_clinic_pages_make_a_fixed_number_of_queries(sizes, page):
    counts = []
    for staff, patient, _clinic in sizes:
        client = Client()
        log_in(client, staff)
        client.get("/clinic/")  # warm the session
        counts.append(count(client, PAGES[page](patient)))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("page", range(len(API_LISTS)))
def test_api_lists_make_a_fixed_number_of_queries(sizes, clinic_admin, page):
    counts = []
    for _staff, patient, clinic in sizes:
        key = create_api_key(clinic=clinic, by=clinic_admin, name="EHR", scope="read").key
        client = Client(headers={"Authorization": f"Bearer {key}"})
        client.get("/api/v1/modules/")  # the key's first use is written once
        counts.append(count(client, API_LISTS[page](patient)))
    assert counts[0] == counts[1], counts
