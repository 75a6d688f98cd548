"""Writes for a patient's record, by clinic staff: edit, discharge, reopen, erase, and the
patient's invitation.

Erasing follows one rule: personal data goes, the audit trail stays meaningful. The audit
log never holds a patient's name, email or health details, only the patient's code, the
staff member and the action; so after erasure it still says who did what and when, about
a patient nobody can name from the log any more."""

import uuid
from datetime import datetime

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import AuditEvent, CaregiverLink, Invitation, Patient, StaffMembership, User
from portal.reminders import replan_patient
from portal.services import check_patient_email, invite_patient, record_audit


@transaction.atomic
def edit_patient(
    *,
    patient: Patient,
    by: User,
    name: str,
    email: str,
    language: str,
    time_zone: str,
    request: HttpRequest | None = None,
) -> Patient:
    """Name, email, language and time zone. A new email for an invited patient sends a new
    invitation there (the old link stops working); a patient with an account changes their
    sign-in email themselves."""
    email = email.strip().lower()
    new_email = email != patient.email.lower()
    if new_email and patient.user_id:
        raise ValidationError(
            {"email": _("The patient has an account: they change their sign-in email themselves.")}
        )
    if new_email:
        check_patient_email(clinic=patient.clinic, email=email, patient=patient)
    patient.name, patient.email, patient.language, patient.time_zone = (
        " ".join(name.split()),
        email,
        language,
        time_zone,
    )
    patient.full_clean(exclude=["user"])
    patient.save(update_fields=["name", "email", "language", "time_zone"])
    if patient.user is not None:
        # The account's language and zone drive the patient's pages, emails and reminders.
        patient.user.language, patient.user.time_zone = language, time_zone
        patient.user.save(update_fields=["language", "time_zone"])
    replan_patient(patient)
    record_audit(actor=by, action="patient.changed", patient=patient, request=request)
    if new_email and not patient.discharged_at:
        invite_patient(patient=patient, by=by)
    return patient


def withdraw_invitations(patient: Patient, now: datetime) -> int:
    return patient.invitations.filter(
        kind=Invitation.Kind.PATIENT, accepted_at__isnull=True, withdrawn_at__isnull=True
    ).update(withdrawn_at=now)


@transaction.atomic
def withdraw_patient_invitation(
    *, patient: Patient, by: User, request: HttpRequest | None = None, now: datetime | None = None
) -> int:
    if patient.user_id:
        raise ValidationError(_("This patient already has an account."))
    count = withdraw_invitations(patient, now or timezone.now())
    if not count:
        raise ValidationError(_("There is no open invitation to withdraw."))
    record_audit(actor=by, action="invitation.withdrawn", patient=patient, request=request)
    return count


@transaction.atomic
def resend_patient_invitation(
    *, patient: Patient, by: User, request: HttpRequest | None = None
) -> Invitation:
    if patient.discharged_at:
        raise ValidationError(_("This patient was discharged. Reopen their record first."))
    # invite_patient audits it (patient.reinvited).
    return invite_patient(patient=patient, by=by, request=request)


@transaction.atomic
def discharge_patient(
    *, patient: Patient, by: User, request: HttpRequest | None = None, now: datetime | None = None
) -> Patient:
    """Reminders stop; the record, visits and reading history stay. Reopen undoes it."""
    if patient.discharged_at is not None:
        raise ValidationError(_("This patient is already discharged."))
    now = now or timezone.now()
    patient.discharged_at = now
    patient.save(update_fields=["discharged_at"])
    withdraw_invitations(patient, now)
    replan_patient(patient)
    record_audit(actor=by, action="patient.discharged", patient=patient, request=request)
    return patient


@transaction.atomic
def reopen_patient(*, patient: Patient, by: User, request: HttpRequest | None = None) -> Patient:
    if patient.discharged_at is None:
        raise ValidationError(_("This patient is not discharged."))
    patient.discharged_at = None
    patient.save(update_fields=["discharged_at"])
    replan_patient(patient)
    record_audit(actor=by, action="patient.reopened", patient=patient, request=request)
    return patient


@transaction.atomic
def erase_patient(
    *, patient: Patient, by: User, confirm_name: str, request: HttpRequest | None = None
) -> uuid.UUID:
    """Erase on request: the patient's record and everything under it (visits, links,
    invitations, reminders, reading progress), and their account unless it is also someone
    else's caregiver. The audit trail keeps the code, never the name."""
    if " ".join(confirm_name.split()) != patient.name:
        raise ValidationError({"confirm_name": _("Type the patient's name exactly as shown to confirm.")})
    code = patient.code
    user = patient.user
    record_audit(actor=by, action="patient.erased", patient=patient, request=request)
    patient.delete()
    if user is not None and not StaffMembership.objects.filter(user=user).exists():
        if CaregiverLink.objects.filter(caregiver=user).exists():
            return code
        if AuditEvent.objects.filter(actor=user).exists():
            # The append-only log points at this account: keep the row, without personal data.
            EmailAddress.objects.filter(user=user).delete()
            user.email = f"erased-{user.code}@erased.invalid"
            user.name = ""
            user.is_active = False
            user.set_unusable_password()
            user.save(update_fields=["email", "name", "is_active", "password"])
        else:
            user.delete()
    return code
