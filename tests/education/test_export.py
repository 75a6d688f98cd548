"""export_site writes a guide that a plain static file server can host in a sub-folder."""

import json
import re
import urllib.request
from html import unescape
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from django.conf import settings

from education.catalog import load_catalog
from tests.education.sections import counted

# The export reads review states from the database: without a test marked for it, pytest-django
# sets up no test database when this file runs alone.
pytestmark = pytest.mark.django_db

LINK = re.compile(r"""\s(?:href|src|data-sw)="([^"]*)\"""")
ID = re.compile(r"""\sid="([^"]*)\"""")


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
            return response.status, response.read(), response.headers.get_content_type()
    except HTTPError as exc:
        return exc.code, b"", ""


def test_export_has_every_page_in_every_language(exported: Path) -> None:
    site = exported / "site"
    for code, _name in settings.LANGUAGES:
        assert (site / code / "guide" / "index.html").is_file()
        assert (site / code / "offline" / "index.html").is_file()
        for module in load_catalog().modules:
            assert (site / code / "guide" / module.slug / "index.html").is_file()
    for name in ("index.html", "manifest.webmanifest", "sw.js", "static/css/site.css"):
        assert (site / name).is_file()


def test_every_page_and_every_internal_link_resolves_under_a_sub_folder(exported: Path, host: str) -> None:
    pages = sorted((exported / "site").rglob("*.html"))
    seen: set[str] = set()
    for path in pages:
        page_url = urljoin(host, path.relative_to(exported / "site").as_posix())
        status, body, _type = fetch(page_url)
        assert status == 200, page_url
        html = body.decode()
        assert "<form" not in html, f"{page_url} has a form, which a static host cannot answer"
        ids = set(ID.findall(html))
        for raw in LINK.findall(html):
            link = unescape(raw)
            assert not link.startswith("/"), f"{page_url} has a root-relative link {link}"
            url, fragment = urldefrag(urljoin(page_url, link))
            if urlsplit(url).netloc != urlsplit(host).netloc:
                continue  # the live site (signing in) or a cited source
            if url == page_url and fragment:
                assert fragment in ids, f"{page_url} links to a missing #{fragment}"
                continue
            assert url.startswith(host), f"{page_url} links outside the export: {link}"
            if url not in seen:
                seen.add(url)
                assert fetch(url)[0] == 200, f"{page_url} links to {link}, which is missing"
    assert any(u.endswith("/static/css/site.css") for u in seen)
    assert any(u.endswith("/sw.js") for u in seen)


def test_exported_manifest_and_worker_are_relative(exported: Path, host: str) -> None:
    manifest = json.loads((exported / "site" / "manifest.webmanifest").read_text())
    assert (manifest["start_url"], manifest["scope"]) == ("./", "./")
    for icon in manifest["icons"]:
        assert fetch(urljoin(host + "manifest.webmanifest", icon["src"]))[0] == 200
    worker = (exported / "site" / "sw.js").read_text()
    config = json.loads(re.search(r"const CONFIG = (\{.*?\});\n", worker).group(1))
    assert config["offlinePages"]["en"] == "en/offline/index.html"
    assert config["readerApi"] is None  # no one signs in to a static copy
    for path in config["precache"]:
        assert not path.startswith("/")
        assert fetch(urljoin(host, path))[0] == 200, path


def test_exported_pages_are_what_a_visitor_sees(exported: Path) -> None:
    page = (exported / "site" / "en" / "guide" / "when-to-call" / "index.html").read_text()
    assert "Call the phone number your care team gave you." in page
    assert 'href="../../../index.html"' in page  # the brand goes to the language list
    # Signing in is on the live site, in the language of the page.
    assert 'href="https://care.example.org/accounts/login/?lang=en"' in page
    root = (exported / "site" / "index.html").read_text()
    assert 'href="ar/guide/index.html" lang="ar"' in root


def test_exported_pages_show_one_sources_list_per_section(exported: Path) -> None:
    for language in ("en", "ar"):
        page = (exported / "site" / language / "guide" / "dressing-care" / "index.html").read_text()
        module = load_catalog().get("dressing-care")
        sections = counted(page).sections
        for section in module.documents[language].sections:
            assert len(sections[section.id]["summaries"]) == 1
        assert '<section id="sources" class="sources print-only"' in page
        assert "<sup" not in page
    page = (exported / "site" / "en" / "guide" / "when-to-call" / "index.html").read_text()
    assert page.count("For emergency care, call your local emergency number.") == 2


def test_each_language_links_a_manifest_in_that_language(exported: Path, host: str) -> None:
    """A walk found every exported page, Arabic too, installing an English, left-to-right app."""
    for code, _name in settings.LANGUAGES:
        page_url = host + f"{code}/guide/index.html"
        html = fetch(page_url)[1].decode()
        manifest_url = urljoin(
            page_url, unescape(re.search(r'<link rel="manifest" href="([^"]*)">', html).group(1))
        )
        status, body, _type = fetch(manifest_url)
        assert status == 200, manifest_url
        manifest = json.loads(body)
        assert (manifest["lang"], manifest["dir"]) == (code, "rtl" if code == "ar" else "ltr")
        # Its start and scope are still the export's folder, and its icons are there.
        assert urljoin(manifest_url, manifest["start_url"]) == host
        assert urljoin(manifest_url, manifest["scope"]) == host
        for icon in manifest["icons"]:
            assert fetch(urljoin(manifest_url, icon["src"]))[0] == 200
