"""The domain of DESIGN.md section 3: clinics, people, links, treatments, audit."""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
    # Reminder preferences of the person. A caregiver's reminders follow these; a patient's
    # timing follows their Patient record (set by the clinic or by them), channels follow these.
    reminder_time = models.TimeField(_("reminder time"), default=time(9, 0))
    quiet_start = models.TimeField(_("quiet hours start"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours end"), null=True, blank=True)
    reminders_by_email = models.BooleanField(_("reminders by email"), default=True)
    reminders_by_push = models.BooleanField(_("reminders on this phone or computer"), default=True)
    # Part of every session's check (get_session_auth_hash): raising it ends all of this
    # person's sessions at once (services.end_all_sessions).
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(condition=valid_time_zone("time_zone"), name="user_time_zone_valid"),
            models.CheckConstraint(condition=valid_language("language"), name="user_language_valid"),
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="user_quiet_hours_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    # Django ends a session whose stored hash no longer matches: a new password, or a new epoch.
    def get_session_auth_hash(self) -> str:
        return self.session_hash(settings.SECRET_KEY)

    def get_session_auth_fallback_hash(self) -> Any:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self.session_hash(secret)

    def session_hash(self, secret: str) -> str:
        value = f"{self.password}|{self.session_epoch}"
        return salted_hmac("portal.User.session", value, secret=secret, algorithm="sha256").hexdigest()


class Clinic(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    phone_daytime = models.CharField(_("daytime phone"), max_length=40)
    phone_after_hours = models.CharField(_("after-hours phone"), max_length=40)
    # Shown beside "get emergency care"; empty says "your local emergency number".
    emergency_number = models.CharField(
        _("emergency number"),
        max_length=20,
        blank=True,
        default="",
        validators=[
            RegexValidator(
                r"^\+?[0-9][0-9 -]*[0-9]$",
                _("Enter the number people dial for emergency care, for example 911, 112 or 999."),
            )
        ],
        help_text=_("For example 911, 112 or 999. Leave it empty to say “your local emergency number”."),
    )
    language = language_field()
    time_zone = time_zone_field()
    acknowledge_within_days = models.PositiveSmallIntegerField(
        _("days to acknowledge a module"),
        default=7,
        help_text=_("The clinic home lists modules not acknowledged after this many days."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledge_within_days__gte=1, acknowledge_within_days__lte=90),
                name="clinic_acknowledge_days_range",
            ),
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
    # Discharged: the record and its history stay, reminders stop (portal.reminders).
    discharged_at = models.DateTimeField(_("discharged"), null=True, blank=True)
    # Name and email folded to lowercase without accents (portal.search), so "nunez" finds
    # "Núñez" on SQLite and PostgreSQL alike. Set by save().
    search_text = models.CharField(max_length=400, blank=True, editable=False, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=valid_time_zone("time_zone"), name="patient_time_zone_valid"),
            models.CheckConstraint(condition=valid_language("language"), name="patient_language_valid"),
            # Two enrolments of one person (a double click, two staff at once) make one patient.
            models.UniqueConstraint(
                F("clinic"),
                Lower("email"),
                name="patient_one_per_email_per_clinic",
                violation_error_message=_("This person is already enrolled at this clinic."),
            ),
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="patient_quiet_hours_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A derived column of this row only: kept right however the row is written
        # (services, the admin, demo data), so search never misses a patient.
        from portal.search import fold

        self.search_text = fold(f"{self.name} {self.email}")
        fields = kwargs.get("update_fields")
        if fields is not None and {"name", "email"} & set(fields):
            kwargs["update_fields"] = {*fields, "search_text"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValidationError(_("Give both the start and the end of quiet hours, or neither."))


UNSAFE_DRESSING_HANDLER = _(
    "Someone who is pregnant, may become pregnant, or has a weak immune system must not handle dressings."
)


class CaregiverLink(models.Model):
    """A caregiver at home, linked to a patient with the patient's consent."""

    class Status(models.TextChoices):
        INVITED = "invited", pgettext_lazy("caregiver link status", "Invited")
        ACTIVE = "active", pgettext_lazy("caregiver link status", "Active")
        REVOKED = "revoked", pgettext_lazy("caregiver link status", "Revoked")

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
                violation_error_message=_("You are already a caregiver for this person."),
            ),
            # One live (invited or active) link per caregiver and patient: six invites at once
            # make one link and one email.
            models.UniqueConstraint(
                F("patient"),
                Lower("email"),
                condition=~Q(status="revoked"),
                name="caregiver_link_one_live_per_email",
                violation_error_message=_("This person is already invited or linked."),
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
                violation_error_message=UNSAFE_DRESSING_HANDLER,
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
    # Paused: later visits were cancelled; a restart plans again every 2 weeks.
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
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


# Visit dates a clinic may enter, around its today: enough for a course entered late and
# for planning ahead, and far from the calendar's ends (no date arithmetic can overflow).
VISIT_DAYS_BACK = 366
VISIT_DAYS_AHEAD = 2 * 366


def visit_date_error(local_date: date, today: date) -> ValidationError | None:
    """The one home of the visit date window (forms and services call it)."""
    if local_date < today - timedelta(days=VISIT_DAYS_BACK):
        return ValidationError(_("Enter a date within the last year."), code="too_early")
    if local_date > today + timedelta(days=VISIT_DAYS_AHEAD):
        return ValidationError(_("Enter a date within the next two years."), code="too_late")
    return None


class InjectionVisit(models.Model):
    """One treatment visit, in a course of its patient.

    ``patient`` repeats ``course.patient`` so the database can hold one visit per patient per
    local date and time across courses; a trigger (migration 0006) refuses a visit whose
    patient is not its course's patient. Set both from the course (services.add_visit)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", pgettext_lazy("visit status", "Scheduled")
        DONE = "done", pgettext_lazy("visit status", "Done")
        MISSED = "missed", pgettext_lazy("visit status", "Missed")
        CANCELLED = "cancelled", pgettext_lazy("visit status", "Cancelled")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey(TreatmentCourse, models.CASCADE, related_name="visits")
    patient = models.ForeignKey(Patient, models.CASCADE, related_name="visits", editable=False)
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
            # A cancelled visit does not hold its time: the visit may be booked again.
            models.UniqueConstraint(
                fields=["patient", "local_date", "local_time"],
                condition=~Q(status="cancelled"),
                name="visit_one_per_patient_and_time",
                violation_error_message=_("This patient already has a visit at this date and time."),
            ),
        ]

    def __str__(self) -> str:
        return f"Visit on {self.local_date} {self.local_time:%H:%M}"

    @property
    def is_active(self) -> bool:
        """Scheduled and done visits shape the home-care calendar; the others do not."""
        return self.status in (self.Status.SCHEDULED, self.Status.DONE)

    @property
    def local_datetime(self) -> datetime:
        """Date and time as one naive value, for |date:"DATETIME_FORMAT": each language's own
        order and separators (an Arabic comma in Arabic), not a comma written between the two."""
        return datetime.combine(self.local_date, self.local_time)


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
            # One open invitation per patient and per caregiver link: sending a new one
            # withdraws the old one, and two sends at once make one.
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(kind="patient", accepted_at__isnull=True, withdrawn_at__isnull=True),
                name="invitation_one_open_per_patient",
                violation_error_message=_(
                    "An invitation was just sent. Wait a moment before sending another."
                ),
            ),
            models.UniqueConstraint(
                fields=["caregiver_link"],
                condition=Q(kind="caregiver", accepted_at__isnull=True, withdrawn_at__isnull=True),
                name="invitation_one_open_per_caregiver_link",
                violation_error_message=_(
                    "An invitation was just sent. Wait a moment before sending another."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} invitation {self.code}"


class AuditEvent(models.Model):
    """Who read or changed which patient's data, when, and from where. Append-only: database
    triggers refuse every UPDATE and DELETE (migration 0006).

    It keeps codes rather than foreign keys to patients, and its links to the actor and the
    clinic are not database constraints, so the trail outlives the rows it names (a deleted
    user's events keep ``actor_email``) and deleting them never needs to update it."""

    at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.DO_NOTHING, null=True, db_constraint=False, related_name="+"
    )
    actor_email = models.EmailField(blank=True)
    clinic = models.ForeignKey(
        Clinic, models.DO_NOTHING, null=True, db_constraint=False, related_name="audit_events"
    )
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


# --- Reminders ----------------------------------------------------------------
# Rows planned by portal.reminders.rows.replan_patient and delivered by portal.reminders.delivery
# (DESIGN.md section 4). Texts are rendered at delivery time, never stored.


class ClinicReminderSettings(models.Model):
    """Which reminder rules a clinic uses and when; the wording stays the clinical wording."""

    # What a clinic admin may change; the wording of reminders is not among them.
    EDITABLE_FIELDS = [
        "visit_reminder_on",
        "dressing_check_on",
        "dressing_review_on",
        "symptom_watch_on",
        "dressing_days",
        "symptom_days",
        "visit_reminder_time",
        "default_reminder_time",
    ]

    clinic = models.OneToOneField(Clinic, models.CASCADE, related_name="reminder_settings")
    visit_reminder_on = models.BooleanField(_("appointment reminder the day before"), default=True)
    dressing_check_on = models.BooleanField(_("daily dressing check"), default=True)
    dressing_review_on = models.BooleanField(
        _("dressing review at the end of the dressing period"), default=True
    )
    symptom_watch_on = models.BooleanField(_("what to expect in the first days"), default=True)
    # The label says at least 1 week; a clinic may lengthen it (up to 4 weeks), never shorten it.
    dressing_days = models.PositiveSmallIntegerField(
        _("days in the dressing period"),
        default=7,
        validators=[
            MinValueValidator(7, _("Keep dressings on for at least 7 days after each treatment.")),
            MaxValueValidator(28, _("Choose at most 28 days.")),
        ],
    )
    # Most reactions clear within 72 hours (tvec-facts section 5): a few days is enough.
    symptom_days = models.PositiveSmallIntegerField(
        _("days of symptom reminders"),
        default=3,
        validators=[
            MinValueValidator(1, _("Choose at least 1 day.")),
            MaxValueValidator(7, _("Choose at most 7 days.")),
        ],
    )
    visit_reminder_time = models.TimeField(
        _("time of the appointment reminder"),
        null=True,
        blank=True,
        help_text=_("Empty: each person's own reminder time."),
    )
    default_reminder_time = models.TimeField(_("reminder time for new patients"), default=time(9, 0))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(dressing_days__gte=7, dressing_days__lte=28),
                name="reminder_settings_dressing_days_range",
                violation_error_message=_("Choose between 7 and 28 days."),
            ),
            models.CheckConstraint(
                condition=Q(symptom_days__gte=1, symptom_days__lte=7),
                name="reminder_settings_symptom_days_range",
                violation_error_message=_("Choose between 1 and 7 days."),
            ),
        ]

    def __str__(self) -> str:
        return f"Reminder settings of {self.clinic}"


class ClinicReplan(models.Model):
    """A clinic-wide re-planning under way (the clinic's reminder settings or time zone changed).

    The worker re-plans the clinic's patients in batches, in id order, each batch in its own short
    transaction, and moves ``after_patient`` on in that same transaction: a worker that dies
    mid-way leaves the rest to the next pass, and no patient is re-planned twice for one change.
    A second change while one runs starts again from the first patient (``generation`` goes up,
    and a batch of the older generation that commits later is rolled back)."""

    clinic = models.OneToOneField(Clinic, models.CASCADE, related_name="replan")
    generation = models.PositiveIntegerField(default=1)
    requested_at = models.DateTimeField()
    # Patients with a larger id are still to do.
    after_patient = models.BigIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # The clinic's patients when the change was made (for the settings page).
    total = models.PositiveIntegerField(default=0)
    # A lease, like a reminder's: the worker working on a batch owns the row until then.
    claimed_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Used by sendreminders to find clinics still being re-planned.
            models.Index(fields=["requested_at"], condition=Q(finished_at=None), name="clinic_replan_open"),
        ]

    def __str__(self) -> str:
        return f"Re-planning of {self.clinic} ({self.done} of {self.total})"


class Reminder(models.Model):
    """One reminder: (recipient, patient, rule, local day), for the visit that owns that day.
    The unit of delivery. Only the worker (portal.reminders.delivery) marks it sent, missed or
    failed; re-planning cancels or moves only unclaimed rows that are not yet due."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Planned")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        MISSED = "missed", _("Missed (too late to send)")
        CANCELLED = "cancelled", _("Cancelled")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of their own: reminder_inbox and reminder_unique start with the recipient,
    # reminder_patient_due with the patient, and serve every lookup by either. A redundant
    # index is one more write on every claim and finish (BENCHMARKS.md, the rush).
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="reminders", db_index=False
    )
    patient = models.ForeignKey(Patient, models.CASCADE, related_name="reminders", db_index=False)
    visit = models.ForeignKey(InjectionVisit, models.CASCADE, related_name="reminders")
    # The values of portal.reminders.planning.Rule and Audience.
    rule = models.CharField(
        max_length=30,
        choices=[
            ("visit_reminder", _("Appointment the next day")),
            ("dressing_check", _("Daily dressing check")),
            ("dressing_safety", _("Do not handle dressings")),
            ("dressing_review", _("Dressing review")),
            ("symptom_watch", _("What to expect, when to call")),
        ],
    )
    audience = models.CharField(
        max_length=30,
        choices=[
            ("patient", _("Patient")),
            ("caregiver_handler", _("Caregiver who helps with dressings")),
            ("caregiver_non_handler", _("Caregiver who must not handle dressings")),
        ],
    )
    day = models.DateField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The worker's next look at this row: due_at at first, later the earliest retry.
    next_attempt_at = models.DateTimeField()
    # A lease: the worker holding claim_token owns the row until claimed_until.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set by re-planning when a row it may not touch (claimed, or already due) is no longer
    # planned: the worker then cancels it instead of sending it.
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One reminder per recipient, rule and local day, however many visits that day.
            models.UniqueConstraint(fields=["recipient", "patient", "rule", "day"], name="reminder_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "failed", "missed", "cancelled"]),
                name="reminder_status_valid",
            ),
        ]
        indexes = [
            # Used by sendreminders to find due rows.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="reminder_due"),
            # Used by sendreminders to read back and renew what one claim took.
            models.Index(
                fields=["claim_token"], condition=Q(claim_token__isnull=False), name="reminder_claimed"
            ),
            models.Index(fields=["patient", "due_at"], name="reminder_patient_due"),
            # The in-app inbox: one reader's reminders, newest first (portal.queries.list_inbox_for).
            models.Index(fields=["recipient", "-due_at", "-id"], name="reminder_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.day} ({self.status})"


class PushSubscription(models.Model):
    """One browser or phone that accepts web push for a user (RFC 8030)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"Push subscription {self.code}"


class Delivery(models.Model):
    """One reminder on one channel to one device: sent at most once."""

    class Channel(models.TextChoices):
        INBOX = "inbox", _("In the app")
        EMAIL = "email", _("Email")
        PUSH = "push", _("Notification")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        # Still waiting for a retry when the reminder became too late to send.
        MISSED = "missed", _("Missed (too late to send)")
        # Not sent on purpose: the person turned the channel off, or the reminder was cancelled.
        SKIPPED = "skipped", _("Not sent")

    # Indexed by delivery_unique, which starts with the reminder.
    reminder = models.ForeignKey(Reminder, models.CASCADE, related_name="deliveries", db_index=False)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # The push subscription's code; empty for channels without devices. Not a foreign key:
    # a subscription removed on 404/410 must not take its delivery history with it.
    device = models.CharField(max_length=36, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A short code from portal.reminders.channels (e.g. "email-unreachable", "push-gone",
    # "opted-out"); never message text. The clinic reads it in words (texts.OUTCOME_WORDS).
    error = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reminder", "channel", "device"], name="delivery_unique"),
            models.CheckConstraint(
                condition=Q(channel__in=["inbox", "email", "push"]), name="delivery_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "failed", "missed", "skipped"]),
                name="delivery_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} delivery of reminder {self.reminder_id} ({self.status})"


class CalendarFeed(models.Model):
    """A user's secret calendar address; rotating the token revokes the old address."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"


class DressingLogEntry(models.Model):
    """What a patient or caregiver saw or did with the dressings, and when. A report that a site
    still weeps or oozes keeps the daily dressing reminders going until one says it is dry."""

    class Kind(models.TextChoices):
        CHECKED = "checked", pgettext_lazy("dressing log", "Checked")
        CHANGED = "changed", pgettext_lazy("dressing log", "Changed")
        CAME_LOOSE = "came_loose", pgettext_lazy("dressing log", "Came loose")
        WEEPING = "weeping", pgettext_lazy("dressing log", "Still weeping or oozing")
        DRY = "dry", pgettext_lazy("dressing log", "All sites dry")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, models.CASCADE, related_name="dressing_log")
    # PROTECT: who wrote a health record stays known.
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    visit = models.ForeignKey(
        InjectionVisit, models.SET_NULL, null=True, blank=True, related_name="dressing_log"
    )
    kind = models.CharField(_("what you saw"), max_length=12, choices=Kind.choices)
    at = models.DateTimeField(_("when"), default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["checked", "changed", "came_loose", "weeping", "dry"]),
                name="dressing_log_kind_valid",
            ),
        ]
        indexes = [
            # Used by reminder planning (the patient's weeping and dry reports).
            models.Index(fields=["patient", "at"], name="dressing_log_patient_at"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class SymptomCheck(models.Model):
    """Signs a patient or caregiver ticked in the symptom check (portal/care.py lists them), and
    when. ``urgent`` says one of them means "call the care team now": the app never alerts
    anyone; the clinic reads these on the patient's page."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, models.CASCADE, related_name="symptom_checks")
    # PROTECT: who wrote a health record stays known (as for the dressing log).
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    # Keys of portal.care.SIGNS; empty: "none of these".
    signs = models.JSONField(default=list, blank=True)
    urgent = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["patient", "at"], name="symptom_check_patient_at")]

    def __str__(self) -> str:
        return f"symptom check at {self.at:%Y-%m-%d %H:%M}"


class OutgoingEmail(models.Model):
    """One email waiting to be sent: written in the transaction of the change that causes
    it (an invitation, a sign-in code) and sent by the sendreminders worker (portal/outbox.py),
    so a mail server that is down never fails a request nor repeats its write."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("No longer useful")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The template it was made from (invitation-patient, login_code …), for logs; never the text.
    kind = models.CharField(max_length=60)
    # As rendered (the brand in the reader's language, portal.emails.sender); empty: the default.
    sender = models.CharField(max_length=320, blank=True)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    # Bodies may hold sign-in codes and invitation links: emptied once the row is finished.
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A sign-in code is no use after it expired: such an email is dropped, not sent late.
    expires_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    # A short code such as "smtp-ConnectionRefusedError"; never message text.
    error = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "failed", "expired"]),
                name="outgoing_email_status_valid",
            ),
        ]
        indexes = [
            # Used by the worker (portal.outbox.claim_due) and /healthz.
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="outgoing_email_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} email {self.code} ({self.status})"


class Heartbeat(models.Model):
    """A row /healthz writes (and rolls back) to prove the database takes writes."""

    name = models.CharField(max_length=30, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at}"


# --- Education assignments ------------------------------------------------------
# Which modules a clinic gave a patient to read, and how far each reader got. The modules
# themselves are files (education.catalog); rows refer to them by slug.


class CarePlan(models.Model):
    """A named set of modules a clinic assigns in one step (a care-plan template).

    Each clinic has one default plan for this treatment (portal.assignments.default_care_plan
    creates it from the catalog's reading order the first time it is needed)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, models.CASCADE, related_name="care_plans")
    name = models.CharField(_("name"), max_length=120)
    is_default = models.BooleanField(_("default plan"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="care_plan_name_unique"),
            models.UniqueConstraint(
                fields=["clinic"], condition=Q(is_default=True), name="care_plan_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CarePlanItem(models.Model):
    care_plan = models.ForeignKey(CarePlan, models.CASCADE, related_name="items")
    module_slug = models.SlugField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["care_plan", "module_slug"], name="care_plan_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.module_slug} in {self.care_plan}"


class Assignment(models.Model):
    """One education module assigned to one patient.

    The module's readers follow its audience: the patient for ``patient`` modules, the
    patient's active caregivers for ``caregiver`` ones, both for ``both`` (the audience is
    copied from the catalog when the module is assigned). How far each reader got is an
    ``AssignmentProgress`` row. Withdrawn assignments stay as history."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, models.CASCADE, related_name="assignments")
    module_slug = models.SlugField(_("module"), max_length=80)
    audience = models.CharField(
        max_length=10,
        choices=[
            ("patient", _("Patient")),
            ("caregiver", _("Caregiver")),
            ("both", _("Patient and caregivers")),
        ],
    )
    care_plan = models.ForeignKey(
        CarePlan, models.SET_NULL, null=True, blank=True, related_name="assignments"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "module_slug"],
                condition=Q(withdrawn_at__isnull=True),
                name="assignment_one_live_per_module",
            ),
            models.CheckConstraint(
                condition=Q(audience__in=["patient", "caregiver", "both"]), name="assignment_audience_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.module_slug} for {self.patient}"

    @property
    def for_patient(self) -> bool:
        return self.audience in ("patient", "both")

    @property
    def for_caregivers(self) -> bool:
        return self.audience in ("caregiver", "both")


class AssignmentProgress(models.Model):
    """How far one reader (the patient or one caregiver) got with one assignment.

    States only move forward: opened, finished (read to the end), acknowledged ("I understand").
    ``questions_at`` is apart from them: the reader said "I have questions" (the latest time),
    so the clinic can answer them at the next visit. Each state keeps its time;
    ``module_version`` and ``language`` are those of the document the reader had in front of
    them at the latest step. ``recorded_by`` is the reader
    themselves, or a clinician who recorded it for them (for example, on paper in clinic)."""

    class State(models.TextChoices):
        OPENED = "opened", pgettext_lazy("module progress", "Opened")
        FINISHED = "finished", pgettext_lazy("module progress", "Read to the end")
        ACKNOWLEDGED = "acknowledged", pgettext_lazy("module progress", "Acknowledged")

    assignment = models.ForeignKey(Assignment, models.CASCADE, related_name="progress")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="module_progress")
    state = models.CharField(max_length=12, choices=State.choices)
    opened_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    questions_at = models.DateTimeField(null=True, blank=True)
    module_version = models.PositiveIntegerField()
    language = language_field()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The clinic home's "questions about their reading": few rows ever have a time here.
        indexes = [
            models.Index(
                fields=["questions_at"], condition=Q(questions_at__isnull=False), name="progress_questions"
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "reader"], name="progress_one_per_reader"),
            models.CheckConstraint(
                condition=Q(state__in=["opened", "finished", "acknowledged"]), name="progress_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="finished") | Q(finished_at__isnull=False),
                name="progress_finished_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state="acknowledged") | Q(acknowledged_at__isnull=False),
                name="progress_acknowledged_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assignment} read by {self.reader_id}: {self.state}"


class TeachBackAnswer(models.Model):
    """One answer to one teach-back question about an assigned module.

    Questions belong to the module content (``question_id`` is their id there, stable across
    languages); every attempt is kept, the latest per question counts."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    progress = models.ForeignKey(AssignmentProgress, models.CASCADE, related_name="answers")
    question_id = models.SlugField(max_length=80)
    answer = models.CharField(max_length=500)
    correct = models.BooleanField(
        null=True, help_text=_("Empty when the question has no single right answer.")
    )
    module_version = models.PositiveIntegerField()
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["answered_at", "id"]

    def __str__(self) -> str:
        return f"Answer to {self.question_id} ({self.correct})"


# --- Clinic staff and systems ------------------------------------------------------


class StaffInvitation(models.Model):
    """An emailed, signed, single-use invitation to join a clinic's staff. It leads to a
    password and an authenticator app before any patient data is shown."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, models.CASCADE, related_name="staff_invitations")
    email = models.EmailField(_("email address"))
    name = models.CharField(_("name"), max_length=150, blank=True)
    role = models.CharField(
        _("role"), max_length=20, choices=StaffMembership.Role.choices, default=StaffMembership.Role.CLINICIAN
    )
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["clinician", "admin"]), name="staff_invitation_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Staff invitation {self.code}"


class ClinicApiKey(models.Model):
    """A clinic system's key to /api/v1/. Only a hash of the secret is stored; the key is
    shown once. Each key acts through its own account (``user``, which cannot sign in), so
    services and the audit log name the key."""

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "write", _("Read and write")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, models.CASCADE, related_name="api_keys")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.PROTECT, related_name="api_key")
    name = models.CharField(_("name"), max_length=80)
    scope = models.CharField(_("access"), max_length=10, choices=Scope.choices, default=Scope.READ)
    # The first characters of the key, shown so people can tell keys apart.
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=["read", "write"]), name="api_key_scope_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class DataVersion(models.Model):
    """One row whose ``n`` grows with every committed write to the data a page can show.

    Database triggers move it, in the writer's own transaction (portal/keep.py installs them
    after every migrate), so a page kept under one ``n`` shows nothing older than the data."""

    n = models.BigIntegerField()

    def __str__(self) -> str:
        return str(self.n)
