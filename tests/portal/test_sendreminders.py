"""The reminder worker (DESIGN.md section 4, guarantees 3 and 4), called the way the
sendreminders command calls it: send_due_reminders(now=...)."""

import socket
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from portal.models import Delivery, PushSubscription, Reminder
from portal.reminders import replan_patient, send_due_reminders
from tests.helpers import log_in, push_keys

PLANNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# The patient's reminders are at 09:00 UTC; the visit is on 10 March at 10:00.
VISIT_DAY = date(2026, 3, 10)
REMINDER_DUE = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # the visit reminder, the day before
FORBIDDEN = ("t-vec", "imlygic", "talimogene", "virus", "herpes", "melanoma", "cancer", "oncolytic")


@pytest.fixture
def planned(patient, make_visit):
    make_visit(patient, VISIT_DAY, time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    return Reminder.objects.get(patient=patient, rule="visit_reminder")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def deliveries(reminder):
    return {(d.channel, d.status) for d in reminder.deliveries.all()}


def test_nothing_is_sent_before_it_is_due(planned):
    assert send_due_reminders(now=REMINDER_DUE - timedelta(seconds=1))["claimed"] == 0
    assert mail.outbox == []


def test_due_reminder_reaches_inbox_and_email_once(planned, patient):
    done = send_due_reminders(now=REMINDER_DUE + timedelta(minutes=1))
    assert done["claimed"] == 1
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.SENT
    assert planned.claimed_until is None
    assert deliveries(planned) == {("inbox", "sent"), ("email", "sent")}
    assert [m.to for m in mail.outbox] == [[patient.email]]
    # A second pass finds nothing: each (reminder, channel, device) at most once.
    assert send_due_reminders(now=REMINDER_DUE + timedelta(minutes=2))["claimed"] == 0
    assert len(mail.outbox) == 1


def test_email_is_discreet_by_default(planned, patient):
    send_due_reminders(now=REMINDER_DUE)
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    text = (message.subject + message.body + html).lower()
    for word in (*FORBIDDEN, "treatment", "dressing", "injection"):
        assert word not in text
    assert f"/reminders/{planned.code}/" in message.body
    assert f"/reminders/{planned.code}/" in html


def test_email_carries_the_guidance_when_discreet_mode_is_off(planned, patient):
    patient.discreet = False
    patient.save(update_fields=["discreet"])
    send_due_reminders(now=REMINDER_DUE)
    message = mail.outbox[0]
    assert message.subject == "Your treatment visit is tomorrow"
    assert "call your care team: \u2066+1 555 0100\u2069" in message.body
    for word in FORBIDDEN:
        assert word not in (message.subject + message.body).lower()


def test_an_arabic_email_keeps_the_number_left_to_right(planned, patient):
    """Plain text and HTML: the number in a left-to-right isolate (LRI ... PDI), not "0100 555 1+"."""
    patient.discreet = False
    patient.save(update_fields=["discreet"])
    patient.user.language = "ar"
    patient.user.save(update_fields=["language"])
    send_due_reminders(now=REMINDER_DUE)
    message = mail.outbox[0]
    assert "\u2066+1 555 0100\u2069" in message.body
    assert "\u2066+1 555 0100\u2069" in message.alternatives[0][0]


def test_email_is_in_the_recipients_language(planned, patient):
    patient.user.language = "ar"
    patient.user.save(update_fields=["language"])
    send_due_reminders(now=REMINDER_DUE)
    assert '<html lang="ar" dir="rtl">' in mail.outbox[0].alternatives[0][0]


def test_a_reminder_too_late_is_missed_not_sent(planned, settings):
    settings.REMINDER_MAX_LATENESS_MINUTES = 120
    done = send_due_reminders(now=REMINDER_DUE + timedelta(minutes=121))
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.MISSED
    assert done["reminder_missed"] == 1
    assert not planned.deliveries.filter(status=Delivery.Status.SENT).exists()
    assert mail.outbox == []


def test_a_cancelled_reminder_is_never_sent(planned, patient):
    planned.visit.status = "cancelled"
    planned.visit.save(update_fields=["status"])
    replan_patient(patient, now=PLANNED_AT)
    assert send_due_reminders(now=REMINDER_DUE)["claimed"] == 0
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.CANCELLED
    assert mail.outbox == []


def test_a_reminder_cancelled_after_the_claim_reaches_no_channel_not_even_the_inbox(
    planned, patient, clinician, client, monkeypatch
):
    """B2: the clinic cancels the visit after the worker claimed and prepared the reminder. The
    inbox copy is not marked sent, no email goes out, and the reminder ends cancelled."""
    from portal import services
    from portal.reminders import delivery

    deliver = delivery.deliver

    def cancel_then_deliver(*args, **kwargs):
        services.change_visit(visit=planned.visit, by=clinician, status="cancelled")
        return deliver(*args, **kwargs)

    monkeypatch.setattr(delivery, "deliver", cancel_then_deliver)
    send_due_reminders(now=REMINDER_DUE)
    assert mail.outbox == []
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.CANCELLED
    assert deliveries(planned) == {("inbox", "skipped"), ("email", "skipped")}
    log_in(client, patient.user)
    assert str(planned.code) not in client.get(reverse("reminder-list")).text
    assert client.get(reverse("reminder-detail", args=[planned.code])).status_code == 404


def test_a_retry_honours_a_later_email_opt_out(planned, patient, settings):
    """B3: email failed once and waits for its retry; meanwhile the patient turns email off. The
    retry does not send it: the delivery is not sent, in plain words "turned off"."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port(), "timeout": 2},
        }
    }
    send_due_reminders(now=REMINDER_DUE)
    email = planned.deliveries.get(channel="email")
    assert (email.status, email.attempts) == ("pending", 1)
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    patient.user.reminders_by_email = False
    patient.user.save(update_fields=["reminders_by_email"])
    send_due_reminders(now=email.next_attempt_at)
    assert mail.outbox == []
    email.refresh_from_db()
    assert (email.status, email.error, email.attempts) == ("skipped", "opted-out", 1)
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.SENT  # the inbox copy arrived


def test_a_row_claimed_by_another_worker_is_left_alone_until_its_lease_expires(planned, settings):
    Reminder.objects.filter(pk=planned.pk).update(claimed_until=REMINDER_DUE + timedelta(minutes=5))
    assert send_due_reminders(now=REMINDER_DUE + timedelta(minutes=1))["claimed"] == 0
    # The other worker died: its lease runs out and this worker finishes the job.
    assert send_due_reminders(now=REMINDER_DUE + timedelta(minutes=6))["claimed"] == 1
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.SENT
    assert len(mail.outbox) == 1


def test_a_retry_does_not_resend_channels_that_succeeded(planned, settings):
    # The first worker delivered the inbox and died before email: the retry sends email only.
    Delivery.objects.create(
        reminder=planned, channel="inbox", status="sent", attempts=1, sent_at=REMINDER_DUE
    )
    send_due_reminders(now=REMINDER_DUE)
    assert planned.deliveries.get(channel="inbox").attempts == 1
    assert planned.deliveries.get(channel="email").status == "sent"


def test_failing_email_retries_with_backoff_then_fails_visibly(planned, settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port(), "timeout": 2},
        }
    }
    settings.REMINDER_MAX_ATTEMPTS = 3
    settings.REMINDER_RETRY_SECONDS = 60
    now = REMINDER_DUE
    send_due_reminders(now=now)
    email = planned.deliveries.get(channel="email")
    assert (email.status, email.attempts, email.error) == ("pending", 1, "email-unreachable")
    assert email.next_attempt_at == now + timedelta(seconds=60)
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.PENDING
    assert planned.next_attempt_at == now + timedelta(seconds=60)

    assert send_due_reminders(now=now + timedelta(seconds=59))["claimed"] == 0  # backing off
    send_due_reminders(now=now + timedelta(seconds=60))
    email.refresh_from_db()
    assert (email.attempts, email.next_attempt_at) == (2, now + timedelta(seconds=180))
    send_due_reminders(now=now + timedelta(seconds=180))
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", 3)
    planned.refresh_from_db()
    # The inbox copy arrived, so the reminder counts as sent; the failed email stays visible.
    assert planned.status == Reminder.Status.SENT
    assert deliveries(planned) == {("inbox", "sent"), ("email", "failed")}


def test_email_off_means_inbox_only(planned, patient):
    patient.user.reminders_by_email = False
    patient.user.save(update_fields=["reminders_by_email"])
    send_due_reminders(now=REMINDER_DUE)
    assert deliveries(planned) == {("inbox", "sent")}
    assert mail.outbox == []


def test_a_removed_push_device_is_skipped_on_that_delivery_only(planned, patient):
    p256dh, auth = push_keys()
    device = PushSubscription.objects.create(
        user=patient.user, endpoint="https://push.example.test/abc", p256dh=p256dh, auth=auth
    )
    Delivery.objects.create(
        reminder=planned, channel="push", device=str(device.code), next_attempt_at=REMINDER_DUE
    )
    device.delete()
    send_due_reminders(now=REMINDER_DUE)
    assert deliveries(planned) == {("inbox", "sent"), ("email", "sent"), ("push", "skipped")}
    assert planned.deliveries.get(channel="push").error == "device-removed"


def test_the_command_runs_one_pass(planned, capsys):
    from django.utils import timezone

    # The command uses the real clock: make the reminder due a minute ago, whatever today is.
    due = timezone.now() - timedelta(minutes=1)
    Reminder.objects.filter(pk=planned.pk).update(due_at=due, next_attempt_at=due)
    call_command("sendreminders", once=True)
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.SENT
    assert "claimed 1" in capsys.readouterr().out


def test_one_broken_reminder_does_not_stop_the_others(planned, caplog):
    broken = Reminder.objects.create(
        recipient=planned.recipient,
        patient=planned.patient,
        visit=planned.visit,
        rule="no_such_rule",
        audience="patient",
        day=planned.day,
        due_at=REMINDER_DUE,
        next_attempt_at=REMINDER_DUE,
    )
    done = send_due_reminders(now=REMINDER_DUE)
    assert done["error"] == 1
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.SENT
    broken.refresh_from_db()
    assert broken.status == Reminder.Status.PENDING and broken.claimed_until is not None
    assert f"Reminder {broken.pk} could not be prepared: TemplateDoesNotExist" in caplog.text


def test_a_delivery_still_retrying_when_too_late_is_missed(planned, settings, client, clinician, patient):
    """Email fails at 09:00 and at the first retry (10:00); the next retry (12:00) would be past
    the 120-minute window (11:00), so the email is missed now, not sent late."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port(), "timeout": 2},
        }
    }
    settings.REMINDER_MAX_LATENESS_MINUTES = 120
    settings.REMINDER_RETRY_SECONDS = 3600
    send_due_reminders(now=REMINDER_DUE)
    email = planned.deliveries.get(channel="email")
    assert email.next_attempt_at == REMINDER_DUE + timedelta(hours=1)
    done = send_due_reminders(now=REMINDER_DUE + timedelta(hours=1))
    assert done["delivery_missed"] == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.error) == ("missed", 2, "email-unreachable")
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.SENT  # the inbox copy arrived
    log_in(client, clinician)
    page = client.get(reverse("patient-reminders", args=[patient.code])).text
    assert "Email: Missed (too late to send): The email server could not be reached." in page


def test_a_worker_back_after_the_window_misses_what_waited(planned, settings):
    """The worker was down past the window: nothing is sent late, the reminder is missed."""
    settings.REMINDER_MAX_LATENESS_MINUTES = 120
    done = send_due_reminders(now=REMINDER_DUE + timedelta(hours=3))
    planned.refresh_from_db()
    assert planned.status == Reminder.Status.MISSED and done["reminder_missed"] == 1
    assert mail.outbox == []
