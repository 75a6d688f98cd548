"""Signing in: emailed codes for patients and caregivers; password plus an
authenticator app for clinic staff."""

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core.cache import cache
from django.urls import reverse

from tests.helpers import deliver_emails, log_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    # allauth keeps rate-limit counters in the cache; each test starts clean.
    cache.clear()


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def current_totp(user) -> str:
    secret = TOTP(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)).instance.data["secret"]
    return f"{hotp_value(secret, next(yield_hotp_counters_from_time())):06d}"


def test_sign_in_page_uses_our_layout(client):
    html = client.get(reverse("account_login")).content.decode()
    assert 'class="site-header"' in html
    assert 'href="#main"' in html


def test_sign_in_page_offers_no_sign_up(client):
    html = client.get(reverse("account_login")).content.decode()
    assert reverse("account_signup") not in html
    assert reverse("account_request_login_code") in html


def test_public_signup_is_closed(client):
    response = client.get(reverse("account_signup"))
    assert "_auth_user_id" not in client.session
    assert response.status_code == 200
    assert "closed" in response.content.decode().lower()


def test_patient_signs_in_with_an_emailed_code(client, patient):
    response = client.post(reverse("account_request_login_code"), {"email": patient.email})
    assert response.status_code == 302
    code = re.search(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b", deliver_emails()[-1].body).group(0)
    assert not signed_in(client)
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert signed_in(client)


def test_wrong_code_does_not_sign_in(client, patient):
    client.post(reverse("account_request_login_code"), {"email": patient.email})
    response = client.post(reverse("account_confirm_login_code"), {"code": "AAAA-AAAA"})
    assert response.status_code == 200
    assert not signed_in(client)


def test_staff_cannot_sign_in_with_a_code(client, clinician):
    client.post(reverse("account_request_login_code"), {"email": clinician.email})
    code = re.search(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b", deliver_emails()[-1].body).group(0)
    client.post(reverse("account_confirm_login_code"), {"code": code})
    # If a code led anywhere, it is only to the authenticator step, never a session.
    assert not signed_in(client)


def test_staff_sign_in_needs_password_and_authenticator_code(client, clinician):
    response = client.post(
        reverse("account_login"), {"login": clinician.email, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert not signed_in(client)
    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert not signed_in(client)
    response = client.post(reverse("mfa_authenticate"), {"code": current_totp(clinician)})
    assert response.status_code == 302
    assert signed_in(client)


def test_staff_wrong_password_is_refused(client, clinician):
    response = client.post(reverse("account_login"), {"login": clinician.email, "password": "wrong"})
    assert response.status_code == 200
    assert not signed_in(client)


def test_staff_without_an_authenticator_must_set_one_up(client, clinic, make_staff, patient):
    newcomer = make_staff(clinic, "new@example.test", totp=False)
    client.force_login(newcomer)
    for url in (reverse("home"), reverse("patient-list"), reverse("patient-detail", args=[patient.code])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")
    # The set-up page and allauth's password confirmation before it stay open.
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert client.get(response["Location"]).status_code == 200


def test_sign_out(client, patient):
    log_in(client, patient.user)
    client.post(reverse("account_logout"))
    assert not signed_in(client)


def test_password_reset_sends_an_email(client, clinician):
    response = client.post(reverse("account_reset_password"), {"email": clinician.email})
    assert response.status_code == 302
    assert deliver_emails()[-1].to == [clinician.email]


def test_failed_sign_ins_are_rate_limited(client, clinician):
    for _ in range(5):
        client.post(reverse("account_login"), {"login": clinician.email, "password": "wrong"})
    # Even the right password is refused for a while after five failures.
    response = client.post(
        reverse("account_login"), {"login": clinician.email, "password": "correct horse battery"}
    )
    assert response.status_code == 200
    assert "too many" in response.content.decode().lower()
    assert not signed_in(client)
