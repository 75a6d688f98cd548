import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone

from portal import services
from portal.models import CaregiverLink, Invitation, Patient, User
from tests.helpers import deliver_emails, log_in


def invitation_path(message) -> str:
    match = re.search(r"http://testserver(/invitation/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def invitation_link(message) -> str:
    """The emailed link as the person opens it: it names the email's language (?lang=)."""
    match = re.search(r"http://testserver(/invitation/[^/\s]+/\?lang=[\w-]+)\s", message.body)
    assert match, message.body
    return match.group(1)


# Invitations commit for real: the worker sends their emails from the outbox afterwards.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enrolled(client, clinician, clinic):
    """A patient enrolled through the clinic's page; returns the emailed link."""
    log_in(client, clinician)
    response = client.post(
        reverse("patient-enrol"),
        {
            "clinic": clinic.pk,
            "name": "Rosa Diaz",
            "email": "Rosa@Example.test",
            "language": "es",
            "time_zone": "Europe/Madrid",
        },
    )
    assert response.status_code == 302
    client.logout()
    return invitation_path(deliver_emails()[-1])


def test_enrolment_emails_an_invitation_without_health_details(enrolled):
    message = deliver_emails()[-1]
    assert message.to == ["rosa@example.test"]
    text = (message.subject + message.body + message.alternatives[0][0]).lower()
    for word in ("north clinic", "cancer", "melanoma", "virus", "t-vec", "imlygic", "talimogene"):
        assert word not in text


def test_the_invitation_opens_in_the_language_of_its_email(client, enrolled):
    link = invitation_link(deliver_emails()[-1])
    assert link == enrolled + "?lang=es"
    page = client.get(link, headers={"accept-language": "en"}).text
    assert '<html lang="es"' in page
    assert "Aceptar invitación" in page


def test_accepting_creates_the_account_and_signs_in(client, enrolled):
    link = invitation_link(deliver_emails()[-1])
    assert client.get(link).status_code == 200
    response = client.post(link)
    assert response.status_code == 302
    patient = Patient.objects.get(email="rosa@example.test")
    assert patient.user is not None
    assert patient.user.language == "es"
    assert patient.user.time_zone == "Europe/Madrid"
    assert not patient.user.has_usable_password()
    assert EmailAddress.objects.get(user=patient.user).verified
    assert client.get(reverse("home")).status_code == 302  # signed in: sent to their own page
    assert client.get(reverse("patient-detail", args=[patient.code])).status_code == 200


def test_used_invitation_is_refused_and_changes_nothing(client, enrolled):
    client.post(enrolled)
    client.logout()
    users_before = User.objects.count()
    response = client.post(enrolled)
    assert response.status_code == 400
    assert "already used" in response.content.decode()
    assert User.objects.count() == users_before
    assert "_auth_user_id" not in client.session


def test_expired_invitation_is_refused(client, enrolled):
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.post(enrolled)
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert Patient.objects.get(email="rosa@example.test").user is None


@pytest.mark.parametrize("mangle", [lambda p: p[:-3] + "xx/", lambda p: "/invitation/not-a-token/"])
def test_forged_invitation_is_refused(client, enrolled, mangle):
    for method in (client.get, client.post):
        response = method(mangle(enrolled))
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert Patient.objects.get(email="rosa@example.test").user is None


def test_refusal_is_translated(client, enrolled):
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.post(enrolled, headers={"accept-language": "es"})
    assert response.status_code == 400
    assert 'lang="es"' in response.content.decode()


def test_invitation_for_someone_else_is_refused_while_signed_in(client, enrolled, other_patient):
    log_in(client, other_patient.user)
    response = client.post(enrolled)
    assert response.status_code == 400
    assert Patient.objects.get(email="rosa@example.test").user is None


def test_a_new_invitation_replaces_the_old_one(client, clinician, enrolled):
    patient = Patient.objects.get(email="rosa@example.test")
    log_in(client, clinician)
    client.post(reverse("patient-invitation-resend", args=[patient.code]))
    client.logout()
    fresh = invitation_path(deliver_emails()[-1])
    assert client.post(enrolled).status_code == 400
    assert client.post(fresh).status_code == 302


def test_patient_invites_a_caregiver_who_accepts(client, patient):
    log_in(client, patient.user)
    response = client.post(
        reverse("caregiver-invite", args=[patient.code]),
        {"email": "helper@example.test", "name": "Sam", "handles_dressings": "on", "gets_reminders": "on"},
    )
    assert response.status_code == 302
    link = CaregiverLink.objects.get(email="helper@example.test")
    assert link.status == CaregiverLink.Status.INVITED
    assert link.consent_recorded_by == patient.user
    client.logout()
    path = invitation_path(deliver_emails()[-1])
    assert client.post(path, {"answer": "accept"}).status_code == 302
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.ACTIVE
    assert link.caregiver.email == "helper@example.test"
    assert client.get(reverse("patient-detail", args=[patient.code])).status_code == 200


def test_staff_record_consent_given_in_person(client, clinician, patient):
    log_in(client, clinician)
    url = reverse("caregiver-invite", args=[patient.code])
    response = client.post(url, {"email": "helper@example.test", "patient_consents": "on"})
    assert response.status_code == 302
    link = CaregiverLink.objects.get(email="helper@example.test")
    assert link.consent_recorded_by == clinician
    assert link.consented_at is not None
    assert deliver_emails()[-1].to == ["helper@example.test"]


def test_pregnant_caregiver_cannot_be_a_dressing_handler(client, patient):
    log_in(client, patient.user)
    response = client.post(
        reverse("caregiver-invite", args=[patient.code]),
        {"email": "helper@example.test", "handles_dressings": "on", "pregnant_or_immunocompromised": "on"},
    )
    assert response.status_code == 200
    assert "must not handle dressings" in response.content.decode()
    assert not CaregiverLink.objects.exists()


def test_revoking_withdraws_a_pending_invitation(client, patient):
    link = services.invite_caregiver(patient=patient, by=patient.user, email="helper@example.test")
    path = invitation_path(deliver_emails()[-1])
    services.revoke_caregiver(link=link, by=patient.user)
    response = client.post(path, {"answer": "accept"})
    assert response.status_code == 400
    assert "withdrawn" in response.content.decode()
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.REVOKED
    assert link.caregiver is None


def test_revoked_caregiver_loses_access(client, patient, caregiver):
    link = CaregiverLink.objects.get(caregiver=caregiver)
    log_in(client, caregiver)
    assert client.get(reverse("patient-detail", args=[patient.code])).status_code == 200
    client.post(reverse("caregiver-revoke", args=[link.code]), {"confirm": "yes"})
    assert client.get(reverse("patient-detail", args=[patient.code])).status_code == 404


def test_staff_actions_on_patients_are_audited(client, clinician, patient):
    from portal.models import AuditEvent

    log_in(client, clinician)
    client.get(reverse("patient-detail", args=[patient.code]))
    event = AuditEvent.objects.get(action="patient.viewed")
    assert event.actor == clinician
    assert event.patient_code == patient.code
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
