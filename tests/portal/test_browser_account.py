"""The account, navigation and sign-in pages in a real Chromium at 360 px (issue 11, points 6, 7
and 9): axe-core finds nothing in English and Arabic, nothing scrolls sideways, the language menu
is one line, and the journeys work (sign in with an emailed code in the language of the guide,
the device's time zone offered and confirmed, the calendar address copied)."""

import re
from datetime import UTC, datetime

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from portal import services
from portal.models import Delivery, PushSubscription, Reminder, User
from tests.browser import axe_violations, describe, horizontal_overflow, sign_in
from tests.helpers import deliver_emails, push_keys

# django_db_setup first: a live server started before the test database exists would not share
# the in-memory SQLite connection (tests/portal/test_browser_app.py).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_db_setup"),
]

ANDROID = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Mobile Safari/537.36"


def check(page: Page, label: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{label}\n{describe(violations)}"
    assert horizontal_overflow(page) <= 0, label


def language_menu_is_one_line(page: Page) -> None:
    summary = page.locator(".language-menu > summary")
    height = summary.evaluate("e => e.getBoundingClientRect().height")
    line = summary.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert height < 2 * line + 20, (height, line)  # one line of text in a 44 px tap target


@pytest.fixture
def account_data(patient) -> User:
    """A patient with a device whose last notification failed, a calendar address, and
    settings that deserve a warning."""
    user = patient.user
    p256dh, auth = push_keys()
    device = PushSubscription.objects.create(
        user=user, endpoint="https://push.example.test/1", p256dh=p256dh, auth=auth, user_agent=ANDROID
    )
    services.rotate_calendar_feed(user=user)
    patient.quiet_start, patient.quiet_end = patient.reminder_time, patient.reminder_time
    patient.save(update_fields=["quiet_start", "quiet_end"])
    from portal.models import InjectionVisit, TreatmentCourse

    course = TreatmentCourse.objects.create(patient=patient, started_on=datetime(2026, 3, 10).date())
    visit = InjectionVisit.objects.create(
        course=course,
        patient=patient,
        local_date=course.started_on,
        local_time=datetime(2026, 3, 10, 10).time(),
    )
    reminder = Reminder.objects.create(
        recipient=user,
        patient=patient,
        visit=visit,
        rule="visit_reminder",
        audience="patient",
        day=course.started_on,
        due_at=datetime(2026, 3, 9, 9, tzinfo=UTC),
        next_attempt_at=datetime(2026, 3, 9, 9, tzinfo=UTC),
        status="sent",
    )
    Delivery.objects.create(reminder=reminder, channel="inbox", status="sent")
    Delivery.objects.create(reminder=reminder, channel="push", device=str(device.code), status="failed")
    return user


@pytest.mark.parametrize("language", ["en", "ar"])
def test_visitor_pages_are_accessible_and_the_language_menu_is_one_line(
    live_server: LiveServer, phone_page: Page, language: str
) -> None:
    page = phone_page
    for path in (f"/?lang={language}", f"/{language}/guide/", f"/{language}/offline/"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.lang") == language, path
        language_menu_is_one_line(page)
        check(page, path)
    # Opened, the menu lists every language over the page, still inside the screen.
    page.locator(".language-menu > summary").click()
    assert page.locator(".language-menu li").count() == 8
    check(page, "language menu open")
    page.get_by_role("link", name="Deutsch").click()
    page.wait_for_url(f"{live_server.url}/de/offline/")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_account_pages_are_accessible_in_english_and_arabic(
    live_server: LiveServer, phone_page: Page, account_data, language: str
) -> None:
    account_data.language = language
    account_data.save(update_fields=["language"])
    page = phone_page
    sign_in(page, live_server.url, account_data)
    device = PushSubscription.objects.get(user=account_data)
    for name, args in (
        ("account", []),
        ("account-email", []),
        ("account-settings", []),
        ("account-devices", []),
        ("account-device-remove", [device.code]),
        ("account-calendar", []),
        ("account-delete", []),
        ("reminder-list", []),
    ):
        page.goto(live_server.url + reverse(name, args=args))
        assert page.evaluate("document.documentElement.lang") == language, name
        language_menu_is_one_line(page)
        check(page, name)
    # The warnings, the failing device and the unread count are on those pages.
    page.goto(live_server.url + reverse("account-settings"))
    assert page.locator(".warnings li").count() == 1  # quiet hours of no length
    page.goto(live_server.url + reverse("account-devices"))
    assert page.locator(".devices li.failing").count() == 1
    assert page.locator("nav .count").inner_text() == "1"
    # The delete page's refusal, shown where the box is.
    page.goto(live_server.url + reverse("account-delete"))
    page.locator("button.danger").click()
    expect(page.locator("#understood")).to_have_attribute("aria-invalid", "true")
    check(page, "delete refused")


def test_the_devices_zone_is_offered_and_saved_only_when_confirmed(
    live_server: LiveServer, chromium_browser, caregiver
) -> None:
    from tests.browser import PHONE

    context = chromium_browser.new_context(**PHONE, bypass_csp=True, timezone_id="America/Sao_Paulo")
    page = context.new_page()
    try:
        sign_in(page, live_server.url, caregiver)
        page.goto(live_server.url + reverse("account-settings"))
        offer = page.locator("#zone-detected")
        assert offer.is_visible()
        assert offer.locator(".zone").inner_text() == "America/Sao Paulo"
        check(page, "zone offered")
        offer.get_by_role("button", name="Use this time zone").click()
        assert page.locator("#id_time_zone").input_value() == "America/Sao_Paulo"
        caregiver.refresh_from_db()
        assert caregiver.time_zone == "UTC"  # nothing is applied without saving
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(live_server.url + reverse("account-settings"))
        caregiver.refresh_from_db()
        assert caregiver.time_zone == "America/Sao_Paulo"
        assert page.locator("#zone-detected").is_hidden()  # now the same as the device's
    finally:
        context.close()


def test_the_calendar_address_is_copied_with_one_tap(
    live_server: LiveServer, phone_page: Page, patient
) -> None:
    page = phone_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server.url, patient.user)
    page.goto(live_server.url + reverse("account-calendar"))
    page.get_by_role("button", name="Get a calendar address").click()
    address = page.locator("#calendar-address").inner_text()
    assert re.fullmatch(r"http://testserver/calendar/[\w-]+\.ics", address)
    page.get_by_role("button", name="Copy the address").click()
    page.get_by_text("Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == address
    assert page.get_by_role("link", name="Add to my calendar").get_attribute("href") == address.replace(
        "http://", "webcal://"
    )
    assert page.get_by_role("img", name="QR code of your calendar address").is_visible()


def test_a_reader_of_the_spanish_guide_signs_in_with_an_emailed_code_in_spanish(
    live_server: LiveServer, phone_page: Page, patient
) -> None:
    page = phone_page
    page.goto(live_server.url + "/es/guide/")
    page.get_by_role("link", name="Iniciar sesión").first.click()
    # The guide is in Spanish too: wait for the sign-in page itself.
    page.wait_for_url(re.compile(r"/accounts/login/\?lang=es$"))
    assert page.evaluate("document.documentElement.lang") == "es"
    check(page, "sign-in page")
    page.get_by_role("link", name="Enviarme un código para iniciar sesión").click()
    expect(page.locator("h1")).to_have_text("Recibir un código de acceso")
    check(page, "code request")
    page.get_by_label("Correo electrónico").fill(patient.email)
    page.get_by_role("button", name="Envíenme un código").click()
    page.wait_for_url("**/accounts/login/code/confirm/")
    assert page.locator("h1").inner_text() == "Escriba su código de acceso"
    check(page, "code entry")
    [message] = deliver_emails()
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", message.body, re.M).group(1)
    page.get_by_label("Código").fill(code)
    page.get_by_role("button", name="Iniciar sesión").first.click()
    page.wait_for_url(f"{live_server.url}/care/")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_staff_sign_in_security_pages_are_accessible(
    live_server: LiveServer, phone_page: Page, clinician, language: str
) -> None:
    clinician.language = language
    clinician.save(update_fields=["language"])
    RecoveryCodes.activate(clinician)
    page = phone_page
    sign_in(page, live_server.url, clinician)
    for name in (
        "mfa_index",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_list_webauthn",
        "mfa_add_webauthn",
    ):
        page.goto(live_server.url + reverse(name))
        assert "Two-Factor" not in page.content()
        check(page, name)
    # The second step of signing in, in the app's words.
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("account_login"))
    page.locator("#id_login").fill(clinician.email)
    page.locator("#id_password").fill("correct horse battery")
    page.locator("#id_password").press("Enter")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    check(page, "authenticate")


def test_a_new_staff_member_reads_the_whole_key_and_a_wrong_code_at_the_top(
    live_server: LiveServer, phone_page: Page, clinic, make_staff
) -> None:
    newcomer = make_staff(clinic, "new.nurse@example.test", totp=False)
    page = phone_page
    page.goto(live_server.url + reverse("account_login"))
    page.locator("#id_login").fill(newcomer.email)
    page.locator("#id_password").fill("correct horse battery")
    page.locator("#id_password").press("Enter")
    page.wait_for_url("**/accounts/reauthenticate/**")
    page.locator("#id_password").fill("correct horse battery")
    page.locator("#id_password").press("Enter")
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    check(page, "authenticator set-up")
    # Someone who cannot scan types the key: all of it shows on a 360 px phone (WCAG 1.4.10),
    # not the first 27 of its 32 letters in a box that scrolls.
    key = page.locator("#authenticator_secret")
    assert re.fullmatch(r"[A-Z2-7]{32}", key.inner_text().strip())
    assert key.evaluate("e => e.scrollWidth <= e.clientWidth"), key.bounding_box()
    # A wrong code: the page reloads at its top, the field a screen below on a phone.
    page.locator("#id_code").fill("000000")
    page.locator("#id_code").press("Enter")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Not saved yet. Please fix:")
    box = summary.bounding_box()
    assert box and box["y"] + box["height"] <= 740, box
    expect(summary.get_by_role("link", name="Authenticator code")).to_have_attribute("href", "#id_code")
    check(page, "wrong authenticator code")
