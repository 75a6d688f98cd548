"""A person's own account: their settings (with warnings in plain words), a copy of
everything the app holds about them, and deleting the account.

Self-service: the person acts on their own data, so nothing here is audited (staff reads
and changes are, in portal.services)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Prefetch
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from portal import services
from portal.devices import device_name
from portal.emails import send_email
from portal.models import (
    AssignmentProgress,
    AuditEvent,
    CalendarFeed,
    CaregiverLink,
    Delivery,
    DressingLogEntry,
    InjectionVisit,
    OutgoingEmail,
    Patient,
    PushSubscription,
    Reminder,
    StaffMembership,
    User,
)
from portal.queries import list_assignments_for, must_use_mfa
from portal.reminders import replan_patient
from portal.reminders.planning import in_quiet_hours

# --- Settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What a person chooses on their settings page. ``discreet`` is a patient's only."""

    language: str
    time_zone: str
    reminder_time: time
    quiet_start: time | None
    quiet_end: time | None
    reminders_by_email: bool
    reminders_by_push: bool
    discreet: bool = True


def current_settings(user: User) -> Settings:
    """A patient's timing lives on their patient record (the clinic sees and plans with it);
    a caregiver's on their account. Language and channels are always the account's."""
    patient = Patient.objects.filter(user=user).first()
    timing: Patient | User = patient or user
    return Settings(
        language=user.language,
        time_zone=timing.time_zone,
        reminder_time=timing.reminder_time,
        quiet_start=timing.quiet_start,
        quiet_end=timing.quiet_end,
        reminders_by_email=user.reminders_by_email,
        reminders_by_push=user.reminders_by_push,
        discreet=patient.discreet if patient else True,
    )


@transaction.atomic
def save_settings(*, user: User, choice: Settings) -> None:
    """Save everything on the settings page at once; reminders are planned again for every
    patient whose reminders this person gets (services do it in this transaction)."""
    if (choice.quiet_start is None) != (choice.quiet_end is None):
        raise ValidationError(_("Give both the start and the end of quiet hours, or neither."))
    services.set_language(user=user, language=choice.language)
    timing = {
        "time_zone": choice.time_zone,
        "reminder_time": choice.reminder_time,
        "quiet_start": choice.quiet_start,
        "quiet_end": choice.quiet_end,
    }
    channels = {
        "reminders_by_email": choice.reminders_by_email,
        "reminders_by_push": choice.reminders_by_push,
    }
    patient = Patient.objects.filter(user=user).first()
    if patient is None:
        services.update_reminder_preferences(user=user, **timing, **channels)
        return
    services.update_patient_settings(patient=patient, by=user, discreet=choice.discreet, **timing)
    # Pages show times in the account's zone: the same as the patient record's.
    services.update_reminder_preferences(user=user, time_zone=choice.time_zone, **channels)


def _time(value: time) -> str:
    return formats.time_format(value, "TIME_FORMAT")


def settings_warnings(choice: Settings, *, devices: int) -> list[str]:
    """What a person should know about their choices, in plain words. Saving is never
    refused for these: each is a choice someone may make on purpose."""
    warnings = []
    start, end = choice.quiet_start, choice.quiet_end
    if start is not None and start == end:
        warnings.append(
            _(
                "Your quiet hours start and end at the same time, so there are none. "
                "Choose two different times, or leave both empty."
            )
        )
    elif start is not None and end is not None and in_quiet_hours(choice.reminder_time, start, end):
        # Where planning moves it (portal.reminders.planning): to the end of the quiet hours
        # that day, or just before they start when they end only the next day.
        wraps_to_tomorrow = start > end and choice.reminder_time >= start
        moved = (
            (datetime.combine(date(2000, 1, 1), start) - timedelta(minutes=1)).time()
            if wraps_to_tomorrow
            else end
        )
        warnings.append(
            _(
                "Your reminder time, %(time)s, is inside your quiet hours, "
                "so your reminders will come at %(moved)s instead."
            )
            % {"time": _time(choice.reminder_time), "moved": _time(moved)}
        )
    if not choice.reminders_by_email and not choice.reminders_by_push:
        warnings.append(
            _("Email and notifications are both off. You will see reminders only when you open this app.")
        )
    elif choice.reminders_by_push and not devices:
        warnings.append(
            _(
                "Notifications are on, but no phone or computer is set up for them yet. "
                "Turn them on under “Devices”."
            )
        )
    return warnings


# --- Changing the sign-in email address ----------------------------------------------------------

EMAIL_CHANGE_SALT = "portal.accounts.email-change"
EMAIL_CHANGE_HOURS = 24


def check_new_email(user: User, email: str) -> None:
    if email == user.email:
        raise ValidationError({"email": _("This is already your email address.")})
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": _("This email address belongs to another account.")})
    patient = Patient.objects.select_related("clinic").filter(user=user).first()
    if patient is not None:
        services.check_patient_email(clinic=patient.clinic, email=email, patient=patient)


def request_email_change(*, user: User, email: str) -> None:
    """Email a confirmation link to the new address; nothing changes until it is opened there."""
    email = email.strip().lower()
    check_new_email(user, email)
    token = signing.dumps({"user": str(user.code), "email": email}, salt=EMAIL_CHANGE_SALT)
    url = settings.SITE_URL + reverse("account-email-confirm", args=[token])
    send_email(email, "email-change", {"url": url, "hours": EMAIL_CHANGE_HOURS}, user.language)


def email_from_token(*, user: User, token: str) -> str:
    """The new address a confirmation link carries, or ValidationError saying why it cannot be used."""
    try:
        data = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=timedelta(hours=EMAIL_CHANGE_HOURS))
    except signing.SignatureExpired:
        raise ValidationError(_("This link has expired. Ask for a new one.")) from None
    except signing.BadSignature:
        raise ValidationError(_("This link is not valid. Check that you copied all of it.")) from None
    if data.get("user") != str(user.code):
        raise ValidationError(_("This link is for another account. Sign out, then open it again."))
    return str(data["email"])


@transaction.atomic
def confirm_email_change(*, user: User, token: str) -> str:
    """Sign in with the new address from now on: the account, its verified address, and the
    person's patient record and caregiver links (the clinic's contact) change together. The
    old address is told, in case someone else did it."""
    email = email_from_token(user=user, token=token)
    check_new_email(user, email)
    old = user.email
    with services.refused_if_taken({"email": _("This email address belongs to another account.")}):
        User.objects.filter(pk=user.pk).update(email=email)
        Patient.objects.filter(user=user).update(email=email)
        CaregiverLink.objects.filter(caregiver=user).exclude(status=CaregiverLink.Status.REVOKED).update(
            email=email
        )
    user.refresh_from_db(fields=["email"])
    EmailAddress.objects.filter(user=user).delete()
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    send_email(old, "email-changed", {}, user.language)
    return email


# --- Download my data --------------------------------------------------------------------------

EXPORT_FORMAT = "home-care-companion-account/1"


def _iso(value: datetime | date | time | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_account_data(*, user: User, now: datetime) -> dict[str, Any]:
    """Everything the app holds about this person, as JSON-ready data (README: "Your data").

    Left out on purpose: secrets (push keys and addresses, the calendar address, sign-in
    codes), the texts of emails (not kept once sent), and who on the care team opened the
    record (the care team's own data; the clinic can tell on request)."""
    patient = Patient.objects.select_related("clinic").filter(user=user).first()
    caring = (
        CaregiverLink.objects.filter(caregiver=user)
        .select_related("patient")
        .order_by("created_at")
        .prefetch_related(
            Prefetch(
                "patient__dressing_log",
                queryset=DressingLogEntry.objects.filter(recorded_by=user).order_by("at"),
                to_attr="mine",
            )
        )
    )
    reminders = (
        Reminder.objects.filter(recipient=user)
        .select_related("patient")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("channel", "device")))
        .order_by("due_at", "pk")
    )
    feed = CalendarFeed.objects.filter(user=user).first()
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _iso(now),
        "account": {
            "email": user.email,
            "name": user.name,
            "language": user.language,
            "time_zone": user.time_zone,
            "joined_at": _iso(user.date_joined),
            "last_sign_in_at": _iso(user.last_login),
            "reminder_time": _iso(user.reminder_time),
            "quiet_hours": _quiet(user.quiet_start, user.quiet_end),
            "reminders_by_email": user.reminders_by_email,
            "reminders_by_notification": user.reminders_by_push,
            "email_addresses": [
                {"email": address.email, "verified": address.verified, "primary": address.primary}
                for address in EmailAddress.objects.filter(user=user).order_by("email")
            ],
            "sign_in_methods": sorted(
                Authenticator.objects.filter(user=user).values_list("type", flat=True).distinct()
            ),
            "clinic_roles": [
                {"clinic": clinic, "role": role}
                for clinic, role in StaffMembership.objects.filter(user=user)
                .order_by("clinic__name")
                .values_list("clinic__name", "role")
            ],
        },
        "patient_record": _patient_record(patient, user) if patient else None,
        "caring_for": [_caring(link) for link in caring],
        "modules": _modules(user),
        "reminders": [_reminder(reminder, user) for reminder in reminders],
        "devices": [
            {
                "name": device_name(device.user_agent),
                "browser": device.user_agent,
                "added_at": _iso(device.created_at),
            }
            for device in PushSubscription.objects.filter(user=user).order_by("created_at", "pk")
        ],
        "calendar_address": {"made_at": _iso(feed.created_at)} if feed else None,
        "emails": [
            {"kind": kind, "status": status, "written_at": _iso(created), "sent_at": _iso(sent)}
            for kind, status, created, sent in OutgoingEmail.objects.filter(to__iexact=user.email)
            .order_by("created_at", "pk")
            .values_list("kind", "status", "created_at", "sent_at")
        ],
    }


def _quiet(start: time | None, end: time | None) -> dict[str, str | None] | None:
    return {"start": _iso(start), "end": _iso(end)} if start is not None else None


def _patient_record(patient: Patient, user: User) -> dict[str, Any]:
    clinic = patient.clinic
    links = list(patient.caregiver_links.order_by("created_at"))
    helpers = {link.caregiver_id: link.name or link.email for link in links if link.caregiver_id}
    visits = InjectionVisit.objects.filter(patient=patient).order_by("local_date", "local_time")
    entries = patient.dressing_log.order_by("at", "pk")
    audit = AuditEvent.objects.filter(patient_code=patient.code).order_by("at", "pk")
    return {
        "name": patient.name,
        "email": patient.email,
        "clinic": {
            "name": clinic.name,
            "daytime_phone": clinic.phone_daytime,
            "after_hours_phone": clinic.phone_after_hours,
        },
        "language": patient.language,
        "time_zone": patient.time_zone,
        "reminder_time": _iso(patient.reminder_time),
        "quiet_hours": _quiet(patient.quiet_start, patient.quiet_end),
        "discreet_notifications": patient.discreet,
        "enrolled_at": _iso(patient.created_at),
        "visits": [
            {
                "date": _iso(visit.local_date),
                "time": _iso(visit.local_time),
                "status": visit.status,
                "injection_sites": visit.sites,
            }
            for visit in visits
        ],
        "caregivers": [
            {
                "name": link.name,
                "email": link.email,
                "status": link.status,
                "helps_with_dressings": link.handles_dressings,
                "must_not_handle_dressings": link.pregnant_or_immunocompromised,
                "gets_reminders": link.gets_reminders,
                "consent_given_at": _iso(link.consented_at),
                "linked_at": _iso(link.activated_at),
                "ended_at": _iso(link.revoked_at),
            }
            for link in links
        ],
        "dressing_log": [
            {"at": _iso(entry.at), "what": entry.kind, "by": _recorder(entry.recorded_by_id, user, helpers)}
            for entry in entries
        ],
        "symptom_checks": [
            {
                "at": _iso(c.at),
                "signs": c.signs,
                "call_now": c.urgent,
                "by": _recorder(c.recorded_by_id, user, helpers),
            }
            for c in patient.symptom_checks.order_by("at", "pk")
        ],
        "care_team_activity": [
            {"at": _iso(at), "action": action} for at, action in audit.values_list("at", "action")
        ],
    }


def _recorder(recorded_by: int, user: User, helpers: dict[int, str]) -> str:
    if recorded_by == user.pk:
        return "you"
    return helpers.get(recorded_by, "care team")


def _caring(link: CaregiverLink) -> dict[str, Any]:
    return {
        "patient": link.patient.name,
        "status": link.status,
        "helps_with_dressings": link.handles_dressings,
        "must_not_handle_dressings": link.pregnant_or_immunocompromised,
        "gets_reminders": link.gets_reminders,
        "linked_at": _iso(link.activated_at),
        "ended_at": _iso(link.revoked_at),
        "dressing_log_by_you": [
            {"at": _iso(entry.at), "what": entry.kind}
            for entry in link.patient.mine  # type: ignore[attr-defined]
        ],
    }


def _modules(user: User) -> list[dict[str, Any]]:
    """The modules given to the person to read, with how far they got and their answers."""
    assignments = list_assignments_for(user).prefetch_related(
        Prefetch(
            "progress",
            queryset=AssignmentProgress.objects.filter(reader=user).prefetch_related("answers"),
            to_attr="mine",
        )
    )
    modules = []
    for assignment in assignments:
        progress = assignment.mine[0] if assignment.mine else None  # type: ignore[attr-defined]
        modules.append(
            {
                "module": assignment.module_slug,
                "for": "you" if assignment.patient.user_id == user.pk else assignment.patient.name,
                "assigned_at": _iso(assignment.assigned_at),
                "progress": {
                    "state": progress.state,
                    "opened_at": _iso(progress.opened_at),
                    "read_to_the_end_at": _iso(progress.finished_at),
                    "understood_at": _iso(progress.acknowledged_at),
                    "questions_at": _iso(progress.questions_at),
                    "language": progress.language,
                    "answers": [
                        {
                            "question": answer.question_id,
                            "answer": answer.answer,
                            "correct": answer.correct,
                            "at": _iso(answer.answered_at),
                        }
                        for answer in sorted(progress.answers.all(), key=lambda a: a.answered_at)
                    ],
                }
                if progress
                else None,
            }
        )
    return modules


def _reminder(reminder: Reminder, user: User) -> dict[str, Any]:
    return {
        "about": "you" if reminder.patient.user_id == user.pk else reminder.patient.name,
        "kind": reminder.rule,
        "day": _iso(reminder.day),
        "due_at": _iso(reminder.due_at),
        "status": reminder.status,
        "read_at": _iso(reminder.read_at),
        "deliveries": [
            {
                "channel": delivery.channel,
                "status": delivery.status,
                "attempts": delivery.attempts,
                "sent_at": _iso(delivery.sent_at),
                "problem": delivery.error,
            }
            for delivery in reminder.deliveries.all()
        ],
    }


# --- Delete my account -------------------------------------------------------------------------


def may_delete_account(user: User) -> bool:
    """Clinic staff and operators are taken off by their clinic or the site's operators:
    what they did stays attributed to them."""
    return not must_use_mfa(user)


@transaction.atomic
def delete_account(*, user: User) -> None:
    """Close the account and empty it of the person (README: "Deleting your account").

    Goes: the email address and name, sign-in, settings, devices, the calendar address;
    every session ends. Caregiver links end (the patient's, and the person's own as a
    caregiver), so nobody gets reminders through this account any more. Stays: the clinic's
    record of the patient (visits, dressing log, reminders sent, the audit trail), which
    then has no account; the clinic may invite the person again. The row itself stays,
    emptied, because the clinical record refers to it ("recorded by")."""
    if not may_delete_account(user):
        raise ValidationError(_("Clinic staff accounts are closed by the clinic."), code="staff")
    patient = Patient.objects.select_for_update().filter(user=user).first()
    ending = CaregiverLink.objects.filter(caregiver=user)
    if patient is not None:
        ending = ending | patient.caregiver_links.all()
    for link in ending.exclude(status=CaregiverLink.Status.REVOKED).select_related("patient"):
        services.revoke_caregiver(link=link, by=user)
    PushSubscription.objects.filter(user=user).delete()
    CalendarFeed.objects.filter(user=user).delete()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    defaults = {field.name: field.get_default() for field in User._meta.get_fields() if field.name in EMPTIED}
    User.objects.filter(pk=user.pk).update(
        email=f"deleted-{user.code}@deleted.invalid",
        is_active=False,
        session_epoch=F("session_epoch") + 1,
        **defaults,
    )
    user.refresh_from_db()
    user.set_unusable_password()
    user.save(update_fields=["password"])
    if patient is not None:
        patient.user = None
        patient.save(update_fields=["user"])
        # The patient's own reminders stop (they have no account to go to).
        replan_patient(patient)


# Emptied to their defaults when an account is deleted.
EMPTIED = (
    "name",
    "language",
    "time_zone",
    "reminder_time",
    "quiet_start",
    "quiet_end",
    "reminders_by_email",
    "reminders_by_push",
    "last_login",
)
