import hashlib
import re
import time
from collections.abc import Callable
from functools import cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.sessions import middleware as sessions
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.middleware import locale
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.translation import gettext as _

from portal import pwa
from portal.http import remember_language
from portal.queries import must_use_mfa

Handler = Callable[[HttpRequest], HttpResponse]


class SessionMiddleware(sessions.SessionMiddleware):
    """Django's, except that a visitor who sent no session cookie and has no session is not
    told that the page varies by cookie: the public pages an anonymous reader gets (the
    guide, the welcome) then carry neither a cookie nor ``Vary: Cookie``, so any cache may
    keep them. Pages for a signed-in person are ``private, no-store`` and kept by no one."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = request.session
        if settings.SESSION_COOKIE_NAME not in request.COOKIES and session.is_empty():
            session.accessed = False
        return super().process_response(request, response)


# A link may carry the language the visitor was reading into a page without a language
# prefix (the guide's "Sign in", an invitation email): /accounts/login/?lang=es.
LANGUAGE_PARAMETER = "lang"


def language_in_query(request: HttpRequest) -> str | None:
    code = request.GET.get(LANGUAGE_PARAMETER, "")
    return code if code in dict(settings.LANGUAGES) else None


class LocaleMiddleware(locale.LocaleMiddleware):
    """Language: the URL prefix on public pages, else a signed-in user's saved
    language, else ``?lang=`` on a link, else the language cookie, else the browser's
    Accept-Language. A signed-in user also reads every date and time in their own time zone."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        user = getattr(request, "user", None)
        prefixed = bool(translation.get_language_from_path(request.path_info))
        if user is None or not user.is_authenticated:
            timezone.deactivate()
            if not prefixed and (code := language_in_query(request)):
                translation.activate(code)
                request.LANGUAGE_CODE = code
            return
        timezone.activate(ZoneInfo(user.time_zone))
        if not prefixed:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response = super().process_response(request, response)
        if settings.LANGUAGE_COOKIE_NAME in request.COOKIES and not translation.get_language_from_path(
            request.path_info
        ):
            patch_vary_headers(response, ("Cookie",))  # the cookie chose this page's language
        code = language_in_query(request)
        control = response.get("Cache-Control", "")
        # The sign-in and invitation pages keep the language for the steps that follow (the
        # code page, the confirmation). A public page sets no cookie: caches keep it for all.
        if code and not request.user.is_authenticated and "public" not in control:
            remember_language(request, response, code)
        return response


def is_staff_request(request: HttpRequest) -> bool:
    """must_use_mfa for the signed-in user, asked once per request (two middlewares need it)."""
    if not hasattr(request, "hcc_staff"):
        request.hcc_staff = request.user.is_authenticated and must_use_mfa(request.user)  # type: ignore[attr-defined]
    return request.hcc_staff  # type: ignore[attr-defined]


def passed_mfa(request: HttpRequest) -> bool:
    """Whether this session proved an authenticator (at sign-in or since), not merely
    belongs to someone who has one."""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


class StaffMFAMiddleware:
    """Clinic staff and site operators see nothing private until this session passed
    their authenticator.

    Without an authenticator they are sent to set one up (allauth first asks for the
    password again, so that page stays open too); with one, a session that did not use it
    (a code sign-in, a session from before) is sent to enter a code from it."""

    OPEN_PREFIXES = (
        "/accounts/2fa/",
        "/accounts/reauthenticate/",
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
            and not self.is_public_page(request)
            and is_staff_request(request)
            and not passed_mfa(request)
        ):
            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                return redirect("mfa_activate_totp")
            return redirect(
                reverse("mfa_reauthenticate") + "?" + urlencode({"next": request.get_full_path()})
            )
        return self.get_response(request)

    @staticmethod
    def is_public_page(request: HttpRequest) -> bool:
        # The guide (under a language prefix) is open to everyone; printed for a patient
        # (?for=) it shows that patient's clinic, which is the care team's business.
        return bool(translation.get_language_from_path(request.path_info)) and "for" not in request.GET


class StaffSessionMiddleware:
    """Staff sessions end after STAFF_IDLE_SECONDS without a request and after
    STAFF_SESSION_MAX_SECONDS in all, whatever the cookie says. The person is then
    anonymous for this request, so a private page sends them to sign in again."""

    STARTED = "hcc_session_started_at"
    SEEN = "hcc_session_seen_at"
    # Write the session at most this often just to say the person is still there.
    TOUCH_SECONDS = 30

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and is_staff_request(request):
            now = time.time()
            session = request.session
            session.setdefault(self.STARTED, now)
            seen = session.get(self.SEEN, now)
            if now > self.ends_at(session, now):
                logout(request)
                # No longer staff for the rest of this request (is_staff_request asked before).
                request.hcc_staff = False  # type: ignore[attr-defined]
                messages.info(
                    request, _("You were signed out to keep patient data safe. Please sign in again.")
                )
            elif (now - seen >= self.TOUCH_SECONDS or self.SEEN not in session) and not is_look(request):
                self.touch(session, now)
        return self.get_response(request)

    @classmethod
    def touch(cls, session: SessionBase, now: float) -> None:
        """The person was there at ``now``: the idle time starts again."""
        session[cls.SEEN] = now
        # The cookie and the stored session end with the idle time too.
        session.set_expiry(settings.STAFF_IDLE_SECONDS)

    @classmethod
    def ends_at(cls, session: SessionBase, now: float) -> float:
        """When the session ends if the person asks for nothing more (a Unix time): idle time
        after the last request, or the absolute lifetime, whichever comes first."""
        return min(cls.limits(session, now))

    @classmethod
    def limits(cls, session: SessionBase, now: float) -> tuple[float, float]:
        """The end of the idle time and the end of the lifetime (Unix times)."""
        seen = session.get(cls.SEEN, now)
        started = session.get(cls.STARTED, now)
        return seen + settings.STAFF_IDLE_SECONDS, started + settings.STAFF_SESSION_MAX_SECONDS


def is_look(request: HttpRequest) -> bool:
    """The page's question of how long the session has left (static/js/staff-session.js): it
    must not count as the person being there, or an open tab would keep them signed in."""
    return request.method == "GET" and request.path == session_time_path()


@cache
def session_time_path() -> str:
    return reverse("account-session")


def staff_session_ends_at(request: HttpRequest) -> float | None:
    """StaffSessionMiddleware.ends_at for a staff member's request; None for everyone else."""
    if not is_staff_request(request):
        return None
    return StaffSessionMiddleware.ends_at(request.session, time.time())


class SecurityHeadersMiddleware:
    """Browser features the app never uses are off (so injected code cannot use them), and a
    page for a signed-in person is kept by no shared cache.

    A patient's or caregiver's own browser may keep their everyday pages (REVALIDATED), but
    must ask each time whether they changed (``private, no-cache``; the session makes them
    ``Vary: Cookie``), so a repeat visit costs a 304 (ConditionalGetMiddleware); signing out
    clears that cache (Clear-Site-Data). Everything else stays ``no-store``: account pages
    (secret addresses, authenticator set-up, the data download) and every page of clinic
    staff and operators, who read other people's records, often on shared computers."""

    # Path prefixes of the everyday pages ("/" is the home page itself).
    REVALIDATED = ("/care/", "/patients/", "/reminders/", "/api/v1/reminders/")

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if request.user.is_authenticated and "Cache-Control" not in response.headers:
            everyday = request.path == "/" or request.path.startswith(self.REVALIDATED)
            kept = "no-cache" if everyday and not is_staff_request(request) else "no-store"
            response["Cache-Control"] = f"private, {kept}"
        return response


# A form's CSRF field is masked afresh on every render: the same page, a different body.
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


class ConditionalGetMiddleware:
    """An ETag for every page a browser may keep but must revalidate (``no-cache``, not
    ``no-store``), and a 304 when the browser already has it: the page is still built (its
    queries, an audit event), or taken from portal/keep.py, but not sent again.

    The ETag is a digest of the body without its CSRF fields. A kept page then carries an
    older masked token, which stays valid: the token's secret changes only at sign-in, and a
    new session cookie is a new ``Vary: Cookie`` entry in the browser's cache. Pages that set
    their own ETag (the public guide, education/pagecache.py) answer for themselves."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        control = response.get("Cache-Control", "")
        if (
            request.method not in ("GET", "HEAD")
            or response.status_code != 200
            or response.streaming
            or response.has_header("ETag")
            or "no-cache" not in control
            or "no-store" in control
        ):
            return response
        digest = hashlib.sha256(CSRF_FIELD.sub(b"", response.content)).hexdigest()[:24]
        response["ETag"] = f'"{digest}"'
        return get_conditional_response(request, etag=response["ETag"], response=response)


class ReaderMiddleware:
    """Each page for a signed-in person names them (an opaque tag) to the service worker,
    which keeps one person's offline list and drops it when a page names someone else or
    nobody (portal/templates/sw.js)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated:
            response[pwa.READER_HEADER] = pwa.reader_tag(request.user)
        return response
