"""Writes: verb-named functions that change state. Callers pass objects that an
access function already scoped to the user."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.emails import send_email
from portal.models import (
    AuditEvent,
    CalendarFeed,
    CaregiverLink,
    Clinic,
    ClinicReminderSettings,
    DressingLogEntry,
    Heartbeat,
    InjectionVisit,
    Invitation,
    Patient,
    PushSubscription,
    Reminder,
    StaffMembership,
    TreatmentCourse,
    User,
    visit_date_error,
)
from portal.queries import is_clinic_staff
from portal.reminders import replan_patient
from portal.reminders.clinics import request_clinic_replan

INVITATION_SALT = "portal.invitation"


# --- Audit ------------------------------------------------------------------


def record_audit(
    *,
    actor: User | None,
    action: str,
    patient: Patient | None = None,
    clinic: Clinic | None = None,
    subject_code: UUID | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one audit event. Actions are dotted codes: ``patient.viewed``, ``visit.changed``."""
    event = AuditEvent(
        actor=actor,
        actor_email=actor.email if actor else "",
        clinic=clinic or (patient.clinic if patient else None),
        patient_code=patient.code if patient else None,
        action=action,
        subject_code=subject_code,
        **request_trace(request),
    )
    event.save()
    if request is not None and hasattr(request, "hcc_audits"):
        request.hcc_audits.append(event)  # a kept page writes it again each time (portal/keep.py)
    return event


def request_trace(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {"ip": None, "user_agent": ""}
    return {"ip": request.META.get("REMOTE_ADDR"), "user_agent": request.headers.get("User-Agent", "")[:200]}


# What record_audit_again copies from the first event; the time and trace are the request's.
AUDIT_COPIED = ("actor", "actor_email", "clinic", "patient_code", "action", "subject_code")


def record_audit_again(
    event: AuditEvent, request: HttpRequest, *, only_if: tuple[str, list[Any]] | None = None
) -> bool:
    """The same read once more, now, from this request (a kept page sent again). One plain
    INSERT: the ORM's building of it would cost half the page. ``only_if`` is an SQL
    condition (and its parameters) checked in the same statement; whether the row was written.

    On PostgreSQL its commit does not wait for the disk (synchronous_commit off, for this
    one statement's transaction). A crash of the database server could then lose the last
    fraction of a second of these rows, and only these: each repeats, for the same session
    and the same page, a view whose first row was written durably at most
    READER_PAGE_KEEP_SECONDS before. Waiting for the disk here held a web worker for longer
    than sending the page."""
    values = {name: getattr(event, AuditEvent._meta.get_field(name).attname) for name in AUDIT_COPIED}
    values |= {"at": AuditEvent._meta.get_field("at").get_default(), **request_trace(request)}
    connection = connections[router.db_for_write(AuditEvent)]
    fields = [AuditEvent._meta.get_field(name) for name in values]
    quote = connection.ops.quote_name
    condition, condition_params = only_if or ("1 = 1", [])
    # In autocommit, with Django's client-side binding (the default), both statements go as one
    # simple query, which PostgreSQL runs as one transaction: the SET ends with it.
    asynchronous = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(
            ("SET LOCAL synchronous_commit TO OFF; " if asynchronous else "")
            + f"INSERT INTO {quote(AuditEvent._meta.db_table)} "  # noqa: S608 - the model's own names
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"SELECT {', '.join(['%s'] * len(fields))} WHERE {condition}",
            [
                *(
                    field.get_db_prep_save(value, connection)
                    for field, value in zip(fields, values.values(), strict=True)
                ),
                *condition_params,
            ],
        )
        if asynchronous:
            cursor.nextset()
        return cursor.rowcount == 1


def acts_on_own_record(by: User, patient: Patient, link: CaregiverLink | None = None) -> bool:
    """The patient (or a caregiver, on their own link) acting for themselves. Anyone else
    who may act here is clinic staff, whose actions on patient data are audited."""
    return by.pk in (patient.user_id, link.caregiver_id if link else None)


def is_staff_of(user: User, clinic: Clinic) -> bool:
    return StaffMembership.objects.filter(user=user, clinic=clinic).exists()


@contextmanager
def refused_if_taken(message: str | dict[str, str]) -> Iterator[None]:
    """A unique constraint lost to a request that committed first (a double click, two staff
    at once) becomes this clear refusal instead of an error page. The savepoint keeps the
    caller's transaction usable; the caller's transaction then rolls back on the error."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        raise ValidationError(message) from None


# --- Health -----------------------------------------------------------------------


def health_problem(*, now: datetime | None = None) -> str | None:
    """What is wrong for /healthz: "database" when it takes no write, "worker" when a due
    reminder or email has waited longer than HEALTH_MAX_WORKER_LAG_SECONDS; else None."""
    from portal import outbox

    now = now or timezone.now()
    # A real write, rolled back: a read-only or locked database fails here, not at SELECT 1.
    try:
        with transaction.atomic():
            Heartbeat.objects.update_or_create(name="healthz", defaults={"at": now})
            transaction.set_rollback(True)
    except DatabaseError:
        return "database"
    behind = now - timedelta(seconds=settings.HEALTH_MAX_WORKER_LAG_SECONDS)
    oldest_reminder = (
        Reminder.objects.filter(status=Reminder.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    oldest_email = outbox.oldest_due_at(now)
    if any(due is not None and due < behind for due in (oldest_reminder, oldest_email)):
        return "worker"
    return None


# --- Sessions and staff -----------------------------------------------------------


def end_all_sessions(*, user: User) -> None:
    """Every session of this person ends at its next request (User.get_session_auth_hash)."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])


@transaction.atomic
def remove_staff_member(*, membership: StaffMembership, by: User, request: HttpRequest | None = None) -> None:
    """Take someone off a clinic's staff; their sessions end at once, wherever they are."""
    clinic, person = membership.clinic, membership.user
    membership.delete()
    end_all_sessions(user=person)
    record_audit(actor=by, action="staff.removed", clinic=clinic, request=request)


# --- Patients ---------------------------------------------------------------


def check_patient_email(*, clinic: Clinic, email: str, patient: Patient | None = None) -> None:
    """A patient's email is theirs alone: not another patient's at the clinic (the invitation
    would fail), not a staff member's (their account would become a patient's)."""
    others = clinic.patients.filter(email__iexact=email)
    if patient is not None:
        others = others.exclude(pk=patient.pk)
    if others.exists() and patient is None:
        raise ValidationError({"email": _("This person is already enrolled at this clinic.")}, code="taken")
    if others.exists():
        raise ValidationError(
            {"email": _("Another patient of this clinic already uses this email address.")}, code="taken"
        )
    if is_staff_address(email):
        raise ValidationError(
            {"email": _("This email address belongs to clinic staff. The patient needs their own address.")},
            code="staff",
        )


def is_staff_address(email: str) -> bool:
    """An email of a clinic staff account. Patients and caregivers need an address of their
    own: accepting would give one account both clinic access and a home's care pages (the
    mirror of portal.staff.is_home_account)."""
    return StaffMembership.objects.filter(user__email__iexact=email).exists()


@transaction.atomic
def enrol_patient(
    *,
    clinic: Clinic,
    by: User,
    name: str,
    email: str,
    language: str,
    time_zone: str,
    request: HttpRequest | None = None,
) -> Patient:
    """Create a patient at the clinic and email them an invitation."""
    email = email.strip().lower()
    check_patient_email(clinic=clinic, email=email)
    patient = Patient(clinic=clinic, name=name, email=email, language=language, time_zone=time_zone)
    if reminder_settings := ClinicReminderSettings.objects.filter(clinic=clinic).first():
        patient.reminder_time = reminder_settings.default_reminder_time
    patient.full_clean()
    with refused_if_taken({"email": _("This person is already enrolled at this clinic.")}):
        patient.save()
    record_audit(actor=by, action="patient.enrolled", patient=patient, request=request)
    create_invitation(kind=Invitation.Kind.PATIENT, patient=patient, email=patient.email, by=by)
    return patient


@transaction.atomic
def update_patient_settings(*, patient: Patient, by: User, **changes: Any) -> Patient:
    """Language, time zone, reminder time, quiet hours, discreet mode."""
    allowed = {"language", "time_zone", "reminder_time", "quiet_start", "quiet_end", "discreet"}
    if unknown := set(changes) - allowed:
        raise ValueError(f"Not patient settings: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(patient, field, value)
    patient.full_clean()
    patient.save(update_fields=sorted(changes))
    replan_patient(patient)
    if not acts_on_own_record(by, patient):
        record_audit(actor=by, action="patient.settings_changed", patient=patient)
    return patient


@transaction.atomic
def set_language(*, user: User, language: str) -> None:
    """The language of the user's pages, emails and reminders (their patient record's too)."""
    user.language = language
    user.full_clean(validate_unique=False)
    user.save(update_fields=["language"])
    Patient.objects.filter(user=user).update(language=language)


# --- Treatment courses and visits ------------------------------------------


def current_course(patient: Patient, *, starting: date) -> TreatmentCourse:
    """The patient's open course, or a new one starting on the given date."""
    course = patient.courses.filter(ended_on__isnull=True).order_by("-started_on").first()
    return course or TreatmentCourse.objects.create(patient=patient, started_on=starting)


def clinic_today(patient: Patient) -> date:
    return timezone.localdate(timezone=ZoneInfo(patient.clinic.time_zone))


def check_visit_date(local_date: date, today: date) -> None:
    if error := visit_date_error(local_date, today):
        raise ValidationError({"local_date": error})


VISIT_TAKEN = {"local_time": gettext_lazy("This patient already has a visit at this date and time.")}


@transaction.atomic
def add_visit(
    *,
    patient: Patient,
    by: User,
    local_date: date,
    local_time: time,
    sites: list[str] | None = None,
    status: str = InjectionVisit.Status.SCHEDULED,
    request: HttpRequest | None = None,
    today: date | None = None,
) -> InjectionVisit:
    check_visit_date(local_date, today or clinic_today(patient))
    # One visit add per patient at a time: the course a first visit opens is opened once.
    Patient.objects.select_for_update(of=("self",)).filter(pk=patient.pk).first()
    visit = InjectionVisit(
        course=current_course(patient, starting=local_date),
        patient=patient,
        local_date=local_date,
        local_time=local_time,
        sites=clean_sites(sites or []),
        status=status,
    )
    visit.full_clean()
    with refused_if_taken(VISIT_TAKEN):
        visit.save()
    replan_patient(patient)
    record_audit(actor=by, action="visit.added", patient=patient, subject_code=visit.code, request=request)
    return visit


@transaction.atomic
def change_visit(
    *,
    visit: InjectionVisit,
    by: User,
    request: HttpRequest | None = None,
    today: date | None = None,
    **changes: Any,
) -> InjectionVisit:
    allowed = {"local_date", "local_time", "status", "sites"}
    if unknown := set(changes) - allowed:
        raise ValueError(f"Not visit fields: {sorted(unknown)}")
    if "local_date" in changes and changes["local_date"] != visit.local_date:
        # An old visit's status may still be corrected; a new date must be in the window.
        check_visit_date(changes["local_date"], today or clinic_today(visit.course.patient))
    if "sites" in changes:
        changes["sites"] = clean_sites(changes["sites"])
    for field, value in changes.items():
        setattr(visit, field, value)
    visit.full_clean()
    with refused_if_taken(VISIT_TAKEN):
        visit.save(update_fields=[*sorted(changes), "updated_at"])
    replan_patient(visit.course.patient)
    record_audit(
        actor=by,
        action="visit.changed",
        patient=visit.course.patient,
        subject_code=visit.code,
        request=request,
    )
    return visit


MAX_SITES = 20


def clean_sites(sites: list[str]) -> list[str]:
    cleaned = [site.strip() for site in sites if site.strip()]
    if any(len(site) > 80 for site in cleaned):
        raise ValidationError({"sites": _("Keep each injection site label under 80 characters.")})
    if len(cleaned) > MAX_SITES:
        raise ValidationError({"sites": _("List at most 20 injection sites.")})
    return cleaned


# --- Caregivers ---------------------------------------------------------------


@transaction.atomic
def invite_caregiver(
    *,
    patient: Patient,
    by: User,
    email: str,
    name: str = "",
    handles_dressings: bool = True,
    pregnant_or_immunocompromised: bool = False,
    gets_reminders: bool = True,
    patient_consents: bool = False,
    request: HttpRequest | None = None,
) -> CaregiverLink:
    """Invite a caregiver by email. The patient's own invitation is their consent, and so is
    consent a clinician records as given in person (``patient_consents``); otherwise the link
    waits for the patient's answer in the app (portal.caregivers.answer_request) and the
    caregiver hears nothing until the patient says yes."""
    by_patient = acts_on_own_record(by, patient)
    consented = by_patient or patient_consents
    if not consented and patient.user_id is None:
        raise ValidationError(
            _(
                "This patient has not signed in yet, so they cannot answer in the app. "
                "Confirm that they agreed in person."
            )
        )
    email = email.strip().lower()
    if patient.user and patient.user.email == email:
        raise ValidationError(_("A patient cannot be their own caregiver."))
    if patient.caregiver_links.filter(email=email).exclude(status=CaregiverLink.Status.REVOKED).exists():
        raise ValidationError(_("This person is already invited or linked."))
    if is_staff_address(email):
        raise ValidationError(
            {
                "email": _(
                    "This email address belongs to clinic staff. The caregiver needs their own address."
                )
            },
            code="staff",
        )
    link = CaregiverLink(
        patient=patient,
        email=email,
        name=name,
        handles_dressings=handles_dressings and not pregnant_or_immunocompromised,
        pregnant_or_immunocompromised=pregnant_or_immunocompromised,
        gets_reminders=gets_reminders,
        consented_at=timezone.now() if consented else None,
        consent_recorded_by=by if consented else None,
    )
    link.full_clean()
    with refused_if_taken({"email": _("This person is already invited or linked.")}):
        link.save()
    replan_patient(patient)
    if not by_patient:
        record_audit(
            actor=by,
            action="caregiver.invited" if consented else "caregiver.requested",
            patient=patient,
            subject_code=link.code,
            request=request,
        )
    if consented:
        create_invitation(
            kind=Invitation.Kind.CAREGIVER, patient=patient, email=email, by=by, caregiver_link=link
        )
    else:
        # The patient's own address; like every email, it names no one and no treatment.
        assert patient.user is not None
        send_email(
            patient.user.email,
            "caregiver-request",
            {"url": settings.SITE_URL + reverse("caregivers")},
            patient.user.language,
        )
    return link


@transaction.atomic
def change_caregiver_role(
    *,
    link: CaregiverLink,
    by: User,
    handles_dressings: bool,
    pregnant_or_immunocompromised: bool,
    gets_reminders: bool,
    request: HttpRequest | None = None,
) -> CaregiverLink:
    """Change what a caregiver does; their reminders follow in the same transaction."""
    link.handles_dressings = handles_dressings
    link.pregnant_or_immunocompromised = pregnant_or_immunocompromised
    link.gets_reminders = gets_reminders
    link.full_clean()
    link.save(update_fields=["handles_dressings", "pregnant_or_immunocompromised", "gets_reminders"])
    replan_patient(link.patient)
    if not acts_on_own_record(by, link.patient, link):
        record_audit(
            actor=by,
            action="caregiver.changed",
            patient=link.patient,
            subject_code=link.code,
            request=request,
        )
    return link


@transaction.atomic
def revoke_caregiver(
    *,
    link: CaregiverLink,
    by: User | None,
    request: HttpRequest | None = None,
    action: str = "caregiver.revoked",
) -> CaregiverLink:
    """End a link at once: the caregiver loses the patient's pages, API results and calendar
    items (every query asks for an active link), and the re-plan in this transaction cancels
    their pending reminders. Audited whoever ends it (patient, caregiver or staff): the clinic
    sees who is linked to its patient. A second call changes nothing."""
    link = CaregiverLink.objects.select_for_update().select_related("patient__clinic").get(pk=link.pk)
    if link.status == CaregiverLink.Status.REVOKED:
        return link
    link.status = CaregiverLink.Status.REVOKED
    link.revoked_at = timezone.now()
    link.save(update_fields=["status", "revoked_at"])
    link.invitations.filter(accepted_at__isnull=True, withdrawn_at__isnull=True).update(
        withdrawn_at=link.revoked_at
    )
    replan_patient(link.patient)
    record_audit(actor=by, action=action, patient=link.patient, subject_code=link.code, request=request)
    return link


# --- Invitations --------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.TimestampSigner(salt=INVITATION_SALT).sign(str(invitation.code))


def invitation_url(invitation: Invitation) -> str:
    """The page opens in the language of the email that carries the link."""
    path = reverse("invitation", args=[invitation_token(invitation)])
    return f"{settings.SITE_URL}{path}?{urlencode({'lang': invitation.patient.language})}"


def create_invitation(
    *,
    kind: str,
    patient: Patient,
    email: str,
    by: User,
    caregiver_link: CaregiverLink | None = None,
) -> Invitation:
    now = timezone.now()
    invitation = Invitation.objects.create(
        kind=kind,
        patient=patient,
        email=email,
        invited_by=by,
        caregiver_link=caregiver_link,
        expires_at=now + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )
    # Written to the outbox in this transaction: a rolled-back invitation never reaches
    # anyone, and a mail server that is down delays the email, never the enrolment. The
    # email names no clinic, treatment or condition: it may be read by others.
    send_email(
        email,
        f"invitation-{kind}",
        {"url": invitation_url(invitation), "days": settings.INVITATION_MAX_AGE_DAYS},
        patient.language,
    )
    return invitation


@transaction.atomic
def invite_patient(*, patient: Patient, by: User, request: HttpRequest | None = None) -> Invitation:
    """Send the patient a new invitation; an earlier unused one stops working."""
    if patient.user_id:
        raise ValidationError(_("This patient already has an account."))
    patient.invitations.filter(accepted_at__isnull=True, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now()
    )
    with refused_if_taken(_("An invitation was just sent. Wait a moment before sending another.")):
        invitation = create_invitation(
            kind=Invitation.Kind.PATIENT, patient=patient, email=patient.email, by=by
        )
    record_audit(
        actor=by, action="patient.reinvited", patient=patient, subject_code=invitation.code, request=request
    )
    return invitation


class InvitationError(Exception):
    """An invitation that cannot be used; the message is for the person holding it."""


@dataclass(frozen=True)
class AcceptedInvitation:
    invitation: Invitation
    user: User
    created_account: bool


def find_invitation(token: str, *, now: datetime | None = None) -> Invitation:
    """The invitation behind a token, or InvitationError saying why it cannot be used."""
    now = now or timezone.now()
    signer = signing.TimestampSigner(salt=INVITATION_SALT)
    try:
        code = signer.unsign(token, max_age=timedelta(days=settings.INVITATION_MAX_AGE_DAYS))
        invitation = Invitation.objects.select_related("patient__clinic", "caregiver_link").get(
            code=UUID(code)
        )
    except signing.SignatureExpired:
        raise InvitationError(_("This invitation has expired. Ask for a new one.")) from None
    except (signing.BadSignature, ValueError, Invitation.DoesNotExist):
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


@transaction.atomic
def accept_invitation(
    *,
    token: str,
    user: User | None,
    now: datetime | None = None,
    language: str | None = None,
    pregnant_or_immunocompromised: bool = False,
) -> AcceptedInvitation:
    """Use an invitation: link the signed-in user, or create the account for its email, in
    ``language`` (the one the person read the invitation in; default the patient's). A
    caregiver who says they are pregnant or immunocompromised never handles dressings.

    Any refusal raises InvitationError before anything is written."""
    now = now or timezone.now()
    invitation = find_invitation(token, now=now)
    # Lock the row: two clicks at once must not both succeed.
    # of=("self",): PostgreSQL cannot lock the nullable side of the caregiver_link join.
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("patient", "caregiver_link")
        .get(pk=invitation.pk)
    )
    if invitation.accepted_at:
        raise InvitationError(_("This invitation was already used. Sign in instead."))
    if user is not None and user.email.lower() != invitation.email.lower():
        raise InvitationError(
            _("This invitation was sent to another email address. Sign out, then open the link again.")
        )
    created = False
    if user is None:
        user = User.objects.filter(email__iexact=invitation.email).first()
    if user is None:
        user = User.objects.create_user(
            invitation.email,
            language=language or invitation.patient.language,
            time_zone=invitation.patient.time_zone,
        )
        created = True
    patient = invitation.patient
    if invitation.kind == Invitation.Kind.PATIENT:
        if patient.user_id and patient.user_id != user.pk:
            raise InvitationError(_("This patient record is already linked to another account."))
        if Patient.objects.filter(user=user).exclude(pk=patient.pk).exists():
            raise InvitationError(_("Your account already belongs to another patient record."))
        patient.user = user
        patient.language = user.language  # one language for the person's pages and reminders
        patient.save(update_fields=["user", "language"])
    else:
        link = invitation.caregiver_link
        assert link is not None
        if link.status == CaregiverLink.Status.REVOKED:
            raise InvitationError(_("This invitation was withdrawn. Ask for a new one."))
        if patient.user_id == user.pk:
            raise InvitationError(_("A patient cannot be their own caregiver."))
        # Asked again here, not only when inviting: the invitation may be older than that
        # check, or the account may have joined a clinic's staff since.
        if is_clinic_staff(user):
            raise InvitationError(
                _("This account belongs to clinic staff. A caregiver needs an address of their own.")
            )
        if patient.caregiver_links.filter(caregiver=user, status=CaregiverLink.Status.ACTIVE).exists():
            raise InvitationError(_("You are already a caregiver for this person."))
        link.caregiver = user
        link.status = CaregiverLink.Status.ACTIVE
        link.activated_at = now
        if pregnant_or_immunocompromised:
            link.pregnant_or_immunocompromised = True
            link.handles_dressings = False
        link.save(
            update_fields=[
                "caregiver",
                "status",
                "activated_at",
                "pregnant_or_immunocompromised",
                "handles_dressings",
            ]
        )
    # Opening the emailed link proves the address.
    EmailAddress.objects.update_or_create(
        user=user, email=invitation.email, defaults={"verified": True, "primary": True}
    )
    invitation.accepted_at = now
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    replan_patient(patient)
    return AcceptedInvitation(invitation=invitation, user=user, created_account=created)


# --- Reminders and their channels -------------------------------------------------


@transaction.atomic
def update_reminder_preferences(*, user: User, **changes: Any) -> User:
    """A person's own reminder time, quiet hours and channels; re-plans every patient they
    get reminders for."""
    allowed = {
        "reminder_time",
        "quiet_start",
        "quiet_end",
        "reminders_by_email",
        "reminders_by_push",
        "time_zone",
    }
    if unknown := set(changes) - allowed:
        raise ValueError(f"Not reminder preferences: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(user, field, value)
    if (user.quiet_start is None) != (user.quiet_end is None):
        raise ValidationError(_("Give both the start and the end of quiet hours, or neither."))
    user.full_clean(exclude=["password"], validate_unique=False)
    user.save(update_fields=sorted(changes))
    cared_for = CaregiverLink.objects.filter(caregiver=user, status=CaregiverLink.Status.ACTIVE)
    for patient in Patient.objects.filter(Q(user=user) | Q(pk__in=cared_for.values("patient"))):
        replan_patient(patient)
    return user


@transaction.atomic
def update_clinic_reminder_settings(*, clinic: Clinic, by: User, **changes: Any) -> ClinicReminderSettings:
    """Switch rules on or off and change times for a clinic; the worker then re-plans all its
    patients."""
    allowed = set(ClinicReminderSettings.EDITABLE_FIELDS)
    if unknown := set(changes) - allowed:
        raise ValueError(f"Not reminder settings: {sorted(unknown)}")
    reminder_settings = ClinicReminderSettings.objects.filter(clinic=clinic).first()
    created = reminder_settings is None
    reminder_settings = reminder_settings or ClinicReminderSettings(clinic=clinic)
    for field, value in changes.items():
        setattr(reminder_settings, field, value)
    reminder_settings.full_clean()
    if created:
        reminder_settings.save()
    else:
        reminder_settings.save(update_fields=[*sorted(changes), "updated_at"])
    # The worker re-plans every patient in short batches (portal/reminders/clinics.py).
    request_clinic_replan(clinic)
    record_audit(actor=by, action="clinic.reminder_settings_changed", clinic=clinic)
    return reminder_settings


def mark_reminder_read(*, reminder: Reminder, now: datetime | None = None) -> Reminder:
    if reminder.read_at is None:
        reminder.read_at = now or timezone.now()
        Reminder.objects.filter(pk=reminder.pk, read_at__isnull=True).update(read_at=reminder.read_at)
    return reminder


class EndpointTaken(ValidationError):
    """The push endpoint belongs to another account."""


@transaction.atomic
def subscribe_push(
    *, user: User, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> PushSubscription:
    """Store one device's push subscription; the same browser subscribing again updates its row.

    An endpoint another account registered is never moved to this one: whoever learned the
    address could otherwise take over that person's notifications. The browser then starts a
    fresh subscription (push-setup.js does so on this refusal)."""
    existing = PushSubscription.objects.select_for_update().filter(endpoint=endpoint).first()
    if existing is not None and existing.user_id != user.pk:
        raise EndpointTaken(_("This device already gets notifications for another account."), code="taken")
    values = {"p256dh": p256dh, "auth": auth, "user_agent": user_agent[:200]}
    if existing is None:
        return PushSubscription.objects.create(user=user, endpoint=endpoint, **values)
    for name, value in values.items():
        setattr(existing, name, value)
    existing.save(update_fields=list(values))
    return existing


def unsubscribe_push(*, subscription: PushSubscription) -> None:
    subscription.delete()


def rotate_calendar_feed(*, user: User) -> CalendarFeed:
    """A new secret calendar address; the old one stops working at once."""
    feed, _created = CalendarFeed.objects.update_or_create(
        user=user, defaults={"token": secrets.token_urlsafe(32), "created_at": timezone.now()}
    )
    return feed


def revoke_calendar_feed(*, user: User) -> None:
    CalendarFeed.objects.filter(user=user).delete()


# --- Dressing log -------------------------------------------------------------------


@transaction.atomic
def record_dressing_report(
    *,
    patient: Patient,
    by: User,
    kind: str,
    visit: InjectionVisit | None = None,
    at: datetime | None = None,
) -> DressingLogEntry:
    """Write what someone saw or did with the dressings. A "still weeping or oozing" or "dry"
    report changes the dressing reminders, so the patient's reminders are re-planned here."""
    entry = DressingLogEntry(patient=patient, recorded_by=by, visit=visit, kind=kind, at=at or timezone.now())
    entry.full_clean()
    entry.save()
    replan_patient(patient)
    if not acts_on_own_record(by, patient, own_link(by, patient)):
        record_audit(actor=by, action="dressing.recorded", patient=patient, subject_code=entry.code)
    return entry


def own_link(user: User, patient: Patient) -> CaregiverLink | None:
    return patient.caregiver_links.filter(caregiver=user, status=CaregiverLink.Status.ACTIVE).first()
