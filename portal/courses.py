"""Writes for treatment courses: plan a whole course in one step, then complete, move, shift,
cancel, pause and restart. Every change re-plans the patient's reminders in the same
transaction and is audited. The arithmetic lives in ``portal.scheduling``."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal import scheduling
from portal.models import InjectionVisit, Patient, Reminder, TreatmentCourse, User, visit_date_error
from portal.reminders import replan_patient
from portal.reminders.rows import ReplanResult
from portal.scheduling import ScheduleWarning, Slot
from portal.services import clean_sites, record_audit, refused_if_taken

ACTIVE = [InjectionVisit.Status.SCHEDULED, InjectionVisit.Status.DONE]


@dataclass(frozen=True)
class PlannedVisit:
    local_date: date
    local_time: time
    sites: tuple[str, ...] = ()


@dataclass(frozen=True)
class CourseChange:
    """What a change did, for the page that shows what will now be sent."""

    course: TreatmentCourse
    replan: ReplanResult
    visits: tuple[InjectionVisit, ...] = ()


def clinic_today(patient: Patient, now: datetime | None = None) -> date:
    """Visits happen at the clinic, so their dates are the clinic's."""
    return timezone.localdate(now or timezone.now(), timezone=ZoneInfo(patient.clinic.time_zone))


def open_course(patient: Patient) -> TreatmentCourse | None:
    return patient.courses.filter(ended_on__isnull=True).order_by("-started_on", "-id").first()


def active_slots(patient: Patient) -> list[Slot]:
    """The patient's scheduled and done visits as the checks see them (not checked)."""
    visits = InjectionVisit.objects.filter(course__patient=patient, status__in=ACTIVE).order_by(
        "local_date", "local_time", "pk"
    )
    firsts: dict[int, int] = {}
    for visit in visits:
        firsts.setdefault(visit.course_id, visit.pk)
    return [
        Slot(
            key=str(visit.code),
            local_date=visit.local_date,
            local_time=visit.local_time,
            first_of_course=firsts[visit.course_id] == visit.pk,
            checked=False,
        )
        for visit in visits
    ]


def plan_warnings(
    patient: Patient, planned: list[PlannedVisit], *, restart: bool = False, now: datetime | None = None
) -> list[ScheduleWarning]:
    """Warnings for visits about to be added (keys are their positions in date order)."""
    existing = active_slots(patient)
    course = open_course(patient)
    # The first visit of a new course is the first treatment: the next one is 3 weeks later.
    starts_course = not restart and (course is None or not course.visits.filter(status__in=ACTIVE).exists())
    new = [
        Slot(str(i), visit.local_date, visit.local_time, first_of_course=starts_course and i == 0)
        for i, visit in enumerate(sorted(planned, key=lambda v: (v.local_date, v.local_time)))
    ]
    return scheduling.check_schedule(existing + new, now=now or timezone.now(), zone=patient.clinic.time_zone)


def change_warnings(
    patient: Patient, moves: dict[str, tuple[date, time]], *, now: datetime | None = None
) -> list[ScheduleWarning]:
    """Warnings for moving visits (keyed by visit code) to new dates and times."""
    slots = [
        Slot(slot.key, *moves[slot.key], first_of_course=slot.first_of_course) if slot.key in moves else slot
        for slot in active_slots(patient)
    ]
    return scheduling.check_schedule(slots, now=now or timezone.now(), zone=patient.clinic.time_zone)


def check_bounds(patient: Patient, days: list[date], now: datetime | None = None) -> None:
    """Every date within the one visit window (portal.models.visit_date_error), said with the date."""
    today = clinic_today(patient, now)
    for day in days:
        if error := visit_date_error(day, today):
            raise ValidationError(f"{date_format(day, 'DATE_FORMAT')}: {' '.join(error.messages)}")


def check_free(
    patient: Patient, slots: list[tuple[date, time]], *, leave_out: frozenset[int] = frozenset()
) -> None:
    """Two visits of one patient at the same local date and time are one visit entered twice."""
    # Only a cancelled visit frees its time (the database's visit_one_per_patient_and_time).
    taken = set(
        InjectionVisit.objects.filter(patient=patient)
        .exclude(status=InjectionVisit.Status.CANCELLED)
        .exclude(pk__in=leave_out)
        .values_list("local_date", "local_time")
    )
    seen: set[tuple[date, time]] = set()
    for slot in slots:
        if slot in taken or slot in seen:
            raise ValidationError(
                _("There is already a visit on %(date)s at %(time)s.")
                % {"date": date_format(slot[0], "DATE_FORMAT"), "time": slot[1].strftime("%H:%M")}
            )
        seen.add(slot)


@transaction.atomic
def plan_course(
    *,
    patient: Patient,
    by: User,
    visits: list[PlannedVisit],
    restart: bool = False,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> CourseChange:
    """Add a list of visits (a whole course, or a restart after a pause) in one step."""
    if not visits:
        raise ValidationError(_("Keep at least one visit."))
    if len(visits) > scheduling.MAX_VISITS:
        raise ValidationError(
            _("Plan at most %(count)d visits at a time.") % {"count": scheduling.MAX_VISITS}
        )
    if patient.discharged_at:
        raise ValidationError(_("This patient was discharged. Reopen their record first."))
    visits = sorted(visits, key=lambda v: (v.local_date, v.local_time))
    check_bounds(patient, [v.local_date for v in visits], now)
    check_free(patient, [(v.local_date, v.local_time) for v in visits])
    course = open_course(patient)
    if restart:
        if course is None or course.paused_at is None:
            raise ValidationError(_("Only a paused course can be restarted."))
        course.paused_at = None
        course.save(update_fields=["paused_at"])
    elif course is None:
        course = TreatmentCourse.objects.create(patient=patient, started_on=visits[0].local_date)
    elif course.paused_at is not None:
        raise ValidationError(_("This course is paused. Restart it to plan more visits."))
    created = []
    for planned in visits:
        visit = InjectionVisit(
            course=course,
            patient=patient,
            local_date=planned.local_date,
            local_time=planned.local_time,
            sites=clean_sites(list(planned.sites)),
        )
        visit.full_clean()
        created.append(visit)
    with refused_if_taken(_("There is already a visit at one of these dates and times.")):
        InjectionVisit.objects.bulk_create(created)
    if course.started_on > visits[0].local_date:
        course.started_on = visits[0].local_date
        course.save(update_fields=["started_on"])
    result = replan_patient(patient)
    record_audit(
        actor=by,
        action="course.restarted" if restart else "course.planned",
        patient=patient,
        subject_code=course.code,
        request=request,
    )
    return CourseChange(course=course, replan=result, visits=tuple(created))


def carried_sites(visit: InjectionVisit) -> list[str]:
    """The sites to offer when completing a visit: those injected at the latest done visit
    before it, else the ones planned for it."""
    previous = (
        InjectionVisit.objects.filter(
            course__patient_id=visit.course.patient_id, status=InjectionVisit.Status.DONE
        )
        .exclude(pk=visit.pk)
        .filter(local_date__lte=visit.local_date)
        .order_by("-local_date", "-local_time")
        .first()
    )
    return list(previous.sites) if previous and previous.sites else list(visit.sites)


def _save_visit(
    visit: InjectionVisit, fields: list[str], *, by: User, action: str, request: HttpRequest | None
) -> CourseChange:
    visit.full_clean()
    with refused_if_taken(_("There is already a visit at this date and time.")):
        visit.save(update_fields=[*fields, "updated_at"])
    patient = visit.course.patient
    result = replan_patient(patient)
    record_audit(actor=by, action=action, patient=patient, subject_code=visit.code, request=request)
    return CourseChange(course=visit.course, replan=result, visits=(visit,))


def may_complete(visit: InjectionVisit, now: datetime | None = None) -> bool:
    """A visit is marked done on its day or after: one in the future has not happened, and
    marking it done would keep its "visit tomorrow" reminder while hiding it from the plan."""
    return visit.status == InjectionVisit.Status.DONE or (
        visit.status == InjectionVisit.Status.SCHEDULED
        and visit.local_date <= clinic_today(visit.course.patient, now)
    )


@transaction.atomic
def complete_visit(
    *,
    visit: InjectionVisit,
    by: User,
    sites: list[str],
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> CourseChange:
    """The treatment happened, with these sites injected."""
    if visit.status == InjectionVisit.Status.CANCELLED:
        raise ValidationError(_("A cancelled visit cannot be completed. Plan a new visit instead."))
    if not may_complete(visit, now):
        raise ValidationError(_("A visit can be marked as done from its day on."))
    visit.status = InjectionVisit.Status.DONE
    visit.sites = clean_sites(sites)
    return _save_visit(visit, ["status", "sites"], by=by, action="visit.completed", request=request)


@transaction.atomic
def move_visit(
    *,
    visit: InjectionVisit,
    by: User,
    local_date: date,
    local_time: time,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> CourseChange:
    patient = visit.course.patient
    if visit.status != InjectionVisit.Status.SCHEDULED:
        raise ValidationError(_("Only a scheduled visit can be moved."))
    check_bounds(patient, [local_date], now)
    check_free(patient, [(local_date, local_time)], leave_out=frozenset({visit.pk}))
    visit.local_date, visit.local_time = local_date, local_time
    return _save_visit(visit, ["local_date", "local_time"], by=by, action="visit.moved", request=request)


def later_visits(visit: InjectionVisit) -> list[InjectionVisit]:
    """This visit and every scheduled visit of its course after it."""
    return list(
        InjectionVisit.objects.filter(
            course=visit.course, status=InjectionVisit.Status.SCHEDULED, local_date__gte=visit.local_date
        ).order_by("local_date", "local_time")
    )


@transaction.atomic
def shift_visits(
    *,
    visit: InjectionVisit,
    by: User,
    days: int,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> CourseChange:
    """Move this visit and every later scheduled visit of the course by the same number of days."""
    if days == 0 or abs(days) > scheduling.MAX_SHIFT_DAYS:
        raise ValidationError(
            _("Shift by 1 to %(max)d days, earlier or later.") % {"max": scheduling.MAX_SHIFT_DAYS}
        )
    if visit.status != InjectionVisit.Status.SCHEDULED:
        raise ValidationError(_("Only a scheduled visit can be moved."))
    patient = visit.course.patient
    moving = later_visits(visit)
    delta = timedelta(days=days)
    check_bounds(patient, [v.local_date + delta for v in moving], now)
    check_free(
        patient,
        [(v.local_date + delta, v.local_time) for v in moving],
        leave_out=frozenset(v.pk for v in moving),
    )
    for moved in moving:
        moved.local_date += delta
        moved.full_clean()
    with refused_if_taken(_("There is already a visit at one of these dates and times.")):
        InjectionVisit.objects.bulk_update(moving, ["local_date", "updated_at"])
    result = replan_patient(patient)
    record_audit(actor=by, action="visits.shifted", patient=patient, subject_code=visit.code, request=request)
    return CourseChange(course=visit.course, replan=result, visits=tuple(moving))


@transaction.atomic
def cancel_visit(*, visit: InjectionVisit, by: User, request: HttpRequest | None = None) -> CourseChange:
    if visit.status != InjectionVisit.Status.SCHEDULED:
        raise ValidationError(_("Only a scheduled visit can be cancelled."))
    visit.status = InjectionVisit.Status.CANCELLED
    return _save_visit(visit, ["status"], by=by, action="visit.cancelled", request=request)


@transaction.atomic
def pause_course(
    *, course: TreatmentCourse, by: User, request: HttpRequest | None = None, now: datetime | None = None
) -> CourseChange:
    """Stop the course for now: visits from today on are cancelled; done visits and their
    dressing reminders stay. A restart plans again every 2 weeks."""
    if course.paused_at is not None or course.ended_on is not None:
        raise ValidationError(_("This course is not running."))
    now = now or timezone.now()
    patient = course.patient
    today = clinic_today(patient, now)
    cancelled = list(course.visits.filter(status=InjectionVisit.Status.SCHEDULED, local_date__gte=today))
    course.visits.filter(pk__in=[v.pk for v in cancelled]).update(
        status=InjectionVisit.Status.CANCELLED, updated_at=now
    )
    course.paused_at = now
    course.save(update_fields=["paused_at"])
    result = replan_patient(patient)
    record_audit(actor=by, action="course.paused", patient=patient, subject_code=course.code, request=request)
    return CourseChange(course=course, replan=result, visits=tuple(cancelled))


def upcoming_reminders(patient: Patient, *, now: datetime | None = None, limit: int = 30) -> list[Reminder]:
    """What will now be sent, soonest first: the reminders still planned for the patient and
    their caregivers."""
    return list(
        Reminder.objects.filter(
            patient=patient, status=Reminder.Status.PENDING, due_at__gte=now or timezone.now()
        )
        .select_related("recipient", "visit")
        .order_by("due_at", "rule")[:limit]
    )
