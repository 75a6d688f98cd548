"""The worker's pass: claim due reminders, prepare their deliveries, send them, record what
happened and finish the reminders. This module alone marks a reminder sent, missed or failed
(DESIGN.md section 4, guarantees 3 and 4), and cancels the claimed or overdue rows that
re-planning withdrew.

It works on batches: one claim takes up to REMINDER_BATCH_SIZE reminders, deliveries are created
with one bulk insert, each distinct text is rendered once per batch, outcomes are written in bulk
as they arrive, and the reminders are finished with a few grouped updates. Email and push run in
a thread pool, so one slow push service does not hold back the rest; all database work stays on
the worker's own thread.

Guarantees kept here:
- each (reminder, channel, device) is sent at most once: a unique delivery row per pair, and a
  delivery recorded as sent is never sent again;
- a long batch renews its lease, so no other worker takes its reminders over;
- a reminder withdrawn or cancelled after the claim is never sent: the inbox copy is marked sent
  in the same statement that checks the reminder is still this worker's and still wanted, and
  the slow channels are checked just before they go out;
- a delivery still retrying when the reminder is too late is missed, not sent late.
"""

import logging
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from queue import Empty, SimpleQueue

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone

from portal.models import Delivery, PushSubscription, Reminder
from portal.reminders import channels, texts
from portal.reminders.channels import EMAIL, INBOX, PUSH, Job, Outcome
from portal.reminders.rows import clinic_rule_settings, max_lateness

logger = logging.getLogger(__name__)
type Clock = Callable[[], datetime]


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.REMINDER_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


def lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.REMINDER_LEASE_SECONDS)


@dataclass
class Batch:
    token: uuid.UUID
    reminders: list[Reminder]
    # Decided while preparing; finish() closes these.
    cancelled: set[int] = field(default_factory=set)
    broken: set[int] = field(default_factory=set)


@dataclass
class Prepared:
    """What the batch sends now."""

    inbox: list[int] = field(default_factory=list)
    # Slow sends, each with its reminder: checked once more just before they go out.
    emails: list[tuple[int, int, EmailMultiAlternatives]] = field(default_factory=list)
    pushes: list[tuple[int, Job]] = field(default_factory=list)
    deliveries: dict[int, Delivery] = field(default_factory=dict)
    due: dict[int, datetime] = field(default_factory=dict)


def claim_due(now: datetime, *, limit: int) -> Batch:
    """Claim up to ``limit`` due reminders for this worker with a lease.

    The claim is a conditional update: only rows that are pending and unclaimed (or whose
    lease expired) are taken, so two workers never hold the same row. On PostgreSQL the
    candidates are picked with FOR UPDATE SKIP LOCKED, so workers do not queue behind each other."""
    token = uuid.uuid4()
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    due = Reminder.objects.filter(unclaimed, status=Reminder.Status.PENDING, next_attempt_at__lte=now)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
        if ids:
            Reminder.objects.filter(unclaimed, pk__in=ids, status=Reminder.Status.PENDING).update(
                claim_token=token, claimed_until=lease_end(now)
            )
    claimed = (
        list(
            Reminder.objects.filter(pk__in=ids, claim_token=token).select_related(
                "recipient", "patient__clinic", "visit"
            )
        )
        if ids
        else []
    )
    return Batch(token=token, reminders=claimed)


def send_due_reminders(*, now: datetime | None = None, limit: int | None = None) -> Counter[str]:
    """One pass of the worker. Returns counts: claimed reminders; delivered, retry,
    delivery_failed, delivery_missed and skipped deliveries; reminder_<status> for reminders
    closed in this pass; error for reminders that could not be prepared."""
    # Tests pass a frozen ``now``; a real pass stamps each delivery when it happened.
    clock: Clock = (lambda: now) if now is not None else timezone.now
    started = clock()
    done: Counter[str] = Counter()
    batch = claim_due(started, limit=limit or settings.REMINDER_BATCH_SIZE)
    done["claimed"] = len(batch.reminders)
    if batch.reminders:
        prepared = prepare(batch, started, done)
        done["error"] += len(batch.broken)
        deliver(batch, prepared, clock, done)
        finish(batch, clock(), done)
    return done


def prepare(batch: Batch, now: datetime, done: Counter[str]) -> Prepared:
    """Sort the batch out: what is cancelled, what is too late, and what goes out now on which
    channel, with each distinct text rendered once."""
    prepared = Prepared()
    active: list[Reminder] = []
    late: list[int] = []
    for reminder in batch.reminders:
        if reminder.withdrawn_at or not reminder.visit.is_active or not reminder.recipient.is_active:
            batch.cancelled.add(reminder.pk)
        elif now - reminder.due_at > max_lateness():
            late.append(reminder.pk)
        else:
            active.append(reminder)
    if late:
        # Never sent late: what still waits is missed, keeping the error of its last attempt.
        waiting = Delivery.objects.filter(reminder_id__in=late, status=Delivery.Status.PENDING)
        done["delivery_missed"] += waiting.filter(error="").update(
            status=Delivery.Status.MISSED, error="too-late"
        )
        done["delivery_missed"] += waiting.update(status=Delivery.Status.MISSED)
    if not active:
        return prepared

    # The person's channel choices now, not when the reminder was planned (a later opt-out
    # also stops a retry).
    devices: defaultdict[int, list[str]] = defaultdict(list)
    subscriptions: dict[str, PushSubscription] = {}
    for subscription in PushSubscription.objects.filter(user_id__in={r.recipient_id for r in active}):
        devices[subscription.user_id].append(str(subscription.code))
        subscriptions[str(subscription.code)] = subscription
    wanted = {r.pk: set(channels.wanted_channels(r.recipient, devices[r.recipient_id])) for r in active}
    Delivery.objects.bulk_create(
        [
            Delivery(reminder_id=pk, channel=channel, device=device, next_attempt_at=now)
            for pk, pairs in wanted.items()
            for channel, device in pairs
        ],
        ignore_conflicts=True,
    )
    skipped: defaultdict[str, list[int]] = defaultdict(list)
    due_now: list[Delivery] = []
    for delivery in Delivery.objects.filter(reminder_id__in=wanted, status=Delivery.Status.PENDING):
        if (delivery.channel, delivery.device) not in wanted[delivery.reminder_id]:
            gone = delivery.channel == PUSH and delivery.device not in subscriptions
            skipped["device-removed" if gone else "opted-out"].append(delivery.pk)
        elif delivery.next_attempt_at is None or delivery.next_attempt_at <= now:
            due_now.append(delivery)
    for code, ids in skipped.items():
        done["skipped"] += Delivery.objects.filter(pk__in=ids).update(
            status=Delivery.Status.SKIPPED, error=code
        )

    by_id = {r.pk: r for r in active}
    prepared.due = {r.pk: r.due_at for r in active}
    slow = [d for d in due_now if d.channel != INBOX]
    bodies = render_batch([by_id[pk] for pk in {d.reminder_id for d in slow}], batch)
    for delivery in due_now:
        reminder = by_id[delivery.reminder_id]
        if reminder.pk in batch.broken:
            continue
        prepared.deliveries[delivery.pk] = delivery
        if delivery.channel == INBOX:
            prepared.inbox.append(delivery.pk)
            continue
        rendered, template = bodies[reminder.pk]
        if delivery.channel == EMAIL:
            message = channels.email_for(template, reminder, rendered.url)
            prepared.emails.append((reminder.pk, delivery.pk, message))
        else:
            payload = channels.push_payload(reminder, rendered)
            job = channels.push_job(delivery.pk, subscriptions[delivery.device], payload)
            prepared.pushes.append((reminder.pk, job))
    return prepared


def render_batch(
    reminders: list[Reminder], batch: Batch
) -> dict[int, tuple[texts.Rendered, EmailMultiAlternatives]]:
    """Each reminder's title, preview, body and email, rendering each distinct text once. A
    reminder whose text cannot be rendered is left out and keeps its claim, so it is retried
    (and missed once too late); the others go on."""
    dressing_days: dict[int, int] = {}
    bodies: dict[texts.TextKey, str | None] = {}
    emails: dict[tuple[texts.TextKey, bool, str], EmailMultiAlternatives] = {}
    found: dict[int, tuple[texts.Rendered, EmailMultiAlternatives]] = {}
    for reminder in reminders:
        patient = reminder.patient
        if patient.clinic_id not in dressing_days:
            dressing_days[patient.clinic_id] = clinic_rule_settings(patient).dressing_days
        language = reminder.recipient.language
        try:
            key = texts.text_key(reminder, dressing_days[patient.clinic_id], language)
            if key not in bodies:
                bodies[key] = None  # stays None if rendering fails
                bodies[key] = texts.render_text(key)
            body = bodies[key]
            if body is None:
                raise LookupError("this text failed earlier in the batch")
            rendered = texts.rendered(reminder, body, language)
            email_key = (key, patient.discreet, rendered.title)
            if email_key not in emails:
                emails[email_key] = channels.email_template(patient, rendered, language)
        except Exception as error:
            # The type only: messages may hold text.
            logger.error("Reminder %s could not be prepared: %s", reminder.pk, type(error).__name__)
            batch.broken.add(reminder.pk)
            continue
        found[reminder.pk] = (rendered, emails[email_key])
    return found


def deliver(batch: Batch, prepared: Prepared, clock: Clock, done: Counter[str]) -> None:
    """Mark the inbox copies sent and run the slow sends, recording outcomes as they arrive."""
    wanted = Q(
        reminder__claim_token=batch.token,
        reminder__status=Reminder.Status.PENDING,
        reminder__withdrawn_at__isnull=True,
    )
    if prepared.inbox:
        # One statement checks and delivers: a reminder cancelled a moment ago is not delivered.
        done["delivered"] += Delivery.objects.filter(
            wanted, pk__in=prepared.inbox, status=Delivery.Status.PENDING
        ).update(status=Delivery.Status.SENT, sent_at=clock(), attempts=F("attempts") + 1, error="")
    slow = {pk for pk, _d, _m in prepared.emails} | {pk for pk, _job in prepared.pushes}
    if not slow:
        return
    ours = set(
        Reminder.objects.filter(
            pk__in=slow, claim_token=batch.token, status=Reminder.Status.PENDING, withdrawn_at__isnull=True
        ).values_list("pk", flat=True)
    )
    jobs = channels.email_jobs([(d, message) for pk, d, message in prepared.emails if pk in ours])
    jobs += [job for pk, job in prepared.pushes if pk in ours]
    if not jobs:
        return
    renew_every = settings.REMINDER_LEASE_SECONDS / 3
    renewed = time.monotonic()
    arrived: SimpleQueue[tuple[int, Outcome]] = SimpleQueue()
    with ThreadPoolExecutor(max_workers=settings.REMINDER_THREADS) as pool:
        futures = [pool.submit(job, arrived.put) for job in jobs]
        while True:
            finished = all(future.done() for future in futures)
            # Each outcome is written as soon as it is known (together with any that arrived
            # meanwhile), so a worker killed mid-batch repeats at most the sends in flight.
            outcomes = drain(arrived, wait_for=None if finished else renew_every)
            if outcomes:
                record(outcomes, prepared, clock(), done)
            if time.monotonic() - renewed >= renew_every:
                # A long batch keeps its claims, even while one send hangs: no second worker
                # takes them over.
                renewed = time.monotonic()
                Reminder.objects.filter(
                    pk__in=[r.pk for r in batch.reminders], claim_token=batch.token
                ).update(claimed_until=lease_end(clock()))
            if finished and arrived.empty():
                break
        for future in futures:
            future.result()  # a job that crashed is a bug: let it show


def drain(
    arrived: "SimpleQueue[tuple[int, Outcome]]", *, wait_for: float | None
) -> list[tuple[int, Outcome]]:
    """Everything in the queue; first waits up to ``wait_for`` seconds for something to arrive."""
    found: list[tuple[int, Outcome]] = []
    try:
        if wait_for is not None:
            found.append(arrived.get(timeout=wait_for))
        while True:
            found.append(arrived.get_nowait())
    except Empty:
        return found


def record(
    outcomes: list[tuple[int, Outcome]], prepared: Prepared, now: datetime, done: Counter[str]
) -> None:
    """Write a group of outcomes with one update; retries wait longer each time, and a retry
    that would come after the reminder's lateness window is missed now instead."""
    changed: list[Delivery] = []
    dropped: list[str] = []
    deadline = max_lateness()
    for delivery_id, outcome in outcomes:
        delivery = prepared.deliveries[delivery_id]
        delivery.attempts += 1
        if outcome.ok:
            delivery.status, delivery.sent_at, delivery.error = Delivery.Status.SENT, now, ""
            done["delivered"] += 1
        else:
            retry_at = now + backoff(delivery.attempts)
            delivery.error = outcome.error
            if outcome.final or delivery.attempts >= settings.REMINDER_MAX_ATTEMPTS:
                delivery.status = Delivery.Status.FAILED
                done["delivery_failed"] += 1
            elif retry_at - prepared.due[delivery.reminder_id] > deadline:
                delivery.status = Delivery.Status.MISSED
                done["delivery_missed"] += 1
            else:
                delivery.next_attempt_at = retry_at
                done["retry"] += 1
            if outcome.drop_device and delivery.device:
                dropped.append(delivery.device)
            # Row ids and error codes only: no names, no texts (README, "Patient data").
            logger.warning("Delivery %s (%s) failed: %s", delivery.pk, delivery.channel, outcome.error)
        changed.append(delivery)
    Delivery.objects.bulk_update(changed, ["attempts", "status", "sent_at", "error", "next_attempt_at"])
    if dropped:
        PushSubscription.objects.filter(code__in=dropped).delete()


def finish(batch: Batch, now: datetime, done: Counter[str]) -> None:
    """Close each reminder from what its deliveries say, or release it until its next retry.

    A reminder is sent when any channel delivered it, missed when it became too late before
    any did, failed when every channel gave up, cancelled when it was withdrawn and nothing went
    out. Only rows this worker still holds are changed."""
    ids = [r.pk for r in batch.reminders if r.pk not in batch.broken]
    if not ids:
        return
    withdrawn = set(
        Reminder.objects.filter(pk__in=ids, withdrawn_at__isnull=False).values_list("pk", flat=True)
    )
    cancelled = batch.cancelled | withdrawn
    if cancelled:
        done["skipped"] += Delivery.objects.filter(
            reminder_id__in=cancelled, status=Delivery.Status.PENDING
        ).update(status=Delivery.Status.SKIPPED, error="cancelled")
    statuses: defaultdict[int, set[str]] = defaultdict(set)
    retry_at: dict[int, datetime] = {}
    for pk, status, at in Delivery.objects.filter(reminder_id__in=ids).values_list(
        "reminder_id", "status", "next_attempt_at"
    ):
        statuses[pk].add(status)
        if status == Delivery.Status.PENDING:
            retry_at[pk] = min(retry_at.get(pk, at or now), at or now)
    closing: defaultdict[str, list[int]] = defaultdict(list)
    for reminder in batch.reminders:
        pk = reminder.pk
        if pk in batch.broken or pk in retry_at:
            continue
        if Delivery.Status.SENT in statuses[pk]:
            closing[Reminder.Status.SENT].append(pk)
        elif pk in cancelled:
            closing[Reminder.Status.CANCELLED].append(pk)
        elif now - reminder.due_at > max_lateness() or Delivery.Status.MISSED in statuses[pk]:
            closing[Reminder.Status.MISSED].append(pk)
        else:
            closing[Reminder.Status.FAILED].append(pk)
    mine = Reminder.objects.filter(claim_token=batch.token)
    for status, pks in closing.items():
        done[f"reminder_{status}"] += mine.filter(pk__in=pks).update(
            status=status, finished_at=now, claim_token=None, claimed_until=None
        )
    if retry_at:
        mine.filter(pk__in=list(retry_at)).update(
            next_attempt_at=Case(
                *[When(pk=pk, then=Value(at)) for pk, at in retry_at.items()], output_field=DateTimeField()
            ),
            claim_token=None,
            claimed_until=None,
        )
