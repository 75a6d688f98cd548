"""A patient's record from the clinic's side: edit, refuse emails that belong to someone else,
invitations, discharge and reopen, erase, and the time-zone list."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import assignments
from portal.models import AuditEvent, Invitation, Patient, Reminder, User
from portal.zones import CANONICAL_ZONES, zone_choices
from tests.helpers import log_in


@pytest.fixture
def nurse(client, clinician):
    log_in(client, clinician)
    return client


def enrol(nurse, clinic, email, name="New Patient"):
    return nurse.post(
        reverse("patient-enrol"),
        {"clinic": clinic.pk, "name": name, "email": email, "language": "en", "time_zone": "UTC"},
    )


def test_an_email_of_another_patient_or_of_staff_is_refused(nurse, clinic, patient, clinic_admin):
    response = enrol(nurse, clinic, "PATIENT@example.test")
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["This person is already enrolled at this clinic."]
    response = enrol(nurse, clinic, clinic_admin.email)
    assert response.context["form"].errors["email"] == [
        "This email address belongs to clinic staff. The patient needs their own address."
    ]
    assert Patient.objects.count() == 1 and not Invitation.objects.exists()


def test_edit_an_invited_patient_and_their_invitation_follows(nurse, clinic):
    enrol(nurse, clinic, "first@example.test")
    patient = Patient.objects.get()
    url = reverse("patient-edit", args=[patient.code])
    response = nurse.post(
        url,
        {
            "name": "  Renée   Núñez ",
            "email": "second@example.test",
            "language": "fr",
            "time_zone": "Europe/Paris",
        },
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.name, patient.email, patient.language, patient.time_zone) == (
        "Renée Núñez",
        "second@example.test",
        "fr",
        "Europe/Paris",
    )
    assert patient.search_text == "renee nunez second@example.test"
    sent = Invitation.objects.filter(patient=patient).order_by("created_at", "id")
    assert [(i.email, i.withdrawn_at is None) for i in sent] == [
        ("first@example.test", False),
        ("second@example.test", True),
    ]
    assert (
        Invitation.objects.filter(patient=patient, withdrawn_at__isnull=True).get().email
        == "second@example.test"
    )
    assert AuditEvent.objects.filter(action="patient.changed", patient_code=patient.code).exists()
    # Another patient's address is refused by name.
    other = Patient.objects.create(clinic=clinic, name="Other", email="other@example.test", time_zone="UTC")
    response = nurse.post(
        url, {"name": "R", "email": other.email.upper(), "language": "fr", "time_zone": "UTC"}
    )
    assert response.context["form"].errors["email"] == [
        "Another patient of this clinic already uses this email address."
    ]
    # Legacy aliases are not offered, and not accepted.
    response = nurse.post(
        url, {"name": "R", "email": "second@example.test", "language": "fr", "time_zone": "US/Eastern"}
    )
    assert response.status_code == 200 and "time_zone" in response.context["form"].errors


def test_a_patient_with_an_account_keeps_their_sign_in_email(nurse, patient):
    response = nurse.post(
        reverse("patient-edit", args=[patient.code]),
        {"name": "Pat", "email": "elsewhere@example.test", "language": "de", "time_zone": "Europe/Berlin"},
    )
    assert response.status_code == 302  # the disabled field keeps the old address
    patient.refresh_from_db()
    patient.user.refresh_from_db()
    assert patient.email == "patient@example.test"
    assert (patient.user.language, patient.user.time_zone) == ("de", "Europe/Berlin")


def test_resend_and_withdraw_the_invitation(nurse, clinic):
    enrol(nurse, clinic, "new@example.test")
    patient = Patient.objects.get()
    nurse.post(reverse("patient-invitation-resend", args=[patient.code]))
    assert Invitation.objects.filter(patient=patient).count() == 2
    assert Invitation.objects.filter(patient=patient, withdrawn_at__isnull=True).count() == 1
    nurse.post(reverse("patient-invitation-withdraw", args=[patient.code]))
    assert not Invitation.objects.filter(patient=patient, withdrawn_at__isnull=True).exists()
    response = nurse.post(reverse("patient-invitation-withdraw", args=[patient.code]), follow=True)
    assert "There is no open invitation to withdraw." in response.content.decode()
    changes = AuditEvent.objects.filter(patient_code=patient.code).exclude(action__endswith="viewed")
    assert list(changes.order_by("at", "id").values_list("action", flat=True)) == [
        "patient.enrolled",
        "patient.reinvited",
        "invitation.withdrawn",
    ]


def test_discharge_stops_reminders_and_reopen_plans_them_again(nurse, patient, make_visit):
    from portal.reminders import replan_patient

    make_visit(patient, timezone.localdate() + timedelta(days=5))
    replan_patient(patient)
    pending = Reminder.objects.filter(patient=patient, status=Reminder.Status.PENDING)
    assert pending.exists()
    nurse.post(reverse("patient-discharge", args=[patient.code]))
    patient.refresh_from_db()
    assert patient.discharged_at is not None and not pending.exists()
    assert list(nurse.get(reverse("patient-list")).context["page"]) == []
    assert [p.pk for p in nurse.get(reverse("patient-list"), {"status": "discharged"}).context["page"]] == [
        patient.pk
    ]
    nurse.post(reverse("patient-reopen", args=[patient.code]))
    assert pending.exists()


def test_only_a_clinic_admin_may_erase_a_record(nurse, patient, clinic_admin):
    """DESIGN.md gives clinicians enrol, edit visits, assign modules and read progress: not
    destroying a record. The link is not offered, and the page is a 404."""
    url = reverse("patient-erase", args=[patient.code])
    assert url not in nurse.get(reverse("patient-detail", args=[patient.code])).content.decode()
    assert nurse.get(url).status_code == 404
    assert nurse.post(url, {"confirm_name": patient.name}).status_code == 404
    assert Patient.objects.filter(pk=patient.pk).exists()
    admin = Client()
    log_in(admin, clinic_admin)
    assert url in admin.get(reverse("patient-detail", args=[patient.code])).content.decode()


def test_erase_removes_personal_data_and_keeps_a_trail_without_it(
    client, patient, caregiver, clinician, clinic_admin, make_visit
):
    make_visit(patient, timezone.localdate() + timedelta(days=5))
    assignments.assign_modules(patient=patient, by=clinician, slugs=["dressing-care"])
    code, user_pk = patient.code, patient.user.pk
    log_in(client, clinic_admin)
    url = reverse("patient-erase", args=[patient.code])
    response = client.post(url, {"confirm_name": "Someone Else"})
    assert response.context["error"].startswith("Type the patient's name exactly")
    response = client.post(url, {"confirm_name": patient.name})
    assert response.status_code == 302
    assert not Patient.objects.filter(code=code).exists()
    assert not User.objects.filter(pk=user_pk).exists()
    assert User.objects.filter(pk=caregiver.pk).exists()  # the caregiver is their own person
    events = AuditEvent.objects.filter(patient_code=code)
    assert "patient.erased" in set(events.values_list("action", flat=True))
    text = " ".join(str(value) for row in events.values() for value in row.values())
    assert "patient@example.test" not in text and "Patient" not in text


def test_the_time_zone_list_puts_the_clinic_and_common_zones_first_without_legacy_aliases():
    groups = zone_choices(first="Australia/Adelaide")
    assert groups[0][1] == [("Australia/Adelaide", "Australia / Adelaide")]
    assert ("America/New_York", "America / New York") in groups[1][1]
    every = [zone for _group, zones in groups for zone, _label in zones]
    assert len(every) == len(set(every)) == len(CANONICAL_ZONES)
    for legacy in ("US/Eastern", "Etc/GMT+5", "Zulu", "GMT", "Asia/Calcutta", "Europe/Kiev"):
        assert legacy not in every
    for place in ("Asia/Kolkata", "Europe/Kyiv", "Europe/Oslo", "America/Argentina/Buenos_Aires", "UTC"):
        assert place in every


def test_the_enrol_form_offers_the_picker(nurse):
    text = nurse.get(reverse("patient-enrol")).content.decode()
    assert 'class="zone-picker"' in text and "zone-picker.js" in text and "US/Eastern" not in text


@pytest.mark.parametrize("reader", ["patient", "clinician"])
def test_the_patient_page_calls_the_care_team_with_dialable_links(client, patient, clinician, reader):
    log_in(client, patient.user if reader == "patient" else clinician)
    page = client.get(reverse("patient-detail", args=[patient.code])).text
    assert '<a href="tel:+15550100" dir="ltr">+1 555 0100</a>' in page
    assert '<a href="tel:+15550199" dir="ltr">+1 555 0199</a>' in page
