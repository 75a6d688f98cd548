"""The audit log: append-only in the database itself, and every staff read and change of
patient data leaves a row (issue 8, point 13)."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from portal import services
from portal.models import AuditEvent, User
from tests.helpers import log_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(clinician, patient):
    return services.record_audit(actor=clinician, action="patient.viewed", patient=patient)


def test_the_database_refuses_to_update_an_audit_event(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing.happened")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE portal_auditevent SET actor_email = 'someone@else.test'")
    event.refresh_from_db()
    assert (event.action, event.actor_email) == ("patient.viewed", "clinician@example.test")


def test_the_database_refuses_to_delete_an_audit_event(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM portal_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_trail_outlives_the_person(event, clinician):
    User.objects.filter(pk=clinician.pk).delete()
    event = AuditEvent.objects.select_related("actor").get(pk=event.pk)
    assert event.actor is None
    assert event.actor_email == "clinician@example.test"


def actions(patient) -> list[str]:
    return list(
        AuditEvent.objects.filter(patient_code=patient.code)
        .order_by("at", "pk")
        .values_list("action", flat=True)
    )


def test_every_staff_read_and_change_of_patient_data_is_audited(
    client, clinician, patient, caregiver, make_visit
):
    visit = make_visit(patient, timezone.localdate() + timedelta(days=5))
    link = patient.caregiver_links.get(caregiver=caregiver)
    patient.user = None
    patient.save(update_fields=["user"])
    log_in(client, clinician)
    pages = [
        (f"/en/guide/dressing-care/?for={patient.code}", "patient.handout_printed"),
        (reverse("visit-manage", args=[visit.code]), "visit.viewed"),
        (reverse("caregiver-edit", args=[link.code]), "caregiver.viewed"),
        (reverse("caregiver-invite", args=[patient.code]), "patient.caregiver_form_viewed"),
    ]
    for url, action in pages:
        assert client.get(url).status_code == 200, url
        assert actions(patient)[-1] == action, url
    assert client.post(reverse("patient-invitation-resend", args=[patient.code])).status_code == 302
    assert actions(patient)[-1] == "patient.reinvited"
    client.post(
        reverse("visit-manage", args=[visit.code]),
        {"action": "move", "local_date": visit.local_date.isoformat(), "local_time": "11:00"},
    )
    assert actions(patient)[-1] == "visit.moved"


def test_a_patient_reading_their_own_pages_leaves_no_staff_trace(client, patient, caregiver):
    link = patient.caregiver_links.get(caregiver=caregiver)
    log_in(client, patient.user)
    client.get(reverse("caregiver-edit", args=[link.code]))
    client.get(reverse("caregiver-invite", args=[patient.code]))
    assert actions(patient) == []
