"""Caregivers: who may handle dressings (and so who sees the dressing-change steps), the
safety banner, which patient a caregiver with several links is looking at, and the answers
to a link (the patient's to a link the care team started, the invitee's to an invitation).

The label: anyone who is pregnant, may become pregnant or has a weak immune system must not
change dressings or touch injection sites, used dressings or body fluids (tvec-facts.md
section 2 and 3: R3, R20, R21, R22). A caregiver whose link says so, or who does not help
with dressings, gets a guide without the sections a module marks ``handler_only``.
"""

import copy
from dataclasses import dataclass
from uuid import UUID

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from education.catalog import Document, Module, Reference, load_catalog
from portal.models import CaregiverLink, Invitation, Patient, Reminder, User
from portal.queries import is_clinic_staff, list_cared_for_patients
from portal.reminders.planning import Audience, Rule

AnyUser = User | AnonymousUser

# A link whose caregiver must not touch dressings: the database refuses a dressing handler
# who is pregnant or immunocompromised (CaregiverLink constraint); this is the other side.
NOT_A_HANDLER = Q(handles_dressings=False) | Q(pregnant_or_immunocompromised=True)
# The facts behind the safety banner (portal/templates/portal/includes/caregiver_safety.html).
SAFETY_SOURCES = ("R3", "R16", "R20", "R21", "R22")
# Reminders that tell the reader to look at or change dressings.
HANDLER_RULES = (Rule.DRESSING_CHECK, Rule.DRESSING_REVIEW)
# The patient a caregiver with several links chose to look at.
SESSION_KEY = "caregiver_patient"


def active_link(user: AnyUser, patient: Patient) -> CaregiverLink | None:
    if not user.is_authenticated:
        return None
    return CaregiverLink.objects.filter(
        patient=patient, caregiver=user, status=CaregiverLink.Status.ACTIVE
    ).first()


def may_handle_dressings(user: AnyUser, patient: Patient) -> bool:
    """Whether ``user`` may be shown how to change ``patient``'s dressings: the patient, the
    clinic's staff and a caregiver who helps with dressings and is not pregnant or
    immunocompromised. Anyone else (no live link) gets False: the safe answer."""
    if not user.is_authenticated:
        return False
    if patient.user_id == user.pk:
        return True
    if is_clinic_staff(user) and patient.clinic.memberships.filter(user=user).exists():
        return True
    link = active_link(user, patient)
    return link is not None and link.handles_dressings and not link.pregnant_or_immunocompromised


def hides_dressing_steps(user: AnyUser) -> bool:
    """For pages about no one patient (the public guide, read signed in): a caregiver with any
    active link on which they must not handle dressings. A person who is a patient themselves
    keeps the steps for their own dressings."""
    if not user.is_authenticated:
        return False
    links = CaregiverLink.objects.filter(caregiver=user, status=CaregiverLink.Status.ACTIVE)
    return links.filter(NOT_A_HANDLER).exists() and not Patient.objects.filter(user=user).exists()


def hidden_sections(module: Module, *, user: AnyUser, patient: Patient | None = None) -> frozenset[str]:
    """The sections of ``module`` to leave out for ``user`` (about ``patient``, when the page is
    about one): use with ``document.without(...)``."""
    if not module.handler_only:
        return frozenset()
    restricted = not may_handle_dressings(user, patient) if patient else hides_dressing_steps(user)
    return module.handler_only if restricted else frozenset()


def document_for(module: Module, document: Document, *, user: AnyUser, patient: Patient | None) -> Document:
    """The document as ``user`` may read it (the module reader calls this)."""
    return document.without(hidden_sections(module, user=user, patient=patient))


@dataclass(frozen=True)
class SafetyBanner:
    patient_name: str  # "" on pages about no one patient
    sources: list[Reference]


def safety_banner(user: AnyUser, patient: Patient | None = None) -> SafetyBanner | None:
    """The banner for a caregiver who must not handle dressings, or None. Pass it to the
    template as ``caregiver_safety`` and include portal/includes/caregiver_safety.html."""
    restricted = (
        user.is_authenticated and not may_handle_dressings(user, patient)
        if patient
        else hides_dressing_steps(user)
    )
    if not restricted:
        return None
    references = load_catalog().references
    return SafetyBanner(
        patient_name=patient.name if patient else "",
        sources=[references[ref_id] for ref_id in SAFETY_SOURCES if ref_id in references],
    )


def as_seen_by(user: AnyUser, reminder: Reminder, *, handles: dict[int, bool] | None = None) -> Reminder:
    """A reminder as its caregiver reads it now: a dressing check or review sent while they
    still helped with dressings reads as the safety reminder once they must not (new ones are
    planned that way already: portal.reminders RULE_AUDIENCES). Never saved.

    A list of reminders passes one ``handles`` dict for all of them (patient id -> whether the
    user may handle that patient's dressings): asked once per patient, not once per row."""
    if reminder.rule not in HANDLER_RULES or reminder.audience == Audience.PATIENT:
        return reminder
    if handles is None:
        handles = {}
    if reminder.patient_id not in handles:
        handles[reminder.patient_id] = may_handle_dressings(user, reminder.patient)
    if handles[reminder.patient_id]:
        return reminder
    seen = copy.copy(reminder)
    seen.rule = Rule.DRESSING_SAFETY
    seen.audience = Audience.CAREGIVER_NON_HANDLER
    return seen


# --- Several patients: the caregiver's choice, kept in the session --------------------


def list_patients_cared_for(user: AnyUser) -> list[Patient]:
    """The patients of the user's active links, by name."""
    return list(list_cared_for_patients(user).order_by("name", "pk"))


def current_patient(request: HttpRequest, patients: list[Patient] | None = None) -> Patient | None:
    """The patient the caregiver chose (kept in the session), else the first; None without an
    active link. A link that ended drops out at once: only active links are listed."""
    patients = list_patients_cared_for(request.user) if patients is None else patients
    chosen = request.session.get(SESSION_KEY)
    return next((p for p in patients if str(p.code) == chosen), patients[0] if patients else None)


def choose_patient(request: HttpRequest, code: UUID) -> Patient:
    """Keep ``code`` as the caregiver's current patient; 404 unless an active link."""
    try:
        patient = list_cared_for_patients(request.user).get(code=code)
    except Patient.DoesNotExist:
        raise Http404 from None
    request.session[SESSION_KEY] = str(patient.code)
    return patient


def choose_patient_for(request: HttpRequest, patient: Patient) -> None:
    """After accepting an invitation: the new patient is the one shown (no check needed:
    ``current_patient`` only ever returns an active link's patient)."""
    request.session[SESSION_KEY] = str(patient.code)


@dataclass(frozen=True)
class Switcher:
    current: Patient
    choices: list[Patient]


def switcher(request: HttpRequest) -> Switcher | None:
    """For portal/includes/patient_switcher.html (as ``switcher``): None with fewer than two."""
    patients = list_patients_cared_for(request.user)
    current = current_patient(request, patients)
    if current is None or len(patients) < 2:
        return None
    return Switcher(current=current, choices=patients)


def care_context(request: HttpRequest, patient: Patient) -> dict[str, object]:
    """For any page about ``patient``'s care: the context of the two includes
    (portal/includes/caregiver_safety.html and portal/includes/patient_switcher.html)."""
    return {"caregiver_safety": safety_banner(request.user, patient), "switcher": switcher(request)}


# --- Links waiting for an answer ------------------------------------------------------


def list_requests_for_patient(patient: Patient) -> QuerySet[CaregiverLink]:
    """Links the care team started without the patient's consent: the patient answers."""
    return patient.caregiver_links.filter(status=CaregiverLink.Status.INVITED, consented_at__isnull=True)


def was_linked(user: AnyUser) -> bool:
    """Whether this account cared for someone before and no longer does: told so, not told to
    open an invitation it already used."""
    return CaregiverLink.objects.filter(caregiver_id=user.pk, status=CaregiverLink.Status.REVOKED).exists()


def list_invitations_for(user: AnyUser) -> QuerySet[Invitation]:
    """Open caregiver invitations sent to the user's address, for the signed-in invitee."""
    if not user.is_authenticated:
        return Invitation.objects.none()
    return Invitation.objects.filter(
        kind=Invitation.Kind.CAREGIVER,
        email__iexact=user.email,
        accepted_at__isnull=True,
        withdrawn_at__isnull=True,
        expires_at__gt=timezone.now(),
        caregiver_link__status=CaregiverLink.Status.INVITED,
    ).select_related("patient", "caregiver_link")


def access_invitation(user: AnyUser, code: UUID) -> Invitation:
    try:
        return list_invitations_for(user).get(code=code)
    except Invitation.DoesNotExist:
        raise Http404 from None


def access_request(user: AnyUser, code: UUID) -> CaregiverLink:
    """A link waiting for the signed-in patient's answer."""
    if not user.is_authenticated:
        raise Http404
    try:
        return CaregiverLink.objects.select_related("patient__clinic").get(
            code=code,
            patient__user=user,
            status=CaregiverLink.Status.INVITED,
            consented_at__isnull=True,
        )
    except CaregiverLink.DoesNotExist:
        raise Http404 from None


@transaction.atomic
def answer_request(
    *, link: CaregiverLink, by: User, accept: bool, request: HttpRequest | None = None
) -> None:
    """The patient's answer to a link the care team started: yes sends the caregiver their
    invitation; no ends the link. Both are in the clinic's audit log."""
    from portal import services

    link = CaregiverLink.objects.select_for_update().get(pk=link.pk)
    if link.status != CaregiverLink.Status.INVITED or link.consented_at is not None:
        return  # answered already (a second tap)
    if accept:
        link.consented_at = timezone.now()
        link.consent_recorded_by = by
        link.save(update_fields=["consented_at", "consent_recorded_by"])
        services.create_invitation(
            kind=Invitation.Kind.CAREGIVER, patient=link.patient, email=link.email, by=by, caregiver_link=link
        )
        services.record_audit(
            actor=by,
            action="caregiver.consented",
            patient=link.patient,
            subject_code=link.code,
            request=request,
        )
    else:
        services.revoke_caregiver(link=link, by=by, request=request, action="caregiver.declined")


@transaction.atomic
def decline_invitation(
    *, invitation: Invitation, by: User | None, request: HttpRequest | None = None
) -> None:
    """The invitee says no: the link ends and the invitation stops working."""
    from portal import services

    link = invitation.caregiver_link
    assert link is not None
    services.revoke_caregiver(link=link, by=by, request=request, action="caregiver.invitation_declined")
