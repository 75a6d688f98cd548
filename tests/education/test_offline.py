"""The PWA pieces the guide needs offline: manifest, service worker, offline page."""

import json
import re
from html import unescape

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from tests.helpers import log_in


def test_manifest_names_the_app_and_its_icons(client: Client) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "Home Care Companion"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/", "/", "standalone")
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert sizes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix(settings.STATIC_URL)), icon["src"]


def test_manifest_is_in_the_readers_language(client: Client) -> None:
    manifest = json.loads(client.get("/manifest.webmanifest", headers={"accept-language": "ar"}).content)
    assert (manifest["lang"], manifest["dir"]) == ("ar", "rtl")


def test_service_worker_is_served_from_the_root_uncached(client: Client) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    config = json.loads(re.search(r"const CONFIG = (\{.*?\});\n", body).group(1))
    assert config["offlinePages"]["en"] == "en/offline/"
    assert config["offlinePages"]["ar"] == "ar/offline/"
    assert config["staticPrefix"] == "static/"
    assert "static/css/site.css" in config["precache"]
    for path in config["precache"]:
        if path.startswith("static/"):
            assert finders.find(path.removeprefix("static/")), path
        else:
            assert client.get("/" + path).status_code == 200, path


def test_offline_page_in_every_language(client: Client) -> None:
    for code, _name in settings.LANGUAGES:
        response = client.get(f"/{code}/offline/")
        assert response.status_code == 200
        assert f'<html lang="{code}"' in response.content.decode()


def test_every_page_links_the_manifest_and_registers_the_worker(client: Client) -> None:
    page = client.get("/en/guide/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest?lang=en">' in page
    assert '<script src="/static/js/sw-register.js" data-sw="/sw.js" ' in page


def test_the_manifest_a_page_links_is_in_that_pages_language(client: Client, patient) -> None:
    """A walk found the app named "Home Care Companion", left to right, on an Arabic phone
    page: a browser fetches the manifest without cookies, in the browser's own language,
    so the page names its language in the manifest's address."""
    patient.user.language = "ar"
    patient.user.save(update_fields=["language"])
    signed_in = Client()
    log_in(signed_in, patient.user)
    for browser, path, code in [
        (client, "/ar/guide/", "ar"),
        (signed_in, "/care/", "ar"),
        (client, "/de/guide/", "de"),
    ]:
        page = browser.get(path, headers={"accept-language": "en"}).content.decode()
        href = unescape(re.search(r'<link rel="manifest" href="([^"]*)">', page).group(1))
        response = Client().get(href, headers={"accept-language": "en"})  # no cookie, as browsers fetch it
        manifest = json.loads(response.content)
        assert manifest["lang"] == code, path
        assert manifest["dir"] == ("rtl" if code == "ar" else "ltr"), path
        assert "Set-Cookie" not in response.headers, path
