"""A shared phone shows nothing private offline: the service worker keeps only public pages,
and signing out clears what the browser saved (issue 8, point 5). Real Chromium at 360 px."""

import pytest
from django.urls import reverse
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from tests.browser import axe_violations, describe, horizontal_overflow, sign_in
from tests.helpers import log_in


@pytest.mark.django_db
def test_only_public_pages_are_marked_public(client, caregiver):
    assert "public" in client.get("/en/guide/dressing-care/")["Cache-Control"]
    assert "public" in client.get("/en/offline/")["Cache-Control"]
    log_in(client, caregiver)
    for url in ("/en/guide/dressing-care/", reverse("home"), reverse("reminder-list")):
        control = client.get(url)["Cache-Control"]
        assert "private" in control and "public" not in control, url


@pytest.mark.django_db
def test_signing_out_clears_the_sites_saved_data(client, caregiver):
    log_in(client, caregiver)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert '"cache"' in response["Clear-Site-Data"]
    assert '"storage"' in response["Clear-Site-Data"]


def controlled(page: Page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller !== null")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_shared_phone_shows_nothing_private_offline(
    live_server: LiveServer, phone_page: Page, patient, caregiver
):
    page = phone_page
    sign_in(page, live_server.url, caregiver)
    page.goto(live_server.url + "/en/guide/dressing-care/")
    controlled(page)
    page.goto(live_server.url + "/")
    assert patient.name in page.content()
    page.goto(live_server.url + "/en/guide/dressing-care/")
    page.wait_for_timeout(500)  # the worker fetches the public copy in the background

    # Offline while signed in: the guide opens, but as the public page (no caregiver's menu).
    page.context.set_offline(True)
    page.reload()
    assert page.locator("h1").count() == 1
    assert page.get_by_role("button", name="Sign out").count() == 0
    assert page.get_by_role("link", name="Sign in").count() == 1
    # A private page was never kept.
    try:
        page.goto(live_server.url + "/")
        assert patient.name not in page.content()
    except PlaywrightError:
        pass  # no page at all is fine too
    page.context.set_offline(False)

    # Sign out, as the caregiver would, then go offline: nothing of theirs is shown.
    page.goto(live_server.url + "/en/guide/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: "/accounts/login/" in url or url.endswith("/"))
    # What the worker had saved is gone (the sign-in page may install a fresh, empty one).
    saved = page.evaluate(
        "caches.keys().then(k => Promise.all(k.map(n => caches.open(n).then(c => c.keys())))).then(l => l.flat().map(r => r.url))"
    )
    assert not any("guide/dressing-care" in url for url in saved), saved
    page.context.set_offline(True)
    for url in ("/", "/en/guide/dressing-care/", reverse("patient-detail", args=[patient.code])):
        try:
            page.goto(live_server.url + url)
        except PlaywrightError:
            continue
        text = page.content()
        assert patient.name not in text, url
        assert "Sign out" not in text, url


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_sign_out_everywhere_page_on_a_phone(live_server: LiveServer, phone_page: Page, caregiver):
    sign_in(phone_page, live_server.url, caregiver)
    phone_page.goto(live_server.url + reverse("account-sign-out-everywhere"))
    violations = axe_violations(phone_page)
    assert violations == [], describe(violations)
    assert horizontal_overflow(phone_page) <= 0
    phone_page.get_by_role("button", name="Sign out on every device").click()
    phone_page.wait_for_url(lambda url: "/accounts/login/" in url)
    assert "signed out on every device" in phone_page.content()
