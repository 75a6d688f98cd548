"""/healthz: 200 when the database takes a write and the worker keeps up (issue 8, point 14)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from portal.models import OutgoingEmail, Reminder


def test_healthz_is_200_when_the_database_answers(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_when_the_database_takes_no_write(client):
    read_only, writable = {
        "sqlite": ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),
        "postgresql": ("SET default_transaction_read_only = on", "SET default_transaction_read_only = off"),
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(read_only)
    try:
        response = client.get(reverse("healthz"))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(writable)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "problem": "database"}


def test_healthz_is_503_when_a_due_reminder_waits_too_long(client, patient, make_visit, settings):
    visit = make_visit(patient, timezone.localdate())
    due = timezone.now() - timedelta(seconds=settings.HEALTH_MAX_WORKER_LAG_SECONDS + 60)
    Reminder.objects.create(
        recipient=patient.user,
        patient=patient,
        visit=visit,
        rule="dressing_check",
        audience="patient",
        day=visit.local_date,
        due_at=due,
        next_attempt_at=due,
    )
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["problem"] == "worker"
    # A reminder due a moment ago is the worker's next job, not a sign it is behind.
    Reminder.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=5))
    assert client.get(reverse("healthz")).status_code == 200


def test_healthz_is_503_when_an_email_waits_too_long(client, db, settings):
    due = timezone.now() - timedelta(seconds=settings.HEALTH_MAX_WORKER_LAG_SECONDS + 60)
    OutgoingEmail.objects.create(kind="login_code", to="a@example.test", subject="x", next_attempt_at=due)
    assert client.get(reverse("healthz")).json()["problem"] == "worker"
