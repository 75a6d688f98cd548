"""The operators' admin: the site's sign-in with the authenticator, read-only clinical rows,
and every read and change audited (issue 8, point 1)."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent, StaffMembership
from tests.helpers import current_totp, log_in

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture
def operator(make_user):
    user = make_user("operator@example.test", password=PASSWORD, is_staff=True, is_superuser=True)
    TOTP.activate(user, generate_totp_secret())
    return user


def test_the_admins_own_password_form_signs_nobody_in(client, operator):
    response = client.post(reverse("admin:login"), {"username": operator.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/portal/patient/")["Location"].startswith("/admin/login/")


def test_an_operator_reaches_the_admin_through_password_and_authenticator(client, operator, patient):
    page = client.get("/admin/portal/patient/", follow=True)
    assert page.request["PATH_INFO"] == reverse("account_login")
    response = client.post(
        page.redirect_chain[-1][0], {"login": operator.email, "password": PASSWORD}, follow=True
    )
    assert response.request["PATH_INFO"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(operator)}, follow=True)
    assert response.request["PATH_INFO"] == "/admin/portal/patient/"
    assert patient.name in response.text


def test_clinical_rows_are_read_only_and_reads_are_audited(client, operator, patient):
    log_in(client, operator)
    change = reverse("admin:portal_patient_change", args=[patient.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert client.post(change, {"name": "Someone Else"}).status_code == 403
    assert (
        client.post(reverse("admin:portal_patient_delete", args=[patient.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert client.get(reverse("admin:portal_patient_add")).status_code == 403
    patient.refresh_from_db()
    assert patient.name == "Patient"
    viewed = AuditEvent.objects.get(action="admin.patient.viewed")
    assert (viewed.actor, viewed.patient_code) == (operator, patient.code)
    client.get(reverse("admin:portal_patient_changelist"))
    assert AuditEvent.objects.filter(action="admin.patient.listed", actor=operator).exists()
    for name in ("caregiverlink", "treatmentcourse", "invitation", "clinicremindersettings", "reminder"):
        assert client.get(reverse(f"admin:portal_{name}_add")).status_code == 403, name


def test_removing_a_staff_member_in_the_admin_ends_their_sessions(client, operator, clinician):
    clinic_session = Client()
    log_in(clinic_session, clinician)
    assert clinic_session.get(reverse("patient-list")).status_code == 200
    log_in(client, operator)
    membership = StaffMembership.objects.get(user=clinician)
    response = client.post(
        reverse("admin:portal_staffmembership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not StaffMembership.objects.filter(user=clinician).exists()
    assert clinic_session.get(reverse("patient-list")).status_code == 302
    assert AuditEvent.objects.filter(action="staff.removed").exists()
