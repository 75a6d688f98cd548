"""Web push (RFC 8030) with VAPID (RFC 8292) and encrypted payloads (RFC 8291) via pywebpush.

The VAPID key comes from VAPID_PRIVATE_KEY (the raw private scalar, base64url) or is generated
once into var/vapid_private_key. pywebpush reads a string key as raw base64url, not PEM.
"""

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from portal.models import PushSubscription


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def generated_private_key() -> str:
    """A key generated once and kept under var/, like the local secret key."""
    path = settings.VAR_DIR / "vapid_private_key"
    if not path.exists():
        vapid = Vapid02()
        vapid.generate_keys()
        raw = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(b64u(raw))
        path.chmod(0o600)
    return path.read_text().strip()


def vapid_private_key() -> str:
    return settings.VAPID_PRIVATE_KEY or generated_private_key()


def vapid_public_key() -> str:
    """The applicationServerKey for pushManager.subscribe(): the uncompressed P-256 point."""
    vapid = Vapid02.from_raw(vapid_private_key().encode("ascii"))
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64u(point)


def send_push(subscription: PushSubscription, payload: dict[str, Any]) -> Any:
    """Send one push; returns a reminders.Outcome. Runs in the worker's thread pool, so it
    touches no database rows (the caller removes gone subscriptions)."""
    from portal.reminders import Outcome

    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    try:
        response = webpush(
            info,
            data=json.dumps(payload),
            vapid_private_key=vapid_private_key(),
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            ttl=4 * 3600,
            # Topic: a repeat of this message (after a worker was killed mid-send) replaces the
            # first at the push service instead of arriving twice.
            headers={"Urgency": "normal", **({"Topic": payload["tag"]} if payload.get("tag") else {})},
            timeout=settings.PUSH_TIMEOUT_SECONDS,
        )
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        # 404 and 410: the browser dropped the subscription for good.
        return Outcome(ok=False, error=f"push-http-{status}", gone=status in (404, 410))
    except Exception as error:  # noqa: BLE001 - network errors are retried with backoff
        return Outcome(ok=False, error=f"push-{type(error).__name__}"[:100])
    if response.status_code >= 300:
        return Outcome(ok=False, error=f"push-http-{response.status_code}")
    return Outcome(ok=True)
