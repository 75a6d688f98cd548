"""The site's URLs plus one bench-only view: a bare Django view that returns stored bytes.

bench/pages.py saves each measured page's body under BENCH_BARE_DIR and asks wrk for it here,
so a page's requests per second can be compared with what Django itself costs for the same
bytes through the same middleware, in the same run."""

import os
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from portal.urls import urlpatterns as site_urlpatterns

BARE_DIR = Path(os.environ.get("BENCH_BARE_DIR", Path(__file__).resolve().parent / "var" / "bare"))
_bodies: dict[str, bytes] = {}


def bare(request: HttpRequest, name: str) -> HttpResponse:
    body = _bodies.get(name)
    if body is None:
        # The slug converter keeps the name inside BARE_DIR.
        file = BARE_DIR / name
        if not file.is_file():
            raise Http404
        body = _bodies[name] = file.read_bytes()
    kind = "application/json" if name.endswith("-json") else "text/html; charset=utf-8"
    return HttpResponse(body, content_type=kind)


urlpatterns = [path("__bench__/bare/<slug:name>", bare), *site_urlpatterns]
