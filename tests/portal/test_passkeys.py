"""The passkey pages (allauth's views and forms) speak the app's words: its links say
"passkeys" (mfa/index.html), where allauth said "Security Keys", in every language."""

import hashlib
import json
import os

import pytest
from allauth.mfa.models import Authenticator
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse
from fido2.cose import ES256
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    CollectedClientData,
    RegistrationResponse,
)

from tests.helpers import log_in

pytestmark = pytest.mark.django_db

# allauth's words for a passkey, in English and in its Arabic catalog.
ALLAUTH_WORDS = (
    "Security Key",
    "Security key",
    "security key",
    "Master key",
    "Passwordless",
    "مفتاح أمان",
    "مفاتيح أمان",
    "مفتاح الأمان",
    "مفتاح رئيسي",
)


def registration(host: str = "testserver") -> dict:
    """What a browser posts when it made a passkey (attestation "none"), as allauth stores it."""
    credential_id = os.urandom(16)
    public_key = ES256.from_cryptography_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    auth_data = AuthenticatorData.create(
        hashlib.sha256(host.encode()).digest(),
        AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.AT,
        0,
        AttestedCredentialData.create(bytes(16), credential_id, public_key),
    )
    response = RegistrationResponse(
        raw_id=credential_id,
        response=AuthenticatorAttestationResponse(
            client_data=CollectedClientData.create("webauthn.create", os.urandom(16), f"http://{host}"),
            attestation_object=AttestationObject.create("none", auth_data, {}),
        ),
    )
    return json.loads(json.dumps(dict(response)))


@pytest.fixture
def passkey(clinician):
    return Authenticator.objects.create(
        user=clinician,
        type=Authenticator.Type.WEBAUTHN,
        data={"name": "Work phone", "credential": registration()},
    )


def pages(passkey):
    return {
        "list": reverse("mfa_list_webauthn"),
        "add": reverse("mfa_add_webauthn"),
        "rename": reverse("mfa_edit_webauthn", kwargs={"pk": passkey.pk}),
        "remove": reverse("mfa_remove_webauthn", kwargs={"pk": passkey.pk}),
    }


@pytest.mark.parametrize(
    ("language", "passkeys", "add"),
    [("en", "Your passkeys", "Add a passkey"), ("ar", "مفاتيح المرور الخاصة بك", "أضف مفتاح مرور")],
)
def test_the_passkey_pages_say_passkey_in_the_readers_language(
    client, clinician, passkey, language, passkeys, add
):
    clinician.language = language
    clinician.save(update_fields=["language"])
    log_in(client, clinician)
    for name, url in pages(passkey).items():
        response = client.get(url)
        assert response.status_code == 200, name
        html = response.text
        assert f'<html lang="{language}"' in html, name
        assert '<a class="skip" href="#main">' in html, name  # the app's layout
        for word in ALLAUTH_WORDS:
            assert word not in html, (name, word)
    listing = client.get(pages(passkey)["list"]).text
    assert f"<h1>{passkeys}</h1>" in listing
    assert "Work phone" in listing
    assert f"<h1>{add}</h1>" in client.get(pages(passkey)["add"]).text


def test_a_new_passkey_is_named_by_the_apps_word(client, clinician, passkey):
    log_in(client, clinician)
    html = client.get(reverse("mfa_add_webauthn")).text
    assert 'value="Passkey 2"' in html


def test_a_passkey_is_renamed_and_removed_from_its_pages(client, clinician, passkey):
    log_in(client, clinician)
    url = pages(passkey)
    response = client.post(url["rename"], {"name": "Desk computer"}, follow=True)
    assert response.redirect_chain[-1][0] == url["list"]
    assert "Desk computer" in response.text
    assert "Remove Desk computer" in response.text
    response = client.post(url["remove"], follow=True)
    assert response.redirect_chain[-1][0] == url["list"]
    assert not Authenticator.objects.filter(pk=passkey.pk).exists()
    assert "Passkey removed." in response.text
    assert "You have 0 passkeys." in response.text


def test_confirming_it_is_you_offers_a_passkey_by_the_apps_word(client, clinician, passkey):
    log_in(client, clinician)
    html = client.get(reverse("mfa_reauthenticate_webauthn")).text
    assert "Use a passkey" in html
    assert "security key" not in html
    other_ways = client.get(reverse("mfa_reauthenticate")).text
    assert f'href="{reverse("mfa_reauthenticate_webauthn")}">Use a passkey</a>' in other_ways
