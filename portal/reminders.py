"""Reminder rows: planning them from visits, rendering them, and delivering them.

``replan_patient`` turns ``portal.planning`` results into Reminder rows; the services that
change visits, settings or caregiver links call it inside their own transaction.
``send_due_reminders`` is one pass of the sendreminders worker: claim due rows with a lease,
deliver them on each channel at most once, retry failures with backoff, and mark overdue rows
missed rather than send them late (DESIGN.md section 4).
"""

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from portal import planning
from portal.models import (
    CaregiverLink,
    ClinicReminderSettings,
    Delivery,
    InjectionVisit,
    Patient,
    PushSubscription,
    Reminder,
    User,
)
from portal.planning import Audience, Rule

logger = logging.getLogger(__name__)

# --- Rules ----------------------------------------------------------------------
# Titles shown when the patient turned discreet mode off. With discreet mode on (the default)
# previews say only DISCREET_TITLE and DISCREET_BODY; the guidance is behind the link.

RULE_TITLES = {
    Rule.VISIT_REMINDER: _("Your treatment visit is tomorrow"),
    Rule.DRESSING_CHECK: _("Check the dressings today"),
    Rule.DRESSING_SAFETY: _("Please do not handle the dressings"),
    Rule.DRESSING_REVIEW: _("Dressing review: is every site dry?"),
    Rule.SYMPTOM_WATCH: _("How are you feeling after your treatment?"),
}
DISCREET_TITLE = _("Home Care Companion")
DISCREET_BODY = _("You have a new reminder. Open it to read it.")


def rule_settings(clinic_settings: ClinicReminderSettings | None) -> planning.RuleSettings:
    """The planner's settings from a clinic's choices (defaults when the clinic has none)."""
    if clinic_settings is None:
        return planning.RuleSettings()
    enabled = {
        Rule.VISIT_REMINDER: clinic_settings.visit_reminder_on,
        Rule.DRESSING_CHECK: clinic_settings.dressing_check_on,
        # The safety version goes wherever the dressing check would go.
        Rule.DRESSING_SAFETY: clinic_settings.dressing_check_on,
        Rule.DRESSING_REVIEW: clinic_settings.dressing_review_on,
        Rule.SYMPTOM_WATCH: clinic_settings.symptom_watch_on,
    }
    return planning.RuleSettings(
        enabled=frozenset(rule for rule, on in enabled.items() if on),
        dressing_days=clinic_settings.dressing_days,
        symptom_days=clinic_settings.symptom_days,
        visit_reminder_time=clinic_settings.visit_reminder_time,
    )


def clinic_rule_settings(patient: Patient) -> planning.RuleSettings:
    return rule_settings(ClinicReminderSettings.objects.filter(clinic_id=patient.clinic_id).first())


# --- Planning ---------------------------------------------------------------------


def caregiver_audience(link: CaregiverLink) -> Audience:
    """Pregnant or immunocompromised caregivers, and those who do not help with dressings,
    get the version that tells them not to handle dressings (tvec-facts sections 2 and 3)."""
    if link.handles_dressings and not link.pregnant_or_immunocompromised:
        return Audience.CAREGIVER_HANDLER
    return Audience.CAREGIVER_NON_HANDLER


def reminder_recipients(patient: Patient) -> list[tuple[User, planning.Recipient]]:
    """Who gets this patient's reminders, each with their own local time and quiet hours."""
    found: list[tuple[User, planning.Recipient]] = []
    if patient.user is not None and patient.user.is_active:
        found.append(
            (
                patient.user,
                planning.Recipient(
                    audience=Audience.PATIENT,
                    time_zone=patient.time_zone,
                    reminder_time=patient.reminder_time,
                    quiet_start=patient.quiet_start,
                    quiet_end=patient.quiet_end,
                ),
            )
        )
    links = patient.caregiver_links.filter(
        status=CaregiverLink.Status.ACTIVE, gets_reminders=True, caregiver__is_active=True
    ).select_related("caregiver")
    for link in links:
        caregiver = link.caregiver
        assert caregiver is not None  # an active link has an account (database constraint)
        if caregiver.pk == patient.user_id:
            continue
        found.append(
            (
                caregiver,
                planning.Recipient(
                    audience=caregiver_audience(link),
                    time_zone=caregiver.time_zone,
                    reminder_time=caregiver.reminder_time,
                    quiet_start=caregiver.quiet_start,
                    quiet_end=caregiver.quiet_end,
                ),
            )
        )
    return found


def visit_slots(patient: Patient) -> list[planning.VisitSlot]:
    # Visits happen at the clinic, so their wall time is the clinic's.
    zone = patient.clinic.time_zone
    visits = InjectionVisit.objects.filter(course__patient=patient)
    return [
        planning.VisitSlot(
            key=str(visit.pk),
            local_date=visit.local_date,
            local_time=visit.local_time,
            time_zone=zone,
            active=visit.is_active,
        )
        for visit in visits
    ]


@dataclass(frozen=True)
class ReplanResult:
    created: int = 0
    updated: int = 0
    cancelled: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.cancelled


def max_lateness() -> timedelta:
    return timedelta(minutes=settings.REMINDER_MAX_LATENESS_MINUTES)


def replan_patient(patient: Patient, *, now: datetime | None = None) -> ReplanResult:
    """Make the patient's unsent reminder rows match what the planner says now.

    Call it inside the transaction that changed visits, settings or links. Sent, failed and
    missed rows are history and never change; pending rows that are no longer planned are
    cancelled; planning twice changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        # Serialize re-plans of one patient (two requests at once would insert the same rows).
        patient = (
            Patient.objects.select_for_update(of=("self",))
            .select_related("clinic", "user")
            .get(pk=patient.pk)
        )
        rules = clinic_rule_settings(patient)
        slots = visit_slots(patient)
        # Plan from the start of the lateness window, so rows that are due but not yet sent
        # stay valid; new rows are only created for the future.
        since = now - max_lateness()
        wanted: dict[tuple[int, int, str, Any], tuple[datetime, Audience]] = {}
        for user, recipient in reminder_recipients(patient):
            for item in planning.plan_reminders(slots, recipient, rules, after=since):
                key = (user.pk, int(item.visit_key), str(item.rule), item.day)
                wanted[key] = (item.due_at, recipient.audience)

        existing = {
            (r.recipient_id, r.visit_id, r.rule, r.day): r
            for r in Reminder.objects.filter(patient=patient).exclude(
                status__in=[Reminder.Status.SENT, Reminder.Status.FAILED, Reminder.Status.MISSED]
            )
        }
        history = set(
            Reminder.objects.filter(
                patient=patient,
                status__in=[Reminder.Status.SENT, Reminder.Status.FAILED, Reminder.Status.MISSED],
            ).values_list("recipient_id", "visit_id", "rule", "day")
        )
        created: list[Reminder] = []
        updated = cancelled = 0
        for key, row in existing.items():
            if row.status == Reminder.Status.PENDING and key not in wanted:
                # Conditional: a worker may have just finished it; then it is history.
                cancelled += Reminder.objects.filter(pk=row.pk, status=Reminder.Status.PENDING).update(
                    status=Reminder.Status.CANCELLED, finished_at=now, claimed_until=None, claim_token=None
                )
        for key, (due_at, audience) in wanted.items():
            if key in history:
                continue
            row = existing.get(key)
            if row is None:
                if due_at > now:
                    created.append(
                        Reminder(
                            recipient_id=key[0],
                            patient=patient,
                            visit_id=key[1],
                            rule=key[2],
                            audience=audience,
                            day=key[3],
                            due_at=due_at,
                            next_attempt_at=due_at,
                            created_at=now,
                        )
                    )
            elif row.status == Reminder.Status.PENDING:
                if row.due_at != due_at or row.audience != audience:
                    updated += Reminder.objects.filter(pk=row.pk, status=Reminder.Status.PENDING).update(
                        due_at=due_at, next_attempt_at=due_at, audience=audience
                    )
            elif row.status == Reminder.Status.CANCELLED and due_at > now:
                # Planned again (a visit moved back): the same row becomes pending again.
                updated += Reminder.objects.filter(pk=row.pk, status=Reminder.Status.CANCELLED).update(
                    status=Reminder.Status.PENDING,
                    due_at=due_at,
                    next_attempt_at=due_at,
                    audience=audience,
                    finished_at=None,
                )
        Reminder.objects.bulk_create(created)
    return ReplanResult(created=len(created), updated=updated, cancelled=cancelled)


def replan_patients(patients: Iterable[Patient], *, now: datetime | None = None) -> int:
    return sum(replan_patient(patient, now=now).changed for patient in patients)


# --- Rendering ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    title: str
    preview: str
    body: str
    url: str


def reminder_url(reminder: Reminder) -> str:
    return settings.SITE_URL + reverse("reminder-detail", args=[reminder.code])


def reminder_context(reminder: Reminder) -> dict[str, Any]:
    patient = reminder.patient
    visit = reminder.visit
    return {
        "reminder": reminder,
        "rule": reminder.rule,
        "for_patient": reminder.audience == Audience.PATIENT,
        "patient_name": patient.name,
        "visit": visit,
        "visit_date": visit.local_date,
        "visit_time": visit.local_time,
        "clinic": patient.clinic,
        "dressing_days": clinic_rule_settings(patient).dressing_days,
    }


def render_guidance(reminder: Reminder) -> str:
    """The clinical text of a reminder, in the active language (templates in reminders/)."""
    return render_to_string(f"reminders/{reminder.rule}.txt", reminder_context(reminder)).strip()


def render_reminder(reminder: Reminder) -> Rendered:
    """Title, preview and body in the recipient's language. Previews are discreet unless the
    patient turned discreet mode off."""
    with translation.override(reminder.recipient.language):
        body = render_guidance(reminder)
        if reminder.patient.discreet:
            title, preview = str(DISCREET_TITLE), str(DISCREET_BODY)
        else:
            title, preview = str(RULE_TITLES[Rule(reminder.rule)]), body.split("\n", 1)[0]
        return Rendered(title=title, preview=preview, body=body, url=reminder_url(reminder))


# --- Delivery ---------------------------------------------------------------------------


@dataclass
class Outcome:
    ok: bool
    error: str = ""
    # The device is gone for good (push 404/410): remove it, do not retry.
    gone: bool = False


def channels_for(reminder: Reminder) -> list[tuple[str, str]]:
    """(channel, device) pairs for the recipient's current choices; the inbox always."""
    user = reminder.recipient
    pairs = [(Delivery.Channel.INBOX, "")]
    if user.reminders_by_email and user.email:
        pairs.append((Delivery.Channel.EMAIL, ""))
    if user.reminders_by_push:
        pairs += [
            (Delivery.Channel.PUSH, str(code))
            for code in user.push_subscriptions.values_list("code", flat=True)
        ]
    return pairs


def email_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def send_email_reminder(reminder: Reminder, rendered: Rendered) -> Callable[[], Outcome]:
    from portal.emails import make_message

    patient = reminder.patient
    context = {
        "title": rendered.title,
        "discreet": patient.discreet,
        "guidance": rendered.body,
        "url": rendered.url,
        "clinic": patient.clinic,
    }
    message = make_message(reminder.recipient.email, "reminder", context, reminder.recipient.language)
    # The same Message-ID on every attempt: a repeat after a killed worker is one message to
    # mail systems that de-duplicate, not two.
    message.extra_headers["Message-ID"] = f"<reminder-{reminder.code}@{email_domain()}>"

    def send() -> Outcome:
        try:
            message.send()
        except Exception as error:  # noqa: BLE001 - any SMTP failure is retried
            return Outcome(ok=False, error=f"email-{type(error).__name__}"[:100])
        return Outcome(ok=True)

    return send


def send_push_reminder(reminder: Reminder, rendered: Rendered, device: str) -> Callable[[], Outcome] | None:
    from portal import push

    subscription = PushSubscription.objects.filter(code=device, user=reminder.recipient).first()
    if subscription is None:
        return None
    payload = {
        "title": rendered.title,
        "body": rendered.preview,
        "url": rendered.url,
        # 32 URL-safe characters: usable as the push Topic, and as the notification tag, so a
        # repeat replaces the first on the device.
        "tag": reminder.code.hex,
    }
    return lambda: push.send_push(subscription, payload)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.REMINDER_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


def lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.REMINDER_LEASE_SECONDS)


def claim_due(now: datetime, *, limit: int) -> tuple[uuid.UUID, list[Reminder]]:
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
        Reminder.objects.filter(unclaimed, pk__in=ids, status=Reminder.Status.PENDING).update(
            claim_token=token, claimed_until=lease_end(now)
        )
    claimed = list(
        Reminder.objects.filter(pk__in=ids, claim_token=token).select_related(
            "recipient", "patient__clinic", "visit"
        )
    )
    return token, claimed


def send_due_reminders(*, now: datetime | None = None, limit: int | None = None) -> Counter[str]:
    """One pass of the worker. Returns counts: claimed reminders, delivered, retry and
    delivery_failed deliveries, and reminder_<status> for reminders closed in this pass."""
    frozen = now is not None
    now = now or timezone.now()
    done: Counter[str] = Counter()
    token, claimed = claim_due(now, limit=limit or settings.REMINDER_BATCH_SIZE)
    done["claimed"] = len(claimed)
    jobs: list[tuple[Delivery, Callable[[], Outcome]]] = []
    ready: list[Reminder] = []
    for reminder in claimed:
        try:
            jobs += prepare(reminder, now, done)
        except Exception as error:
            # One broken reminder must not stop the others. Its claim stays and expires, so it
            # is retried (and missed once too late). The type only: messages may hold text.
            logger.error("Reminder %s could not be prepared: %s", reminder.pk, type(error).__name__)
            done["error"] += 1
        else:
            ready.append(reminder)
    # Network waits run side by side so one slow push service does not hold back the rest;
    # all database work stays on this thread.
    # Each outcome is recorded as soon as it is known, so a worker killed mid-batch leaves at
    # most the sends in flight unrecorded (those are retried once its claims expire).
    if jobs:
        # Re-planning may cancel a claimed reminder while its deliveries are prepared; it
        # clears the claim, so only what is still ours and pending goes out.
        ours = set(
            Reminder.objects.filter(claim_token=token, status=Reminder.Status.PENDING).values_list(
                "pk", flat=True
            )
        )
        jobs = [(delivery, send) for delivery, send in jobs if delivery.reminder_id in ours]
    if jobs:
        # Tests pass a frozen ``now``; a real pass stamps each delivery when it happened.
        clock = (lambda: now) if frozen else timezone.now
        renewed = time.monotonic()
        with ThreadPoolExecutor(max_workers=settings.REMINDER_THREADS) as pool:
            futures = {pool.submit(send): delivery for delivery, send in jobs}
            for future in as_completed(futures):
                record_outcome(futures[future], future.result(), clock(), done)
                if time.monotonic() - renewed > settings.REMINDER_LEASE_SECONDS / 3:
                    # A long batch keeps its claims: no second worker takes them over.
                    renewed = time.monotonic()
                    Reminder.objects.filter(claim_token=token).update(claimed_until=lease_end(clock()))
    for reminder in ready:
        finish(reminder, token, now, done)
    return done


def prepare(
    reminder: Reminder, now: datetime, done: Counter[str]
) -> list[tuple[Delivery, Callable[[], Outcome]]]:
    """The deliveries of a claimed reminder that are due now, with what sends each one."""
    if not reminder.visit.is_active or not reminder.recipient.is_active:
        # Planning cancels these in the same transaction; this is the last line of defence.
        return []
    late = now - reminder.due_at > max_lateness()
    if not late:
        Delivery.objects.bulk_create(
            [
                Delivery(reminder=reminder, channel=c, device=d, next_attempt_at=now)
                for c, d in channels_for(reminder)
            ],
            ignore_conflicts=True,
        )
    pending = list(reminder.deliveries.filter(status=Delivery.Status.PENDING))
    if late:
        # Never sent late: what is still waiting fails, and the reminder is missed unless
        # some channel already delivered it.
        for delivery in pending:
            delivery.status, delivery.error = Delivery.Status.FAILED, "too-late"
            delivery.save(update_fields=["status", "error"])
        return []
    rendered = render_reminder(reminder)
    jobs: list[tuple[Delivery, Callable[[], Outcome]]] = []
    for delivery in pending:
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            continue
        if delivery.channel == Delivery.Channel.INBOX:
            # The inbox is this database: delivering it is marking it sent.
            record_outcome(delivery, Outcome(ok=True), now, done)
        elif delivery.channel == Delivery.Channel.EMAIL:
            jobs.append((delivery, send_email_reminder(reminder, rendered)))
        elif (send := send_push_reminder(reminder, rendered, delivery.device)) is not None:
            jobs.append((delivery, send))
        else:
            record_outcome(delivery, Outcome(ok=False, error="gone", gone=True), now, done)
    return jobs


def record_outcome(delivery: Delivery, outcome: Outcome, now: datetime, done: Counter[str]) -> None:
    delivery.attempts += 1
    if outcome.ok:
        delivery.status, delivery.sent_at, delivery.error = Delivery.Status.SENT, now, ""
        done["delivered"] += 1
    elif outcome.gone or delivery.attempts >= settings.REMINDER_MAX_ATTEMPTS:
        delivery.status, delivery.error = Delivery.Status.FAILED, outcome.error
        done["delivery_failed"] += 1
        if outcome.gone and delivery.device:
            PushSubscription.objects.filter(code=delivery.device).delete()
    else:
        delivery.error, delivery.next_attempt_at = outcome.error, now + backoff(delivery.attempts)
        done["retry"] += 1
    # Row ids and error codes only: no names, no texts (README, "Patient data").
    if not outcome.ok:
        logger.warning("Delivery %s (%s) failed: %s", delivery.pk, delivery.channel, outcome.error)
    delivery.save(update_fields=["attempts", "status", "sent_at", "error", "next_attempt_at"])


def finish(reminder: Reminder, token: uuid.UUID, now: datetime, done: Counter[str]) -> None:
    """Release the claim; close the reminder when no delivery waits any more."""
    mine = Reminder.objects.filter(pk=reminder.pk, claim_token=token)
    if not reminder.visit.is_active or not reminder.recipient.is_active:
        done["reminder_cancelled"] += mine.filter(status=Reminder.Status.PENDING).update(
            status=Reminder.Status.CANCELLED, finished_at=now, claim_token=None, claimed_until=None
        )
        return
    deliveries = list(reminder.deliveries.values_list("status", "next_attempt_at"))
    waiting = [at for status, at in deliveries if status == Delivery.Status.PENDING]
    if waiting:
        mine.update(next_attempt_at=min(at or now for at in waiting), claim_token=None, claimed_until=None)
        return
    statuses = {status for status, _at in deliveries}
    if Delivery.Status.SENT in statuses:
        status = Reminder.Status.SENT
    elif now - reminder.due_at > max_lateness():
        status = Reminder.Status.MISSED
    else:
        status = Reminder.Status.FAILED
    done[f"reminder_{status}"] += 1
    mine.update(status=status, finished_at=now, claim_token=None, claimed_until=None)
