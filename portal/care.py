"""The patient's and caregiver's own app (issue 11, points 1-4): today's care, the plan,
reading with teach-back, the symptom check and the dressing log.

Reads and writes for those pages live here; the views (``portal/care_views.py``) stay thin.
Every page starts from ``access_care_patient``: the patient themselves or a caregiver with an
active link; anyone else (clinic staff included, who keep ``/clinic/``) gets a 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from education import teachback
from portal import services, sqlonce
from portal.caregivers import may_handle_dressings
from portal.models import (
    Assignment,
    AssignmentProgress,
    CaregiverLink,
    ClinicReminderSettings,
    DressingLogEntry,
    InjectionVisit,
    Patient,
    SymptomCheck,
    TeachBackAnswer,
    User,
)
from portal.queries import AnyUser, list_assignments_for, list_cared_for_patients, recipient_names
from portal.reminders.planning import FOLLOW_UP_DAYS, DressingStatus, dressing_status

Kind = DressingLogEntry.Kind
# The four one-tap tasks of the day (issue 11 point 1); "dry" joins them from the review day.
TODAY_TASKS = (Kind.CHECKED, Kind.CHANGED, Kind.CAME_LOOSE, Kind.WEEPING)
# The same tap twice within this time is one report (a double tap, a resent form).
SAME_REPORT_WINDOW = timedelta(minutes=2)


# --- Who may see and do what ------------------------------------------------------------


def list_care_patients_for(user: AnyUser) -> QuerySet[Patient]:
    """The patients whose care the user runs from their phone: themselves, and those they care
    for through an active link. Clinic staff see patients in the clinic workspace instead."""
    if not user.is_authenticated:
        return Patient.objects.none()
    own = Q(user=user)
    cared_for = Q(pk__in=list_cared_for_patients(user).values("pk"))
    return Patient.objects.filter(own | cared_for).select_related("clinic").order_by("name", "pk")


# On every page of the patient's and caregiver's day: SQL built once per process (portal/sqlonce.py).
_CARE_PATIENTS = sqlonce.Kept(list_care_patients_for)


def access_care_patient(user: AnyUser, code: UUID) -> Patient:
    if not user.is_authenticated:
        raise Http404
    try:
        return Patient.objects.filter(_CARE_PATIENTS.condition(user)).select_related("clinic").get(code=code)
    except Patient.DoesNotExist:
        raise Http404 from None


def count_care_patients_for(user: AnyUser) -> int:
    """list_care_patients_for(user).count()."""
    return _CARE_PATIENTS.count(user) if user.is_authenticated else 0


def caregiver_link(user: AnyUser, patient: Patient) -> CaregiverLink | None:
    """The user's active link to the patient; None for the patient themselves."""
    if not user.is_authenticated or patient.user_id == user.pk:
        return None
    return patient.caregiver_links.filter(caregiver=user, status=CaregiverLink.Status.ACTIVE).first()


# --- The day of the dressing period -----------------------------------------------------


def local_today(patient: Patient, now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), ZoneInfo(patient.time_zone)).date()


def dressing_days(patient: Patient) -> int:
    row = ClinicReminderSettings.objects.filter(clinic_id=patient.clinic_id).first()
    return row.dressing_days if row else 7


@dataclass(frozen=True)
class CareDay:
    """Where the patient is in the dressing period today, in the patient's own time zone."""

    today: date
    status: DressingStatus
    weeping: bool  # from the review day on, the latest weeping-or-dry report says "weeping"

    @property
    def day(self) -> int | None:
        return self.status.days_since

    @property
    def in_period(self) -> bool:
        return self.status.in_dressing_period

    @property
    def still_weeping(self) -> bool:
        """After the period, a site reported weeping: daily checks go on until "dry" (at most
        FOLLOW_UP_DAYS after the review day, as the reminder planning does)."""
        days = self.status.days_since
        return (
            self.weeping
            and days is not None
            and self.status.dressing_days <= days <= self.status.dressing_days + FOLLOW_UP_DAYS
        )

    @property
    def review_day(self) -> bool:
        return self.status.days_since == self.status.dressing_days

    @property
    def has_tasks(self) -> bool:
        return self.in_period or self.review_day or self.still_weeping

    @property
    def asks_dry(self) -> bool:
        """ "All sites dry" is a question from the review day on."""
        return self.review_day or self.still_weeping


def care_day(patient: Patient, now: datetime | None = None) -> CareDay:
    now = now or timezone.now()
    today = local_today(patient, now)
    visits = InjectionVisit.objects.filter(
        course__patient=patient, status__in=[InjectionVisit.Status.SCHEDULED, InjectionVisit.Status.DONE]
    )
    status = dressing_status(visits.values_list("local_date", flat=True), today, dressing_days(patient))
    weeping = False
    if status.last_treatment is not None and (status.days_since or 0) >= status.dressing_days:
        # As the reminder planning reads the log: reports from the review day on.
        review_day = status.last_treatment + timedelta(days=status.dressing_days)
        start = datetime.combine(review_day, time(0), ZoneInfo(patient.time_zone))
        latest = (
            patient.dressing_log.filter(kind__in=[Kind.WEEPING, Kind.DRY], at__gte=start, at__lte=now)
            .order_by("-at", "-kind")  # at one instant "weeping" wins, as in planning
            .values_list("kind", flat=True)
            .first()
        )
        weeping = latest == Kind.WEEPING
    return CareDay(today=today, status=status, weeping=weeping)


def day_phrase(day: CareDay, *, is_self: bool) -> str:
    """The day of the dressing period in words (tvec-facts §2: keep the sites covered for at
    least a week after each treatment, longer while a site weeps or oozes)."""
    status = day.status
    if status.last_treatment is None or status.days_since is None:
        return _("No treatment yet.")
    n = status.days_since
    values = {"day": n, "date": formats.date_format(status.last_treatment, "MONTH_DAY_FORMAT")}
    if n == 0:
        return _("Treatment day, %(date)s: keep the dressings on.") % values
    if day.in_period and is_self:
        text = ngettext(
            "Day %(day)s after your treatment on %(date)s: keep the dressings on.",
            "Day %(day)s after your treatment on %(date)s: keep the dressings on.",
            n,
        )
    elif day.in_period:
        text = ngettext(
            "Day %(day)s after the treatment on %(date)s: keep the dressings on.",
            "Day %(day)s after the treatment on %(date)s: keep the dressings on.",
            n,
        )
    elif day.still_weeping:
        text = ngettext(
            "Day %(day)s after the treatment on %(date)s: a site was still weeping or oozing. "
            "Keep it covered and check it every day until it is dry.",
            "Day %(day)s after the treatment on %(date)s: a site was still weeping or oozing. "
            "Keep it covered and check it every day until it is dry.",
            n,
        )
    elif day.review_day:
        text = ngettext(
            "Day %(day)s after the treatment on %(date)s: check whether every site is dry. "
            "Keep a site covered while it weeps or oozes.",
            "Day %(day)s after the treatment on %(date)s: check whether every site is dry. "
            "Keep a site covered while it weeps or oozes.",
            n,
        )
    else:
        text = ngettext(
            "Day %(day)s after the treatment on %(date)s. The dressing days are over when every site is dry.",
            "Day %(day)s after the treatment on %(date)s. The dressing days are over when every site is dry.",
            n,
        )
    return text % values


def countdown(visit: InjectionVisit, today: date) -> str:
    days = (visit.local_date - today).days
    if days <= 0:
        return _("Today")
    if days == 1:
        return _("Tomorrow")
    return ngettext("In %(days)s day", "In %(days)s days", days) % {"days": days}


def next_visit(patient: Patient, today: date) -> InjectionVisit | None:
    return (
        InjectionVisit.objects.filter(
            course__patient=patient, status=InjectionVisit.Status.SCHEDULED, local_date__gte=today
        )
        .order_by("local_date", "local_time")
        .first()
    )


# --- Reading -------------------------------------------------------------------------------


def list_reading_for(user: User, patient: Patient) -> list[tuple[Assignment, AssignmentProgress | None]]:
    """The user's own assignments for this patient, in the order assigned, with how far they got."""
    assignments = list(list_assignments_for(user).filter(patient=patient))
    progress = {
        row.assignment_id: row
        for row in AssignmentProgress.objects.filter(assignment__in=assignments, reader=user)
    }
    return [(assignment, progress.get(assignment.pk)) for assignment in assignments]


def access_reading(user: AnyUser, patient: Patient, code: UUID) -> Assignment:
    """One of the user's own live assignments for this patient; any other module is a 404."""
    try:
        return list_assignments_for(user).get(patient=patient, code=code)
    except Assignment.DoesNotExist:
        raise Http404 from None


def teachback_questions(
    slug: str, language: str, *, handles_dressings: bool = True
) -> list[teachback.Question]:
    """The module's teach-back questions (``education.teachback``: in ``language``, or in
    English when that translation is missing or out of date). A reader who must not handle
    dressings gets none of the questions about handling one."""
    return teachback.questions(slug, language, handles_dressings=handles_dressings)


@dataclass(frozen=True)
class AnsweredQuestion:
    question: teachback.Question
    answer: TeachBackAnswer | None
    picked: teachback.Choice | None
    right: teachback.Choice | None


def answered_questions(
    questions: Sequence[teachback.Question], progress: AssignmentProgress | None
) -> list[AnsweredQuestion]:
    """Each question with the reader's latest answer to it (if any) and the right choice."""
    latest: dict[str, TeachBackAnswer] = {}
    if progress is not None:
        for row in progress.answers.all():
            latest[row.question_id] = row
    lines = []
    for question in questions:
        answer = latest.get(question.id)
        picked = next((c for c in question.choices if answer and c.id == answer.answer), None)
        right = next((c for c in question.choices if c.correct), None)
        lines.append(AnsweredQuestion(question=question, answer=answer, picked=picked, right=right))
    return lines


@transaction.atomic
def answer_teach_back(
    *,
    assignment: Assignment,
    reader: User,
    question_id: str,
    choice_id: str,
    language: str,
    now: datetime | None = None,
) -> TeachBackAnswer:
    """Keep the reader's answer to one question (every attempt stays; the latest counts)."""
    from portal.assignments import record_progress, record_teach_back

    questions = teachback_questions(
        assignment.module_slug, language, handles_dressings=may_handle_dressings(reader, assignment.patient)
    )
    question = next((q for q in questions if q.id == question_id), None)
    if question is None:
        raise ValidationError(_("This question is no longer asked. Please reload the page."))
    choice = next((c for c in question.choices if c.id == choice_id), None)
    if choice is None:
        raise ValidationError(_("Choose one of the answers."))
    progress = record_progress(
        assignment=assignment,
        reader=reader,
        state=AssignmentProgress.State.OPENED,
        language=language,
        now=now,
    )
    return record_teach_back(
        progress=progress, question_id=question.id, answer=choice.id, correct=choice.correct, now=now
    )


# --- The dressing log ----------------------------------------------------------------------


@transaction.atomic
def log_dressing(
    *, patient: Patient, by: User, kind: str, now: datetime | None = None
) -> tuple[DressingLogEntry, bool]:
    """Record one check or change; the entry and whether it is new. The same report by the same
    person within SAME_REPORT_WINDOW is the one already written (a double tap, a resent form).
    Re-plans the patient's reminders (services.record_dressing_report)."""
    if not may_handle_dressings(by, patient):
        raise PermissionDenied
    if kind not in Kind.values:
        raise ValidationError(_("Choose what you saw or did."))
    # One report at a time per patient: two taps at once must not both write. The time is read
    # once the lock is held, so a report written just before is inside the window.
    Patient.objects.select_for_update(of=("self",)).filter(pk=patient.pk).first()
    now = now or timezone.now()
    same = (
        patient.dressing_log.filter(recorded_by=by, kind=kind, at__gt=now - SAME_REPORT_WINDOW)
        .order_by("-at")
        .first()
    )
    if same is not None:
        return same, False
    return services.record_dressing_report(patient=patient, by=by, kind=kind, at=now), True


@dataclass(frozen=True)
class LogLine:
    entry: DressingLogEntry
    who: str
    by_you: bool


def dressing_history(patient: Patient, user: User, *, limit: int = 60) -> list[LogLine]:
    """The patient's dressing log, newest first, each with who wrote it."""
    names = recipient_names(patient)
    entries = patient.dressing_log.order_by("-at", "-pk")[:limit]
    return [
        LogLine(
            entry=entry,
            who=names.get(entry.recorded_by_id) or _("Caregiver"),
            by_you=entry.recorded_by_id == user.pk,
        )
        for entry in entries
    ]


def logged_today(patient: Patient, user: User, day: CareDay) -> list[LogLine]:
    start = datetime.combine(day.today, time(0), ZoneInfo(patient.time_zone))
    return [line for line in dressing_history(patient, user, limit=20) if line.entry.at >= start]


# --- The symptom check ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sign:
    key: str
    text: Promise
    urgent: bool
    sources: tuple[str, ...]
    emergency: bool = False  # get emergency care, not only the care team


# From shared/clinical/tvec-facts.md: §6 (urgent warning signs: call the care team) and §5
# (the common side effects, most gone within 72 hours; ask which medicine to use).
SIGNS: tuple[Sign, ...] = (
    Sign(
        "allergy",
        gettext_lazy("Hives, or swelling of the face, lips, tongue or throat"),
        urgent=True,
        sources=("R42",),
        emergency=True,
    ),
    # Hard breathing is also a sign of an allergic reaction, which needs emergency care (§6, R42);
    # the reader cannot tell which it is.
    Sign(
        "breathing",
        gettext_lazy("It is hard to breathe"),
        urgent=True,
        sources=("R32", "R21", "R42"),
        emergency=True,
    ),
    Sign(
        "herpes",
        gettext_lazy(
            "Pain, burning or tingling with a blister on the mouth, genitals, fingers or ears, or cold sores"
        ),
        urgent=True,
        sources=("R16",),
    ),
    Sign(
        "eyes",
        gettext_lazy("Eye pain, eyes that hurt in light, or blurred vision"),
        urgent=True,
        sources=("R16", "R1", "R3"),
    ),
    Sign(
        "nerves",
        gettext_lazy("Confusion, feeling very drowsy, or weak arms or legs"),
        urgent=True,
        sources=("R16", "R34"),
    ),
    Sign(
        "site",
        gettext_lazy("An injection site that is red, swollen, warm or oozing, or does not heal"),
        urgent=True,
        sources=("R4", "R33", "R34"),
    ),
    Sign("pregnancy", gettext_lazy("The patient is or may be pregnant"), urgent=True, sources=("R16", "R18")),
    Sign(
        "flu",
        gettext_lazy("Fever, chills, tiredness or a flu-like feeling"),
        urgent=False,
        sources=("R2", "R5"),
    ),
    Sign("nausea", gettext_lazy("Feeling sick (nausea)"), urgent=False, sources=("R2", "R5")),
    Sign("site_pain", gettext_lazy("Pain at an injection site"), urgent=False, sources=("R2", "R5")),
)
SIGNS_BY_KEY = {sign.key: sign for sign in SIGNS}
# Where the advice for the common signs comes from: most clear within 72 hours [R5, R16];
# ask the care team which medicine to use for fever and aches [R22].
COMMON_SOURCES = ("R5", "R16", "R22")


def signs_of(check: SymptomCheck) -> list[Sign]:
    return [SIGNS_BY_KEY[key] for key in check.signs if key in SIGNS_BY_KEY]


@transaction.atomic
def record_symptom_check(
    *, patient: Patient, by: User, signs: Sequence[str], none: bool, now: datetime | None = None
) -> tuple[SymptomCheck, bool]:
    """Keep what the person ticked, for the clinic; the check and whether it is new. The same
    answers by the same person within SAME_REPORT_WINDOW are the check already kept. The app
    alerts no one: the page tells the person to call."""
    keys = [sign.key for sign in SIGNS if sign.key in set(signs)]
    if len(keys) != len(set(signs)):
        raise ValidationError(_("Choose from the signs in the list."))
    if none and keys:
        raise ValidationError(_("You ticked “None of these” and a sign. Untick one of them."))
    if not none and not keys:
        raise ValidationError(_("Tick the signs you have, or “None of these”."))
    Patient.objects.select_for_update(of=("self",)).filter(pk=patient.pk).first()
    now = now or timezone.now()
    same = (
        patient.symptom_checks.filter(recorded_by=by, at__gt=now - SAME_REPORT_WINDOW).order_by("-at").first()
    )
    if same is not None and same.signs == keys:
        return same, False
    check = SymptomCheck.objects.create(
        patient=patient,
        recorded_by=by,
        signs=keys,
        urgent=any(SIGNS_BY_KEY[key].urgent for key in keys),
        at=now,
    )
    return check, True


def access_symptom_check(user: User, patient: Patient, code: UUID) -> SymptomCheck:
    """A check about this patient, written by the user (a caregiver does not read the
    patient's own checks, nor the patient a caregiver's: each sees the answer they asked for)."""
    try:
        return patient.symptom_checks.get(code=code, recorded_by=user)
    except SymptomCheck.DoesNotExist:
        raise Http404 from None


@dataclass(frozen=True)
class SymptomLine:
    check: SymptomCheck
    who: str
    signs: list[Sign]


def recent_symptom_checks(patient: Patient, *, limit: int = 10) -> list[SymptomLine]:
    """For the clinic's patient page (whose reading is audited): the latest checks first."""
    names = recipient_names(patient)
    return [
        SymptomLine(check=check, who=names.get(check.recorded_by_id) or _("Caregiver"), signs=signs_of(check))
        for check in patient.symptom_checks.order_by("-at", "-pk")[:limit]
    ]
