"""A static copy of the public guide that works from any static host or sub-folder.

Every page is rendered through Django's test Client (so it is exactly what the
site serves to a visitor who is not signed in), then each link is rewritten to a
relative one: ``/en/guide/dressing-care/`` becomes ``en/guide/dressing-care/index.html``
seen from the page's own folder. Static files the pages use are copied; links to
pages that only the live site has (signing in) point at SITE_URL or --site-url.
"""

import hashlib
import html
import posixpath
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import translation

from education.catalog import load_catalog
from portal.middleware import LANGUAGE_PARAMETER
from portal.pwa import PRECACHE_STATIC, manifest_context, service_worker_context

TEST_HOST = "testserver"  # the host name Django's test Client sends
LINK = re.compile(r"""(\s(?:href|src|data-sw|data-page|data-scope|data-url)=")([^"]*)(")""")
# A static host cannot answer a form (the footer's language form, signing out).
FORM = re.compile(r"<form\b.*?</form>\s*", re.S | re.I)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")


class ExportError(Exception):
    pass


def manifest_file(language: str) -> str:
    """The manifest of one language, beside the pages' folders: the site's pages ask for
    /manifest.webmanifest?lang=<code> (base.html)."""
    return f"manifest.{language}.webmanifest"


def page_files() -> dict[str, str]:
    """Every public guide URL, mapped to the file that holds it in the export."""
    paths = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            paths.append(reverse("education:module-list"))
            paths += [reverse("education:module-detail", args=[m.slug]) for m in load_catalog().modules]
            paths.append(reverse("education:offline"))
    return {path: path.strip("/") + "/index.html" for path in paths}


class _Site:
    def __init__(self, outdir: Path, site_url: str) -> None:
        self.outdir = outdir
        self.site_url = site_url.rstrip("/")
        self.pages = page_files()
        self.files = {
            **self.pages,
            "/": "index.html",
            "/manifest.webmanifest": "manifest.webmanifest",
            "/sw.js": "sw.js",
        }
        self.static: set[str] = set()
        self.written: list[Path] = []

    def relink(self, url: str, from_file: str) -> str:
        parts = urlsplit(url)
        if not url or url.startswith("#") or (parts.scheme or parts.netloc) and parts.netloc != TEST_HOST:
            return url  # a fragment, another site, tel: or mailto:
        if not parts.path.startswith("/"):
            return url
        language = parse_qs(parts.query).get(LANGUAGE_PARAMETER, [""])[0]
        if parts.path == reverse("manifest") and language in dict(settings.LANGUAGES):
            target = manifest_file(language)  # a static host cannot answer ?lang=
        elif parts.path in self.files:
            target = self.files[parts.path]
        elif parts.path.startswith(settings.STATIC_URL):
            name = parts.path.removeprefix(settings.STATIC_URL)
            self.static.add(name)
            target = "static/" + name
        else:
            # Signing in and the rest of the portal live only on the site itself.
            return self.site_url + parts.path + (f"?{parts.query}" if parts.query else "")
        relative = posixpath.relpath(target, posixpath.dirname(from_file) or ".")
        return relative + (f"#{parts.fragment}" if parts.fragment else "")

    def rewrite(self, page: str, from_file: str) -> str:
        def replace(match: re.Match[str]) -> str:
            url = self.relink(html.unescape(match.group(2)), from_file)
            return match.group(1) + html.escape(url) + match.group(3)

        return LINK.sub(replace, FORM.sub("", page))

    def static_url(self, name: str) -> str:
        """A static file's path in the export, hashed as the pages name it in production."""
        stored = staticfiles_storage.url(name).removeprefix(settings.STATIC_URL)
        self.static.add(stored)
        return "static/" + stored

    def write(self, name: str, text: str) -> None:
        path = self.outdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.written.append(path)

    def copy_static(self) -> None:
        done: set[str] = set()
        while pending := self.static - done:
            name = pending.pop()
            done.add(name)
            source = finders.find(name)
            if source is None and staticfiles_storage.exists(name):
                source = staticfiles_storage.path(name)
            if source is None:
                raise ExportError(f"The pages use the static file {name!r}, which does not exist.")
            target = self.outdir / "static" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            self.written.append(target)
            if name.endswith(".css"):
                for url in CSS_URL.findall(Path(source).read_text(encoding="utf-8")):
                    if not urlsplit(url).scheme and not url.startswith(("/", "#")):
                        self.static.add(posixpath.normpath(posixpath.join(posixpath.dirname(name), url)))


def export_site(outdir: Path, *, site_url: str | None = None) -> list[str]:
    """Write the guide in every language to ``outdir``; return the files written.

    ``site_url`` (default SITE_URL) is where links to the live portal point. Other
    files already in ``outdir`` are left alone."""
    site = _Site(outdir, site_url or settings.SITE_URL)
    client = Client()
    # The Client's host name is not one the production settings allow.
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, TEST_HOST]):
        for path, name in site.pages.items():
            response = client.get(path, secure=True)
            if response.status_code != 200:
                raise ExportError(f"{path} answered {response.status_code}, not 200.")
            site.write(name, site.rewrite(response.content.decode(), name))

    languages, offline_pages = [], {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            languages.append(
                {
                    "code": code,
                    "info": translation.get_language_info(code),
                    "href": reverse("education:module-list"),
                }
            )
            offline_pages[code] = site.files[reverse("education:offline")]

    manifest = manifest_context(start_url="./", scope="./", static_url=site.static_url)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            site.write(manifest_file(code), render_to_string("manifest.webmanifest", manifest))
    with translation.override(settings.LANGUAGE_CODE):
        root = render_to_string("education/export_index.html", {"languages": languages})
        site.write("index.html", site.rewrite(root, "index.html"))
        site.write("manifest.webmanifest", render_to_string("manifest.webmanifest", manifest))
        for name in PRECACHE_STATIC:
            site.static_url(name)
        site.copy_static()
        # The worker's version changes whenever any exported file does.
        digest = hashlib.sha256()
        for path in sorted(site.written):
            digest.update(path.read_bytes())
        worker = service_worker_context(
            static_url=site.static_url,
            offline_pages=offline_pages,
            static_prefix="static/",
            extra=digest.hexdigest(),
            require_public=False,
        )
        site.write("sw.js", render_to_string("sw.js", worker))
    return sorted(str(p.relative_to(outdir)) for p in site.written)
