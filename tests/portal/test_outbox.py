"""Emails leave from the outbox: a mail server that is down fails no request, repeats no
write, and the email follows once it is back (issue 8, point 11). A real SMTP server on
loopback (aiosmtpd), first down, then up."""

import re
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import outbox
from portal.models import Invitation, OutgoingEmail, Patient
from tests.helpers import log_in
from tests.processes import free_port

pytestmark = pytest.mark.django_db(transaction=True)


class MailServer:
    """An SMTP server on loopback that can be down (nothing listens) or up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[bytes] = []
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's hook
        self.messages.append(envelope.content)
        return "250 OK"

    def up(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def mail_server(settings):
    server = MailServer()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
        }
    }
    yield server
    server.down()


ENROL = {"name": "Rosa Diaz", "email": "rosa@example.test", "language": "es", "time_zone": "Europe/Madrid"}


def test_enrolment_with_the_mail_server_down_commits_once_and_the_email_follows(
    client, clinician, clinic, mail_server
):
    log_in(client, clinician)
    response = client.post(reverse("patient-enrol"), {"clinic": clinic.pk, **ENROL})
    assert response.status_code == 302
    # The person clicks again, as people do when a page seems slow.
    again = client.post(reverse("patient-enrol"), {"clinic": clinic.pk, **ENROL})
    assert again.status_code == 200
    assert "already enrolled at this clinic" in again.text
    assert Patient.objects.count() == 1
    assert Invitation.objects.count() == 1
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.PENDING

    now = timezone.now()
    assert outbox.send_due_emails(now=now)["emails_retry"] == 1
    assert mail_server.messages == []
    email = OutgoingEmail.objects.get()
    assert (email.attempts, email.error) == (1, "smtp-ConnectionRefusedError")
    # Not before its backoff (30 s) …
    mail_server.up()
    assert outbox.send_due_emails(now=now + timedelta(seconds=10))["emails_claimed"] == 0
    # … then once, and only once.
    assert outbox.send_due_emails(now=now + timedelta(seconds=31))["emails_sent"] == 1
    assert outbox.send_due_emails(now=now + timedelta(hours=1))["emails_claimed"] == 0
    assert len(mail_server.messages) == 1
    assert b"To: rosa@example.test" in mail_server.messages[0]
    assert re.search(rb"/invitation/[^/\s]+/", mail_server.messages[0].replace(b"=\r\n", b""))
    # The sent row no longer holds the link.
    email.refresh_from_db()
    assert (email.status, email.body_text, email.body_html) == (OutgoingEmail.Status.SENT, "", "")


def test_a_sign_in_code_request_with_the_mail_server_down_is_answered(client, patient, mail_server):
    response = client.post(reverse("account_request_login_code"), {"email": patient.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_login_code")
    call_command("sendreminders", once=True)  # the worker: the server is down, it retries later
    mail_server.up()
    outbox.send_due_emails(now=timezone.now() + timedelta(seconds=31))
    code = re.search(rb"(?m)^([A-Z0-9]{4}-[A-Z0-9]{4})\r?$", mail_server.messages[-1]).group(1).decode()
    client.post(reverse("account_confirm_login_code"), {"code": code})
    assert "_auth_user_id" in client.session


def test_the_worker_sends_waiting_emails(client, patient, mail_server):
    mail_server.up()
    client.post(reverse("account_request_login_code"), {"email": patient.email})
    call_command("sendreminders", once=True)
    assert len(mail_server.messages) == 1


def test_a_sign_in_code_nobody_can_use_any_more_is_not_sent(client, patient, mail_server):
    client.post(reverse("account_request_login_code"), {"email": patient.email})
    mail_server.up()
    done = outbox.send_due_emails(now=timezone.now() + timedelta(minutes=4))
    assert done["emails_expired"] == 1
    assert mail_server.messages == []


def test_an_email_that_keeps_failing_stops_after_a_bound(client, patient, mail_server, settings):
    settings.EMAIL_MAX_ATTEMPTS = 3
    client.post(reverse("account_request_login_code"), {"email": patient.email})
    OutgoingEmail.objects.update(expires_at=None)
    now = timezone.now()
    for minutes in (0, 1, 2, 3, 10):
        outbox.send_due_emails(now=now + timedelta(minutes=minutes))
    email = OutgoingEmail.objects.get()
    assert (email.status, email.attempts) == (OutgoingEmail.Status.FAILED, 3)
    assert email.body_text == ""


def test_a_rolled_back_change_sends_nothing(clinician, clinic, mail_server):
    from django.core.exceptions import ValidationError

    from portal import services

    services.enrol_patient(
        clinic=clinic, by=clinician, name="Rosa", email="rosa@example.test", language="en", time_zone="UTC"
    )
    with pytest.raises(ValidationError):
        services.enrol_patient(
            clinic=clinic,
            by=clinician,
            name="Rosa",
            email="ROSA@example.test",
            language="en",
            time_zone="UTC",
        )
    assert OutgoingEmail.objects.count() == 1


def test_finished_emails_are_forgotten_after_a_while(client, patient, other_patient, mail_server, settings):
    mail_server.up()
    client.post(reverse("account_request_login_code"), {"email": patient.email})
    outbox.send_due_emails()
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT
    later = timezone.now() + timedelta(days=settings.EMAIL_KEEP_DAYS + 1)
    Client().post(reverse("account_request_login_code"), {"email": other_patient.email})
    # The second code is asked for a month later.
    OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING).update(
        created_at=later, next_attempt_at=later, expires_at=None
    )
    outbox.send_due_emails(now=later)
    # The old row is gone; the one just sent stays.
    assert list(OutgoingEmail.objects.values_list("status", flat=True)) == [OutgoingEmail.Status.SENT]
    assert len(mail_server.messages) == 2
