"""What the header of every page needs: the language menu and the unread count on Reminders.

Both are computed only when a template asks for them (the context holds callables), so a
page without a header pays nothing."""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import translate_url
from django.utils import translation

from portal import pwa
from portal.middleware import LANGUAGE_PARAMETER, is_staff_request
from portal.queries import count_unread_reminders_for

WARNING_LEAD_SECONDS = 120


def language_links(request: HttpRequest) -> list[dict[str, Any]]:
    """The page the visitor is on, in every language, as plain links (no form, no cookie).

    A page under a language prefix (the guide) links to its own translations; any other page
    (the welcome, signing in, an invitation) to itself with ``?lang=``."""
    current = translation.get_language()
    prefixed = bool(translation.get_language_from_path(request.path_info))
    query = request.GET.copy()
    query.pop(LANGUAGE_PARAMETER, None)
    links = []
    for code, _name in settings.LANGUAGES:
        if prefixed:
            href = translate_url(request.get_full_path(), code)
        else:
            href = request.path + "?" + urlencode([*query.lists(), (LANGUAGE_PARAMETER, [code])], doseq=True)
        links.append(
            {
                "code": code,
                "name": local_name(code),
                "href": href,
                "bidi": code in settings.LANGUAGES_BIDI,
                "current": code == current,
            }
        )
    return links


def local_name(code: str) -> str:
    """A language's own name, capitalised: "Español", "العربية"."""
    local = translation.get_language_info(code)["name_local"]
    return local[:1].upper() + local[1:]


# The signed-in form's buttons, by (current language, the site's languages): the same for
# everyone reading in that language, so each is rendered once per process.
_buttons: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}


def language_buttons(current: str) -> str:
    key = (current, tuple(settings.LANGUAGES))
    html = _buttons.get(key)
    if html is None:
        links = [
            {
                "code": code,
                "name": local_name(code),
                "bidi": code in settings.LANGUAGES_BIDI,
                "current": code == current,
            }
            for code, _name in settings.LANGUAGES
        ]
        html = _buttons[key] = render_to_string("portal/_language_buttons.html", {"links": links})
    return html


def current_path_without_language(request: HttpRequest) -> str:
    """Where the signed-in person's language form sends them back to."""
    query = request.GET.copy()
    query.pop(LANGUAGE_PARAMETER, None)
    return request.path + (f"?{query.urlencode()}" if query else "")


def language_menu(request: HttpRequest) -> dict[str, Any]:
    """A page under a language prefix (the guide) is simply read in another language, by
    anyone: links. Elsewhere a signed-in person's choice is saved on their account: a form."""
    prefixed = bool(translation.get_language_from_path(request.path_info))
    if request.user.is_authenticated and not prefixed:
        return {
            "links": True,
            "save": True,
            "buttons": language_buttons(translation.get_language()),
            "next": current_path_without_language(request),
        }
    return {"links": language_links(request), "save": False, "next": current_path_without_language(request)}


def context(request: HttpRequest) -> dict[str, Callable[[], Any]]:
    """Template context processor (settings.TEMPLATES)."""
    return {
        "language_menu": lambda: language_menu(request),
        "unread_reminders": lambda: count_unread_reminders_for(request.user),
        # Patients and caregivers start from today's care (/care/); staff from the clinic.
        "starts_at_care": lambda: request.user.is_authenticated and not is_staff_request(request),
        # Who is signed in, for the service worker (sw.js): "" for nobody, so it never asks
        # the server for an anonymous reader's offline list.
        "reader_tag": lambda: pwa.reader_tag(request.user) if request.user.is_authenticated else "",
        # Staff are warned before the idle sign-out (portal/_session_warning.html).
        "staff_session": lambda: staff_session(request),
    }


def staff_session(request: HttpRequest) -> dict[str, int] | None:
    """The idle time and how long before its end the warning shows: two minutes, or half the
    idle time when that is shorter (WCAG 2.2.1 asks for at least 20 seconds to answer)."""
    if not is_staff_request(request):
        return None
    idle = settings.STAFF_IDLE_SECONDS
    return {"idle": idle, "lead": min(WARNING_LEAD_SECONDS, idle // 2)}
