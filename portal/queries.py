"""Reads: the only place that answers what a user may see.

``list_*`` return lazy querysets scoped to the user; ``access_*`` return one
object or raise Http404, also when the object exists but is out of scope, so a
stranger cannot learn that it exists.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from portal import sqlonce
from portal.models import (
    Assignment,
    CaregiverLink,
    CarePlan,
    Clinic,
    Delivery,
    InjectionVisit,
    Patient,
    PushSubscription,
    Reminder,
    StaffMembership,
    TreatmentCourse,
    User,
)
from portal.reminders.texts import LogRow, log_row

AnyUser = User | AnonymousUser


def list_clinics_for(user: AnyUser, *, admin: bool = False) -> QuerySet[Clinic]:
    if not user.is_authenticated:
        return Clinic.objects.none()
    memberships = StaffMembership.objects.filter(user=user)
    if admin:
        memberships = memberships.filter(role=StaffMembership.Role.ADMIN)
    return Clinic.objects.filter(pk__in=memberships.values("clinic"))


# Asked on every signed-in request (must_use_mfa): SQL built once per process (portal/sqlonce.py).
_MEMBERSHIPS = sqlonce.Kept(lambda user: StaffMembership.objects.filter(user=user))


def is_clinic_staff(user: AnyUser) -> bool:
    return user.is_authenticated and _MEMBERSHIPS.exists(user)


def must_use_mfa(user: AnyUser) -> bool:
    """Clinic staff and site operators read patient data: password and authenticator only."""
    return user.is_authenticated and (user.is_staff or is_clinic_staff(user))


def list_clinic_patients_for(user: AnyUser, *, admin: bool = False) -> QuerySet[Patient]:
    """Patients of the clinics where the user works (``admin``: where they are a clinic admin)."""
    return Patient.objects.filter(clinic__in=list_clinics_for(user, admin=admin)).select_related("clinic")


def list_cared_for_patients(user: AnyUser) -> QuerySet[Patient]:
    """Patients the user cares for through an active caregiver link."""
    if not user.is_authenticated:
        return Patient.objects.none()
    links = CaregiverLink.objects.filter(caregiver=user, status=CaregiverLink.Status.ACTIVE)
    return Patient.objects.filter(pk__in=links.values("patient")).select_related("clinic")


def list_followed_clinics_for(user: AnyUser) -> QuerySet[Clinic]:
    """The clinics of the patient the user is and of those they care for (not the clinics
    where they work): whose numbers they may need to call."""
    if not user.is_authenticated:
        return Clinic.objects.none()
    patients = Patient.objects.filter(Q(user=user) | Q(pk__in=list_cared_for_patients(user).values("pk")))
    return Clinic.objects.filter(pk__in=patients.values("clinic")).order_by("name")


def list_patients_for(user: AnyUser) -> QuerySet[Patient]:
    """Every patient the user may read: themselves, those they care for, their clinics' patients."""
    if not user.is_authenticated:
        return Patient.objects.none()
    own = Q(user=user)
    cared_for = Q(pk__in=list_cared_for_patients(user).values("pk"))
    clinic = Q(clinic__in=list_clinics_for(user))
    return Patient.objects.filter(own | cared_for | clinic).select_related("clinic")


def list_managed_patients_for(user: AnyUser) -> QuerySet[Patient]:
    """Patients whose record the user may change: their own, or their clinics' patients.
    Caregivers read but do not manage."""
    if not user.is_authenticated:
        return Patient.objects.none()
    own = Q(user=user)
    clinic = Q(clinic__in=list_clinics_for(user))
    return Patient.objects.filter(own | clinic).select_related("clinic")


# The scope of access_patient, on every patient page: built once per process (portal/sqlonce.py).
_READABLE_PATIENTS = sqlonce.Kept(list_patients_for)
_MANAGED_PATIENTS = sqlonce.Kept(list_managed_patients_for)


def access_patient(user: AnyUser, code: UUID, *, manage: bool = False) -> Patient:
    if not user.is_authenticated:
        raise Http404
    scope = (_MANAGED_PATIENTS if manage else _READABLE_PATIENTS).condition(user)
    try:
        return Patient.objects.filter(scope).select_related("clinic").get(code=code)
    except Patient.DoesNotExist:
        raise Http404 from None


def access_clinic_patient(user: AnyUser, code: UUID, *, admin: bool = False) -> Patient:
    """A patient of one of the user's clinics: for clinical work such as entering visits.
    ``admin``: of a clinic where the user is an admin (erasing a record)."""
    try:
        return list_clinic_patients_for(user, admin=admin).get(code=code)
    except Patient.DoesNotExist:
        raise Http404 from None


def access_clinic(user: AnyUser, code: UUID, *, admin: bool = False) -> Clinic:
    try:
        return list_clinics_for(user, admin=admin).get(code=code)
    except Clinic.DoesNotExist:
        raise Http404 from None


def list_visits_for(user: AnyUser) -> QuerySet[InjectionVisit]:
    return InjectionVisit.objects.filter(course__patient__in=list_patients_for(user)).select_related(
        "course__patient"
    )


def access_visit(user: AnyUser, code: UUID, *, manage: bool = False) -> InjectionVisit:
    """Visits are read by everyone who may read the patient; only clinic staff change them."""
    scope = (
        InjectionVisit.objects.filter(course__patient__in=list_clinic_patients_for(user))
        if manage
        else list_visits_for(user)
    )
    try:
        return scope.select_related("course__patient__clinic").get(code=code)
    except InjectionVisit.DoesNotExist:
        raise Http404 from None


def list_caregiver_links_for(user: AnyUser) -> QuerySet[CaregiverLink]:
    """Links the user may manage (as patient or clinic staff), plus the user's own live links:
    a revoked link is gone for the caregiver."""
    if not user.is_authenticated:
        return CaregiverLink.objects.none()
    managed = Q(patient__in=list_managed_patients_for(user))
    own = Q(caregiver=user) & ~Q(status=CaregiverLink.Status.REVOKED)
    return CaregiverLink.objects.filter(managed | own).select_related("patient__clinic", "caregiver")


def access_caregiver_link(user: AnyUser, code: UUID, *, manage: bool = False) -> CaregiverLink:
    scope = (
        CaregiverLink.objects.filter(patient__in=list_managed_patients_for(user))
        if manage
        else list_caregiver_links_for(user)
    )
    try:
        return scope.select_related("patient__clinic", "caregiver").get(code=code)
    except CaregiverLink.DoesNotExist:
        raise Http404 from None


# --- Reminders ----------------------------------------------------------------------


def readable_patients_q(user: User) -> Q:
    """The patients the user may read (list_patients_for), as a condition on a row's
    ``patient`` column: the user's own record, those they care for through an active link,
    their clinics' patients. Each is a small subquery from the user's own rows (their patient
    record, links, memberships), with no join to the patients table, so PostgreSQL starts from
    the row's own index and never walks every patient."""
    own = Patient.objects.filter(user=user).values("pk")
    cared_for = CaregiverLink.objects.filter(caregiver=user, status=CaregiverLink.Status.ACTIVE)
    clinics = StaffMembership.objects.filter(user=user).values("clinic")
    return (
        Q(patient__in=own)
        | Q(patient__in=cared_for.values("patient"))
        | Q(patient__in=Patient.objects.filter(clinic__in=clinics).values("pk"))
    )


def _inbox_rows(user: User) -> QuerySet[Reminder]:
    """The user's own reminders (the recipient index), delivered to the in-app inbox, for
    patients the user may still read."""
    delivered = Delivery.objects.filter(
        reminder=OuterRef("pk"), channel=Delivery.Channel.INBOX, status=Delivery.Status.SENT
    )
    return Reminder.objects.filter(readable_patients_q(user), recipient=user).filter(Exists(delivered))


# The inbox's size, for its pages (Paginator asks the rows for .count()).
_INBOX = sqlonce.Kept(lambda user: _inbox_rows(user).values("pk"))


def count_inbox_for(user: AnyUser) -> int:
    """list_inbox_for(user).count(), with SQL built once per process."""
    if not user.is_authenticated:
        return 0
    return _INBOX.count(user)


# What a line of the inbox (the page and the API) reads, its title included
# (portal.reminders.texts.reminder_title; caregivers.as_seen_by): the rest of the four rows
# is left in the database. A test counts the queries of both at 1 and 50 reminders.
INBOX_ROW_FIELDS = (
    "code",
    "recipient",
    "patient",
    "visit",
    "rule",
    "audience",
    "day",
    "due_at",
    "read_at",
    "patient__code",
    "patient__clinic",
    "patient__user",
    "patient__name",
    "patient__time_zone",
    "patient__clinic__time_zone",
    "visit__local_date",
    "visit__local_time",
)


def list_inbox_for(user: AnyUser) -> QuerySet[Reminder]:
    """Reminders delivered to the user's in-app inbox, newest first (index reminder_inbox).
    The condition is _inbox_rows's, built once per process (portal/sqlonce.py)."""
    if not user.is_authenticated:
        return Reminder.objects.none()
    return (
        Reminder.objects.filter(_INBOX.condition(user))
        .select_related("patient__clinic", "visit")
        .order_by("-due_at", "-pk")
    )


def _unread_rows(user: User) -> QuerySet[Reminder]:
    return _inbox_rows(user).filter(read_at__isnull=True).values("pk")


# On every signed-in page: its SQL is built once per process (portal/sqlonce.py).
_UNREAD = sqlonce.Kept(_unread_rows)


def count_unread_reminders_for(user: AnyUser) -> int:
    """The number on the Reminders link: one query that starts from the reader's own rows
    (no scan over other people's reminders)."""
    if not user.is_authenticated:
        return 0
    return _UNREAD.count(user)


def access_reminder(user: AnyUser, code: UUID, *, rules: Iterable[str] | None = None) -> Reminder:
    """One of the user's own delivered reminders (of one of ``rules``, when given)."""
    scope = list_inbox_for(user).select_related("recipient")
    if rules is not None:
        scope = scope.filter(rule__in=list(rules))
    try:
        return scope.get(code=code)
    except Reminder.DoesNotExist:
        raise Http404 from None


def list_reminder_log_for(user: AnyUser, patient: Patient) -> QuerySet[Reminder]:
    """A patient's reminders, for clinic staff of the patient's clinic only. Cancelled rows were
    never due (a visit moved, a rule was switched off), so they are left out."""
    return (
        Reminder.objects.filter(patient__in=list_clinic_patients_for(user), patient=patient)
        .exclude(status=Reminder.Status.CANCELLED)
        .select_related("recipient", "patient__clinic", "visit")
        .prefetch_related("deliveries")
    )


@dataclass(frozen=True)
class ReminderLog:
    upcoming: list[LogRow]
    past: list[LogRow]


def reminder_log_for(
    user: AnyUser, patient: Patient, *, now: datetime, upcoming: int = 20, past: int = 100
) -> ReminderLog:
    """The clinic's view of one patient's reminders: the next ones planned, then what was due,
    newest first, with each person's name (never an email address) and each channel in words."""
    scope = list_reminder_log_for(user, patient)
    names = recipient_names(patient)
    return ReminderLog(
        upcoming=[log_row(r, names, now) for r in scope.filter(due_at__gt=now).order_by("due_at")[:upcoming]],
        past=[log_row(r, names, now) for r in scope.filter(due_at__lte=now).order_by("-due_at")[:past]],
    )


def recipient_names(patient: Patient) -> dict[int, str]:
    """How the clinic knows each person who gets this patient's reminders."""
    names: dict[int, str] = {}
    for caregiver_id, link_name, user_name in patient.caregiver_links.filter(
        caregiver__isnull=False
    ).values_list("caregiver_id", "name", "caregiver__name"):
        names[caregiver_id] = link_name or user_name or str(_("Caregiver"))
    if patient.user_id:
        names[patient.user_id] = patient.name
    return names


def list_push_subscriptions_for(user: AnyUser) -> QuerySet[PushSubscription]:
    if not user.is_authenticated:
        return PushSubscription.objects.none()
    return PushSubscription.objects.filter(user=user)


# --- Clinic workspace ------------------------------------------------------------------


def access_clinic_course(user: AnyUser, code: UUID) -> TreatmentCourse:
    """A treatment course of a patient of one of the user's clinics."""
    try:
        return TreatmentCourse.objects.select_related("patient__clinic").get(
            code=code, patient__in=list_clinic_patients_for(user)
        )
    except TreatmentCourse.DoesNotExist:
        raise Http404 from None


def list_assignments_for(user: AnyUser) -> QuerySet[Assignment]:
    """What the user has to read: as a patient, the live assignments written for patients; as a
    caregiver with an active link, those written for caregivers. New ones show at once."""
    if not user.is_authenticated:
        return Assignment.objects.none()
    return (
        Assignment.objects.filter(_ASSIGNMENTS.condition(user))
        .select_related("patient__clinic")
        .order_by("assigned_at", "id")
    )


def _assignment_rows(user: User) -> QuerySet[Assignment]:
    """list_assignments_for's rows: subqueries from the user's own patient record and links."""
    own = Q(patient__in=Patient.objects.filter(user=user).values("pk"), audience__in=["patient", "both"])
    cared_for = Q(patient__in=list_cared_for_patients(user).values("pk"), audience__in=["caregiver", "both"])
    return Assignment.objects.filter(own | cared_for, withdrawn_at__isnull=True)


# Today's page and the reading pages ask for it: SQL built once per process (portal/sqlonce.py).
_ASSIGNMENTS = sqlonce.Kept(_assignment_rows)


def access_assignment(user: AnyUser, code: UUID, *, manage: bool = False) -> Assignment:
    """A reader's own assignment, or (``manage``) one of a patient of the user's clinics."""
    scope = (
        Assignment.objects.filter(patient__in=list_clinic_patients_for(user))
        if manage
        else list_assignments_for(user)
    )
    try:
        return scope.select_related("patient__clinic").get(code=code)
    except Assignment.DoesNotExist:
        raise Http404 from None


def list_care_plans_for(user: AnyUser) -> QuerySet[CarePlan]:
    return CarePlan.objects.filter(clinic__in=list_clinics_for(user)).select_related("clinic")


def access_care_plan(user: AnyUser, code: UUID) -> CarePlan:
    """Care plans are changed by clinic admins only."""
    try:
        return CarePlan.objects.select_related("clinic").get(
            code=code, clinic__in=list_clinics_for(user, admin=True)
        )
    except CarePlan.DoesNotExist:
        raise Http404 from None


def list_assigned_module_slugs_for(user: AnyUser) -> list[str]:
    """The guide modules the user's care team gave them to read (their live assignments), each
    once and in reading order: kept on the device for reading offline."""
    from education.catalog import load_catalog

    order = {module.slug: index for index, module in enumerate(load_catalog().modules)}
    slugs = set(list_assignments_for(user).values_list("module_slug", flat=True))
    return sorted((slug for slug in slugs if slug in order), key=order.__getitem__)
