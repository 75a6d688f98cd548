"""Caregiver links in the app: the page listing them, switching between patients, the
patient's answer to a link the care team started, the invitee's answer, and ending a link
on its own confirmation page. Rules live in portal.caregivers and portal.services."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import caregivers, services
from portal.forms import InvitationAnswerForm
from portal.http import AuthenticatedHttpRequest, local_path
from portal.models import CaregiverLink, Patient
from portal.queries import access_caregiver_link
from portal.views import audit_staff_read


@login_required
def caregiver_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """As a patient: my caregivers, the care team's requests to answer, invite one. As a
    caregiver: the people I care for, invitations to answer."""
    patient = Patient.objects.filter(user=request.user).first()
    context: dict[str, object] = {
        "patient": patient,
        "invitations": caregivers.list_invitations_for(request.user),
    }
    if patient:
        context["my_caregivers"] = (
            patient.caregiver_links.exclude(status=CaregiverLink.Status.REVOKED)
            .exclude(consented_at__isnull=True)
            .select_related("caregiver")
            .order_by("created_at")
        )
        context["requests"] = caregivers.list_requests_for_patient(patient).order_by("created_at")
    context["cared_for"] = cared_for = list(
        CaregiverLink.objects.filter(caregiver=request.user, status=CaregiverLink.Status.ACTIVE)
        .select_related("patient")
        .order_by("patient__name", "pk")
    )
    context["was_linked"] = not cared_for and caregivers.was_linked(request.user)
    context["switcher"] = caregivers.switcher(request)
    return render(request, "portal/caregivers/list.html", context)


@login_required
@require_POST
def caregiver_switch(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Keep the chosen patient in the session, then back to the page the person was on."""
    try:
        code = UUID(request.POST.get("patient", ""))
    except ValueError:
        messages.error(request, _("Choose one of the people in the list."))
        return redirect("caregivers")
    patient = caregivers.choose_patient(request, code)
    messages.success(request, _("Now showing the care of %(name)s.") % {"name": patient.name})
    return HttpResponseRedirect(local_path(request, request.POST.get("next", "")))


@login_required
def caregiver_revoke(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """Ending a link: a page that says what happens, and only its button ends it."""
    link = access_caregiver_link(request.user, code)
    is_caregiver = link.caregiver_id == request.user.pk
    audit_staff_read(request, link.patient, "caregiver.viewed", link.code)
    if request.method == "POST" and link.status != CaregiverLink.Status.REVOKED:
        if request.POST.get("confirm") != "yes":
            messages.error(request, _("Nothing was changed. Use the button on this page to end the link."))
            return redirect("caregiver-revoke", link.code)
        services.revoke_caregiver(link=link, by=request.user, request=request)
        messages.success(request, _("The caregiver link has ended."))
        if services.is_staff_of(request.user, link.patient.clinic):
            return redirect("patient-detail", link.patient.code)
        return redirect("caregivers")
    if request.method == "POST":
        messages.info(request, _("This link had already ended."))
        return redirect("caregivers")
    return render(request, "portal/caregivers/end.html", {"link": link, "is_caregiver": is_caregiver})


@login_required
@require_POST
def caregiver_request_answer(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """The patient's yes or no to a caregiver the care team proposed."""
    link = caregivers.access_request(request.user, code)
    answer = request.POST.get("answer")
    if answer not in ("accept", "decline"):
        messages.error(request, _("Choose yes or no."))
        return redirect("caregivers")
    caregivers.answer_request(link=link, by=request.user, accept=answer == "accept", request=request)
    if answer == "accept":
        messages.success(request, _("Thank you. We emailed them an invitation."))
    else:
        messages.success(request, _("You said no. They will not be linked to you."))
    return redirect("caregivers")


@login_required
def invitation_answer(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """A signed-in person's invitation to be someone's caregiver: what they will see, the
    safety rule, and yes or no."""
    invitation = caregivers.access_invitation(request.user, code)
    link = invitation.caregiver_link
    assert link is not None
    form = InvitationAnswerForm(request.POST if request.method == "POST" else None, link=link)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["answer"] == "decline":
            caregivers.decline_invitation(invitation=invitation, by=request.user, request=request)
            messages.success(request, _("You said no to this invitation."))
            return redirect("caregivers")
        try:
            services.accept_invitation(
                token=services.invitation_token(invitation),
                user=request.user,
                pregnant_or_immunocompromised=form.cleaned_data["pregnant_or_immunocompromised"],
            )
        except services.InvitationError as error:
            form.add_error(None, str(error))
        else:
            caregivers.choose_patient(request, invitation.patient.code)
            messages.success(request, _("Welcome. Your account is linked."))
            return redirect("caregivers")
    return render(
        request,
        "portal/caregivers/invitation.html",
        {"invitation": invitation, "link": link, "form": form, "action": request.path},
    )
