"""Fixtures the push tests share: a push service on loopback and the site's signing key."""

import pytest
from py_vapid import Vapid02

from tests.portal.test_reminder_channels import PushService, b64u


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


@pytest.fixture
def vapid_key(settings):
    """A fresh VAPID key for the site (and a subject of its own, checked in the JWT)."""
    vapid = Vapid02()
    vapid.generate_keys()
    settings.VAPID_PRIVATE_KEY = b64u(vapid.private_key.private_numbers().private_value.to_bytes(32, "big"))
    settings.VAPID_SUBJECT = "mailto:ops@example.test"
    return vapid
