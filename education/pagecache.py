"""The public guide, rendered once and served from memory (issue 13).

A guide page an anonymous reader gets depends only on its address (language, module), the
files of this release (content, templates, catalogs) and which translations a site reviewer
has approved. Each process renders such a page once, keeps it with its gzip and Brotli
versions and an ETag, and answers later readers from memory: no template, no database
query, and a 304 to a browser that already has it.

Clinical review is the one thing that changes without a release. Every change to the
reviews rewrites a small stamp file (``GUIDE_STAMP_FILE``, under ``VAR_DIR``); each request
reads its identity with one ``stat`` call and a process that sees a new stamp drops what it
kept. So a clinician's approval shows on the next request in every process on this machine.
A site on several machines points ``GUIDE_STAMP_FILE`` at storage they share.

Only anonymous readers without a session or a message waiting are served from here; a
signed-in reader's page (their clinic's numbers, a caregiver's version of a module) is
rendered for them every time and never enters this cache.
"""

import functools
import gzip
import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

try:
    import brotli
except ImportError:  # pragma: no cover - brotli is in requirements.txt
    brotli = None

View = Callable[..., HttpResponse]
# Headers of the rendered page that every copy keeps; the middleware adds the rest each time.
KEPT_HEADERS = ("Content-Type", "Cache-Control")


@dataclass(frozen=True)
class Page:
    etag: str  # of the plain body; each encoding adds its own suffix
    last_modified: float
    headers: tuple[tuple[str, str], ...]
    bodies: dict[str, bytes]  # "identity", "gzip", "br"

    @functools.cached_property
    def last_modified_header(self) -> str:
        return http_date(self.last_modified)

    def etag_of(self, encoding: str) -> str:
        return f'"{self.etag}"' if encoding == "identity" else f'"{self.etag}-{encoding}"'


_pages: dict[tuple[Any, ...], Page] = {}
# Pages kept per process, at most. The host is part of a page (its alternate-language links are
# absolute), and a Host header may vary in ways ALLOWED_HOSTS lets through (letter case, port):
# without a bound each would keep a page of its own. A real site has a few hundred.
KEPT_MAX = 2000


_remember_lock = threading.Lock()


def remember[K, V](kept: dict[K, V], key: K, value: V) -> V:
    """Keep ``value``, dropping the oldest kept first when there are KEPT_MAX. One thread at
    a time, and from a copy of the keys: a page store may be cleared meanwhile (a new stamp)."""
    with _remember_lock:
        for oldest in list(kept)[: max(0, len(kept) - KEPT_MAX + 1)]:
            kept.pop(oldest, None)
        kept[key] = value
    return value


_stamp_seen: tuple[int, int] | None = None


def stamp_file() -> Path:
    return Path(settings.GUIDE_STAMP_FILE)


@functools.cache
def _stamp_path(configured: object) -> str:
    return os.fspath(configured)  # type: ignore[call-overload]


def current_stamp() -> tuple[int, int]:
    """The stamp's identity: one stat call (a new file each time, so the inode changes too)."""
    try:
        found = os.stat(_stamp_path(settings.GUIDE_STAMP_FILE))
    except FileNotFoundError:
        return (0, 0)
    return (found.st_mtime_ns, found.st_ino)


def bump_stamp() -> None:
    """Tell every process that public guide pages changed (written whole, then renamed)."""
    path = stamp_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(f"{time.time_ns()}\n")
    os.replace(temporary, path)


def bump_stamp_on_commit(**kwargs: Any) -> None:
    """Signal receiver for a change to the reviews: now, so this process never serves a
    page kept before it, and again once the transaction commits, so no other process keeps a
    page it rendered from the database as it was before the commit."""
    bump_stamp()
    transaction.on_commit(bump_stamp)


@functools.cache
def release_time() -> float:
    """When this release's files last changed: the newest content file, template, compiled
    catalog or static manifest. Read once per process."""
    roots = [Path(settings.BASE_DIR) / "education", Path(settings.BASE_DIR) / "portal" / "templates"]
    roots += [Path(p) for p in settings.LOCALE_PATHS]
    newest = 0.0
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                if name.endswith((".html", ".toml", ".mo", ".js", ".txt", ".py", ".md")):
                    newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime)
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists():
        newest = max(newest, manifest.stat().st_mtime)
    return newest


def may_serve_from_memory(request: HttpRequest) -> bool:
    """An anonymous reader with nothing of their own on the page: no session (so no
    messages in it, and no query to look the session up), no message cookie, no query
    string (a page printed for a patient, ?for=, is the care team's)."""
    return (
        request.method in ("GET", "HEAD")
        and not request.META.get("QUERY_STRING")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def compress(body: bytes) -> dict[str, bytes]:
    bodies = {"identity": body, "gzip": gzip.compress(body, compresslevel=9, mtime=0)}
    if brotli is not None:
        bodies["br"] = brotli.compress(body, mode=brotli.MODE_TEXT, quality=11)
    return bodies


def keep(response: HttpResponse, stamp: tuple[int, int]) -> Page:
    body = response.content
    return Page(
        etag=hashlib.sha256(body).hexdigest()[:24],
        last_modified=max(release_time(), stamp[0] / 1e9),
        headers=tuple((name, response[name]) for name in KEPT_HEADERS if response.has_header(name)),
        bodies=compress(body),
    )


def chosen_encoding(request: HttpRequest) -> str:
    """The encoding a kept page is sent in: Brotli, gzip or none, as the reader accepts
    (RFC 9110 section 12.5.3): ``q=0`` refuses a coding, ``*`` stands for those not named, and
    a weight that is not a number refuses its coding rather than guess."""
    weights: dict[str, float] = {}
    for part in request.META.get("HTTP_ACCEPT_ENCODING", "")[:1000].split(","):
        coding, _semicolon, parameters = part.partition(";")
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _equals, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
                if not 0.0 <= weight <= 1.0:  # nan fails both
                    weight = 0.0
        weights[coding.strip().lower()] = weight
    anything = weights.get("*", 0.0)
    best = max(("br", "gzip") if brotli is not None else ("gzip",), key=lambda c: weights.get(c, anything))
    return best if weights.get(best, anything) > 0 else "identity"


def respond(request: HttpRequest, page: Page) -> HttpResponse:
    encoding = chosen_encoding(request)
    etag = page.etag_of(encoding)
    body = page.bodies[encoding]
    # For HEAD too: the server drops the body, the length stays right.
    response = HttpResponse(body)
    for name, value in page.headers:
        response[name] = value
    if encoding != "identity":
        response["Content-Encoding"] = encoding
    response["ETag"] = etag
    response["Last-Modified"] = page.last_modified_header
    response["Vary"] = "Accept-Encoding"  # the view's page varies by nothing else
    response.hcc_public_page = True  # type: ignore[attr-defined]  # see PublicPageMiddleware
    if "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers:
        return response
    return get_conditional_response(
        request, etag=etag, last_modified=int(page.last_modified), response=response
    )


def public_page(view: View) -> View:
    """Serve the view's page from memory to anonymous readers (see the module's docstring)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        global _stamp_seen
        if not may_serve_from_memory(request):
            return view(request, *args, **kwargs)
        stamp = current_stamp()
        if stamp != _stamp_seen:
            _pages.clear()
            _stamp_seen = stamp
        # The host was checked against ALLOWED_HOSTS by CommonMiddleware already.
        key = (request.scheme, request.META.get("HTTP_HOST", ""), request.path, translation.get_language())
        page = _pages.get(key)
        if page is None:
            response = view(request, *args, **kwargs)
            if (
                response.status_code != 200
                or response.cookies
                or response.streaming
                or "public" not in response.get("Cache-Control", "")
            ):
                return response
            page = remember(_pages, key, keep(response, stamp))
        return respond(request, page)

    return wrapped


@dataclass(frozen=True)
class Sent:
    """A kept page as the middleware inside PublicPageMiddleware sent it: status 200."""

    stamp: tuple[int, int]
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def response(self) -> HttpResponse:
        response = HttpResponse(self.body)
        for name, value in self.headers:
            response[name] = value
        return response


# By (scheme, host, path, encoding).
_sent: dict[tuple[str, str, str, str], Sent] = {}


class PublicPageMiddleware:
    """Sends a kept guide page to the next anonymous reader before the middleware inside runs.

    Such a page is the same bytes and headers for every reader who may have it
    (``may_serve_from_memory``): session, authentication, language, CSRF and the rest would
    only work out again what they did for the first one (about 0.1 ms a request, a fifth of
    the page). So the whole answer is kept here as it left them, for each encoding, and
    dropped with the guide stamp. It sits inside SecurityMiddleware and the CSP middleware,
    which add their headers to every answer, and outside all the others. A request with
    If-None-Match or If-Modified-Since goes the whole way, to be answered 304."""

    def __init__(self, get_response: View) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method != "GET"
            or not may_serve_from_memory(request)
            or "HTTP_IF_NONE_MATCH" in request.META
            or "HTTP_IF_MODIFIED_SINCE" in request.META
        ):
            return self.get_response(request)
        key = (request.scheme, request.META.get("HTTP_HOST", ""), request.path, chosen_encoding(request))
        stamp = current_stamp()
        sent = _sent.get(key)
        if sent is not None and sent.stamp == stamp:
            return sent.response()
        response = self.get_response(request)
        if (
            getattr(response, "hcc_public_page", False)
            and response.status_code == 200
            and not response.cookies
            and not response.streaming
        ):
            remember(_sent, key, Sent(stamp, tuple(response.items()), response.content))
        return response


def forget_all() -> None:
    """Drop every page this process kept (tests)."""
    global _stamp_seen
    _pages.clear()
    _sent.clear()
    _stamp_seen = None
