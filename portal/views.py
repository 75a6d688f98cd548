"""HTML views: parse, access, at most one service, render or redirect."""

from uuid import UUID
from zoneinfo import ZoneInfo

from allauth.account.utils import perform_login
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse, translate_url
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from education.links import guide_links
from education.views import _phones_context
from portal import caregivers, services
from portal.care import list_care_patients_for, recent_symptom_checks
from portal.forms import (
    CaregiverInviteForm,
    CaregiverRoleForm,
    EnrolPatientForm,
    InvitationAnswerForm,
)
from portal.http import AuthenticatedHttpRequest, came_from, local_path, remember_language
from portal.keep import kept
from portal.models import CaregiverLink, ClinicReminderSettings, InjectionVisit, Patient, StaffMembership
from portal.queries import (
    access_caregiver_link,
    access_patient,
    is_clinic_staff,
    list_clinics_for,
)
from portal.reminders.planning import dressing_status


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent with a token that no longer holds (the page was open across a sign-in in
    another tab, or for days): Django's own page names CSRF and DEBUG, in English. This one
    says in the reader's language that nothing was saved, and links the page they were on."""
    return render(request, "403_csrf.html", {"back": came_from(request)}, status=403)


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database takes a write and the worker keeps up; 503 and the reason
    otherwise (no details: this page is public)."""
    try:
        problem = services.health_problem()
    except DatabaseError:
        problem = "database"
    if problem:
        return JsonResponse({"status": "unavailable", "problem": problem}, status=503)
    return JsonResponse({"status": "ok"})


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Switch language: kept on a signed-in user's account, in a cookie otherwise."""
    code = request.POST.get("language", "")
    next_url = local_path(request, request.POST.get("next", ""))
    if code not in dict(settings.LANGUAGES):
        messages.error(request, _("Choose one of the languages in the list."))
        return HttpResponseRedirect(next_url)
    if request.user.is_authenticated:
        services.set_language(user=request.user, language=code)
    response = HttpResponseRedirect(translate_url(next_url, code))
    remember_language(request, response, code)
    return response


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return welcome(request)
    if is_clinic_staff(request.user):
        return redirect("clinic-home")
    if list_care_patients_for(request.user).exists():
        # Patients and caregivers start from today's care.
        return redirect("care-home")
    return render(
        request,
        "portal/home.html",
        {
            "links": [],
            "invitations": caregivers.list_invitations_for(request.user).exists(),
            "was_linked": caregivers.was_linked(request.user),
        },
    )


def welcome(request: HttpRequest) -> HttpResponse:
    """The start page for a visitor: the guide first, signing in second. The same for every
    visitor in a language, so any cache may keep it."""
    response = render(request, "portal/welcome.html")
    patch_cache_control(response, public=True, no_cache=True)
    return response


@login_required
def patient_enrol(request: AuthenticatedHttpRequest) -> HttpResponse:
    clinics = list_clinics_for(request.user)
    if not clinics.exists():
        raise Http404
    form = EnrolPatientForm(request.POST or None, clinics=clinics)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            patient = services.enrol_patient(
                clinic=data["clinic"],
                by=request.user,
                name=data["name"],
                email=data["email"],
                language=data["language"],
                time_zone=data["time_zone"],
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Patient enrolled. We emailed them an invitation."))
            return redirect("patient-detail", patient.code)
    return render(request, "portal/patient_enrol.html", {"form": form})


@kept
@login_required
def patient_detail(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    patient = access_patient(request.user, code)
    # One query for both: is the reader staff of this clinic, and an admin (who may erase).
    role = patient.clinic.memberships.filter(user=request.user).values_list("role", flat=True).first()
    staff = role is not None
    can_manage = staff or patient.user_id == request.user.pk
    if staff:
        services.record_audit(actor=request.user, action="patient.viewed", patient=patient, request=request)
    visits = list(InjectionVisit.objects.filter(course__patient=patient).order_by("local_date", "local_time"))
    # Each visit's date, time and link, as |date, |time and {% url %} wrote them, made here
    # once instead of by the template engine (tests/portal/test_visit_rows.py).
    head, tail = reverse("visit-manage", args=[_ZERO]).split(str(_ZERO))
    for visit in visits:
        visit.date_text = date_format(visit.local_date, "DATE_FORMAT")
        visit.when_text = date_format(visit.local_datetime, "DATETIME_FORMAT")
        visit.manage_url = f"{head}{visit.code}{tail}"
    today = timezone.localdate(timezone=ZoneInfo(patient.time_zone))
    active = [visit for visit in visits if visit.is_active]
    settings_row = ClinicReminderSettings.objects.filter(clinic=patient.clinic).first()
    dressing = dressing_status(
        [visit.local_date for visit in active], today, settings_row.dressing_days if settings_row else 7
    )
    upcoming = [visit for visit in visits if visit.local_date >= today]
    past = [visit for visit in visits if visit.local_date < today]
    links = patient.caregiver_links.exclude(status=CaregiverLink.Status.REVOKED) if can_manage else []
    return render(
        request,
        "portal/patient_detail.html",
        {
            "patient": patient,
            "upcoming": upcoming,
            "past": past,
            "dressing": dressing,
            "next_visit": next(
                (visit for visit in upcoming if visit.status == InjectionVisit.Status.SCHEDULED), None
            ),
            "links": links,
            "is_staff": staff,
            "may_erase": role == StaffMembership.Role.ADMIN,
            "can_manage": can_manage,
            "is_self": patient.user_id == request.user.pk,
            "guides": patient_guides(request, patient, staff=staff),
            "phones": _phones_context(patient.clinic)["phones"],
            # The patient's and caregivers' symptom checks, for the clinic (this read is audited above).
            "symptom_checks": recent_symptom_checks(patient) if staff else [],
            **({} if can_manage else caregivers.care_context(request, patient)),
        },
    )


_ZERO = UUID(int=0)


def audit_staff_read(
    request: AuthenticatedHttpRequest, patient: Patient, action: str, subject_code: UUID | None = None
) -> None:
    """Clinic staff reading a patient's data leave a trace; the patient and caregivers do not."""
    if request.method == "GET" and services.is_staff_of(request.user, patient.clinic):
        services.record_audit(
            actor=request.user, action=action, patient=patient, subject_code=subject_code, request=request
        )


def patient_guides(
    request: AuthenticatedHttpRequest, patient: Patient, *, staff: bool
) -> list[dict[str, str]]:
    """Staff print any module in the patient's language, with the clinic's numbers;
    a patient or caregiver reads the ones written for them, in their own language."""
    if staff:
        return guide_links(reader="care team", language=patient.language, printed_for=patient.code)
    reader = "patient" if patient.user_id == request.user.pk else "caregiver"
    return guide_links(reader=reader, language=translation.get_language())


@login_required
def caregiver_invite(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    patient = access_patient(request.user, code, manage=True)
    ask_consent = patient.user_id != request.user.pk
    form = CaregiverInviteForm(request.POST or None, ask_consent=ask_consent)
    audit_staff_read(request, patient, "patient.caregiver_form_viewed")
    # Back where the person came from: the patient to their caregivers, staff to the patient's page.
    if patient.user_id == request.user.pk:
        back = reverse("caregivers")
    else:
        back = reverse("patient-detail", args=[patient.code])
    if request.method == "POST" and form.is_valid():
        try:
            link = services.invite_caregiver(
                patient=patient, by=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if link.consented_at is None:
                messages.success(request, _("We asked the patient in the app. They get an email too."))
            else:
                messages.success(request, _("Invitation sent."))
            return HttpResponseRedirect(back)
    return render(request, "portal/caregiver_invite.html", {"form": form, "patient": patient, "back": back})


@login_required
def caregiver_edit(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """The patient, the clinic, or the caregiver themselves may change the caregiver's role."""
    link = access_caregiver_link(request.user, code)
    initial = {
        "handles_dressings": link.handles_dressings,
        "pregnant_or_immunocompromised": link.pregnant_or_immunocompromised,
        "gets_reminders": link.gets_reminders,
    }
    form = CaregiverRoleForm(request.POST or None, initial=initial)
    audit_staff_read(request, link.patient, "caregiver.viewed", link.code)
    # Back where the person came from: staff to the patient's page, the patient and the
    # caregiver to their list of caregiver links.
    if services.is_staff_of(request.user, link.patient.clinic):
        back = reverse("patient-detail", args=[link.patient.code])
    else:
        back = reverse("caregivers")
    if request.method == "POST" and form.is_valid():
        try:
            services.change_caregiver_role(link=link, by=request.user, request=request, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Saved."))
            return HttpResponseRedirect(back)
    return render(request, "portal/caregiver_edit.html", {"form": form, "link": link, "back": back})


@never_cache
def invitation(request: HttpRequest, token: str) -> HttpResponseBase:
    """The emailed invitation. A caregiver's shows what they will see and the safety rule,
    asks the safety question about themselves, and takes a yes or a no."""
    user = request.user if request.user.is_authenticated else None
    try:
        found = services.find_invitation(token)
    except services.InvitationError as error:
        return render(request, "portal/invitation.html", {"error": str(error)}, status=400)
    link = found.caregiver_link
    form = (
        InvitationAnswerForm(request.POST if request.method == "POST" else None, link=link) if link else None
    )
    if request.method == "POST" and (form is None or form.is_valid()):
        answer = form.cleaned_data if form else {"answer": "accept", "pregnant_or_immunocompromised": False}
        try:
            if answer["answer"] == "decline":
                caregivers.decline_invitation(invitation=found, by=user, request=request)
                messages.success(request, _("You said no to this invitation."))
                return redirect("home")
            accepted = services.accept_invitation(
                token=token,
                user=user,
                language=translation.get_language(),
                pregnant_or_immunocompromised=answer["pregnant_or_immunocompromised"],
            )
        except services.InvitationError as error:
            return render(request, "portal/invitation.html", {"error": str(error)}, status=400)
        if link:
            caregivers.choose_patient_for(request, found.patient)
        if user is None:
            return perform_login(request, accepted.user, redirect_url="/", email=accepted.user.email)
        messages.success(request, _("Welcome. Your account is linked."))
        return redirect("home")
    return render(request, "portal/invitation.html", {"invitation": found, "link": link, "form": form})
