"""Education assignments: which modules a clinic gives a patient, and how far each reader got.

The building blocks the patient app uses (issue 11):
- ``list_assignments_for(user)`` in ``portal.queries``: what a patient or caregiver has to read;
- ``record_progress(assignment=..., reader=..., state=...)``: opened, read to the end, "I understand";
- ``record_teach_back(progress=..., question_id=..., answer=..., correct=...)``.
States only move forward; each keeps its time, and the module version and language read.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from education.catalog import load_catalog
from portal.models import (
    Assignment,
    AssignmentProgress,
    CaregiverLink,
    CarePlan,
    CarePlanItem,
    Clinic,
    Patient,
    TeachBackAnswer,
    User,
)
from portal.services import record_audit
from portal.validators import validate_one_line

State = AssignmentProgress.State
ORDER = [State.OPENED, State.FINISHED, State.ACKNOWLEDGED]
DEFAULT_PLAN_NAME = "Home care after T-VEC treatment"


def module_order() -> dict[str, int]:
    return {module.slug: index for index, module in enumerate(load_catalog().modules)}


def known_slugs(slugs: list[str]) -> list[str]:
    """The slugs in reading order, each once; an unknown one is refused by name."""
    order = module_order()
    unknown = [slug for slug in slugs if slug not in order]
    if unknown:
        raise ValidationError(
            _("There is no module called %(slug)s.") % {"slug": unknown[0][:80]}, code="unknown_module"
        )
    return sorted(set(slugs), key=order.__getitem__)


# --- Care plans ----------------------------------------------------------------------


def default_care_plan(clinic: Clinic) -> CarePlan:
    """The clinic's default plan for this treatment: every module, in reading order, until
    a clinic admin changes it. Created the first time it is needed."""
    plan = clinic.care_plans.filter(is_default=True).first()
    if plan is not None:
        return plan
    try:
        with transaction.atomic():
            plan = CarePlan.objects.create(clinic=clinic, name=DEFAULT_PLAN_NAME, is_default=True)
            CarePlanItem.objects.bulk_create(
                CarePlanItem(care_plan=plan, module_slug=module.slug, position=index)
                for index, module in enumerate(load_catalog().modules)
            )
    except IntegrityError:
        # Created by a request running at the same time.
        return clinic.care_plans.get(is_default=True)
    return plan


@transaction.atomic
def save_care_plan(
    *,
    clinic: Clinic,
    by: User,
    name: str,
    slugs: list[str],
    is_default: bool = False,
    care_plan: CarePlan | None = None,
    request: HttpRequest | None = None,
) -> CarePlan:
    """Create a plan, or replace an existing plan's name and modules."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": _("Give the care plan a name.")})
    # No form field checks this name, so the checks a form's CharField would make are here,
    # before the same-name query (100,000 characters made SQLite's LIKE give up).
    max_length = CarePlan._meta.get_field("name").max_length
    try:
        for check in (MaxLengthValidator(max_length), ProhibitNullCharactersValidator(), validate_one_line):
            check(name)
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from None
    slugs = known_slugs(slugs)
    if not slugs:
        raise ValidationError({"modules": _("Choose at least one module.")})
    same_name = clinic.care_plans.filter(name__iexact=name)
    if care_plan is not None:
        same_name = same_name.exclude(pk=care_plan.pk)
    if same_name.exists():
        raise ValidationError({"name": _("This clinic already has a care plan with this name.")})
    if is_default:
        clinic.care_plans.filter(is_default=True).exclude(pk=getattr(care_plan, "pk", None)).update(
            is_default=False
        )
    if care_plan is None:
        care_plan = CarePlan.objects.create(clinic=clinic, name=name, is_default=is_default)
        action = "care_plan.created"
    else:
        care_plan.name = name
        care_plan.is_default = care_plan.is_default or is_default
        care_plan.save(update_fields=["name", "is_default", "updated_at"])
        care_plan.items.all().delete()
        action = "care_plan.changed"
    CarePlanItem.objects.bulk_create(
        CarePlanItem(care_plan=care_plan, module_slug=slug, position=index)
        for index, slug in enumerate(slugs)
    )
    record_audit(actor=by, action=action, clinic=clinic, subject_code=care_plan.code, request=request)
    return care_plan


@transaction.atomic
def delete_care_plan(*, care_plan: CarePlan, by: User, request: HttpRequest | None = None) -> None:
    if care_plan.is_default:
        raise ValidationError(
            _("The default care plan cannot be deleted. Make another plan the default first.")
        )
    record_audit(
        actor=by,
        action="care_plan.deleted",
        clinic=care_plan.clinic,
        subject_code=care_plan.code,
        request=request,
    )
    care_plan.delete()


# --- Assigning ---------------------------------------------------------------------------


@transaction.atomic
def assign_modules(
    *,
    patient: Patient,
    by: User,
    slugs: list[str],
    care_plan: CarePlan | None = None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> list[Assignment]:
    """Assign modules to a patient; modules already assigned stay as they are. The patient and
    their caregivers (by the module's audience) see new assignments at once."""
    slugs = known_slugs(slugs)
    if not slugs:
        raise ValidationError(_("Choose at least one module."))
    if patient.discharged_at:
        raise ValidationError(_("This patient was discharged. Reopen their record first."))
    if care_plan is not None and care_plan.clinic_id != patient.clinic_id:
        raise PermissionDenied
    # Lock the patient: two nurses assigning at once must not both create the same row.
    Patient.objects.select_for_update(of=("self",)).filter(pk=patient.pk).first()
    live = set(patient.assignments.filter(withdrawn_at__isnull=True).values_list("module_slug", flat=True))
    catalog = load_catalog()
    now = now or timezone.now()
    created = [
        Assignment(
            patient=patient,
            module_slug=slug,
            audience=catalog.get(slug).audience,  # type: ignore[union-attr]
            care_plan=care_plan,
            assigned_at=now,
            assigned_by=by,
        )
        for slug in slugs
        if slug not in live
    ]
    Assignment.objects.bulk_create(created)
    if created:
        record_audit(
            actor=by,
            action="assignments.created",
            patient=patient,
            subject_code=care_plan.code if care_plan else created[0].code,
            request=request,
        )
    return created


def assign_care_plan(
    *, patient: Patient, by: User, care_plan: CarePlan, request: HttpRequest | None = None
) -> list[Assignment]:
    slugs = list(care_plan.items.values_list("module_slug", flat=True))
    return assign_modules(patient=patient, by=by, slugs=slugs, care_plan=care_plan, request=request)


@transaction.atomic
def withdraw_assignment(
    *, assignment: Assignment, by: User, request: HttpRequest | None = None, now: datetime | None = None
) -> Assignment:
    """The patient no longer has to read it; progress so far stays as history."""
    if assignment.withdrawn_at is None:
        assignment.withdrawn_at = now or timezone.now()
        assignment.withdrawn_by = by
        assignment.save(update_fields=["withdrawn_at", "withdrawn_by"])
        record_audit(
            actor=by,
            action="assignment.withdrawn",
            patient=assignment.patient,
            subject_code=assignment.code,
            request=request,
        )
    return assignment


# --- Progress -------------------------------------------------------------------------------


def is_reader(assignment: Assignment, user: User) -> bool:
    """The patient reads patient modules; a caregiver with an active link reads caregiver ones."""
    patient = assignment.patient
    if assignment.for_patient and patient.user_id == user.pk:
        return True
    return assignment.for_caregivers and (
        CaregiverLink.objects.filter(
            patient=patient, caregiver=user, status=CaregiverLink.Status.ACTIVE
        ).exists()
    )


@transaction.atomic
def record_progress(
    *,
    assignment: Assignment,
    reader: User,
    state: str,
    language: str,
    recorded_by: User | None = None,
    now: datetime | None = None,
    request: HttpRequest | None = None,
    questions: bool = False,
) -> AssignmentProgress:
    """Move one reader's progress forward to ``state``; an earlier state changes nothing.
    ``questions``: the reader said "I have questions" (kept whatever the state was).

    ``recorded_by`` is a clinician recording it for the reader (audited); by default the reader."""
    state = State(state)
    if assignment.withdrawn_at is not None or not is_reader(assignment, reader):
        raise PermissionDenied
    module = load_catalog().get(assignment.module_slug)
    if module is None:
        raise ValidationError(_("This module is no longer in the guide."))
    now = now or timezone.now()
    recorded_by = recorded_by or reader
    progress = (
        AssignmentProgress.objects.select_for_update().filter(assignment=assignment, reader=reader).first()
    )
    if progress is None:
        progress = AssignmentProgress(
            assignment=assignment,
            reader=reader,
            state=State.OPENED,
            opened_at=now,
            module_version=module.version,
        )
    advancing = progress.pk is None or ORDER.index(State(progress.state)) < ORDER.index(state)
    if not advancing and not questions:
        return progress
    if questions:
        progress.questions_at = now
    if advancing:
        if ORDER.index(state) >= ORDER.index(State.FINISHED) and progress.finished_at is None:
            progress.finished_at = now
        if state == State.ACKNOWLEDGED:
            progress.acknowledged_at = now
        progress.state = state
        progress.module_version = module.version
        progress.language = language
    progress.recorded_by = recorded_by
    progress.full_clean(exclude=["assignment", "reader", "recorded_by"])
    progress.save()
    if recorded_by.pk != reader.pk:
        record_audit(
            actor=recorded_by,
            action="progress.recorded",
            patient=assignment.patient,
            subject_code=assignment.code,
            request=request,
        )
    return progress


def record_teach_back(
    *,
    progress: AssignmentProgress,
    question_id: str,
    answer: str,
    correct: bool | None,
    now: datetime | None = None,
) -> TeachBackAnswer:
    """Keep one answer; every attempt stays, the latest per question counts."""
    module = load_catalog().get(progress.assignment.module_slug)
    row = TeachBackAnswer(
        progress=progress,
        question_id=question_id,
        answer=answer.strip()[:500],
        correct=correct,
        module_version=module.version if module else progress.module_version,
        answered_at=now or timezone.now(),
    )
    row.full_clean()
    row.save()
    return row


# --- What the clinic sees -----------------------------------------------------------------


@dataclass(frozen=True)
class ReaderProgress:
    reader: User
    is_patient: bool
    progress: AssignmentProgress | None
    correct: int
    answered: int


def readers_of(
    assignment: Assignment, patient_user: User | None, caregivers: list[User]
) -> list[ReaderProgress]:
    """One line per expected reader, from rows already prefetched (no query here)."""
    readers = []
    if assignment.for_patient and patient_user is not None:
        readers.append((patient_user, True))
    if assignment.for_caregivers:
        readers += [(caregiver, False) for caregiver in caregivers]
    by_reader = {row.reader_id: row for row in assignment.progress.all()}
    lines = []
    for reader, is_patient in readers:
        row = by_reader.get(reader.pk)
        latest: dict[str, TeachBackAnswer] = {}
        for answer in row.answers.all() if row else []:
            latest[answer.question_id] = answer
        lines.append(
            ReaderProgress(
                reader=reader,
                is_patient=is_patient,
                progress=row,
                correct=sum(1 for answer in latest.values() if answer.correct),
                answered=len(latest),
            )
        )
    return lines
