"""The patient's and caregiver's pages under /care/ (issue 11, points 1-4). Thin: each view
finds the patient with ``care.access_care_patient`` (a 404 for anyone else), calls at most one
write in ``portal.care``, then renders or redirects (post/redirect/get)."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from education import teachback
from education.catalog import SLUG, load_catalog
from education.views import _emergency_context, _phones_context, body_html, document_shown
from portal import care, caregivers
from portal.assignments import record_progress
from portal.http import AuthenticatedHttpRequest
from portal.keep import kept
from portal.models import AssignmentProgress, DressingLogEntry, InjectionVisit, Patient
from portal.queries import is_clinic_staff

Kind = DressingLogEntry.Kind


def phones(patient: Patient) -> dict[str, Any]:
    """The clinic's numbers as tap-to-call links, for education's phone and emergency includes."""
    return {**_phones_context(patient.clinic), "emergency": _emergency_context(patient.clinic)}


def references(ids: tuple[str, ...] | list[str]) -> list[Any]:
    known = load_catalog().references
    return [known[ref] for ref in ids if ref in known]


@login_required
@never_cache
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The first screen after signing in: today's care of the one patient, or a choice of
    patients for a caregiver of several. Clinic staff have the clinic workspace."""
    patients = list(care.list_care_patients_for(request.user))
    if not patients and is_clinic_staff(request.user):
        return redirect("clinic-home")
    if len(patients) == 1:
        return today_page(request, patients[0])
    return render(
        request,
        "portal/care/choose.html",
        {
            "patients": patients,
            "invitations": caregivers.list_invitations_for(request.user).exists(),
            "was_linked": not patients and caregivers.was_linked(request.user),
        },
    )


@kept
@login_required
@never_cache
def today(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    return today_page(request, care.access_care_patient(request.user, code))


def today_page(request: AuthenticatedHttpRequest, patient: Patient) -> HttpResponse:
    user = request.user
    link = care.caregiver_link(user, patient)
    is_self = patient.user_id == user.pk
    day = care.care_day(patient)
    handles = care.may_handle_dressings(user, patient)
    tasks = list(care.TODAY_TASKS) + ([Kind.DRY] if day.asks_dry else [])
    visit = care.next_visit(patient, day.today)
    reading = care.list_reading_for(user, patient)
    context = {
        "patient": patient,
        "link": link,
        "is_self": is_self,
        "day": day,
        "phrase": care.day_phrase(day, is_self=is_self),
        # Caregivers who must not touch dressings never get the tasks (tvec-facts §2, §3).
        "tasks": tasks if handles and day.has_tasks else [],
        "done_today": care.logged_today(patient, user, day) if day.has_tasks else [],
        "next_visit": visit,
        "countdown": care.countdown(visit, day.today) if visit else "",
        "new_reading": [assignment_title(a) for a, progress in reading if progress is None],
        "several": care.count_care_patients_for(user) > 1,
        "loose_sources": references(["R16", "R18", "R20"]),
        # Someone already caring for one person may be asked to help another.
        "invitations": caregivers.list_invitations_for(user).exists(),
        # A caregiver the care team proposed waits for the patient's yes or no.
        "care_team_asks": is_self and caregivers.list_requests_for_patient(patient).exists(),
        **phones(patient),
    }
    return render(request, "portal/care/today.html", context)


def assignment_title(assignment: Any) -> dict[str, Any]:
    module = load_catalog().get(assignment.module_slug)
    title = module.document(translation.get_language())[0].title if module else assignment.module_slug
    return {"assignment": assignment, "title": title}


# --- My care -----------------------------------------------------------------------------


@login_required
@never_cache
def plan(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """The visit calendar with each dressing period, and the reading with progress."""
    patient = care.access_care_patient(request.user, code)
    today = care.local_today(patient)
    days = care.dressing_days(patient)
    visits = InjectionVisit.objects.filter(course__patient=patient).order_by("local_date", "local_time")
    calendar = []
    for visit in visits:
        until = visit.local_date + timedelta(days=days - 1) if visit.is_active else None
        # A visit whose dressing days are still running stays in view with the coming ones.
        calendar.append(
            {"visit": visit, "dressing_until": until, "past": (until or visit.local_date) < today}
        )
    reading = [
        {**assignment_title(assignment), "progress": progress}
        for assignment, progress in care.list_reading_for(request.user, patient)
    ]
    context = {
        "patient": patient,
        "is_self": patient.user_id == request.user.pk,
        "upcoming": [row for row in calendar if not row["past"]],
        "past": [row for row in calendar if row["past"]],
        "reading": reading,
        "dressing_days": days,
    }
    return render(request, "portal/care/plan.html", context)


# --- Reading: the module, "I understand" and teach-back -------------------------------------


@login_required
@never_cache
def read(request: AuthenticatedHttpRequest, code: UUID, assignment: UUID) -> HttpResponse:
    """An assigned module, for its reader only (a 404 for any other); opening it is recorded."""
    patient = care.access_care_patient(request.user, code)
    found = care.access_reading(request.user, patient, assignment)
    catalog = load_catalog()
    module = catalog.get(found.module_slug)
    if module is None:
        raise Http404
    shown = document_shown(module, translation.get_language(), patient.clinic)
    # No dressing-change steps for a caregiver who must not handle dressings.
    document = caregivers.document_for(module, shown.document, user=request.user, patient=patient)
    progress = record_progress(
        assignment=found, reader=request.user, state="opened", language=document.language
    )
    body = body_html(request, document, catalog.references, patient.clinic)
    questions = care.teachback_questions(
        module.slug, document.language, handles_dressings=care.may_handle_dressings(request.user, patient)
    )
    # The questions' own language: English when their translation is missing or out of date.
    questions_language = teachback.questions_language(module.slug, document.language)
    context = {
        "patient": patient,
        "assignment": found,
        "document": document,
        **shown.notices(),
        "body": mark_safe(body),  # noqa: S308 - reviewed repository content, not user input
        "progress": progress,
        "questions_language": questions_language,
        "questions_bidi": questions_language in settings.LANGUAGES_BIDI,
        "unanswered": request.GET.get("unanswered", ""),
        "questions": [
            {"line": line, "sources": references(list(line.question.sources))}
            for line in care.answered_questions(questions, progress)
        ],
    }
    return render(request, "portal/care/read.html", context)


@login_required
@require_POST
def read_done(request: AuthenticatedHttpRequest, code: UUID, assignment: UUID) -> HttpResponse:
    """ "I understand", or "I read it and have questions" (read to the end)."""
    patient = care.access_care_patient(request.user, code)
    found = care.access_reading(request.user, patient, assignment)
    state = request.POST.get("state", "")
    if state not in (AssignmentProgress.State.FINISHED, AssignmentProgress.State.ACKNOWLEDGED):
        messages.error(request, _("Choose one of the two answers."))
        return redirect("care-read", patient.code, found.code)
    record_progress(
        assignment=found,
        reader=request.user,
        state=state,
        language=translation.get_language(),
        questions=state == AssignmentProgress.State.FINISHED,
    )
    if state == AssignmentProgress.State.ACKNOWLEDGED:
        messages.success(request, _("Thank you. Your care team can see that you understood this page."))
    else:
        messages.success(request, _("Thank you. Write down your questions and ask your care team."))
    return redirect("care-plan", patient.code)


@login_required
@require_POST
def answer(request: AuthenticatedHttpRequest, code: UUID, assignment: UUID) -> HttpResponse:
    """One teach-back answer; the page then shows whether it was right and why."""
    patient = care.access_care_patient(request.user, code)
    found = care.access_reading(request.user, patient, assignment)
    question = request.POST.get("question", "")
    url = redirect("care-read", patient.code, found.code).url
    try:
        care.answer_teach_back(
            assignment=found,
            reader=request.user,
            question_id=question,
            choice_id=request.POST.get("choice", ""),
            language=posted_language(request),
        )
    except ValidationError as error:
        if SLUG.match(question) and not request.POST.get("choice"):
            # Said beside the question, where the page opens, not at the top far above it.
            return redirect(f"{url}?unanswered={question}#q-{question}")
        messages.error(request, " ".join(error.messages))
    return redirect(f"{url}#q-{question}" if SLUG.match(question) else url)


def posted_language(request: AuthenticatedHttpRequest) -> str:
    """The language the questions were shown in (an English fallback page asks in English)."""
    language = request.POST.get("language", "")
    return language if language in dict(settings.LANGUAGES) else translation.get_language()


# --- Symptom check ---------------------------------------------------------------------------


@login_required
@never_cache
def symptoms(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    patient = care.access_care_patient(request.user, code)
    ticked = request.POST.getlist("sign") if request.method == "POST" else []
    none = request.POST.get("none") == "on"
    error = None
    if request.method == "POST":
        try:
            check, _new = care.record_symptom_check(patient=patient, by=request.user, signs=ticked, none=none)
        except ValidationError as problem:
            error = " ".join(problem.messages)
        else:
            return redirect("care-symptom-result", patient.code, check.code)
    groups = [
        {
            "urgent": urgent,
            "signs": [
                {"sign": sign, "ticked": sign.key in ticked, "sources": references(sign.sources)}
                for sign in care.SIGNS
                if sign.urgent == urgent
            ],
        }
        for urgent in (True, False)
    ]
    context = {"patient": patient, "groups": groups, "none": none, "error": error}
    return render(request, "portal/care/symptoms.html", context, status=400 if error else 200)


@login_required
@never_cache
def symptom_result(request: AuthenticatedHttpRequest, code: UUID, check: UUID) -> HttpResponse:
    patient = care.access_care_patient(request.user, code)
    found = care.access_symptom_check(request.user, patient, check)
    signs = care.signs_of(found)
    context = {
        "patient": patient,
        "check": found,
        "urgent": [sign for sign in signs if sign.urgent],
        "common": [sign for sign in signs if not sign.urgent],
        "emergency_sign": any(sign.emergency for sign in signs),
        "common_sources": references(care.COMMON_SOURCES),
        **phones(patient),
    }
    return render(request, "portal/care/symptom_result.html", context)


# --- Dressing log ------------------------------------------------------------------------


@login_required
@never_cache
def dressings(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """The history of checks and changes; a new entry from the patient or a caregiver who
    handles dressings (the same form as today's one-tap tasks, which come back to today)."""
    patient = care.access_care_patient(request.user, code)
    may_log = care.may_handle_dressings(request.user, patient)
    error = None
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        back = request.POST.get("back")
        try:
            entry, new = care.log_dressing(patient=patient, by=request.user, kind=kind)
        except ValidationError as problem:
            error = " ".join(problem.messages)
            if back == "today":
                messages.error(request, error)
                return redirect("care-today", patient.code)
        else:
            messages.success(request, _("Saved: %(answer)s.") % {"answer": entry.get_kind_display()})
            if entry.kind == Kind.WEEPING:
                messages.info(request, _("Keep the dressing on, and look at the site again tomorrow."))
            return redirect("care-today" if back == "today" else "care-dressings", patient.code)
    context = {
        "patient": patient,
        "may_log": may_log,
        "kinds": list(Kind),
        "history": care.dressing_history(patient, request.user),
        "error": error,
    }
    return render(request, "portal/care/dressings.html", context, status=400 if error else 200)
