"""Small helpers the tests share: signing in the way each person does, and the outbox."""

import base64
import os
import re
from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, hotp_value, yield_hotp_counters_from_time
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal import outbox
from portal.queries import must_use_mfa


def current_totp(user: Any) -> str:
    """The code the person's authenticator app shows now."""
    secret = TOTP(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)).instance.data["secret"]
    return f"{hotp_value(secret, next(yield_hotp_counters_from_time())):06d}"


def log_in(client: Client, user: Any) -> None:
    """A session as the person gets one. Staff must also pass their authenticator in the
    session (portal.middleware.StaffMFAMiddleware): they enter the code their app shows, or
    a recovery code when that code was already used in this 30-second window."""
    client.force_login(user)
    if not must_use_mfa(user):
        return
    response = client.post(reverse("mfa_reauthenticate"), {"code": current_totp(user)})
    if response.status_code != 302:
        codes = Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).first()
        recovery = RecoveryCodes(codes) if codes else RecoveryCodes.activate(user)
        response = client.post(reverse("mfa_reauthenticate"), {"code": recovery.get_unused_codes()[0]})
    assert response.status_code == 302, response.content.decode()


def page_in(client: Client, user: Any, language: str, url: str) -> str:
    """The page at ``url`` as ``user`` reads it with ``language`` as their own language."""
    type(user).objects.filter(pk=user.pk).update(language=language)
    log_in(client, user)
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def deliver_emails() -> list[mail.EmailMessage]:
    """Run the worker's email pass, as sendreminders does, and return what was sent."""
    outbox.send_due_emails()
    return mail.outbox


def confirm_steps(page: str) -> list[str]:
    """The final buttons found inside a second step (<details class="confirm">): an action that
    cannot be undone is never one click."""
    blocks = re.findall(r'<details class="confirm">(.*?)</details>', page, flags=re.S)
    return [
        re.sub(r"\s+", " ", button)
        for block in blocks
        for button in re.findall(r"<button[^>]*>(.*?)</button>", block, flags=re.S)
    ]


def push_keys() -> tuple[str, str]:
    """A browser's subscription keys (p256dh, auth) as it sends them: a fresh P-256 public key
    and a 16-byte secret, base64url. The API refuses anything else (portal.push)."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url(point), b64url(os.urandom(16))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def clinic_settings_form(**changes: str) -> dict[str, str]:
    """The clinic settings form as an admin sends it, with ``changes``."""
    return {
        "name": "North Clinic",
        "phone_daytime": "+1 555 0100",
        "phone_after_hours": "+1 555 0199",
        "emergency_number": "911",
        "language": "en",
        "time_zone": "UTC",
        "acknowledge_within_days": "5",
        **changes,
    }
