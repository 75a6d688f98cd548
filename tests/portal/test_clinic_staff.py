"""Clinic settings and staff, for clinic admins: the whole chain from a staff invitation email
to a working patient list, roles, removal that ends sessions at once, and API keys."""

import re
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import hotp_value, yield_hotp_counters_from_time
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent, ClinicApiKey, StaffInvitation, StaffMembership, User
from tests.helpers import clinic_settings_form, confirm_steps, deliver_emails, log_in


def totp_code(secret: str | None) -> str:
    return f"{hotp_value(secret, next(yield_hotp_counters_from_time())):06d}"


@pytest.fixture
def admin_client(client, clinic_admin):
    log_in(client, clinic_admin)
    return client


def test_settings_change_name_numbers_language_and_zone(admin_client, clinic, patient, make_visit):
    url = reverse("clinic-settings", args=[clinic.code])
    data = {
        "name": "North Skin Clinic",
        "phone_daytime": "+1 (555) 0100",
        "phone_after_hours": "+1 555 0199",
        "emergency_number": "911",
        "language": "es",
        "time_zone": "America/Chicago",
        "acknowledge_within_days": "5",
    }
    assert admin_client.post(url, data).status_code == 302
    clinic.refresh_from_db()
    assert (clinic.name, clinic.emergency_number, clinic.time_zone, clinic.acknowledge_within_days) == (
        "North Skin Clinic",
        "911",
        "America/Chicago",
        5,
    )
    for field, bad in [("phone_daytime", "call me"), ("acknowledge_within_days", "0"), ("time_zone", "Zulu")]:
        response = admin_client.post(url, data | {field: bad})
        assert response.status_code == 200 and field in response.context["form"].errors
    assert AuditEvent.objects.filter(action="clinic.settings_changed", clinic=clinic).count() == 1


def test_clinicians_cannot_open_admin_pages(client, clinician, clinic):
    log_in(client, clinician)
    for name in ("clinic-settings", "clinic-staff", "clinic-api-keys"):
        assert client.get(reverse(name, args=[clinic.code])).status_code == 404


def test_from_the_invitation_email_to_a_working_patient_list(
    admin_client, clinic, patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("clinic-staff", args=[clinic.code]),
            {"name": "Nia Nurse", "email": "Nia@Example.test", "role": "clinician"},
        )
    assert response.status_code == 302
    (email,) = deliver_emails()
    assert email.to == ["nia@example.test"] and "North Clinic" in email.subject
    link = re.search(r"http://testserver(/staff-invitation/\S+/)", email.body).group(1)

    newcomer = Client()
    page = newcomer.get(link)
    assert page.status_code == 200 and "Choose a password" in page.content.decode()
    response = newcomer.post(link, {"password1": "short", "password2": "short"})
    assert "too short" in response.content.decode()
    response = newcomer.post(
        link, {"password1": "a long enough secret 42", "password2": "a long enough secret 42"}
    )
    assert response.status_code == 302
    # No patient data before the authenticator app is set up: the site sends the newcomer to
    # set one up, asks for the password again first, then for a code from the new app.
    response = newcomer.get(reverse("patient-list"))
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    page = newcomer.get(response.url, follow=True)
    if page.request["PATH_INFO"] == reverse("account_reauthenticate"):
        page = newcomer.post(page.redirect_chain[-1][0], {"password": "a long enough secret 42"}, follow=True)
    assert page.request["PATH_INFO"] == reverse("mfa_activate_totp"), page.redirect_chain
    secret = page.context["form"].secret
    newcomer.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    page = newcomer.get(reverse("patient-list"), follow=True)
    if page.request["PATH_INFO"] == reverse("mfa_reauthenticate"):
        newcomer.post(page.redirect_chain[-1][0], {"code": totp_code(secret)})
    listing = newcomer.get(reverse("patient-list"))
    assert listing.status_code == 200
    assert [p.name for p in listing.context["page"]] == [patient.name]
    nia = User.objects.get(email="nia@example.test")
    assert nia.name == "Nia Nurse" and StaffMembership.objects.get(user=nia).role == "clinician"
    # The link works once.
    assert Client().get(link).status_code == 400


def test_a_patients_email_cannot_become_staff(admin_client, clinic, patient):
    response = admin_client.post(
        reverse("clinic-staff", args=[clinic.code]), {"email": patient.email, "role": "clinician"}
    )
    assert "belongs to a patient or caregiver" in response.content.decode()
    assert not StaffInvitation.objects.exists()


def test_roles_and_the_last_admin(admin_client, clinic, clinic_admin, clinician):
    role = lambda user, value: admin_client.post(  # noqa: E731
        reverse("staff-role", args=[clinic.code, user.code]), {"role": value}, follow=True
    )
    response = role(clinic_admin, "clinician")
    assert "at least one admin" in response.content.decode()
    assert "Choose one of the roles" in role(clinician, "owner").content.decode()
    role(clinician, "admin")
    assert StaffMembership.objects.get(user=clinician).role == "admin"
    role(clinic_admin, "clinician")
    assert StaffMembership.objects.get(user=clinic_admin).role == "clinician"
    # No longer an admin: the admin pages are gone for them.
    assert role(clinician, "clinician").status_code == 404


def test_removing_staff_ends_their_sessions_at_once(admin_client, clinic, clinician):
    phone, laptop = Client(), Client()
    log_in(phone, clinician)
    log_in(laptop, clinician)
    assert phone.get(reverse("clinic-home")).status_code == 200
    admin_client.post(reverse("staff-remove", args=[clinic.code, clinician.code]))
    assert not StaffMembership.objects.filter(user=clinician).exists()
    for device in (phone, laptop):
        response = device.get(reverse("clinic-home"))
        assert response.status_code == 302 and reverse("account_login") in response.url
    assert Session.objects.count() == 1  # the admin's own
    assert AuditEvent.objects.filter(action="staff.removed", clinic=clinic).exists()


def test_api_keys_are_shown_once_and_revocable(admin_client, clinic):
    url = reverse("clinic-api-keys", args=[clinic.code])
    response = admin_client.post(url, {"name": "EHR interface", "scope": "write"})
    key = response.context["new_key"].key
    assert key in response.content.decode() and response["Cache-Control"] == "no-store"
    again = admin_client.get(url)
    assert key not in again.content.decode()
    row = ClinicApiKey.objects.get()
    assert Client(headers={"Authorization": f"Bearer {key}"}).get("/api/v1/modules/").status_code == 200
    admin_client.post(reverse("clinic-api-key-revoke", args=[clinic.code, row.code]))
    assert Client(headers={"Authorization": f"Bearer {key}"}).get("/api/v1/modules/").status_code == 401


def test_undoable_staff_actions_take_a_second_step(admin_client, clinic, clinician, patient, make_visit):
    """Removing someone from the staff, revoking a key and pausing a course cannot be undone:
    each button sits behind a step that says so, and nowhere outside it."""
    admin_client.post(
        reverse("clinic-api-keys", args=[clinic.code]), {"name": "EHR interface", "scope": "read"}
    )
    make_visit(patient, timezone.localdate() + timedelta(days=5))
    pages = {
        reverse("clinic-staff", args=[clinic.code]): f"Yes, remove {clinician.display_name}",
        reverse("clinic-api-keys", args=[clinic.code]): "Yes, revoke EHR interface",
        reverse("course-detail", args=[patient.code]): "Yes, pause the course",
    }
    for url, button in pages.items():
        page = admin_client.get(url).content.decode()
        assert button in confirm_steps(page), url
        assert page.count(button) == 1, url


def test_the_invitation_names_the_clinic_as_written_in_text_and_escaped_in_html(
    admin_client, clinic, django_capture_on_commit_callbacks
):
    """The subject and the text part are plain text: "&" stays "&" (it read "Smith &amp;
    Jones"); only the HTML part escapes."""
    clinic.name = "Smith & Jones <Skin> Clinic"
    clinic.save(update_fields=["name"])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("clinic-staff", args=[clinic.code]),
            {"name": "Nia Nurse", "email": "nia@example.test", "role": "clinician"},
        )
    (email,) = deliver_emails()
    assert email.subject == "Join the care team at Smith & Jones <Skin> Clinic on Home Care Companion"
    assert "care team at Smith & Jones <Skin> Clinic on Home Care Companion." in email.body
    html, _mimetype = email.alternatives[0]
    assert "Smith &amp; Jones &lt;Skin&gt; Clinic" in html and "<Skin>" not in html


@pytest.mark.parametrize("phone", ["١٢٣ ٤٥٦٧", "１２３ ４５６７", "+1 555 0100 ext. 4"])
def test_phone_numbers_take_only_digits_a_phone_dials(admin_client, clinic, phone):
    """Arabic-Indic and full-width digits pass str.isdigit(), but no tel: link dials them."""
    data = clinic_settings_form(phone_daytime=phone)
    response = admin_client.post(reverse("clinic-settings", args=[clinic.code]), data)
    assert response.status_code == 200
    assert "Enter a phone number: digits, spaces, + - ( ) only." in response.text
    assert phone in response.text
    clinic.refresh_from_db()
    assert (clinic.phone_daytime, clinic.emergency_number) == ("+1 555 0100", "")


def test_phone_numbers_keep_the_usual_separators(admin_client, clinic):
    data = clinic_settings_form(phone_daytime="+1 (555) 010.0100", phone_after_hours="+1-555-0199")
    del data["emergency_number"]
    assert admin_client.post(reverse("clinic-settings", args=[clinic.code]), data).status_code == 302
    clinic.refresh_from_db()
    assert (clinic.phone_daytime, clinic.phone_after_hours) == ("+1 (555) 010.0100", "+1-555-0199")
