from collections.abc import Callable
from zoneinfo import ZoneInfo

from allauth.mfa.models import Authenticator
from django.http import HttpRequest, HttpResponse
from django.middleware import locale
from django.shortcuts import redirect
from django.utils import timezone, translation

from portal.queries import is_clinic_staff

Handler = Callable[[HttpRequest], HttpResponse]


class LocaleMiddleware(locale.LocaleMiddleware):
    """Language: the URL prefix on public pages, else a signed-in user's saved
    language, else the browser's Accept-Language (Django's own order).
    A signed-in user also reads every date and time in their own time zone."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            timezone.deactivate()
            return
        timezone.activate(ZoneInfo(user.time_zone))
        if not translation.get_language_from_path(request.path_info):
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()


class StaffMFAMiddleware:
    """Clinic staff see patient data only after setting up an authenticator app.

    Until then every page sends them to the set-up page; signing out and the
    set-up pages themselves stay open."""

    OPEN_PREFIXES = (
        "/accounts/2fa/",
        "/accounts/logout/",
        "/static/",
        "/healthz",
        "/jsi18n/",
        "/sw.js",
        "/manifest.webmanifest",
        "/language/",
    )

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(self.OPEN_PREFIXES)
            # Public pages (the guide, under a language prefix) stay open to everyone.
            and not translation.get_language_from_path(request.path_info)
            and is_clinic_staff(user)
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            return redirect("mfa_activate_totp")
        return self.get_response(request)
