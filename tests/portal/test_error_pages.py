"""The pages a person meets when something is wrong with a request, not a missing page: a
form sent with an out-of-date token (403), a request the app cannot read (400), a server
fault (500). Each in the reader's language and direction, in words a patient understands:
Django's own pages are English only and name CSRF and DEBUG."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from portal.models import DressingLogEntry
from tests.helpers import log_in

pytestmark = pytest.mark.django_db

TECHNICAL = ("CSRF", "DEBUG", "Forbidden", "Referer", "Bad Request", "Server Error")


@pytest.fixture
def strict(patient):
    """A browser whose form token no longer holds: the test client checks tokens like a
    browser only with enforce_csrf_checks."""
    client = Client(enforce_csrf_checks=True)
    log_in(client, patient.user)
    return client


def test_a_form_with_an_out_of_date_token_is_answered_in_words_and_saves_nothing(strict, patient):
    page = f"http://testserver/care/{patient.code}/dressings/"
    response = strict.post(
        reverse("care-dressings", args=[patient.code]), {"kind": "checked"}, HTTP_REFERER=page
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>The form was not sent</h1>" in html
    assert "nothing was saved" in html
    assert f'<a href="/care/{patient.code}/dressings/">Open the page again</a>' in html
    assert not any(word in html for word in TECHNICAL)
    assert not DressingLogEntry.objects.exists()


def test_the_way_back_is_never_another_site(strict, patient):
    for referer in ("https://evil.example/care/", "javascript:alert(1)", "//evil.example/", ""):
        response = strict.post(
            reverse("care-dressings", args=[patient.code]), {"kind": "checked"}, HTTP_REFERER=referer
        )
        assert response.status_code == 403
        assert '<a href="/">Open the page again</a>' in response.content.decode(), referer


def test_the_out_of_date_form_page_is_in_the_readers_language(strict, patient):
    patient.user.language = "ar"
    patient.user.save(update_fields=["language"])
    response = strict.post(reverse("care-dressings", args=[patient.code]), {"kind": "checked"})
    html = response.content.decode()
    assert response.status_code == 403
    assert '<html lang="ar" dir="rtl">' in html
    assert "The form was not sent" not in html
    assert not any(word in html for word in TECHNICAL)


def test_a_request_the_app_cannot_read_is_answered_in_words(client):
    # A Host header not in ALLOWED_HOSTS is a SuspiciousOperation: Django answers 400.
    response = client.get("/", HTTP_HOST="not-this-site.example")
    assert response.status_code == 400
    html = response.content.decode()
    assert "<h1>Something went wrong</h1>" in html and "Nothing was saved." in html
    assert not any(word in html for word in TECHNICAL)


@pytest.mark.parametrize(("language", "direction"), [("en", "ltr"), ("ar", "rtl"), ("de", "ltr")])
def test_a_server_fault_is_answered_in_the_readers_language_and_says_call_now(rf, language, direction):
    with translation.override(language):
        response = server_error(rf.get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert ("call your care team" in html) == (language == "en")
    assert not any(word in html for word in TECHNICAL)


def test_the_way_to_the_start_keeps_a_visitors_language(client):
    """/ follows the browser's language: a visitor reading Spanish, sent there from a missing
    page with an English browser, landed on the English start page."""
    response = client.get("/es/guide/no-such-guide/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert '<a href="/?lang=es">' in response.content.decode()
    start = client.get("/?lang=es", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="es"' in start.content.decode()
