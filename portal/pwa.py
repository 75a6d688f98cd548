"""The web-app manifest and the service worker: tiny views rendering templates.

The same templates serve the static export (education/export.py), which passes
paths relative to the export's folder instead of the site's root."""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import salted_hmac

ICONS = [
    ("img/icon-192.png", "192x192", "any"),
    ("img/icon-512.png", "512x512", "any"),
    ("img/icon-maskable-512.png", "512x512", "maskable"),
]
# What a phone needs to show a saved page with no network, kept when the worker installs. The
# offline page itself comes in the reader's language with the first page they open, and the
# icons are the phone's business when it installs the app (issue 13: install only what the
# reader needs).
PRECACHE_STATIC = ["css/site.css", "js/sw-register.js", "js/language-menu.js", "js/offline.js"]


def manifest_context(*, start_url: str, scope: str, static_url: Callable[[str], str]) -> dict[str, Any]:
    icons = [
        {"src": static_url(src), "sizes": sizes, "type": "image/png", "purpose": purpose}
        for src, sizes, purpose in ICONS
    ]
    return {"start_url": start_url, "scope": scope, "icons": json.dumps(icons, indent=2)}


def service_worker_context(
    *,
    static_url: Callable[[str], str],
    offline_pages: dict[str, str],
    static_prefix: str,
    extra: str = "",
    require_public: bool = True,
    reader_api: str | None = None,
) -> dict[str, Any]:
    """Every path is relative to the worker's scope (``/`` on the site, the folder in an export).

    On the site the worker keeps only pages marked public (education.views) and asks
    ``reader_api`` what the signed-in reader has to read offline; the static export has
    nothing private, no readers, and its host sends no such header."""
    config = {
        "languages": [code for code, _name in settings.LANGUAGES],
        "offlinePages": offline_pages,
        "staticPrefix": static_prefix,
        "precache": [static_url(name) for name in PRECACHE_STATIC],
        "requirePublic": require_public,
        "readerApi": reader_api,
    }
    # A new version whenever a precached URL (hashed in production) or the content changes.
    version = hashlib.sha256((json.dumps(config, sort_keys=True) + extra).encode()).hexdigest()[:12]
    return {"config": json.dumps({**config, "version": version}, separators=(",", ":"))}


def _root_relative(url: str) -> str:
    return url.removeprefix("/")


def manifest(request: HttpRequest) -> HttpResponse:
    context = manifest_context(start_url="/", scope="/", static_url=static)
    response = render(request, "manifest.webmanifest", context, content_type="application/manifest+json")
    # Browsers fetch it without cookies, so pages name their language in its address (base.html,
    # ?lang=). The same for everyone in a language: public, which also sets no language cookie.
    response["Cache-Control"] = "public, no-cache"
    return response


def service_worker(request: HttpRequest) -> HttpResponse:
    offline_pages = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            offline_pages[code] = _root_relative(reverse("education:offline"))
    context = service_worker_context(
        static_url=lambda name: _root_relative(static(name)),
        offline_pages=offline_pages,
        static_prefix=_root_relative(settings.STATIC_URL),
        reader_api=_root_relative(reverse("api-offline")),
    )
    response = render(request, "sw.js", context, content_type="text/javascript; charset=utf-8")
    # Browsers must look for a new worker on every visit, never trust a cached one.
    response["Cache-Control"] = "no-cache"
    return response


# Pages say who is signed in, so the service worker never shows one person's offline list
# to another (sw.js). An opaque tag: the worker only compares it.
READER_HEADER = "HCC-Reader"


def reader_tag(user: Any) -> str:
    return salted_hmac("portal.pwa.reader", str(user.code), algorithm="sha256").hexdigest()[:20]
