"""Which language and time zone a reader gets."""

import re
from html import unescape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from portal.middleware import LocaleMiddleware
from tests.helpers import log_in


def test_signed_in_user_reads_in_their_saved_language(client, patient):
    patient.user.language = "de"
    patient.user.save(update_fields=["language"])
    log_in(client, patient.user)
    html = client.get(reverse("patient-detail", args=[patient.code]), headers={"accept-language": "fr"})
    assert '<html lang="de"' in html.content.decode()


def test_first_visit_follows_the_browser(client, db):
    html = client.get(reverse("account_login"), headers={"accept-language": "ar,en;q=0.5"}).content.decode()
    assert '<html lang="ar" dir="rtl">' in html


def test_signed_in_user_reads_times_in_their_own_zone(patient):
    patient.user.time_zone = "Asia/Kolkata"
    seen = {}

    def view(request):
        seen["zone"] = timezone.get_current_timezone_name()
        seen["language"] = translation.get_language()
        return HttpResponse()

    request = RequestFactory().get("/")
    request.session = {}
    request.user = patient.user
    LocaleMiddleware(view)(request)
    assert seen == {"zone": "Asia/Kolkata", "language": "en"}

    request.user = AnonymousUser()
    LocaleMiddleware(view)(request)
    assert seen["zone"] == "UTC"


def test_switching_language_is_kept_on_the_account(client, patient):
    log_in(client, patient.user)
    response = client.post(reverse("language"), {"language": "ar", "next": reverse("home")})
    assert response.status_code == 302
    patient.refresh_from_db()
    patient.user.refresh_from_db()
    assert (patient.user.language, patient.language) == ("ar", "ar")
    html = client.get(reverse("patient-detail", args=[patient.code])).content.decode()
    assert '<html lang="ar" dir="rtl">' in html  # the page's, not the language menu's Arabic button


def test_switching_language_on_a_guide_page_moves_to_that_language(client, db):
    response = client.post(reverse("language"), {"language": "es", "next": "/en/guide/"})
    assert response["Location"] == "/es/guide/"
    assert client.cookies["django_language"].value == "es"


def test_switcher_names_each_language_in_itself(client, db):
    html = client.get(reverse("account_login")).content.decode()
    for name in ("Español", "Français", "Deutsch", "Italiano", "Português Brasileiro", "العربيّة", "简体中文"):
        assert name in html


def test_unknown_language_or_foreign_redirect_changes_nothing(client, patient):
    log_in(client, patient.user)
    response = client.post(reverse("language"), {"language": "xx", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    patient.user.refresh_from_db()
    assert patient.user.language == "en"


@pytest.mark.parametrize("next_url", ["foo", "account-delete", "patient-detail", "%0d%0aSet-Cookie:x=1"])
def test_a_next_that_is_not_a_path_goes_to_the_start_page(client, patient, next_url):
    """A word is not a page: it is never looked up as a URL name (account-delete once
    redirected to /account/delete/, an unknown word was a 500)."""
    response = client.post(reverse("language"), {"language": "es", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/"
    log_in(client, patient.user)
    response = client.post(reverse("language"), {"language": "xx", "next": next_url})
    assert response["Location"] == "/"
    patient.user.refresh_from_db()
    assert patient.user.language == "en"


def test_a_next_with_a_line_break_stays_one_header(client, db):
    response = client.post(reverse("language"), {"language": "es", "next": "/en/guide/\r\nSet-Cookie: x=1"})
    assert response.status_code == 302
    assert "\n" not in response["Location"] and "x" not in response.cookies


@pytest.mark.parametrize("url_name", ["account_logout", "account-sign-out-everywhere"])
def test_signing_out_keeps_the_language_the_person_was_reading(client, patient, url_name):
    """A walk found an Arabic reader signed out onto an English page whose only Arabic line was
    "You have signed out": the next pages follow the browser unless the language is kept."""
    patient.user.language = "ar"
    patient.user.save(update_fields=["language"])
    log_in(client, patient.user)
    html = client.post(reverse(url_name), headers={"accept-language": "en"}, follow=True).content.decode()
    assert '<html lang="ar" dir="rtl">' in html  # the page's, not the language menu's Arabic button


def test_a_visitors_way_back_to_the_start_keeps_their_language(client, db):
    """A walk found the app's name at the top of an Arabic guide page leading a visitor whose
    browser speaks English to the English start page: like "Sign in", it carries the language."""
    page = client.get("/ar/guide/", headers={"accept-language": "en"}).content.decode()
    href = re.search(r'<a class="brand" href="([^"]*)">', page).group(1)
    start = client.get(unescape(href), headers={"accept-language": "en"}).content.decode()
    assert '<html lang="ar" dir="rtl">' in start
