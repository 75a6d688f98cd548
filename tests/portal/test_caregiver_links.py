"""Caregiver links in the app (issue 11, point 5): the patient invites, the care team asks the
patient, the invitee accepts or declines, a caregiver of several patients switches between
them, and ending a link asks first, takes effect at once and is audited."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import caregivers, services
from portal.models import (
    AuditEvent,
    CaregiverLink,
    Invitation,
    OutgoingEmail,
    Reminder,
    StaffMembership,
    User,
)
from tests.helpers import deliver_emails, log_in

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    log_in(client, user)
    return client


def invitation_path(message) -> str:
    url = next(word for word in message.body.split() if "/invitation/" in word)
    return url.split("testserver", 1)[-1].split("?")[0].replace("http://127.0.0.1:8000", "")


# --- The patient invites; the invitee answers ---------------------------------------


def test_the_patient_invites_from_the_app_and_the_caregiver_accepts_after_signing_in(patient, make_user):
    client = signed_in(patient.user)
    response = client.post(
        reverse("caregiver-invite", args=[patient.code]),
        {
            "name": "Sam",
            "email": "Sam@Example.test",
            "gets_reminders": "on",
            "pregnant_or_immunocompromised": "on",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("caregivers")
    link = CaregiverLink.objects.get(email="sam@example.test")
    assert (link.status, link.handles_dressings, link.pregnant_or_immunocompromised) == (
        "invited",
        False,
        True,
    )
    email = deliver_emails()[-1]
    assert email.to == ["sam@example.test"]
    # No health details in the email: no name, treatment or condition.
    for word in ("Patient", "pregnant", "dressing", "T-VEC", "melanoma"):
        assert word not in email.body

    sam = make_user("sam@example.test")
    sam_client = signed_in(sam)
    invitation = Invitation.objects.get(caregiver_link=link)
    assert (
        f'href="{reverse("caregiver-invitation", args=[invitation.code])}"'
        in sam_client.get(reverse("caregivers")).text
    )
    page = sam_client.get(reverse("caregiver-invitation", args=[invitation.code])).text
    assert "What you will see" in page
    # Every caregiver sees the dressing log (DESIGN.md §2): the invitation says so before the
    # yes, even to one who will not help with the dressings.
    assert "The dressing log: what was noted about the dressings, when, and by whom." in page
    assert "must not change dressings or clean injection sites" in page
    assert "You will not help with the dressings" in page
    response = sam_client.post(
        reverse("caregiver-invitation", args=[invitation.code]),
        {"answer": "accept", "pregnant_or_immunocompromised": "on"},
    )
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.ACTIVE and link.caregiver == sam
    assert sam_client.get(reverse("patient-detail", args=[patient.code])).status_code == 200
    # A second tap on the same button: the invitation is gone for them, nothing changes.
    again = sam_client.post(reverse("caregiver-invitation", args=[invitation.code]), {"answer": "decline"})
    assert again.status_code == 404
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.ACTIVE


def test_the_invitee_says_they_are_pregnant_when_accepting_and_never_handles_dressings(patient, make_user):
    link = services.invite_caregiver(patient=patient, by=patient.user, email="kim@example.test")
    assert link.handles_dressings
    kim = make_user("kim@example.test")
    invitation = Invitation.objects.get(caregiver_link=link)
    signed_in(kim).post(
        reverse("caregiver-invitation", args=[invitation.code]),
        {"answer": "accept", "pregnant_or_immunocompromised": "on"},
    )
    link.refresh_from_db()
    assert (link.status, link.handles_dressings, link.pregnant_or_immunocompromised) == (
        "active",
        False,
        True,
    )


def test_the_invitee_declines_from_the_emailed_link_and_the_link_ends(client, patient):
    link = services.invite_caregiver(patient=patient, by=patient.user, email="kim@example.test")
    path = invitation_path(deliver_emails()[-1])
    page = client.get(path).text
    assert "Decline" in page and "What you will see" in page
    assert client.post(path, {"answer": "decline"}).status_code == 302
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.REVOKED
    assert AuditEvent.objects.filter(action="caregiver.invitation_declined", subject_code=link.code).exists()
    # The link cannot be used afterwards, and nothing was created.
    assert client.post(path, {"answer": "accept"}).status_code == 400
    assert not CaregiverLink.objects.filter(caregiver__email="kim@example.test").exists()


def test_an_answer_that_is_neither_yes_nor_no_is_refused_in_words_and_changes_nothing(client, patient):
    link = services.invite_caregiver(patient=patient, by=patient.user, email="kim@example.test")
    path = invitation_path(deliver_emails()[-1])
    response = client.post(path + "?lang=es", {"answer": "maybe"}, headers={"accept-language": "es"})
    assert response.status_code == 200
    assert "Elija sí o no." in response.text
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.INVITED


def test_another_persons_invitation_is_a_404(patient, make_user):
    link = services.invite_caregiver(patient=patient, by=patient.user, email="kim@example.test")
    invitation = Invitation.objects.get(caregiver_link=link)
    stranger = signed_in(make_user("stranger@example.test"))
    assert stranger.get(reverse("caregiver-invitation", args=[invitation.code])).status_code == 404
    assert (
        stranger.post(
            reverse("caregiver-invitation", args=[invitation.code]), {"answer": "decline"}
        ).status_code
        == 404
    )
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.INVITED


# --- The care team asks the patient -----------------------------------------------------


def test_a_link_the_care_team_starts_waits_for_the_patients_yes(clinician, patient):
    response = signed_in(clinician).post(
        reverse("caregiver-invite", args=[patient.code]), {"email": "kim@example.test", "name": "Kim"}
    )
    assert response.status_code == 302
    link = CaregiverLink.objects.get(email="kim@example.test")
    assert link.consented_at is None
    emails = deliver_emails()
    # The caregiver hears nothing yet; the patient is asked, without names or health details.
    assert [m.to for m in emails] == [[patient.user.email]]
    assert "Kim" not in emails[0].body and "kim@" not in emails[0].body
    assert AuditEvent.objects.filter(action="caregiver.requested", actor=clinician).exists()

    patient_client = signed_in(patient.user)
    # Today, where the patient lands, says there is a question waiting, and where.
    today = patient_client.get(reverse("care-home")).text
    asks = "Your care team asks you about a caregiver."
    assert asks in today and f'href="{reverse("caregivers")}"' in today
    assert "May Kim (kim@example.test) be your caregiver?" in patient_client.get(reverse("caregivers")).text
    answer = reverse("caregiver-request-answer", args=[link.code])
    assert patient_client.post(answer, {"answer": "accept"}).status_code == 302
    assert asks not in patient_client.get(reverse("care-home")).text
    assert patient_client.post(answer, {"answer": "accept"}).status_code == 404  # a double tap
    link.refresh_from_db()
    assert link.consented_at is not None and link.consent_recorded_by == patient.user
    assert [m.to for m in deliver_emails()[1:]] == [["kim@example.test"]]
    assert Invitation.objects.filter(caregiver_link=link).count() == 1
    assert AuditEvent.objects.filter(action="caregiver.consented", actor=patient.user).exists()


def test_the_patient_says_no_to_the_care_teams_request(clinician, patient):
    link = services.invite_caregiver(patient=patient, by=clinician, email="kim@example.test")
    client = signed_in(patient.user)
    client.post(reverse("caregiver-request-answer", args=[link.code]), {"answer": "decline"})
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.REVOKED
    assert not Invitation.objects.filter(caregiver_link=link).exists()
    assert AuditEvent.objects.filter(action="caregiver.declined", actor=patient.user).exists()


def test_only_the_patient_answers_the_request(clinician, caregiver, other_patient, patient):
    link = services.invite_caregiver(patient=patient, by=clinician, email="kim@example.test")
    for user in (clinician, caregiver, other_patient.user):
        response = signed_in(user).post(
            reverse("caregiver-request-answer", args=[link.code]), {"answer": "accept"}
        )
        assert response.status_code == 404
    link.refresh_from_db()
    assert link.consented_at is None


def test_a_patient_without_an_account_needs_consent_given_in_person(clinician, clinic, make_patient):
    invited = make_patient(clinic, "new@example.test", account=False)
    response = signed_in(clinician).post(
        reverse("caregiver-invite", args=[invited.code]), {"email": "kim@example.test"}
    )
    assert response.status_code == 200
    assert "Confirm that they agreed in person." in response.text
    assert 'value="kim@example.test"' in response.text  # what was typed is kept
    assert not CaregiverLink.objects.exists()


def test_an_unsafe_answer_is_refused_in_the_patients_language(patient):
    patient.user.language = "fr"
    patient.user.save(update_fields=["language"])
    client = signed_in(patient.user)
    response = client.post(
        reverse("caregiver-invite", args=[patient.code]),
        {"email": "kim@example.test", "handles_dressings": "on", "pregnant_or_immunocompromised": "on"},
    )
    assert response.status_code == 200
    assert "Une personne enceinte, qui pourrait le devenir" in response.text
    assert 'value="kim@example.test"' in response.text
    assert not CaregiverLink.objects.exists()


# --- Ending a link ---------------------------------------------------------------------


def test_ending_a_link_needs_the_confirmation_page(patient, caregiver):
    link = CaregiverLink.objects.get(caregiver=caregiver)
    client = signed_in(patient.user)
    page = client.get(reverse("caregiver-revoke", args=[link.code]))
    assert page.status_code == 200
    assert "Yes, end the link" in page.text
    # A bare POST (no confirmation) changes nothing and sends the person to the page.
    response = client.post(reverse("caregiver-revoke", args=[link.code]))
    assert response["Location"] == reverse("caregiver-revoke", args=[link.code])
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.ACTIVE
    client.post(reverse("caregiver-revoke", args=[link.code]), {"confirm": "yes"})
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.REVOKED
    # A second confirmation (a double tap) changes nothing and is not a second audit event.
    client.post(reverse("caregiver-revoke", args=[link.code]), {"confirm": "yes"})
    assert AuditEvent.objects.filter(action="caregiver.revoked", subject_code=link.code).count() == 1


def test_a_caregiver_whose_link_ended_is_told_so_not_to_open_an_invitation(patient, caregiver):
    """A walk: after ending their only link, the caregiver's pages said "not linked to anyone
    yet... open the invitation link", the link they had used already."""
    link = CaregiverLink.objects.get(caregiver=caregiver)
    client = signed_in(caregiver)
    client.post(reverse("caregiver-revoke", args=[link.code]), {"confirm": "yes"})
    for url in (reverse("home"), reverse("care-home"), reverse("caregivers")):
        text = client.get(url).text
        assert "You are no longer linked to anyone." in text, url
        assert "not linked to anyone yet" not in text, url
    # An account that never cared for anyone still gets the first words.
    newcomer = signed_in(User.objects.create_user("new@example.test"))
    assert "not linked to anyone yet" in newcomer.get(reverse("caregivers")).text


@pytest.mark.parametrize("who", ["patient", "caregiver", "clinician"])
def test_whoever_ends_the_link_it_is_audited(who, patient, caregiver, clinician):
    link = CaregiverLink.objects.get(caregiver=caregiver)
    actor = {"patient": patient.user, "caregiver": caregiver, "clinician": clinician}[who]
    signed_in(actor).post(reverse("caregiver-revoke", args=[link.code]), {"confirm": "yes"})
    event = AuditEvent.objects.get(action="caregiver.revoked", subject_code=link.code)
    assert event.actor == actor
    assert event.patient_code == patient.code


def test_a_foreign_link_is_a_404(other_patient, caregiver, link_caregiver, patient):
    foreign = link_caregiver(other_patient, "someone@example.test")
    client = signed_in(patient.user)
    assert client.get(reverse("caregiver-revoke", args=[foreign.code])).status_code == 404
    assert (
        client.post(reverse("caregiver-revoke", args=[foreign.code]), {"confirm": "yes"}).status_code == 404
    )
    foreign.refresh_from_db()
    assert foreign.status == CaregiverLink.Status.ACTIVE


def test_the_revoked_caregiver_loses_every_page_api_result_reminder_and_calendar_item(
    patient, caregiver, make_visit, clinician
):
    from portal import assignments
    from portal.reminders import replan_patient, send_due_reminders

    visit_day = timezone.localdate() + timedelta(days=2)
    make_visit(patient, visit_day, time(10, 0))
    replan_patient(patient)
    # The visit day's reminders go out (the worker's clock two days on); later ones stay pending.
    send_due_reminders(now=datetime.combine(visit_day, time(12, 0), tzinfo=UTC))
    sent = Reminder.objects.filter(recipient=caregiver, status=Reminder.Status.SENT).first()
    assert sent is not None
    assignments.assign_modules(patient=patient, by=clinician, slugs=["for-caregivers"])
    link = CaregiverLink.objects.get(caregiver=caregiver)
    pending = Reminder.objects.filter(recipient=caregiver, status=Reminder.Status.PENDING)
    assert pending.exists()
    feed = services.rotate_calendar_feed(user=caregiver)
    client = signed_in(caregiver)
    assert b"BEGIN:VEVENT" in client.get(f"/calendar/{feed.token}.ics").content
    assert client.get(reverse("api-offline")).json()["modules"]
    assert client.get(reverse("reminder-detail", args=[sent.code])).status_code == 200
    assert str(sent.code) in client.get(reverse("reminder-list")).text

    signed_in(patient.user).post(reverse("caregiver-revoke", args=[link.code]), {"confirm": "yes"})

    assert not pending.exists()  # the re-plan cancelled them in the same transaction
    assert client.get(reverse("patient-detail", args=[patient.code])).status_code == 404
    assert client.get(reverse("caregiver-edit", args=[link.code])).status_code == 404
    assert client.get(reverse("caregiver-revoke", args=[link.code])).status_code == 404
    assert client.get(reverse("api-offline")).json()["modules"] == []
    assert client.get(reverse("api-offline")).json()["phones"] == []
    assert b"BEGIN:VEVENT" not in client.get(f"/calendar/{feed.token}.ics").content
    assert client.post(reverse("caregiver-switch"), {"patient": str(patient.code)}).status_code == 404
    # Reminders already delivered to them are gone too, in the app and through the API.
    assert client.get(reverse("reminder-detail", args=[sent.code])).status_code == 404
    assert client.post(reverse("api-reminder-read", args=[sent.code])).status_code == 404
    assert str(sent.code) not in client.get(reverse("api-reminder-list")).text
    assert str(sent.code) not in client.get(reverse("reminder-list")).text


# --- Several patients -------------------------------------------------------------------


def test_a_caregiver_of_two_patients_switches_and_the_choice_is_kept(
    caregiver, patient, other_patient, link_caregiver
):
    link_caregiver(other_patient, caregiver.email)
    client = signed_in(caregiver)
    page = client.get(reverse("caregivers")).text
    assert 'name="patient"' in page and other_patient.name in page
    response = client.post(
        reverse("caregiver-switch"), {"patient": str(other_patient.code), "next": reverse("caregivers")}
    )
    assert response["Location"] == reverse("caregivers")
    assert client.session[caregivers.SESSION_KEY] == str(other_patient.code)
    # A bad choice is refused in words; an outside address is not followed.
    assert client.post(reverse("caregiver-switch"), {"patient": "nope"})["Location"] == reverse("caregivers")
    response = client.post(
        reverse("caregiver-switch"), {"patient": str(patient.code), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_the_switcher_lists_only_active_links(rf, caregiver, patient, other_patient, link_caregiver):
    link = link_caregiver(other_patient, caregiver.email)
    request = rf.get("/")
    request.user = caregiver
    request.session = {caregivers.SESSION_KEY: str(other_patient.code)}
    assert caregivers.current_patient(request) == other_patient
    assert caregivers.switcher(request) is not None
    services.revoke_caregiver(link=link, by=other_patient.user)
    assert caregivers.current_patient(request) == patient
    assert caregivers.switcher(request) is None  # one patient left: no switcher


def test_an_empty_answer_is_refused_in_words(patient, make_user):
    link = services.invite_caregiver(patient=patient, by=patient.user, email="kim@example.test")
    invitation = Invitation.objects.get(caregiver_link=link)
    response = signed_in(make_user("kim@example.test")).post(
        reverse("caregiver-invitation", args=[invitation.code])
    )
    assert response.status_code == 200
    assert "Choose yes or no." in response.text
    link.refresh_from_db()
    assert link.status == CaregiverLink.Status.INVITED


def test_a_caregiver_of_one_patient_sees_a_new_invitation_on_todays_care(patient, other_patient, caregiver):
    """Caregivers land on /care/: an invitation from a second patient must be visible there."""
    client = signed_in(caregiver)
    notice = "You have an invitation to answer."
    assert notice not in client.get(reverse("care-home")).text
    services.invite_caregiver(patient=other_patient, by=other_patient.user, email="caregiver@example.test")
    page = client.get(reverse("care-home")).text
    assert notice in page
    assert f'href="{reverse("caregivers")}"' in page
    invitation = Invitation.objects.get(caregiver_link__patient=other_patient)
    client.post(reverse("caregiver-invitation", args=[invitation.code]), {"answer": "decline"})
    assert notice not in client.get(reverse("care-home")).text


def test_someone_invited_is_not_told_they_are_linked_to_nobody(patient, make_user):
    """A walk found "You have an invitation to answer." followed by "Your account is not
    linked to anyone yet… ask your care team to send a new one": one says to answer, the other
    that there is nothing to answer."""
    invited = make_user("robin@example.test")
    services.invite_caregiver(patient=patient, by=patient.user, email="robin@example.test")
    page = signed_in(invited).get(reverse("care-home")).text
    assert "You have an invitation to answer." in page
    assert "not linked to anyone yet" not in page


# --- Clinic staff are never caregivers ----------------------------------------------------
# One account must not hold both a clinic's access and a home's care pages: enrolment and
# staff invitations refuse the mix already; these are the caregiver side of it.

STAFF_ADDRESS_REFUSED = "This email address belongs to clinic staff. The caregiver needs their own address."
STAFF_ACCOUNT_REFUSED = "This account belongs to clinic staff. A caregiver needs an address of their own."


def nothing_sent_or_linked() -> None:
    assert not CaregiverLink.objects.exists()
    assert not Invitation.objects.exists()
    assert not OutgoingEmail.objects.exists()


def test_a_patient_cannot_invite_a_staff_address(patient, clinic_admin):
    response = signed_in(patient.user).post(
        reverse("caregiver-invite", args=[patient.code]),
        {"name": "Admin", "email": "Admin@Example.test", "gets_reminders": "on"},
    )
    assert response.status_code == 200
    assert STAFF_ADDRESS_REFUSED in response.text
    assert "Invitation sent." not in response.text
    nothing_sent_or_linked()


def test_the_care_team_cannot_propose_a_staff_address_as_caregiver(clinician, clinic_admin, patient):
    for consent in ({}, {"patient_consents": "on"}):
        response = signed_in(clinician).post(
            reverse("caregiver-invite", args=[patient.code]), {"email": "admin@example.test", **consent}
        )
        assert response.status_code == 200
        assert STAFF_ADDRESS_REFUSED in response.text
    nothing_sent_or_linked()


def test_staff_of_another_clinic_are_refused_too(patient, other_clinician):
    with pytest.raises(ValidationError) as refused:
        services.invite_caregiver(patient=patient, by=patient.user, email="clinician@south.example.test")
    assert refused.value.message_dict == {"email": [STAFF_ADDRESS_REFUSED]}
    nothing_sent_or_linked()


@pytest.fixture
def staff_invited_as_caregiver(patient, clinic, make_staff):
    """An invitation sent to an address whose account then joined the clinic's staff (or one
    sent before invitations checked for staff addresses)."""
    link = services.invite_caregiver(patient=patient, by=patient.user, email="sam@example.test")
    sam = make_staff(clinic, "sam@example.test", StaffMembership.Role.ADMIN)
    return link, Invitation.objects.get(caregiver_link=link), sam


def assert_still_unlinked(link, invitation, patient, sam) -> None:
    link.refresh_from_db()
    invitation.refresh_from_db()
    assert (link.status, link.caregiver, invitation.accepted_at) == (CaregiverLink.Status.INVITED, None, None)
    assert not caregivers.list_cared_for_patients(sam).exists()


def test_a_staff_account_cannot_accept_a_caregiver_invitation_in_the_app(staff_invited_as_caregiver, patient):
    link, invitation, sam = staff_invited_as_caregiver
    client = signed_in(sam)
    response = client.post(reverse("caregiver-invitation", args=[invitation.code]), {"answer": "accept"})
    assert response.status_code == 200
    assert STAFF_ACCOUNT_REFUSED in response.text
    assert "Welcome. Your account is linked." not in response.text
    assert_still_unlinked(link, invitation, patient, sam)
    assert client.get(reverse("care-today", args=[patient.code])).status_code == 404


def test_a_staff_account_cannot_accept_from_the_emailed_link(staff_invited_as_caregiver, client, patient):
    link, invitation, sam = staff_invited_as_caregiver
    path = invitation_path(deliver_emails()[-1])
    response = client.post(path, {"answer": "accept"})  # signed out: the account is found by its address
    assert response.status_code == 400
    assert STAFF_ACCOUNT_REFUSED in response.text
    assert "_auth_user_id" not in client.session  # not signed in as the staff member either
    assert_still_unlinked(link, invitation, patient, sam)


@pytest.mark.parametrize("next_url", ["patient-detail", "account-delete", "%0d%0aSet-Cookie:x=1", "\r\nx"])
def test_switching_with_a_next_that_is_not_a_path_goes_to_the_start_page(
    caregiver, patient, other_patient, link_caregiver, next_url
):
    link_caregiver(other_patient, caregiver.email)
    client = signed_in(caregiver)
    response = client.post(
        reverse("caregiver-switch"), {"patient": str(other_patient.code), "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[caregivers.SESSION_KEY] == str(other_patient.code)
