"""Clinic pages for changing a patient's record, and for clinic admins: settings, staff,
API keys. Also the staff invitation a new staff member opens from their email."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal import api_keys, patients, staff
from portal.clinic_forms import ApiKeyForm, ClinicSettingsForm, PatientForm, StaffInviteForm
from portal.http import AuthenticatedHttpRequest
from portal.models import ClinicApiKey, StaffInvitation, StaffMembership
from portal.queries import access_clinic, access_clinic_patient
from portal.services import InvitationError


def add_errors(form, error: ValidationError) -> None:  # type: ignore[no-untyped-def]
    """A service's error on the field it names, or on the whole form."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error)


# --- A patient's record ------------------------------------------------------------------------


@login_required
def patient_edit(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    patient = access_clinic_patient(request.user, code)
    initial = {
        "name": patient.name,
        "email": patient.email,
        "language": patient.language,
        "time_zone": patient.time_zone,
    }
    form = PatientForm(
        request.POST or None,
        initial=initial,
        clinic=patient.clinic,
        current_zone=patient.time_zone,
        email_locked=patient.user_id is not None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            patients.edit_patient(patient=patient, by=request.user, request=request, **form.cleaned_data)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("patient-detail", patient.code)
    return render(request, "portal/patient_edit.html", {"form": form, "patient": patient})


def patient_action(request: AuthenticatedHttpRequest, code: UUID, action, done: str) -> HttpResponse:  # type: ignore[no-untyped-def]
    patient = access_clinic_patient(request.user, code)
    try:
        action(patient=patient, by=request.user, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("patient-detail", patient.code)


@login_required
@require_POST
def patient_discharge(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    return patient_action(
        request, code, patients.discharge_patient, _("Discharged. Reminders stopped; the record is kept.")
    )


@login_required
@require_POST
def patient_reopen(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    return patient_action(
        request, code, patients.reopen_patient, _("Reopened. Reminders were planned again.")
    )


@login_required
@require_POST
def patient_invitation_resend(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    return patient_action(
        request,
        code,
        patients.resend_patient_invitation,
        _("We sent a new invitation. Earlier links no longer work."),
    )


@login_required
@require_POST
def patient_invitation_withdraw(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    return patient_action(
        request,
        code,
        patients.withdraw_patient_invitation,
        _("The invitation was withdrawn. Its link no longer works."),
    )


@login_required
def patient_erase(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """Erase on request, after typing the patient's name. Clinic admins only: DESIGN.md's
    clinician rights (enrol, edit visits, assign modules, read progress) do not destroy records."""
    patient = access_clinic_patient(request.user, code, admin=True)
    error = ""
    if request.method == "POST":
        try:
            patients.erase_patient(
                patient=patient,
                by=request.user,
                confirm_name=request.POST.get("confirm_name", "")[:200],
                request=request,
            )
        except ValidationError as problem:
            error = " ".join(problem.messages)
        else:
            messages.success(
                request, _("The patient's data was erased. The audit log keeps only their code.")
            )
            return redirect("patient-list")
    return render(request, "portal/patient_erase.html", {"patient": patient, "error": error})


# --- Clinic settings, staff and API keys (clinic admins) ------------------------------------------


@login_required
def clinic_settings(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    clinic = access_clinic(request.user, code, admin=True)
    initial = {field: getattr(clinic, field) for field in staff.CLINIC_FIELDS}
    form = ClinicSettingsForm(request.POST or None, initial=initial, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        try:
            staff.update_clinic_settings(
                clinic=clinic, by=request.user, changes=form.cleaned_data, request=request
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Clinic settings saved."))
            return redirect("clinic-settings", clinic.code)
    return render(request, "portal/clinic_settings.html", {"form": form, "clinic": clinic})


@login_required
def clinic_staff(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    clinic = access_clinic(request.user, code, admin=True)
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff.invite_staff(clinic=clinic, by=request.user, request=request, **form.cleaned_data)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Invitation sent."))
            return redirect("clinic-staff", clinic.code)
    return render(
        request,
        "portal/clinic_staff.html",
        {
            "clinic": clinic,
            "form": form,
            "members": clinic.memberships.select_related("user").order_by("user__name", "user__email"),
            "invitations": clinic.staff_invitations.filter(
                accepted_at__isnull=True, withdrawn_at__isnull=True
            ).order_by("-created_at"),
            "roles": StaffMembership.Role.choices,
        },
    )


def access_membership(request: AuthenticatedHttpRequest, code: UUID, user_code: UUID) -> StaffMembership:
    clinic = access_clinic(request.user, code, admin=True)
    try:
        return clinic.memberships.select_related("user", "clinic").get(user__code=user_code)
    except StaffMembership.DoesNotExist:
        raise Http404 from None


@login_required
@require_POST
def staff_role(request: AuthenticatedHttpRequest, code: UUID, user_code: UUID) -> HttpResponse:
    membership = access_membership(request, code, user_code)
    role = request.POST.get("role", "")
    try:
        if role not in StaffMembership.Role.values:
            raise ValidationError(_("Choose one of the roles in the list."))
        staff.change_staff_role(membership=membership, by=request.user, role=role, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Role changed."))
    return redirect("clinic-staff", code)


@login_required
@require_POST
def staff_remove(request: AuthenticatedHttpRequest, code: UUID, user_code: UUID) -> HttpResponse:
    membership = access_membership(request, code, user_code)
    try:
        staff.remove_staff(membership=membership, by=request.user, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("clinic-staff", code)
    messages.success(request, _("Removed from the staff. Their sessions have ended."))
    if membership.user_id == request.user.pk:
        return redirect("home")
    return redirect("clinic-staff", code)


@login_required
@require_POST
def staff_invitation_withdraw(
    request: AuthenticatedHttpRequest, code: UUID, invitation_code: UUID
) -> HttpResponse:
    clinic = access_clinic(request.user, code, admin=True)
    try:
        invitation = clinic.staff_invitations.get(code=invitation_code)
    except StaffInvitation.DoesNotExist:
        raise Http404 from None
    staff.withdraw_staff_invitation(invitation=invitation, by=request.user, request=request)
    messages.success(request, _("The invitation was withdrawn. Its link no longer works."))
    return redirect("clinic-staff", code)


@never_cache
def staff_invitation(request: HttpRequest, token: str) -> HttpResponseBase:
    """The link in a staff invitation email: choose a password, then the authenticator app."""
    user = request.user if request.user.is_authenticated else None
    try:
        invitation = staff.find_staff_invitation(token)
    except InvitationError as error:
        return render(request, "portal/staff_invitation.html", {"error": str(error)}, status=400)
    errors: list[str] = []
    if request.method == "POST":
        password1, password2 = request.POST.get("password1", ""), request.POST.get("password2", "")
        if user is None and password1 != password2:
            errors = [_("The two passwords are not the same.")]
        else:
            try:
                joined = staff.accept_staff_invitation(token=token, user=user, password=password1[:200])
            except InvitationError as error:
                return render(request, "portal/staff_invitation.html", {"error": str(error)}, status=400)
            except ValidationError as error:
                errors = error.messages
            else:
                if user is None:
                    login(request, joined.user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Welcome to the care team. Now set up your authenticator app."))
                return redirect("clinic-home")
    return render(
        request,
        "portal/staff_invitation.html",
        {"invitation": invitation, "errors": errors, "has_account": user is not None},
    )


@login_required
def clinic_api_keys(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """Keys for clinic systems. A new key is shown on this page once and never again."""
    clinic = access_clinic(request.user, code, admin=True)
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            new_key = api_keys.create_api_key(
                clinic=clinic, by=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            form = ApiKeyForm()
    response = render(
        request,
        "portal/clinic_api_keys.html",
        {
            "clinic": clinic,
            "form": form,
            "new_key": new_key,
            "keys": clinic.api_keys.order_by("revoked_at", "-created_at"),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def clinic_api_key_revoke(request: AuthenticatedHttpRequest, code: UUID, key_code: UUID) -> HttpResponse:
    clinic = access_clinic(request.user, code, admin=True)
    try:
        key = clinic.api_keys.get(code=key_code)
    except ClinicApiKey.DoesNotExist:
        raise Http404 from None
    api_keys.revoke_api_key(api_key=key, by=request.user, request=request)
    messages.success(request, _("The key was revoked. It no longer works."))
    return redirect("clinic-api-keys", clinic.code)
