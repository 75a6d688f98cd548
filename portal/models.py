"""The domain of DESIGN.md section 3: clinics, people, links, treatments, audit."""

import uuid
from datetime import time
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.timezones import TIME_ZONES


def validate_time_zone(value: str) -> None:
    if value not in TIME_ZONES:
        raise ValidationError(_("%(value)s is not a time zone we know."), params={"value": value})


def time_zone_field(**kwargs: Any) -> models.CharField:
    return models.CharField(_("time zone"), max_length=64, validators=[validate_time_zone], **kwargs)


def language_field(**kwargs: Any) -> models.CharField:
    return models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en", **kwargs)


def valid_time_zone(field: str) -> Q:
    return Q(**{f"{field}__in": TIME_ZONES})


def valid_language(field: str) -> Q:
    return Q(**{f"{field}__in": [code for code, _name in settings.LANGUAGES]})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            # Patients and caregivers sign in with an emailed code.
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Email is the login; there is no username."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    language = language_field()
    time_zone = time_zone_field(default="UTC")
    is_staff = models.BooleanField(
        _("site operator"), default=False, help_text=_("May open the operators' admin site.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(condition=valid_time_zone("time_zone"), name="user_time_zone_valid"),
            models.CheckConstraint(condition=valid_language("language"), name="user_language_valid"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


class Clinic(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    phone_daytime = models.CharField(_("daytime phone"), max_length=40)
    phone_after_hours = models.CharField(_("after-hours phone"), max_length=40)
    language = language_field()
    time_zone = time_zone_field()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=valid_time_zone("time_zone"), name="clinic_time_zone_valid"),
            models.CheckConstraint(condition=valid_language("language"), name="clinic_language_valid"),
            models.CheckConstraint(
                condition=~Q(phone_daytime="") & ~Q(phone_after_hours=""), name="clinic_phones_present"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StaffMembership(models.Model):
    class Role(models.TextChoices):
        CLINICIAN = "clinician", _("Clinician")
        ADMIN = "admin", _("Clinic admin")

    clinic = models.ForeignKey(Clinic, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CLINICIAN)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "user"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["clinician", "admin"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) at {self.clinic}"


class Patient(models.Model):
    """A person treated at one clinic. May exist before they have an account."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, models.PROTECT, related_name="patients")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="patient"
    )
    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("email address"))
    language = language_field()
    time_zone = time_zone_field()
    reminder_time = models.TimeField(_("reminder time"), default=time(9, 0))
    quiet_start = models.TimeField(_("quiet hours start"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours end"), null=True, blank=True)
    discreet = models.BooleanField(
        _("discreet notifications"),
        default=True,
        help_text=_("Keep treatment words out of notification previews."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=valid_time_zone("time_zone"), name="patient_time_zone_valid"),
            models.CheckConstraint(condition=valid_language("language"), name="patient_language_valid"),
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="patient_quiet_hours_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValidationError(_("Give both the start and the end of quiet hours, or neither."))


UNSAFE_DRESSING_HANDLER = _(
    "Someone who is pregnant, may become pregnant, or has a weak immune system must not handle dressings."
)


class CaregiverLink(models.Model):
    """A caregiver at home, linked to a patient with the patient's consent."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, models.CASCADE, related_name="caregiver_links")
    caregiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, null=True, blank=True, related_name="caregiver_links"
    )
    email = models.EmailField(_("email address"))
    name = models.CharField(_("name"), max_length=150, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INVITED)
    consented_at = models.DateTimeField(_("patient consent given"), null=True, blank=True)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    gets_reminders = models.BooleanField(_("gets reminders"), default=True)
    handles_dressings = models.BooleanField(_("helps with dressings"), default=True)
    pregnant_or_immunocompromised = models.BooleanField(
        _("pregnant, may become pregnant, or has a weak immune system"), default=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "caregiver"],
                condition=Q(status="active"),
                name="caregiver_link_one_active",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["invited", "active", "revoked"]), name="caregiver_link_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="active") | Q(caregiver__isnull=False, consented_at__isnull=False),
                name="caregiver_link_active_has_account_and_consent",
            ),
            # The label: people who are pregnant or immunocompromised must not handle dressings.
            models.CheckConstraint(
                condition=~Q(handles_dressings=True, pregnant_or_immunocompromised=True),
                name="caregiver_link_safe_dressing_handler",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.email} for {self.patient} ({self.status})"

    def clean(self) -> None:
        if self.handles_dressings and self.pregnant_or_immunocompromised:
            raise ValidationError(UNSAFE_DRESSING_HANDLER)


class TreatmentCourse(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, models.CASCADE, related_name="courses")
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="course_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Course from {self.started_on} for {self.patient}"


class InjectionVisit(models.Model):
    """One treatment visit. It reaches its patient only through its course, so a
    visit can never belong to a course of another patient."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        DONE = "done", _("Done")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey(TreatmentCourse, models.CASCADE, related_name="visits")
    local_date = models.DateField(_("date"))
    local_time = models.TimeField(_("time"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    sites = models.JSONField(_("injection sites"), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["local_date", "local_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "done", "missed", "cancelled"]),
                name="visit_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Visit on {self.local_date} {self.local_time:%H:%M}"

    @property
    def is_active(self) -> bool:
        """Scheduled and done visits shape the home-care calendar; the others do not."""
        return self.status in (self.Status.SCHEDULED, self.Status.DONE)


class Invitation(models.Model):
    """An emailed, signed, single-use invitation to join as a patient or caregiver."""

    class Kind(models.TextChoices):
        PATIENT = "patient", _("Patient")
        CAREGIVER = "caregiver", _("Caregiver")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    email = models.EmailField()
    patient = models.ForeignKey(Patient, models.CASCADE, related_name="invitations")
    caregiver_link = models.ForeignKey(
        CaregiverLink, models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="patient", caregiver_link__isnull=True)
                | Q(kind="caregiver", caregiver_link__isnull=False),
                name="invitation_kind_matches_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} invitation {self.code}"


class AuditEvent(models.Model):
    """Who read or changed which patient's data, when, and from where. Append-only.

    It keeps codes rather than foreign keys to patients, so the trail outlives rows."""

    at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    actor_email = models.EmailField(blank=True)
    clinic = models.ForeignKey(Clinic, models.SET_NULL, null=True, related_name="audit_events")
    patient_code = models.UUIDField(null=True, db_index=True)
    action = models.CharField(max_length=60)
    subject_code = models.UUIDField(null=True)
    ip = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Audit events are append-only.")
