"""Writes for a clinic's settings and staff: invite by email (the invitation leads to a
password and an authenticator app), change role, remove (that person's sessions end at once)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.emails import send_email
from portal.models import CaregiverLink, Clinic, Patient, StaffInvitation, StaffMembership, User
from portal.reminders.clinics import request_clinic_replan
from portal.services import InvitationError, record_audit, remove_staff_member

SALT = "portal.staff-invitation"
CLINIC_FIELDS = (
    "name",
    "phone_daytime",
    "phone_after_hours",
    "emergency_number",
    "language",
    "time_zone",
    "acknowledge_within_days",
)


@transaction.atomic
def update_clinic_settings(
    *, clinic: Clinic, by: User, changes: dict[str, Any], request: HttpRequest | None = None
) -> Clinic:
    """Name, phone numbers, default language and time zone. Visits happen at the clinic's
    wall time, so a new time zone re-plans every patient's reminders."""
    if unknown := set(changes) - set(CLINIC_FIELDS):
        raise ValueError(f"Not clinic settings: {sorted(unknown)}")
    moved = "time_zone" in changes and changes["time_zone"] != clinic.time_zone
    for field, value in changes.items():
        setattr(clinic, field, value)
    clinic.full_clean()
    clinic.save(update_fields=sorted(changes))
    if moved:
        request_clinic_replan(clinic)
    record_audit(actor=by, action="clinic.settings_changed", clinic=clinic, request=request)
    return clinic


# --- Staff invitations -------------------------------------------------------------------------


def is_home_account(email: str) -> bool:
    """An email used by a patient record or a caregiver: staff need an address of their own,
    or signing in would mix a patient's account with clinic access."""
    return (
        Patient.objects.filter(email__iexact=email).exists()
        or CaregiverLink.objects.filter(email__iexact=email).exists()
        or Patient.objects.filter(user__email__iexact=email).exists()
    )


def invitation_token(invitation: StaffInvitation) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(invitation.code))


@transaction.atomic
def invite_staff(
    *, clinic: Clinic, by: User, email: str, name: str = "", role: str, request: HttpRequest | None = None
) -> StaffInvitation:
    email = email.strip().lower()
    if clinic.memberships.filter(user__email__iexact=email).exists():
        raise ValidationError({"email": _("This person is already on the staff of this clinic.")})
    if is_home_account(email):
        raise ValidationError(
            {
                "email": _(
                    "This email address belongs to a patient or caregiver. Staff need a work address of their own."
                )
            }
        )
    now = timezone.now()
    clinic.staff_invitations.filter(
        email__iexact=email, accepted_at__isnull=True, withdrawn_at__isnull=True
    ).update(withdrawn_at=now)
    invitation = StaffInvitation(
        clinic=clinic,
        email=email,
        name=" ".join(name.split()),
        role=role,
        invited_by=by,
        expires_at=now + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    record_audit(
        actor=by, action="staff.invited", clinic=clinic, subject_code=invitation.code, request=request
    )
    url = settings.SITE_URL + reverse("staff-invitation", args=[invitation_token(invitation)])
    context = {"url": url, "days": settings.INVITATION_MAX_AGE_DAYS, "clinic": clinic.name}
    language = clinic.language
    transaction.on_commit(lambda: send_email(email, "invitation-staff", context, language))
    return invitation


@transaction.atomic
def withdraw_staff_invitation(
    *, invitation: StaffInvitation, by: User, request: HttpRequest | None = None
) -> None:
    if invitation.accepted_at is None and invitation.withdrawn_at is None:
        invitation.withdrawn_at = timezone.now()
        invitation.save(update_fields=["withdrawn_at"])
        record_audit(
            actor=by,
            action="staff.invitation_withdrawn",
            clinic=invitation.clinic,
            subject_code=invitation.code,
            request=request,
        )


def find_staff_invitation(token: str, *, now: datetime | None = None) -> StaffInvitation:
    now = now or timezone.now()
    try:
        code = signing.TimestampSigner(salt=SALT).unsign(
            token, max_age=timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
        )
        invitation = StaffInvitation.objects.select_related("clinic").get(code=UUID(code))
    except signing.SignatureExpired:
        raise InvitationError(_("This invitation has expired. Ask for a new one.")) from None
    except (signing.BadSignature, ValueError, StaffInvitation.DoesNotExist):
        raise InvitationError(
            _("This invitation link is not valid. Check that you copied all of it.")
        ) from None
    if invitation.accepted_at:
        raise InvitationError(_("This invitation was already used. Sign in instead."))
    if invitation.withdrawn_at:
        raise InvitationError(_("This invitation was withdrawn. Ask for a new one."))
    if invitation.expires_at <= now:
        raise InvitationError(_("This invitation has expired. Ask for a new one."))
    return invitation


@dataclass(frozen=True)
class JoinedStaff:
    user: User
    clinic: Clinic
    created_account: bool


@transaction.atomic
def accept_staff_invitation(*, token: str, user: User | None, password: str = "") -> JoinedStaff:
    """Join the clinic's staff: as the signed-in user, or with a new account and password.
    The authenticator app is set up next (StaffMFAMiddleware sends new staff there)."""
    invitation = find_staff_invitation(token)
    invitation = StaffInvitation.objects.select_for_update().select_related("clinic").get(pk=invitation.pk)
    if invitation.accepted_at:
        raise InvitationError(_("This invitation was already used. Sign in instead."))
    existing = User.objects.filter(email__iexact=invitation.email).first()
    created = False
    if user is not None:
        if user.email.lower() != invitation.email.lower():
            raise InvitationError(
                _("This invitation was sent to another email address. Sign out, then open the link again.")
            )
    elif existing is not None:
        raise InvitationError(_("You already have an account. Sign in, then open the link again."))
    else:
        user = User(email=invitation.email, name=invitation.name)
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password1": error.messages}) from None
        user = User.objects.create_user(
            invitation.email,
            password,
            name=invitation.name,
            language=invitation.clinic.language,
            time_zone=invitation.clinic.time_zone,
        )
        # Opening the emailed link proves the address.
        EmailAddress.objects.create(user=user, email=invitation.email, verified=True, primary=True)
        created = True
    if Patient.objects.filter(user=user).exists():
        raise InvitationError(_("This account belongs to a patient. Staff need a work address of their own."))
    StaffMembership.objects.get_or_create(
        clinic=invitation.clinic, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    record_audit(actor=user, action="staff.joined", clinic=invitation.clinic, subject_code=invitation.code)
    return JoinedStaff(user=user, clinic=invitation.clinic, created_account=created)


# --- Roles and removal ---------------------------------------------------------------------------


def other_admins(membership: StaffMembership) -> bool:
    return (
        StaffMembership.objects.filter(clinic=membership.clinic, role=StaffMembership.Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def change_staff_role(
    *, membership: StaffMembership, by: User, role: str, request: HttpRequest | None = None
) -> StaffMembership:
    if role == membership.role:
        return membership
    if membership.role == StaffMembership.Role.ADMIN and not other_admins(membership):
        raise ValidationError(_("A clinic needs at least one admin. Make someone else an admin first."))
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role"])
    record_audit(
        actor=by,
        action="staff.role_changed",
        clinic=membership.clinic,
        subject_code=membership.user.code,
        request=request,
    )
    return membership


@transaction.atomic
def remove_staff(*, membership: StaffMembership, by: User, request: HttpRequest | None = None) -> None:
    """Take the person off the clinic's staff; all their sessions end at once."""
    if membership.role == StaffMembership.Role.ADMIN and not other_admins(membership):
        raise ValidationError(_("A clinic needs at least one admin. Make someone else an admin first."))
    remove_staff_member(membership=membership, by=by, request=request)
