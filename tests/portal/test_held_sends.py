"""Sends a worker holds in memory during a morning rush (issue 13, point 1): the inbox wave goes
first and the pushes wait, still claimed; a reminder withdrawn meanwhile is never pushed, a
worker that stops hands what it held to the next one, and nothing is sent twice."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from portal.models import Delivery, Reminder
from portal.reminders.delivery import Sender
from tests.portal.test_reminder_channels import Browser, PushService, subscribe

DUE = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


@pytest.fixture
def rush(client, push_service, vapid_key, patient, make_visit):
    """Ten reminders due at once for a patient with one push device and email off."""
    patient.user.reminders_by_email = False
    patient.user.save(update_fields=["reminders_by_email"])
    browser = Browser()
    subscribe(client, patient.user, f"{push_service.url}/push/phone", browser)
    visit = make_visit(patient, date(2026, 3, 10), time(10, 0))
    Reminder.objects.bulk_create(
        Reminder(
            recipient=patient.user,
            patient=patient,
            visit=visit,
            rule="dressing_check",
            audience="patient",
            day=date(2026, 3, 10) + timedelta(days=n),
            due_at=DUE,
            next_attempt_at=DUE,
        )
        for n in range(10)
    )
    return browser


def run_until_done(sender: Sender, now: list[datetime]) -> None:
    for _ in range(300):
        if not Reminder.objects.filter(status=Reminder.Status.PENDING).exists():
            break
        now[0] += timedelta(seconds=1)
        sender.step(limit=10)
    sender.close()


def pushed_tags(push_service: PushService, browser: Browser) -> list[str]:
    return sorted(browser.decrypt(body)["tag"] for _path, _headers, body in push_service.received)


def test_a_reminder_withdrawn_while_its_push_is_held_is_not_pushed(push_service, rush):
    now = [DUE]
    sender = Sender(clock=lambda: now[0], threads=2, pushes_at_once=2, capacity=4)
    first = sender.step(limit=10)
    # A full batch of new reminders: the inbox copies went out, the pushes are held (claimed).
    assert (first["claimed"], first["delivered"], first["put_off"]) == (10, 10, 10)
    assert push_service.received == []
    assert Reminder.objects.filter(claim_token__isnull=False).count() == 10
    # Re-planning withdraws three of them meanwhile (a visit moved).
    withdrawn = list(Reminder.objects.order_by("pk").values_list("pk", flat=True)[:3])
    Reminder.objects.filter(pk__in=withdrawn).update(withdrawn_at=DUE)
    run_until_done(sender, now)

    kept = Reminder.objects.exclude(pk__in=withdrawn)
    assert pushed_tags(push_service, rush) == sorted(r.code.hex for r in kept)
    assert set(kept.values_list("status", flat=True)) == {Reminder.Status.SENT}
    # Their inbox copies were out before the withdrawal: sent, not cancelled; no push went.
    pushes = Delivery.objects.filter(reminder_id__in=withdrawn, channel="push")
    assert set(pushes.values_list("status", "attempts")) == {(Delivery.Status.SKIPPED, 0)}


def test_a_worker_that_stops_hands_its_held_pushes_to_the_next(push_service, rush):
    now = [DUE]
    first = Sender(clock=lambda: now[0], threads=2, pushes_at_once=2, capacity=4)
    assert first.step(limit=10)["put_off"] == 10
    first.close()  # SIGTERM: what it held is released, never attempted
    assert push_service.received == []
    assert not Reminder.objects.filter(claim_token__isnull=False).exists()
    pending = Delivery.objects.filter(channel="push", status=Delivery.Status.PENDING, attempts=0)
    assert pending.count() == 10

    second = Sender(clock=lambda: now[0], threads=2, pushes_at_once=2, capacity=4)
    run_until_done(second, now)
    assert pushed_tags(push_service, rush) == sorted(r.code.hex for r in Reminder.objects.all())
    pushes = Delivery.objects.filter(channel="push")
    assert set(pushes.values_list("status", "attempts")) == {(Delivery.Status.SENT, 1)}


def test_a_push_held_past_the_lateness_window_is_missed_not_sent(push_service, rush, settings):
    now = [DUE]
    sender = Sender(clock=lambda: now[0], threads=2, pushes_at_once=2, capacity=4)
    sender.step(limit=10)
    # The wave and a slow push service kept them waiting longer than a reminder may be late.
    now[0] = DUE + timedelta(minutes=settings.REMINDER_MAX_LATENESS_MINUTES, seconds=1)
    run_until_done(sender, now)
    assert push_service.received == []
    assert set(Reminder.objects.values_list("status", flat=True)) == {Reminder.Status.SENT}
    pushes = Delivery.objects.filter(channel="push")
    assert set(pushes.values_list("status", "error")) == {(Delivery.Status.MISSED, "too-late")}


def test_a_wave_renders_the_texts_of_its_pushes_when_they_go_out(push_service, rush, caplog):
    """The inbox wave does not wait for push texts; a reminder whose text then fails gets no
    push and keeps its claim (tried again), and the others go out."""
    broken = Reminder.objects.order_by("pk").first()
    Reminder.objects.filter(pk=broken.pk).update(rule="no_such_rule")
    now = [DUE]
    sender = Sender(clock=lambda: now[0], threads=2, pushes_at_once=2, capacity=4)
    first = sender.step(limit=10)
    assert (first["delivered"], first["put_off"], first["error"]) == (10, 10, 0)
    errors = 0
    for _ in range(50):
        if len(push_service.received) == 9 and not sender.flights:
            break
        errors += sender.step(limit=10)["error"]
    sender.close()
    assert errors == 1
    assert f"Reminder {broken.pk} could not be prepared: TemplateDoesNotExist" in caplog.text
    others = Reminder.objects.exclude(pk=broken.pk)
    assert pushed_tags(push_service, rush) == sorted(r.code.hex for r in others)
    assert set(others.values_list("status", flat=True)) == {Reminder.Status.SENT}
    broken.refresh_from_db()
    assert broken.status == Reminder.Status.PENDING and broken.claimed_until is not None
    assert broken.deliveries.get(channel="push").attempts == 0
