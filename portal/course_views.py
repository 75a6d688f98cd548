"""Clinic pages for treatment courses: plan a course on one screen, then change one visit.

Every change ends on the course page, which shows the reminders that will now be sent."""

import hashlib
from datetime import date, time, timedelta
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from portal import courses, scheduling
from portal.clinic_forms import (
    CompleteVisitForm,
    MoveVisitForm,
    PlannedVisitFormSet,
    ProposeCourseForm,
    ShiftVisitsForm,
    split_sites,
)
from portal.courses import CourseChange, PlannedVisit
from portal.http import AuthenticatedHttpRequest
from portal.models import InjectionVisit, Patient
from portal.queries import access_clinic_course, access_clinic_patient, access_visit
from portal.reminders import reminder_title
from portal.scheduling import ScheduleWarning, WarningKind
from portal.services import record_audit


def describe(warning: ScheduleWarning) -> str:
    when = {
        "date": date_format(warning.local_date, "DATE_FORMAT"),
        "time": time_format(warning.local_time, "TIME_FORMAT"),
        "other": date_format(warning.other_date, "DATE_FORMAT") if warning.other_date else "",
        "days": warning.required_days or 0,
    }
    match warning.kind:
        case WarningKind.PAST:
            return _("%(date)s at %(time)s is in the past.") % when
        case WarningKind.DUPLICATE:
            return _("%(date)s: there is already a visit on this day.") % when
        case WarningKind.TOO_CLOSE:
            return (
                ngettext(
                    "%(date)s is closer to the visit on %(other)s than the schedule allows (%(days)d day).",
                    "%(date)s is closer to the visit on %(other)s than the schedule allows (%(days)d days).",
                    when["days"],
                )
                % when
            )
        case WarningKind.NONEXISTENT_TIME:
            return _("%(date)s: %(time)s does not exist that day, because the clocks go forward.") % when
        case WarningKind.AMBIGUOUS_TIME:
            return _("%(date)s: %(time)s happens twice that day, because the clocks go back.") % when


def fingerprint(warnings: list[ScheduleWarning]) -> str:
    """Ties "save anyway" to the warnings the nurse saw: new warnings need a new look."""
    text = "|".join(f"{w.kind}:{w.local_date}:{w.local_time}:{w.other_date}" for w in warnings)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def confirmed(request: AuthenticatedHttpRequest, warnings: list[ScheduleWarning]) -> bool:
    return not warnings or (
        request.POST.get("confirm") == "on" and request.POST.get("seen") == fingerprint(warnings)
    )


def saved(request: AuthenticatedHttpRequest, change: CourseChange, text: str) -> HttpResponse:
    messages.success(request, text + " " + _("Reminders were planned again: see what will now be sent."))
    return redirect("course-detail", change.course.patient.code)


@login_required
def course_detail(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """All visits of the patient, what can be done with them, and what will be sent."""
    patient = access_clinic_patient(request.user, code)
    record_audit(actor=request.user, action="course.viewed", patient=patient, request=request)
    course = courses.open_course(patient)
    visits = list(
        InjectionVisit.objects.filter(course__patient=patient)
        .select_related("course")
        .order_by("local_date", "local_time")
    )
    upcoming = courses.upcoming_reminders(patient)
    for reminder in upcoming:
        reminder.title = reminder_title(reminder)
    return render(
        request,
        "portal/course_detail.html",
        {"patient": patient, "course": course, "visits": visits, "upcoming": upcoming},
    )


def proposed_rows(form: ProposeCourseForm, *, restart: bool) -> list[dict[str, object]]:
    data = form.cleaned_data
    dates = scheduling.propose_dates(
        data["first_date"],
        count=data["count"] if data["length"] == "count" else None,
        until=data["until"] if data["length"] == "until" else None,
        restart=restart,
    )
    sites = ", ".join(split_sites(data["sites"]))
    return [
        {"keep": True, "local_date": day, "local_time": data["first_time"], "sites": sites} for day in dates
    ]


def course_plan_page(request: AuthenticatedHttpRequest, patient: Patient, *, restart: bool) -> HttpResponse:
    """One screen: the first treatment and the length give a proposed list; the nurse edits
    any row, leaves rows out, checks the warnings and saves the whole list at once."""
    action = request.POST.get("action", "")
    propose = ProposeCourseForm(request.POST if request.method == "POST" else None)
    rows = None
    warnings: list[ScheduleWarning] = []
    planned: list[PlannedVisit] = []
    if action == "propose" and propose.is_valid():
        rows = PlannedVisitFormSet(initial=proposed_rows(propose, restart=restart), prefix="visit")
        planned = [PlannedVisit(row["local_date"], row["local_time"]) for row in rows.initial]
    elif action in ("check", "save"):
        rows = PlannedVisitFormSet(request.POST, prefix="visit")
        if rows.is_valid():
            planned = [
                PlannedVisit(row["local_date"], row["local_time"], tuple(split_sites(row["sites"])))
                for row in rows.cleaned_data
                if row.get("keep")
            ]
            if not planned:
                messages.error(request, _("Keep at least one visit."))
    if planned:
        warnings = courses.plan_warnings(patient, planned, restart=restart)
    if action == "save" and rows is not None and rows.is_valid() and planned and confirmed(request, warnings):
        try:
            change = courses.plan_course(
                patient=patient, by=request.user, visits=planned, restart=restart, request=request
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            count = len(change.visits)
            return saved(
                request,
                change,
                ngettext("%(count)d visit planned.", "%(count)d visits planned.", count) % {"count": count},
            )
    elif action == "save" and warnings and not confirmed(request, warnings):
        messages.error(request, _("Look at the warnings, then tick the box to save anyway."))
    return render(
        request,
        "portal/course_plan.html",
        {
            "patient": patient,
            "propose": propose,
            "rows": rows,
            "restart": restart,
            "warnings": [describe(w) for w in warnings],
            "seen": fingerprint(warnings),
            "clinic_zone": patient.clinic.time_zone,
        },
    )


@login_required
def course_plan(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    return course_plan_page(request, access_clinic_patient(request.user, code), restart=False)


@login_required
def course_restart(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    course = access_clinic_course(request.user, code)
    if course.paused_at is None:
        messages.error(request, _("Only a paused course can be restarted."))
        return redirect("course-detail", course.patient.code)
    return course_plan_page(request, course.patient, restart=True)


@login_required
@require_POST
def course_pause(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    course = access_clinic_course(request.user, code)
    try:
        change = courses.pause_course(course=course, by=request.user, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("course-detail", course.patient.code)
    count = len(change.visits)
    return saved(
        request,
        change,
        ngettext(
            "Course paused. %(count)d visit was cancelled.",
            "Course paused. %(count)d visits were cancelled.",
            count,
        )
        % {"count": count},
    )


@login_required
def visit_manage(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """One visit: complete it, move it, shift it and every later visit, or cancel it."""
    visit = access_visit(request.user, code, manage=True)
    patient = visit.course.patient
    action = request.POST.get("action", "") if request.method == "POST" else ""
    complete = CompleteVisitForm(
        request.POST if action == "complete" else None,
        initial={"sites": ", ".join(courses.carried_sites(visit))},
    )
    move = MoveVisitForm(
        request.POST if action == "move" else None,
        initial={"local_date": visit.local_date, "local_time": visit.local_time},
    )
    shift = ShiftVisitsForm(request.POST if action == "shift" else None)
    warnings: list[ScheduleWarning] = []
    try:
        if action == "complete" and complete.is_valid():
            change = courses.complete_visit(
                visit=visit,
                by=request.user,
                sites=split_sites(complete.cleaned_data["sites"]),
                request=request,
            )
            return saved(request, change, _("Visit marked as done."))
        if action == "cancel":
            change = courses.cancel_visit(visit=visit, by=request.user, request=request)
            return saved(request, change, _("Visit cancelled."))
        if action == "move" and move.is_valid():
            new: tuple[date, time] = (move.cleaned_data["local_date"], move.cleaned_data["local_time"])
            warnings = courses.change_warnings(patient, {str(visit.code): new})
            if confirmed(request, warnings):
                change = courses.move_visit(
                    visit=visit, by=request.user, local_date=new[0], local_time=new[1], request=request
                )
                return saved(request, change, _("Visit moved."))
        if action == "shift" and shift.is_valid():
            days = shift.cleaned_data["days"]
            moves = {
                str(v.code): (v.local_date + timedelta(days=days), v.local_time)
                for v in courses.later_visits(visit)
            }
            warnings = courses.change_warnings(patient, moves)
            if confirmed(request, warnings):
                change = courses.shift_visits(visit=visit, by=request.user, days=days, request=request)
                count = len(change.visits)
                return saved(
                    request,
                    change,
                    ngettext("%(count)d visit moved.", "%(count)d visits moved.", count) % {"count": count},
                )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    if warnings:
        messages.error(request, _("Look at the warnings, then tick the box to save anyway."))
    record_audit(
        actor=request.user, action="visit.viewed", patient=patient, subject_code=visit.code, request=request
    )
    return render(
        request,
        "portal/visit_manage.html",
        {
            "visit": visit,
            "patient": patient,
            "complete": complete,
            "move": move,
            "shift": shift,
            "action": action,
            "warnings": [describe(w) for w in warnings],
            "seen": fingerprint(warnings),
            "later_count": len(courses.later_visits(visit)),
            "scheduled": visit.status == InjectionVisit.Status.SCHEDULED,
            "may_complete": courses.may_complete(visit),
        },
    )
