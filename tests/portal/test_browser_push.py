"""Web push in a real Chromium: the set-up button, and the service worker showing a
pushed reminder. (Chromium cannot subscribe to a push service here: no network, and
no push in incognito contexts; the server half is tested in test_reminder_channels.)"""

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from tests.browser import deliver_push, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in_settings(live_server: LiveServer, page: Page, user) -> None:
    sign_in(page, live_server.url, user)
    page.goto(live_server.url + "/account/devices/")


def test_notifications_button_explains_a_refusal(live_server: LiveServer, phone_page: Page, patient) -> None:
    signed_in_settings(live_server, phone_page, patient.user)
    button = phone_page.get_by_role("button", name="Turn on notifications on this device")
    assert button.is_visible()
    button.click()  # headless Chromium refuses the permission prompt
    phone_page.wait_for_function("!document.querySelector('#push-setup button')")
    assert "blocked" in phone_page.locator("#push-setup").inner_text()


def test_notifications_button_says_so_when_no_push_service_answers(
    live_server: LiveServer, phone_page: Page, patient
) -> None:
    """A walk found the button greyed out for good where subscribe() never answers."""
    phone_page.context.grant_permissions(["notifications"], origin=live_server.url)
    phone_page.add_init_script("PushManager.prototype.subscribe = () => new Promise(() => {});")
    phone_page.clock.install()
    signed_in_settings(live_server, phone_page, patient.user)
    phone_page.get_by_role("button", name="Turn on notifications on this device").click()
    phone_page.clock.run_for(21_000)
    phone_page.wait_for_function("!document.querySelector('#push-setup button')")
    assert "could not be turned on" in phone_page.locator("#push-setup").inner_text()


def test_service_worker_shows_a_pushed_reminder(live_server: LiveServer, phone_page: Page, patient) -> None:
    context = phone_page.context
    context.grant_permissions(["notifications"], origin=live_server.url)
    signed_in_settings(live_server, phone_page, patient.user)
    phone_page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    payload = {
        "title": "Home Care Companion",
        "body": "You have a new reminder.",
        "url": "/reminders/",
        "tag": "r1",
    }
    deliver_push(phone_page, live_server.url, payload)
    shown = phone_page.wait_for_function(
        "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(n => n.length ? n.map(x => x.body) : null)"
    ).json_value()
    assert shown == ["You have a new reminder."]
