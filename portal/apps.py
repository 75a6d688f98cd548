from django.apps import AppConfig
from django.core import checks


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Home Care Companion"

    def ready(self) -> None:
        from django.core.signals import setting_changed
        from django.db.models.signals import post_migrate

        from portal import keep

        checks.register(deploy_settings_check, checks.Tags.security, deploy=True)
        post_migrate.connect(keep.install_triggers, sender=self)
        setting_changed.connect(keep.forget)


def deploy_settings_check(app_configs, **kwargs):  # type: ignore[no-untyped-def]
    """Warn about settings a real deployment needs but a laptop does not."""
    import os

    from django.conf import settings

    found = []
    if not os.environ.get("EMAIL_HOST"):
        found.append(
            checks.Warning(
                "EMAIL_HOST is not set: sign-in codes and invitations go to the console.",
                hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD).",
                id="portal.W001",
            )
        )
    if not settings.DEBUG:
        found += vapid_key_problems(settings.VAPID_PRIVATE_KEY)
    if not settings.ADMINS:
        found.append(
            checks.Warning(
                "ADMINS is empty: nobody hears about server errors.",
                hint="Set ADMINS to the operators' email addresses, comma-separated.",
                id="portal.W003",
            )
        )
    if settings.SITE_URL.startswith("http://127.0.0.1") or settings.SITE_URL.startswith("http://localhost"):
        found.append(
            checks.Warning(
                "SITE_URL points at this machine: links in emails will not work for patients.",
                hint="Set SITE_URL to the public https address.",
                id="portal.W002",
            )
        )
    return found


def vapid_key_problems(key: str | None) -> list[checks.CheckMessage]:
    """Every web server and worker must sign push with the same key: one generated per
    host would break every device's subscription on the other hosts."""
    if not key:
        return [
            checks.Error(
                "VAPID_PRIVATE_KEY is not set: each host would generate its own push key.",
                hint="Generate one key (README, Deploy checklist) and give it to every host.",
                id="portal.E001",
            )
        ]
    from py_vapid import Vapid02

    try:
        Vapid02.from_raw(key.encode("ascii"))
    except Exception:  # noqa: BLE001 - any parse failure means the same to the operator
        return [
            checks.Error(
                "VAPID_PRIVATE_KEY is not a raw P-256 private key in base64url.",
                hint="See README, Deploy checklist.",
                id="portal.E002",
            )
        ]
    return []
