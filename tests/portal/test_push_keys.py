"""The keys a device hands us when it subscribes to push: a browser's P-256 public key (p256dh)
and its 16-byte authentication secret (auth), both base64url (RFC 8291 section 3). A key the
worker cannot encrypt with is refused at once, in words; stored, it would fail at every send,
be retried with backoff and never be removed."""

import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse

from portal.models import PushSubscription
from tests.helpers import log_in

pytestmark = pytest.mark.django_db

ENDPOINT = "http://127.0.0.1:9/push/device"
BAD_KEY = "This push key (p256dh) is not a P-256 public key in base64url."
BAD_SECRET = "This push secret (auth) is not 16 bytes in base64url."


def b64url(data: bytes, *, padded: bool = False) -> str:
    text = base64.urlsafe_b64encode(data).decode()
    return text if padded else text.rstrip("=")


def browser_point(form=serialization.PublicFormat.UncompressedPoint) -> bytes:
    """A browser's public key as it sends it: made here, with cryptography."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(serialization.Encoding.X962, form)


@pytest.fixture
def subscribe(client, patient, settings):
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True  # a loopback endpoint: only the keys are in question
    log_in(client, patient.user)

    def post(p256dh: str, auth: str):
        return client.post(
            reverse("api-push-subscriptions"),
            {"endpoint": ENDPOINT, "keys": {"p256dh": p256dh, "auth": auth}},
            content_type="application/json",
        )

    return post


@pytest.mark.parametrize("padded", [False, True])
def test_a_browsers_real_keys_are_stored(subscribe, padded):
    p256dh, auth = b64url(browser_point(), padded=padded), b64url(os.urandom(16), padded=padded)
    response = subscribe(p256dh, auth)
    assert response.status_code == 201, response.content
    stored = PushSubscription.objects.get()
    assert (stored.p256dh, stored.auth) == (p256dh, auth)


REAL_KEY = b64url(browser_point())
NOT_A_KEY = {
    "not base64": "!!!not base64<script>",
    "one character": "x",
    "base64 of a few bytes": b64url(b"hello"),
    "65 bytes off the curve": b64url(b"\x04" + b"\x01" * 64),
    "a compressed point": b64url(browser_point(serialization.PublicFormat.CompressedPoint)),
    "a real key with a character too many": REAL_KEY + "!",
    # A lenient decoder would skip these four and find the key: only base64url is accepted.
    "a real key with other characters inside": REAL_KEY[:43] + "<!>." + REAL_KEY[43:],
}


@pytest.mark.parametrize("p256dh", NOT_A_KEY.values(), ids=NOT_A_KEY.keys())
def test_a_key_that_is_not_a_p256_point_is_refused_in_words(subscribe, p256dh):
    response = subscribe(p256dh, b64url(os.urandom(16)))
    assert response.status_code == 400
    assert response.json() == {"keys": {"p256dh": [BAD_KEY]}}
    assert not PushSubscription.objects.exists()


NOT_A_SECRET = {
    "control characters": "\x01\x02",
    "one character": "y",
    "15 bytes": b64url(os.urandom(15)),
    "17 bytes": b64url(os.urandom(17)),
    "not base64": "<script>alert(1)</script>",
}


@pytest.mark.parametrize("auth", NOT_A_SECRET.values(), ids=NOT_A_SECRET.keys())
def test_an_auth_secret_that_is_not_16_bytes_is_refused_in_words(subscribe, auth):
    response = subscribe(b64url(browser_point()), auth)
    assert response.status_code == 400
    assert response.json() == {"keys": {"auth": [BAD_SECRET]}}
    assert not PushSubscription.objects.exists()


def test_both_bad_are_both_named(subscribe):
    response = subscribe("x", "y")
    assert response.status_code == 400
    assert response.json() == {"keys": {"p256dh": [BAD_KEY], "auth": [BAD_SECRET]}}


def test_subscribing_again_with_bad_keys_leaves_the_device_as_it_was(subscribe):
    p256dh, auth = b64url(browser_point()), b64url(os.urandom(16))
    assert subscribe(p256dh, auth).status_code == 201
    assert subscribe("!!!not base64<script>", "\x01\x02").status_code == 400
    stored = PushSubscription.objects.get()
    assert (stored.endpoint, stored.p256dh, stored.auth) == (ENDPOINT, p256dh, auth)
