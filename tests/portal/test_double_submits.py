"""Six identical requests at once make one row, and the others get a clear message, on
SQLite and on PostgreSQL (issue 8, point 12). Real concurrent requests: a gunicorn with
several workers on its own database, and one thread per browser, released together."""

import re
import threading
from datetime import time, timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from portal.demo import HOME_PASSWORD
from portal.models import InjectionVisit
from tests.helpers import log_in
from tests.portal.test_processes import browser, totp_now
from tests.processes import Site, csrf_post

AT_ONCE = 6


def at_once(signed_in: requests.Session, url: str, data: dict[str, str]) -> list[int]:
    """POST the same form from AT_ONCE tabs of one signed-in browser, all released together."""
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', signed_in.get(url, timeout=30).text)
    assert token
    barrier = threading.Barrier(AT_ONCE)
    statuses: list[int] = []

    def submit() -> None:
        tab = browser()
        tab.cookies.update(signed_in.cookies)
        barrier.wait()
        response = tab.post(
            url, data={"csrfmiddlewaretoken": token.group(1), **data}, allow_redirects=False, timeout=60
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=submit) for _ in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return statuses


def one_row(day: str, at: str) -> dict[str, str]:
    """The course plan's list with one visit on it, as the nurse's browser posts it."""
    return {
        "visit-TOTAL_FORMS": "1",
        "visit-INITIAL_FORMS": "0",
        "visit-0-keep": "on",
        "visit-0-local_date": day,
        "visit-0-local_time": at,
        "visit-0-sites": "left arm",
    }


def plan_one(client, patient, day: str, at: str):  # type: ignore[no-untyped-def]
    """Save one visit through the course plan, ticking "save anyway" for the warnings shown."""
    url = reverse("course-plan", args=[patient.code])
    checked = client.post(url, {**one_row(day, at), "action": "check"})
    seen = re.search(r'name="seen" value="([^"]*)"', checked.text)
    assert seen, checked.text
    return client.post(url, {**one_row(day, at), "action": "save", "confirm": "on", "seen": seen.group(1)})


def count(site: Site, query: str) -> int:
    out = site.manage("shell", "-v", "0", "-c", f"from portal.models import *; print({query})")
    return int(out.strip().splitlines()[-1])


def test_six_simultaneous_submits_make_one_row_each(site):
    server = site.web_server(workers=3)
    staff = browser()
    csrf_post(
        staff, server + "/accounts/login/", {"login": "clinician@demo.example", "password": "demo-staff-2026"}
    )
    assert csrf_post(staff, server + "/accounts/2fa/authenticate/", {"code": totp_now()}).url.endswith(
        "/clinic/"
    )

    # Six enrolments of one email: one patient, one invitation, one email.
    enrol = server + "/patients/enrol/"
    clinic = re.search(r'name="clinic" value="(\d+)"', staff.get(enrol, timeout=30).text).group(1)
    data = {
        "clinic": clinic,
        "name": "Rosa",
        "email": "rosa@example.test",
        "language": "en",
        "time_zone": "UTC",
    }
    statuses = at_once(staff, enrol, data)
    assert sorted(statuses) == [200] * (AT_ONCE - 1) + [302], statuses
    assert count(site, "Patient.objects.filter(email='rosa@example.test').count()") == 1
    assert count(site, "Invitation.objects.filter(email='rosa@example.test').count()") == 1
    assert count(site, "OutgoingEmail.objects.filter(to='rosa@example.test').count()") == 1

    # Six adds of one visit: one visit.
    patient_code = site.manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from portal.models import Patient; print(Patient.objects.get(email='patient@demo.example').code)",
    ).strip()
    day = (timezone.localdate() + timedelta(days=3)).isoformat()
    visits = "InjectionVisit.objects.exclude(status='cancelled').count()"
    before = count(site, visits)
    plan = f"{server}/patients/{patient_code}/course/plan/"
    data = {**one_row(day, "07:15"), "action": "check"}
    seen = re.search(r'name="seen" value="([^"]*)"', csrf_post(staff, plan, data).text)
    assert seen
    data = {**data, "action": "save", "confirm": "on", "seen": seen.group(1)}
    statuses = at_once(staff, plan, data)
    assert sorted(statuses) == [200] * (AT_ONCE - 1) + [302], statuses
    assert count(site, visits) == before + 1

    # Six caregiver invites by the patient: one link, one email.
    patient = browser()
    csrf_post(
        patient, server + "/accounts/login/", {"login": "patient@demo.example", "password": HOME_PASSWORD}
    )
    data = {
        "email": "helper@example.test",
        "name": "Helper",
        "handles_dressings": "on",
        "gets_reminders": "on",
    }
    statuses = at_once(patient, f"{server}/patients/{patient_code}/caregivers/invite/", data)
    assert sorted(statuses) == [200] * (AT_ONCE - 1) + [302], statuses
    assert count(site, "CaregiverLink.objects.filter(email='helper@example.test').count()") == 1
    assert count(site, "OutgoingEmail.objects.filter(to='helper@example.test').count()") == 1
    assert "Traceback" not in site.log()


@pytest.mark.django_db
def test_a_second_visit_at_the_same_time_is_refused_in_words(client, clinician, patient, make_visit):
    day = timezone.localdate() + timedelta(days=10)
    make_visit(patient, day, time(10, 0))
    log_in(client, clinician)
    response = plan_one(client, patient, day.isoformat(), "10:00")
    assert response.status_code == 200
    assert "There is already a visit on" in response.text
    assert "visit_one_per_patient_and_time" not in response.text
    assert InjectionVisit.objects.count() == 1


@pytest.mark.django_db
def test_a_cancelled_visit_frees_its_time(clinician, patient, make_visit):
    from portal import services

    day = timezone.localdate() + timedelta(days=10)
    make_visit(patient, day, time(10, 0), status=InjectionVisit.Status.CANCELLED)
    services.add_visit(patient=patient, by=clinician, local_date=day, local_time=time(10, 0))
    assert InjectionVisit.objects.count() == 2


@pytest.mark.django_db
def test_the_refusal_is_in_the_readers_language(client, clinician, patient, make_visit):
    day = timezone.localdate() + timedelta(days=10)
    make_visit(patient, day, time(10, 0))
    clinician.language = "es"
    clinician.save(update_fields=["language"])
    log_in(client, clinician)
    response = plan_one(client, patient, day.isoformat(), "10:00")
    assert "Ya hay una visita el" in response.text
