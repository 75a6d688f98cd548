from django.apps import AppConfig
from django.core import checks


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Home Care Companion"

    def ready(self) -> None:
        checks.register(deploy_settings_check, checks.Tags.security, deploy=True)


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
    if settings.SITE_URL.startswith("http://127.0.0.1") or settings.SITE_URL.startswith("http://localhost"):
        found.append(
            checks.Warning(
                "SITE_URL points at this machine: links in emails will not work for patients.",
                hint="Set SITE_URL to the public https address.",
                id="portal.W002",
            )
        )
    return found
