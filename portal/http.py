from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.http import url_has_allowed_host_and_scheme

from portal.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User


def local_path(request: HttpRequest, url: str) -> str:
    """``url`` when it is a path on this site, else "/": for a ``next`` a form posts back.

    Redirect to the result with HttpResponseRedirect, never django.shortcuts.redirect(),
    which reads a bare word as a URL name ("account-delete" went to /account/delete/, and
    an unknown word was a 500)."""
    if not url.startswith("/") or not url_has_allowed_host_and_scheme(
        url, {request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    return url


def came_from(request: HttpRequest) -> str:
    """The path of the page on this site that sent the request (its Referer), else "/"."""
    referer = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(referer, {request.get_host()}, require_https=request.is_secure()):
        return "/"
    parts = urlsplit(referer)
    return local_path(request, parts.path + (f"?{parts.query}" if parts.query else ""))


def remember_language(request: HttpRequest, response: HttpResponseBase, code: str) -> None:
    """The language cookie, for the pages that follow (the language switch, a link's ?lang=,
    signing out)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=request.is_secure(),
    )
