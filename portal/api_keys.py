"""Per-clinic API keys for clinic systems (EHR integration engines).

A key looks like ``hcc_<prefix>_<secret>``. Only the prefix (to tell keys apart) and a
SHA-256 hash of the whole key are stored: the key has 256 random bits, so a fast hash is
enough, and the key itself is shown once, when it is made. Each key acts through its own
account, which cannot sign in, so services and the audit log say which key did what."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Clinic, ClinicApiKey, User
from portal.services import record_audit

KEY_PREFIX = "hcc_"
# last_used_at is written at most this often, not on every request.
USE_RESOLUTION = timedelta(minutes=1)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    api_key: ClinicApiKey
    key: str  # shown once, never stored


@transaction.atomic
def create_api_key(
    *, clinic: Clinic, by: User, name: str, scope: str, request: HttpRequest | None = None
) -> NewKey:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": _("Give the key a name.")})
    if clinic.api_keys.filter(name__iexact=name, revoked_at__isnull=True).exists():
        raise ValidationError({"name": _("This clinic already has a key with this name.")})
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    account = User.objects.create_user(
        f"api-key-{prefix}@keys.invalid", name=_("API key: %(name)s") % {"name": name}, is_active=False
    )
    api_key = ClinicApiKey(
        clinic=clinic,
        user=account,
        name=name,
        scope=scope,
        prefix=prefix,
        secret_hash=key_hash(key),
        created_by=by,
    )
    api_key.full_clean()
    api_key.save()
    record_audit(
        actor=by, action="api_key.created", clinic=clinic, subject_code=api_key.code, request=request
    )
    return NewKey(api_key=api_key, key=key)


@transaction.atomic
def revoke_api_key(
    *, api_key: ClinicApiKey, by: User, request: HttpRequest | None = None, now: datetime | None = None
) -> ClinicApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = now or timezone.now()
        api_key.save(update_fields=["revoked_at"])
        record_audit(
            actor=by,
            action="api_key.revoked",
            clinic=api_key.clinic,
            subject_code=api_key.code,
            request=request,
        )
    return api_key


def find_api_key(key: str, *, now: datetime | None = None) -> ClinicApiKey | None:
    """The live key matching ``key``, or None. Compares hashes in constant time."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    prefix = key[len(KEY_PREFIX) :].split("_", 1)[0]
    api_key = (
        ClinicApiKey.objects.select_related("clinic", "user")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, key_hash(key)):
        return None
    now = now or timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at < now - USE_RESOLUTION:
        ClinicApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key
