"""Clinic pages for education: assign modules or a care plan, see who read what, and keep
the clinic's care plans."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from education.catalog import load_catalog
from portal import assignments
from portal.http import AuthenticatedHttpRequest
from portal.models import AssignmentProgress, CaregiverLink, CarePlan, Patient
from portal.queries import access_assignment, access_care_plan, access_clinic, access_clinic_patient
from portal.services import record_audit


def module_titles(language: str | None = None) -> dict[str, str]:
    language = language or translation.get_language()
    return {module.slug: module.document(language)[0].title for module in load_catalog().modules}


def progress_rows(patient: Patient) -> list[dict[str, object]]:
    """Live assignments with one line per expected reader: a fixed number of queries."""
    live = (
        patient.assignments.filter(withdrawn_at__isnull=True)
        .select_related("assigned_by", "care_plan")
        .prefetch_related(
            Prefetch(
                "progress",
                queryset=AssignmentProgress.objects.select_related("reader").prefetch_related("answers"),
            )
        )
        .order_by("assigned_at", "id")
    )
    caregivers = [
        link.caregiver
        for link in patient.caregiver_links.filter(status=CaregiverLink.Status.ACTIVE).select_related(
            "caregiver"
        )
        if link.caregiver is not None
    ]
    titles = module_titles()
    order = assignments.module_order()
    rows = [
        {
            "assignment": assignment,
            "title": titles.get(assignment.module_slug, assignment.module_slug),
            "readers": assignments.readers_of(assignment, patient.user, caregivers),
        }
        for assignment in live
    ]
    rows.sort(key=lambda row: order.get(row["assignment"].module_slug, 999))  # type: ignore[union-attr]
    return rows


@login_required
def patient_assignments(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """Assign modules one by one or through a care plan; see who has read what."""
    patient = access_clinic_patient(request.user, code)
    plans = list(patient.clinic.care_plans.order_by("-is_default", "name"))
    if not plans:
        plans = [assignments.default_care_plan(patient.clinic)]
    if request.method == "POST":
        try:
            if request.POST.get("action") == "plan":
                try:
                    plan = next(p for p in plans if str(p.code) == request.POST.get("care_plan", ""))
                except StopIteration:
                    raise ValidationError(_("Choose one of the care plans in the list.")) from None
                created = assignments.assign_care_plan(
                    patient=patient, by=request.user, care_plan=plan, request=request
                )
            else:
                created = assignments.assign_modules(
                    patient=patient, by=request.user, slugs=request.POST.getlist("modules"), request=request
                )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            count = len(created)
            messages.success(
                request,
                ngettext("%(count)d module assigned.", "%(count)d modules assigned.", count)
                % {"count": count}
                if count
                else _("These modules were already assigned."),
            )
            return redirect("patient-assignments", patient.code)
    record_audit(actor=request.user, action="assignments.viewed", patient=patient, request=request)
    rows = progress_rows(patient)
    assigned = {row["assignment"].module_slug for row in rows}  # type: ignore[union-attr]
    titles = module_titles()
    return render(
        request,
        "portal/patient_assignments.html",
        {
            "patient": patient,
            "rows": rows,
            "plans": plans,
            "unassigned": [
                {"slug": module.slug, "title": titles[module.slug], "audience": module.audience}
                for module in load_catalog().modules
                if module.slug not in assigned
            ],
        },
    )


@login_required
@require_POST
def assignment_withdraw(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    assignment = access_assignment(request.user, code, manage=True)
    assignments.withdraw_assignment(assignment=assignment, by=request.user, request=request)
    messages.success(request, _("The module is no longer assigned."))
    return redirect("patient-assignments", assignment.patient.code)


# --- Care plans (clinic admins) ---------------------------------------------------------


def care_plan_page(
    request: AuthenticatedHttpRequest, clinic_code: UUID, plan: CarePlan | None
) -> HttpResponse:
    clinic = plan.clinic if plan else access_clinic(request.user, clinic_code, admin=True)
    chosen = (
        request.POST.getlist("modules")
        if request.method == "POST"
        else list(plan.items.values_list("module_slug", flat=True))
        if plan
        else []
    )
    name = request.POST.get("name", plan.name if plan else "")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            saved = assignments.save_care_plan(
                clinic=clinic,
                by=request.user,
                name=name,
                slugs=chosen,
                is_default=request.POST.get("is_default") == "on",
                care_plan=plan,
                request=request,
            )
        except ValidationError as error:
            errors = dict(error.message_dict) if hasattr(error, "error_dict") else {"all": error.messages}
        else:
            messages.success(request, _("Care plan saved."))
            return redirect("care-plan-list", saved.clinic.code)
    titles = module_titles()
    return render(
        request,
        "portal/care_plan_form.html",
        {
            "clinic": clinic,
            "plan": plan,
            "name": name,
            "errors": errors,
            "modules": [
                {"slug": m.slug, "title": titles[m.slug], "audience": m.audience, "chosen": m.slug in chosen}
                for m in load_catalog().modules
            ],
        },
    )


@login_required
def care_plan_list(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    clinic = access_clinic(request.user, code, admin=True)
    assignments.default_care_plan(clinic)
    titles = module_titles()
    plans = [
        {
            "plan": plan,
            "titles": [titles.get(item.module_slug, item.module_slug) for item in plan.items.all()],
        }
        for plan in clinic.care_plans.prefetch_related("items").order_by("-is_default", "name")
    ]
    return render(request, "portal/care_plan_list.html", {"clinic": clinic, "plans": plans})


@login_required
def care_plan_add(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    return care_plan_page(request, code, None)


@login_required
def care_plan_edit(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    plan = access_care_plan(request.user, code)
    return care_plan_page(request, plan.clinic.code, plan)


@login_required
@require_POST
def care_plan_delete(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    plan = access_care_plan(request.user, code)
    try:
        assignments.delete_care_plan(care_plan=plan, by=request.user, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Care plan deleted."))
    return redirect("care-plan-list", plan.clinic.code)
