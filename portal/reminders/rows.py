"""Reminder rows: who gets a patient's reminders, and making the rows match the plan.

``replan_patient`` turns ``planning`` results into Reminder rows; the services that change visits,
settings, caregiver links or the dressing log call it inside their own transaction. It changes
only rows that are unclaimed and not yet due: those are the worker's (portal.reminders.delivery),
which alone marks a reminder sent, missed or failed. A claimed or overdue row that is no longer
planned is only marked withdrawn, and the worker cancels it instead of sending it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from portal.models import (
    CaregiverLink,
    ClinicReminderSettings,
    Delivery,
    DressingLogEntry,
    InjectionVisit,
    Patient,
    Reminder,
    User,
)
from portal.reminders import planning
from portal.reminders.planning import Audience, Rule

type RowKey = tuple[int, str, date]  # (recipient id, rule, local day): one row each


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


def caregiver_audience(link: CaregiverLink) -> Audience:
    """Pregnant or immunocompromised caregivers, and those who do not help with dressings,
    get the version that tells them not to handle dressings (tvec-facts sections 2 and 3)."""
    if link.handles_dressings and not link.pregnant_or_immunocompromised:
        return Audience.CAREGIVER_HANDLER
    return Audience.CAREGIVER_NON_HANDLER


def recipients(patient: Patient) -> list[tuple[User, planning.Recipient]]:
    """Who gets this patient's reminders, each with their own local time and quiet hours."""
    found: list[tuple[User, planning.Recipient]] = []
    if patient.discharged_at is not None:
        # Discharged: the record stays, reminders stop (reopening plans them again).
        return found
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


def slots(patient: Patient) -> list[planning.VisitSlot]:
    # Visits happen at the clinic, so their wall time is the clinic's.
    zone = patient.clinic.time_zone
    return [
        planning.VisitSlot(
            key=str(visit.pk),
            local_date=visit.local_date,
            local_time=visit.local_time,
            time_zone=zone,
            active=visit.is_active,
        )
        for visit in InjectionVisit.objects.filter(course__patient=patient)
    ]


def dressing_reports(patient: Patient) -> list[planning.DressingReport]:
    """The weeping and dry reports: the only dressing log entries that change the plan."""
    kinds = [DressingLogEntry.Kind.WEEPING, DressingLogEntry.Kind.DRY]
    return [
        planning.DressingReport(at=at, weeping=kind == DressingLogEntry.Kind.WEEPING)
        for kind, at in patient.dressing_log.filter(kind__in=kinds).values_list("kind", "at")
    ]


def max_lateness() -> timedelta:
    return timedelta(minutes=settings.REMINDER_MAX_LATENESS_MINUTES)


@dataclass(frozen=True)
class ReplanResult:
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    withdrawn: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.cancelled + self.withdrawn


@dataclass(frozen=True)
class Wanted:
    visit_id: int
    due_at: datetime
    audience: str
    instead_of: date | None


def plan_rows(patient: Patient, now: datetime) -> dict[RowKey, Wanted]:
    """The plan of every recipient of ``patient``, by row key."""
    rules = clinic_rule_settings(patient)
    visit_slots = slots(patient)
    reports = dressing_reports(patient)
    wanted: dict[RowKey, Wanted] = {}
    for user, recipient in recipients(patient):
        for item in planning.plan_reminders(visit_slots, recipient, rules, now=now, reports=reports):
            wanted[(user.pk, str(item.rule), item.day)] = Wanted(
                int(item.visit_key), item.due_at, str(recipient.audience), item.instead_of
            )
    return wanted


HISTORY = (Reminder.Status.SENT, Reminder.Status.FAILED, Reminder.Status.MISSED)


def replan_patient(patient: Patient, *, now: datetime | None = None) -> ReplanResult:
    """Make the patient's unsent reminder rows match what the planner says now.

    Call it inside the transaction that changed visits, settings, links or the dressing log.
    Sent, failed and missed rows are history and never change; a pending row that is claimed
    by a worker or already due is the worker's: re-planning only marks it withdrawn when it is
    no longer planned (and clears that mark when it is planned again). Planning twice changes
    nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        # Serialize re-plans of one patient (two requests at once would insert the same rows).
        patient = (
            Patient.objects.select_for_update(of=("self",))
            .select_related("clinic", "user")
            .get(pk=patient.pk)
        )
        wanted = plan_rows(patient, now)
        rows: dict[RowKey, Reminder] = {
            (row.recipient_id, row.rule, row.day): row for row in Reminder.objects.filter(patient=patient)
        }
        created: list[Reminder] = []
        to_cancel: list[int] = []
        to_withdraw: list[int] = []
        to_restore: list[int] = []
        updated = 0
        for key, row in rows.items():
            if row.status != Reminder.Status.PENDING:
                continue
            plan = wanted.get(key)
            if row.claim_token is not None or row.due_at <= now:
                # The worker's row: it decides; re-planning only says whether it is still wanted.
                if plan is None and row.withdrawn_at is None:
                    to_withdraw.append(row.pk)
                elif plan is not None and row.withdrawn_at is not None:
                    to_restore.append(row.pk)
            elif plan is None or plan.due_at < now:
                # No longer planned, or its new time passed with no time left today.
                to_cancel.append(row.pk)
            elif (row.due_at, row.visit_id, row.audience) != (plan.due_at, plan.visit_id, plan.audience):
                updated += unclaimed_future(row.pk, now).update(
                    due_at=plan.due_at,
                    next_attempt_at=plan.due_at,
                    visit_id=plan.visit_id,
                    audience=plan.audience,
                    withdrawn_at=None,
                )
        revived: list[int] = []
        for key, plan in wanted.items():
            if plan.due_at < now:
                continue  # a slot that passed: kept in the plan only to recognise its row
            if plan.instead_of is not None:
                # "Your visit is today" only when the day-before reminder never happened.
                replaced = rows.get((key[0], key[1], plan.instead_of))
                if replaced is not None and replaced.status != Reminder.Status.CANCELLED:
                    continue
            existing = rows.get(key)
            if existing is None:
                created.append(
                    Reminder(
                        recipient_id=key[0],
                        patient=patient,
                        visit_id=plan.visit_id,
                        rule=key[1],
                        audience=plan.audience,
                        day=key[2],
                        due_at=plan.due_at,
                        next_attempt_at=plan.due_at,
                        created_at=now,
                    )
                )
            elif existing.status == Reminder.Status.CANCELLED:
                # Planned again (a visit moved back): the same row becomes pending again.
                revived.append(existing.pk)
                updated += Reminder.objects.filter(pk=existing.pk, status=Reminder.Status.CANCELLED).update(
                    status=Reminder.Status.PENDING,
                    due_at=plan.due_at,
                    next_attempt_at=plan.due_at,
                    visit_id=plan.visit_id,
                    audience=plan.audience,
                    finished_at=None,
                    withdrawn_at=None,
                )
        # A revived row starts afresh on every channel (a cancelled row never has a sent one).
        Delivery.objects.filter(reminder_id__in=revived).exclude(status=Delivery.Status.SENT).delete()
        Reminder.objects.bulk_create(created)
        cancelled = (
            unclaimed_future(to_cancel, now).update(status=Reminder.Status.CANCELLED, finished_at=now)
            if to_cancel
            else 0
        )
        pending = Reminder.objects.filter(status=Reminder.Status.PENDING)
        withdrawn = pending.filter(pk__in=to_withdraw).update(withdrawn_at=now) if to_withdraw else 0
        if to_restore:
            updated += pending.filter(pk__in=to_restore).update(withdrawn_at=None)
    return ReplanResult(created=len(created), updated=updated, cancelled=cancelled, withdrawn=withdrawn)


def unclaimed_future(pks: int | list[int], now: datetime) -> QuerySet[Reminder]:
    """Rows re-planning may still change: pending, unclaimed and not yet due. Conditional, so a
    row a worker claimed a moment ago is left to the worker."""
    ids = [pks] if isinstance(pks, int) else pks
    return Reminder.objects.filter(
        Q(pk__in=ids), status=Reminder.Status.PENDING, claim_token__isnull=True, due_at__gt=now
    )


def replan_patients(patients: Iterable[Patient], *, now: datetime | None = None) -> int:
    return sum(replan_patient(patient, now=now).changed for patient in patients)
