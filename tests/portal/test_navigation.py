"""Finding one's way (issue 11, point 7): a welcome for visitors with the guide first, one
language menu that needs no cookie on public pages and carries the language into signing in
and invitations, and the number of unread reminders on the Reminders link."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from portal import services
from portal.queries import count_unread_reminders_for
from portal.reminders import replan_patient, send_due_reminders
from tests.helpers import log_in

pytestmark = pytest.mark.django_db

PLANNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PUBLIC_PAGES = [
    "/",
    "/?lang=ar",
    "/en/guide/",
    "/ar/guide/",
    "/en/guide/dressing-care/",
    "/zh-hans/guide/when-to-call/",
    "/en/offline/",
    "/ar/offline/",
]


def test_a_visitor_is_welcomed_with_the_guide_first_and_signing_in_second(client):
    page = client.get("/").text
    main = page[page.index("<main") :]
    guide = main.index('href="/en/guide/"')
    sign_in = main.index('href="/accounts/login/?lang=en"')
    assert guide < sign_in
    assert "<h1>Home Care Companion</h1>" in page


def test_someone_signed_in_goes_to_their_own_page(client, patient):
    log_in(client, patient.user)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("care-home")


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_anonymous_public_pages_set_no_cookie_and_do_not_vary_by_cookie(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert not response.cookies, response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert "public" in response["Cache-Control"]
    assert "csrfmiddlewaretoken" not in response.text


def test_the_language_menu_on_the_guide_links_to_the_same_page_in_each_language(client):
    page = client.get("/en/guide/dressing-care/").text
    menu = re.search(r'<details class="language-menu">.*?</details>', page, re.S).group(0)
    hrefs = re.findall(r'<a href="([^"]+)" lang="([^"]+)"', menu)
    assert hrefs == [(f"/{code}/guide/dressing-care/", code) for code, _name in settings.LANGUAGES]
    assert "<form" not in menu
    assert "Language: English" in menu  # what a screen reader hears on the one-line control


def test_the_language_menu_on_pages_without_a_prefix_adds_lang(client):
    page = client.get("/accounts/login/?next=/account/").text
    menu = re.search(r'<details class="language-menu">.*?</details>', page, re.S).group(0)
    assert 'href="/accounts/login/?next=%2Faccount%2F&amp;lang=es"' in menu


def test_the_guides_sign_in_link_carries_the_language_and_the_next_steps_keep_it(client):
    guide = client.get("/es/guide/").text
    assert 'href="/accounts/login/?lang=es"' in guide
    response = client.get("/accounts/login/?lang=es", headers={"accept-language": "en"})
    assert '<html lang="es"' in response.text
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    # The code page that follows (no ?lang=) is in Spanish too.
    code_page = client.get(reverse("account_request_login_code"), headers={"accept-language": "en"}).text
    assert '<html lang="es"' in code_page
    # A page whose language came from the cookie says so to caches.
    assert "Cookie" in client.get("/", headers={"accept-language": "en"})["Vary"]


def test_an_unknown_lang_is_ignored(client):
    response = client.get("/accounts/login/?lang=xx", headers={"accept-language": "fr"})
    assert '<html lang="fr"' in response.text
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_a_signed_in_person_saves_their_language_from_the_menu(client, patient):
    log_in(client, patient.user)
    page = client.get(reverse("reminder-list") + "?page=1").text
    menu = re.search(r'<details class="language-menu">.*?</details>', page, re.S).group(0)
    assert f'action="{reverse("language")}"' in menu
    assert '<input type="hidden" name="next" value="/reminders/?page=1">' in menu
    response = client.post(reverse("language"), {"language": "ar", "next": "/reminders/?page=1"})
    assert response["Location"] == "/reminders/?page=1"
    patient.user.refresh_from_db()
    assert patient.user.language == "ar"


def test_on_the_guide_a_signed_in_person_reads_another_language_without_saving_it(client, clinician):
    log_in(client, clinician)
    page = client.get("/en/guide/when-to-call/").text
    menu = re.search(r'<details class="language-menu">.*?</details>', page, re.S).group(0)
    assert 'href="/fr/guide/when-to-call/"' in menu and "<form" not in menu


# --- The unread count --------------------------------------------------------------------------


def run_worker_hourly(until: datetime) -> None:
    """The worker's passes from 9 March, one an hour, as a running worker would."""
    at = datetime(2026, 3, 9, 0, 30, tzinfo=UTC)
    while at <= until:
        send_due_reminders(now=at)
        at += timedelta(hours=1)


@pytest.fixture
def inbox(patient, make_visit):
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    run_worker_hourly(datetime(2026, 3, 11, 12, 0, tzinfo=UTC))
    return patient


def test_reminders_shows_how_many_are_unread_in_words(client, inbox):
    user = inbox.user
    # Worked out from the rules: the appointment the day before (9 March), on the injection
    # day a dressing check and what to expect (10 March), and both again on 11 March.
    assert count_unread_reminders_for(user) == 5
    log_in(client, user)
    page = client.get(reverse("account")).text
    link = re.search(r'<a href="/reminders/">.*?</a>', page).group(0)
    assert '<span class="count" aria-hidden="true">5</span>' in link
    assert '<span class="visually-hidden">, 5 unread</span>' in link
    first = inbox.reminders.filter(recipient=user).order_by("due_at").first()
    client.get(reverse("reminder-detail", args=[first.code]))
    assert count_unread_reminders_for(user) == 4


def test_the_count_is_one_query_and_only_for_patients_the_reader_may_still_read(
    inbox, link_caregiver, django_assert_num_queries
):
    link = link_caregiver(inbox, "helper@example.test")
    replan_patient(inbox, now=datetime(2026, 3, 11, 12, 0, tzinfo=UTC))
    send_due_reminders(now=datetime(2026, 3, 12, 9, 30, tzinfo=UTC))
    with django_assert_num_queries(1):
        unread = count_unread_reminders_for(link.caregiver)
    assert unread > 0
    services.revoke_caregiver(link=link, by=inbox.user)
    assert count_unread_reminders_for(link.caregiver) == 0


def test_no_count_when_all_are_read(client, caregiver):
    log_in(client, caregiver)
    page = client.get(reverse("account")).text
    assert 'class="count"' not in page
