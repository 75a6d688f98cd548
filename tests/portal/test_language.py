"""Which language and time zone a reader gets."""

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from portal.middleware import LocaleMiddleware


def test_signed_in_user_reads_in_their_saved_language(client, patient):
    patient.user.language = "de"
    patient.user.save(update_fields=["language"])
    client.force_login(patient.user)
    html = client.get(reverse("patient-detail", args=[patient.code]), headers={"accept-language": "fr"})
    assert 'lang="de"' in html.content.decode()


def test_first_visit_follows_the_browser(client, db):
    html = client.get(reverse("account_login"), headers={"accept-language": "ar,en;q=0.5"}).content.decode()
    assert 'lang="ar"' in html
    assert 'dir="rtl"' in html


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
