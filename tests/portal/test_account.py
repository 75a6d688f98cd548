"""The person's own account (issue 11, point 6): settings with warnings in plain words, devices
by name with a failing one flagged, the calendar with a QR code, a copy of their data, and
deleting the account."""

import json
import re
import time as time_module
from datetime import UTC, date, datetime, time, timedelta

import pytest
import qrcode
from allauth.account.models import EmailAddress
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from portal import accounts, assignments, services
from portal.accounts import Settings, settings_warnings
from portal.devices import device_name, list_devices
from portal.emails import send_email
from portal.models import (
    AssignmentProgress,
    CalendarFeed,
    CaregiverLink,
    Delivery,
    DressingLogEntry,
    InjectionVisit,
    Patient,
    PushSubscription,
    Reminder,
    TeachBackAnswer,
    User,
)
from portal.reminders import replan_patient, send_due_reminders
from tests.helpers import deliver_emails, log_in, push_keys

pytestmark = pytest.mark.django_db

PLANNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def settings_form(**changes: str) -> dict[str, str]:
    form = {"language": "en", "time_zone": "UTC", "reminder_time": "09:00", "reminders_by_email": "on"}
    form.update(changes)
    return {key: value for key, value in form.items() if value != ""}


# --- Settings ----------------------------------------------------------------------------------


def test_patient_saves_language_zone_time_quiet_hours_channels_and_discretion(client, patient):
    log_in(client, patient.user)
    assert client.get(reverse("account-settings")).status_code == 200
    response = client.post(
        reverse("account-settings"),
        {
            "language": "fr",
            "time_zone": "Europe/Paris",
            "reminder_time": "19:15",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "reminders_by_push": "on",
        },
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    user = User.objects.get(pk=patient.user_id)
    assert (patient.time_zone, patient.reminder_time, patient.quiet_start, patient.quiet_end) == (
        "Europe/Paris",
        time(19, 15),
        time(22),
        time(7),
    )
    assert patient.discreet is False  # the box was not ticked
    assert (user.language, patient.language, user.time_zone) == ("fr", "fr", "Europe/Paris")
    assert (user.reminders_by_email, user.reminders_by_push) == (False, True)
    assert '<html lang="fr"' in client.get(reverse("account-settings")).text


def test_a_caregivers_timing_is_their_own_and_replans_the_patients_reminders(
    client, patient, link_caregiver, make_visit, clock
):
    link = link_caregiver(patient, "helper@example.test")
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient)
    log_in(client, link.caregiver)
    response = client.post(reverse("account-settings"), settings_form(reminder_time="18:30"))
    assert response.status_code == 302
    due = Reminder.objects.filter(recipient=link.caregiver, status="pending").order_by("due_at").first()
    assert due.due_at.astimezone(UTC).time() == time(18, 30)
    assert "discreet" not in client.get(reverse("account-settings")).text


def test_half_quiet_hours_are_refused_and_nothing_changes(client, caregiver):
    log_in(client, caregiver)
    response = client.post(reverse("account-settings"), settings_form(quiet_start="22:00"))
    assert response.status_code == 200
    summary, form = response.text.split('<form method="post" class="stacked"', 1)
    assert "Give both the start and the end of quiet hours, or neither." in form
    # The page reloads at its top, a screen or two above that field: the top says what to fix
    # and links to it. What was typed is kept.
    assert "Not saved yet. Please fix:" in summary and 'href="#id_quiet_end"' in summary
    assert 'name="quiet_start" value="22:00"' in form
    caregiver.refresh_from_db()
    assert caregiver.quiet_start is None


def test_an_unknown_language_or_zone_is_refused_in_words(client, caregiver):
    log_in(client, caregiver)
    response = client.post(
        reverse("account-settings"), settings_form(language="xx", time_zone="Mars/Olympus")
    )
    assert response.status_code == 200
    summary, form = response.text.split('<form method="post" class="stacked"', 1)
    assert form.count("Select a valid choice.") == 2
    assert 'href="#id_language"' in summary and 'href="#id_time_zone"' in summary
    caregiver.refresh_from_db()
    assert (caregiver.language, caregiver.time_zone) == ("en", "UTC")


def saved(**changes: object) -> Settings:
    values: dict[str, object] = {
        "language": "en",
        "time_zone": "UTC",
        "reminder_time": time(9, 0),
        "quiet_start": None,
        "quiet_end": None,
        "reminders_by_email": True,
        "reminders_by_push": False,
    }
    return Settings(**{**values, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reminder_time", "quiet", "expected"),
    [
        # Worked by hand from DESIGN.md section 4: later that day when the quiet hours end the
        # same day, else a minute before they start. Times as English pages write them.
        (
            time(6, 30),
            (time(22, 0), time(7, 0)),
            "Your reminder time, 6:30 a.m., is inside your quiet hours, so your reminders will come at 7 a.m. instead.",
        ),
        (
            time(23, 0),
            (time(22, 0), time(7, 0)),
            "Your reminder time, 11 p.m., is inside your quiet hours, so your reminders will come at 9:59 p.m. instead.",
        ),
        (
            time(13, 0),
            (time(12, 0), time(14, 0)),
            "Your reminder time, 1 p.m., is inside your quiet hours, so your reminders will come at 2 p.m. instead.",
        ),
        (time(7, 0), (time(22, 0), time(7, 0)), None),  # quiet hours end at 07:00: not inside
    ],
)
def test_a_reminder_time_inside_quiet_hours_says_when_reminders_come(reminder_time, quiet, expected):
    with translation.override("en"):
        warnings = settings_warnings(
            saved(reminder_time=reminder_time, quiet_start=quiet[0], quiet_end=quiet[1]), devices=0
        )
    assert warnings == ([expected] if expected else [])


def test_other_warnings_in_plain_words():
    same = saved(quiet_start=time(22, 0), quiet_end=time(22, 0))
    assert settings_warnings(same, devices=0) == [
        "Your quiet hours start and end at the same time, so there are none. "
        "Choose two different times, or leave both empty."
    ]
    silent = saved(reminders_by_email=False, reminders_by_push=False)
    assert settings_warnings(silent, devices=2) == [
        "Email and notifications are both off. You will see reminders only when you open this app."
    ]
    no_device = saved(reminders_by_push=True)
    assert settings_warnings(no_device, devices=0) == [
        "Notifications are on, but no phone or computer is set up for them yet. Turn them on under “Devices”."
    ]
    assert settings_warnings(no_device, devices=1) == []


def test_warnings_show_after_saving_in_the_readers_language_until_the_choice_changes(client, caregiver):
    log_in(client, caregiver)
    risky = settings_form(
        language="es", reminder_time="23:00", quiet_start="22:00", quiet_end="07:00", reminders_by_email=""
    )
    assert client.post(reverse("account-settings"), risky).status_code == 302
    page = client.get(reverse("account-settings")).text
    assert (
        "Su hora de recordatorio, 23:00, está dentro de sus horas de silencio, "
        "así que sus recordatorios llegarán a las 21:59."
    ) in page
    assert "El correo electrónico y las notificaciones están desactivados." in page
    calm = settings_form(language="es", reminder_time="20:00", quiet_start="22:00", quiet_end="07:00")
    client.post(reverse("account-settings"), calm)
    assert 'class="notice warnings"' not in client.get(reverse("account-settings")).text


def test_saved_in_a_new_language_says_so_in_that_language(client, caregiver):
    """A walk found "Your settings are saved." in English at the top of the Arabic page that
    follows choosing Arabic: the message was written in the language being left."""
    log_in(client, caregiver)
    response = client.post(reverse("account-settings"), settings_form(language="ar"), follow=True)
    assert '<html lang="ar" dir="rtl">' in response.text
    assert "تم حفظ إعداداتك." in response.text
    assert "Your settings are saved." not in response.text


def test_the_settings_page_offers_the_devices_zone_only_when_asked(client, caregiver):
    log_in(client, caregiver)
    page = client.get(reverse("account-settings")).text
    # Without JavaScript nothing is offered; the script shows the device's zone for a tap.
    assert 'id="zone-detected" class="zone-detected" hidden data-saved="UTC"' in page
    assert "js/time-zone.js" in page


def test_the_old_settings_address_leads_to_the_new_page(client, caregiver):
    log_in(client, caregiver)
    response = client.get("/reminders/settings/")
    assert response.status_code == 302 and response["Location"] == reverse("account-settings")


# --- Devices -----------------------------------------------------------------------------------

# Real User-Agent strings of 2025-2026 browsers.
USER_AGENTS = [
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/139.0.0.0 Mobile Safari/537.36",
        "Chrome on Android",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.6 Mobile/15E148 Safari/604.1",
        "Safari on iPhone",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/139.0.7258.76 Mobile/15E148 Safari/604.1",
        "Chrome on iPhone",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36",
        "Samsung Internet on Android",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/139.0.0.0 Safari/537.36 Edg/139.0.0.0",
        "Edge on Windows",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:142.0) Gecko/20100101 Firefox/142.0",
        "Firefox on Windows",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.6 Safari/605.1.15",
        "Safari on Mac",
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:142.0) Gecko/20100101 Firefox/142.0", "Firefox on Linux"),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/139.0.0.0 Safari/537.36",
        "Chrome on ChromeOS",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/139.0.0.0 Mobile Safari/537.36 OPR/91.0.0.0",
        "Opera on Android",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "A browser on iPad",
    ),
    ("curl/8.5.0", "Unknown device"),
    ("", "Unknown device"),
]


@pytest.mark.parametrize(("user_agent", "expected"), USER_AGENTS)
def test_devices_are_named_as_people_know_them(user_agent, expected):
    assert device_name(user_agent) == expected


def test_device_names_are_translated():
    with translation.override("es"):
        assert device_name(USER_AGENTS[0][0]) == "Chrome en Android"


# A browser's real keys, kept for the whole module so the data download can look for them.
P256DH, AUTH = push_keys()


def subscribe(user: User, agent: str, name: str) -> PushSubscription:
    return services.subscribe_push(
        user=user, endpoint=f"https://push.example.test/{name}", p256dh=P256DH, auth=AUTH, user_agent=agent
    )


@pytest.fixture
def delivered(patient, make_visit) -> Reminder:
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    send_due_reminders(now=datetime(2026, 3, 10, 11, 0, tzinfo=UTC))
    return Reminder.objects.filter(recipient=patient.user).order_by("due_at").first()


def test_a_device_whose_last_notification_failed_is_flagged(patient, delivered):
    first, second = Reminder.objects.filter(recipient=patient.user, status="sent").order_by("due_at")[:2]
    phone = subscribe(patient.user, USER_AGENTS[0][0], "phone")
    laptop = subscribe(patient.user, USER_AGENTS[4][0], "laptop")
    now = datetime(2026, 3, 12, tzinfo=UTC)
    earlier, later = now - timedelta(days=2), now - timedelta(days=1)
    Delivery.objects.create(
        reminder=first, channel="push", device=str(phone.code), status="sent", created_at=earlier
    )
    Delivery.objects.create(
        reminder=second,
        channel="push",
        device=str(phone.code),
        status="failed",
        error="push-refused",
        created_at=later,
    )
    Delivery.objects.create(
        reminder=first, channel="push", device=str(laptop.code), status="failed", created_at=earlier
    )
    Delivery.objects.create(
        reminder=second, channel="push", device=str(laptop.code), status="sent", created_at=later
    )
    devices = list_devices([phone, laptop], now=now)
    assert [(d.name, d.failing) for d in devices] == [("Chrome on Android", True), ("Edge on Windows", False)]
    # A failure older than 30 days says little about the device now.
    assert [d.failing for d in list_devices([phone], now=now + timedelta(days=31))] == [False]


def test_the_devices_page_lists_names_and_flags_a_failing_one(client, patient, delivered):
    phone = subscribe(patient.user, USER_AGENTS[1][0], "phone")
    Delivery.objects.create(reminder=delivered, channel="push", device=str(phone.code), status="failed")
    log_in(client, patient.user)
    page = client.get(reverse("account-devices")).text
    assert "<strong>Safari on iPhone</strong>" in page
    assert "Notifications to this device are not arriving." in page
    assert "push.example.test" not in page  # the address is a secret of the browser


def test_removing_a_device_asks_first(client, patient, caregiver):
    phone = subscribe(patient.user, USER_AGENTS[0][0], "phone")
    theirs = subscribe(caregiver, USER_AGENTS[0][0], "theirs")
    log_in(client, patient.user)
    url = reverse("account-device-remove", args=[phone.code])
    page = client.get(url)
    assert page.status_code == 200 and "Remove Chrome on Android?" in page.text
    assert PushSubscription.objects.filter(pk=phone.pk).exists()
    assert client.post(url).status_code == 302
    assert not PushSubscription.objects.filter(pk=phone.pk).exists()
    # Someone else's device does not exist for this person.
    other = reverse("account-device-remove", args=[theirs.code])
    assert client.get(other).status_code == 404
    assert client.post(other).status_code == 404
    assert PushSubscription.objects.filter(pk=theirs.pk).exists()


# --- Calendar ----------------------------------------------------------------------------------


def drawn_cells(svg: str) -> set[tuple[int, int]]:
    """The dark cells of our SVG: each run "M{x} {y}h{n}v1h-{n}z" covers n cells of row y."""
    cells = set()
    for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        cells.update((int(x) + i, int(y)) for i in range(int(n)))
    return cells


def test_the_calendar_page_gives_a_webcal_link_the_address_and_a_qr_code_of_it(client, patient):
    log_in(client, patient.user)
    assert "Get a calendar address" in client.get(reverse("account-calendar")).text
    client.post(reverse("calendar-rotate"))
    feed = CalendarFeed.objects.get(user=patient.user)
    address = f"http://testserver/calendar/{feed.token}.ics"
    page = client.get(reverse("account-calendar")).text
    assert f'href="webcal://testserver/calendar/{feed.token}.ics"' in page
    assert f'<code id="calendar-address" class="address" dir="ltr">{address}</code>' in page
    svg = re.search(r'<svg class="qr".*?</svg>', page, re.S).group(0)
    # The code the qrcode library makes for the same text, cell for cell.
    reference = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    reference.add_data(f"webcal://testserver/calendar/{feed.token}.ics")
    reference.make(fit=True)
    matrix = reference.get_matrix()
    assert drawn_cells(svg) == {(x, y) for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark}
    assert f'viewBox="0 0 {len(matrix)} {len(matrix)}"' in svg
    for phone in ("iPhone or iPad", "Android phone", "Google Calendar"):
        assert f"<summary>{phone}</summary>" in page


# --- Download my data --------------------------------------------------------------------------


@pytest.fixture
def full_record(patient, link_caregiver, make_visit, clinician):
    """A patient with a little of everything the app holds."""
    visit = make_visit(patient, date(2026, 3, 10), time(10, 0), sites=["left forearm"])
    link = link_caregiver(patient, "helper@example.test", name="Sam")
    replan_patient(patient, now=PLANNED_AT)
    send_due_reminders(now=datetime(2026, 3, 9, 9, 1, tzinfo=UTC))
    DressingLogEntry.objects.create(
        patient=patient,
        recorded_by=patient.user,
        visit=visit,
        kind="checked",
        at=datetime(2026, 3, 10, 20, tzinfo=UTC),
    )
    DressingLogEntry.objects.create(
        patient=patient,
        recorded_by=link.caregiver,
        visit=visit,
        kind="changed",
        at=datetime(2026, 3, 11, 20, tzinfo=UTC),
    )
    subscribe(patient.user, USER_AGENTS[0][0], "phone")
    services.rotate_calendar_feed(user=patient.user)
    services.record_audit(actor=clinician, action="patient.viewed", patient=patient)
    [assignment] = assignments.assign_modules(patient=patient, by=clinician, slugs=["dressing-care"])
    progress = AssignmentProgress.objects.create(
        assignment=assignment,
        reader=patient.user,
        state="acknowledged",
        opened_at=datetime(2026, 3, 12, 9, tzinfo=UTC),
        acknowledged_at=datetime(2026, 3, 12, 9, 30, tzinfo=UTC),
        module_version=2,
        language="en",
    )
    TeachBackAnswer.objects.create(
        progress=progress,
        question_id="how-long",
        answer="a week",
        correct=True,
        module_version=2,
        answered_at=datetime(2026, 3, 12, 10, tzinfo=UTC),
    )
    send_email(
        patient.email, "invitation-patient", {"url": "http://testserver/invitation/x/", "days": 7}, "en"
    )
    return patient


def test_download_my_data_holds_everything_about_the_person_and_no_secret(client, full_record):
    patient = full_record
    log_in(client, patient.user)
    response = client.get(reverse("account-data"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="home-care-companion-')
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["format"] == "home-care-companion-account/1"
    assert data["account"]["email"] == "patient@example.test"
    record = data["patient_record"]
    assert record["clinic"] == {
        "name": "North Clinic",
        "daytime_phone": "+1 555 0100",
        "after_hours_phone": "+1 555 0199",
    }
    assert record["visits"] == [
        {"date": "2026-03-10", "time": "10:00:00", "status": "scheduled", "injection_sites": ["left forearm"]}
    ]
    assert [(c["name"], c["email"], c["status"]) for c in record["caregivers"]] == [
        ("Sam", "helper@example.test", "active")
    ]
    assert record["dressing_log"] == [
        {"at": "2026-03-10T20:00:00+00:00", "what": "checked", "by": "you"},
        {"at": "2026-03-11T20:00:00+00:00", "what": "changed", "by": "Sam"},
    ]
    assert [event["action"] for event in record["care_team_activity"]] == [
        "patient.viewed",
        "assignments.created",
    ]
    [reminder] = [r for r in data["reminders"] if r["status"] == "sent"]
    assert {r["status"] for r in data["reminders"]} == {"sent", "pending"}  # planned ones too
    assert (reminder["about"], reminder["kind"], reminder["day"], reminder["status"]) == (
        "you",
        "visit_reminder",
        "2026-03-09",
        "sent",
    )
    assert {d["channel"] for d in reminder["deliveries"]} == {"inbox", "email"}
    assert data["devices"][0]["name"] == "Chrome on Android"
    assert data["calendar_address"] is not None
    assert [(m["module"], m["for"]) for m in data["modules"]] == [("dressing-care", "you")]
    progress = data["modules"][0]["progress"]
    assert (progress["state"], progress["language"]) == ("acknowledged", "en")
    assert progress["answers"] == [
        {"question": "how-long", "answer": "a week", "correct": True, "at": "2026-03-12T10:00:00+00:00"}
    ]
    assert [(e["kind"], e["status"]) for e in data["emails"]] == [("invitation-patient", "pending")]
    text = response.content.decode()
    token = CalendarFeed.objects.get(user=patient.user).token
    for secret in (token, "push.example.test", P256DH, AUTH, "clinician@example.test"):
        assert secret not in text


def test_a_caregivers_data_names_who_they_care_for_and_what_they_logged(client, full_record):
    helper = User.objects.get(email="helper@example.test")
    log_in(client, helper)
    data = json.loads(client.get(reverse("account-data")).content)
    assert data["patient_record"] is None
    [caring] = data["caring_for"]
    assert (caring["patient"], caring["status"]) == ("Patient", "active")
    assert caring["dressing_log_by_you"] == [{"at": "2026-03-11T20:00:00+00:00", "what": "changed"}]
    assert {r["about"] for r in data["reminders"]} <= {"Patient"}


def test_the_export_reads_the_same_number_of_queries_however_much_data(full_record, make_visit):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            accounts.export_account_data(user=full_record.user, now=PLANNED_AT)
        return len(captured)

    before = queries()
    for day in range(11, 21):
        make_visit(full_record, date(2026, 3, day), time(10, 0))
        DressingLogEntry.objects.create(patient=full_record, recorded_by=full_record.user, kind="checked")
    replan_patient(full_record, now=PLANNED_AT)
    send_due_reminders(now=datetime(2026, 3, 20, 11, 0, tzinfo=UTC))
    assert Reminder.objects.filter(recipient=full_record.user).count() > 10
    assert queries() == before


# --- Delete my account -------------------------------------------------------------------------


def test_a_patient_deletes_their_account_and_the_clinics_record_stays(client, full_record, make_visit):
    patient = full_record
    user = patient.user
    link = CaregiverLink.objects.get(patient=patient)
    make_visit(patient, date(2026, 4, 1), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    log_in(client, user)
    page = client.get(reverse("account-delete")).text
    assert "Your care team keeps your treatment record" in page
    # Not confirmed: nothing happens.
    response = client.post(reverse("account-delete"))
    assert response.status_code == 400 and "Tick the box" in response.text
    assert User.objects.get(pk=user.pk).is_active

    response = client.post(reverse("account-delete"), {"understood": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert '"cache", "storage"' in response["Clear-Site-Data"]
    # Gone: the person, their sign-in, devices, calendar; every session.
    user.refresh_from_db()
    assert (user.is_active, user.name, user.has_usable_password()) == (False, "", False)
    assert user.email.endswith("@deleted.invalid") and "patient" not in user.email
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not PushSubscription.objects.filter(user=user).exists()
    assert not CalendarFeed.objects.filter(user=user).exists()
    assert "_auth_user_id" not in client.session
    # Stays: the clinic's record, with no account; links end; reminders stop for everyone.
    patient.refresh_from_db()
    assert patient.user is None and patient.email == "patient@example.test"
    assert InjectionVisit.objects.filter(patient=patient).count() == 2
    assert DressingLogEntry.objects.filter(patient=patient).count() == 2
    assert Reminder.objects.filter(recipient=user, status="sent").count() == 1  # history
    link.refresh_from_db()
    assert link.status == "revoked"
    future = Reminder.objects.filter(patient=patient, due_at__gt=datetime(2026, 3, 20, tzinfo=UTC))
    assert not future.filter(status="pending", withdrawn_at__isnull=True).exists()
    # The clinic may invite the person again, with the same address.
    invitation = services.invite_patient(patient=patient, by=User.objects.get(email="clinician@example.test"))
    accepted = services.accept_invitation(token=services.invitation_token(invitation), user=None)
    assert accepted.created_account and accepted.user.pk != user.pk


def test_an_old_session_of_a_deleted_account_is_over(client, patient):
    other_device = client.__class__()
    log_in(other_device, patient.user)
    log_in(client, patient.user)
    client.post(reverse("account-delete"), {"understood": "on"})
    response = other_device.get(reverse("account"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_a_caregiver_deletes_their_account_and_their_link_ends(client, patient, caregiver, make_visit):
    make_visit(patient, date(2026, 4, 1), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    assert Reminder.objects.filter(recipient=caregiver, status="pending").exists()
    log_in(client, caregiver)
    client.post(reverse("account-delete"), {"understood": "on"})
    link = CaregiverLink.objects.get(patient=patient)
    assert link.status == "revoked"
    assert not Reminder.objects.filter(
        recipient=caregiver, status="pending", withdrawn_at__isnull=True
    ).exists()
    patient.refresh_from_db()
    assert patient.user is not None  # the patient keeps their account
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_clinic_staff_cannot_delete_their_account_here(client, clinician):
    log_in(client, clinician)
    assert client.get(reverse("account-delete")).status_code == 404
    assert client.post(reverse("account-delete"), {"understood": "on"}).status_code == 404
    assert "Clinic staff accounts are closed by the clinic." in client.get(reverse("account")).text
    with pytest.raises(Exception, match="closed by the clinic"):
        accounts.delete_account(user=clinician)
    assert User.objects.get(pk=clinician.pk).is_active


# --- The account page --------------------------------------------------------------------------


def test_the_account_page_is_the_apps_own_and_the_librarys_email_screen_is_not_reachable(client, patient):
    log_in(client, patient.user)
    page = client.get(reverse("account")).text
    for name in ("account-settings", "account-devices", "account-calendar", "account-data", "account-delete"):
        assert f'href="{reverse(name)}"' in page
    assert 'href="/accounts/email/"' not in client.get(reverse("reminder-list")).text
    response = client.get("/accounts/email/")
    assert response.status_code == 302 and response["Location"] == reverse("account-email")
    assert client.post("/accounts/email/", {"email": "new@example.test", "action_add": ""}).status_code == 302
    assert not EmailAddress.objects.filter(email="new@example.test").exists()


# --- Changing the sign-in email address ----------------------------------------------------------


def test_the_fields_about_the_reader_say_what_they_are_for_autofill(client, patient):
    """WCAG 1.3.5: a field asking for the reader's own email address or language names its
    purpose (the HTML autocomplete tokens), so a browser can fill it and assistive tools can
    label it."""
    log_in(client, patient.user)
    email = re.search(r"<input[^>]*name=\"email\"[^>]*>", client.get(reverse("account-email")).text).group(0)
    assert 'autocomplete="email"' in email
    language = re.search(r"<select[^>]*name=\"language\"[^>]*>", client.get(reverse("account-settings")).text)
    assert 'autocomplete="language"' in language.group(0)


def confirmation_link(message) -> str:
    return re.search(r"http://testserver(/account/email/[^/\s]+/)", message.body).group(1)


def test_a_patient_changes_their_email_by_opening_the_link_sent_there(client, patient, link_caregiver):
    link = link_caregiver(patient, "helper@example.test")
    log_in(client, patient.user)
    response = client.post(reverse("account-email"), {"email": "New.Address@Example.test"})
    assert response.status_code == 302
    [message] = deliver_emails()
    assert message.to == ["new.address@example.test"]
    assert message.subject == "Confirm your new email address"
    url = confirmation_link(message)
    # Nothing changed yet, and opening the link (a mail scanner does) changes nothing either.
    page = client.get(url)
    assert "From now on you sign in with new.address@example.test." in page.text
    patient.user.refresh_from_db()
    assert patient.user.email == "patient@example.test"
    assert client.post(url).status_code == 302
    user = User.objects.get(pk=patient.user_id)
    patient.refresh_from_db()
    assert (user.email, patient.email) == ("new.address@example.test", "new.address@example.test")
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")) == [
        ("new.address@example.test", True, True)
    ]
    link.refresh_from_db()
    assert link.email == "helper@example.test"  # the patient's caregivers keep theirs
    [notice] = deliver_emails()[1:]
    assert notice.to == ["patient@example.test"]
    assert "new.address" not in notice.body  # the old address is told, not where it went
    # The person now signs in with the new address.
    client.logout()
    client.post(reverse("account_request_login_code"), {"email": "new.address@example.test"})
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", deliver_emails()[-1].body, re.M).group(1)
    client.post(reverse("account_confirm_login_code"), {"code": code})
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_caregivers_new_address_follows_to_their_links(client, patient, caregiver):
    log_in(client, caregiver)
    client.post(reverse("account-email"), {"email": "carer@example.test"})
    client.post(confirmation_link(deliver_emails()[-1]))
    assert CaregiverLink.objects.get(caregiver=caregiver).email == "carer@example.test"


@pytest.mark.parametrize(
    ("email", "refusal"),
    [
        ("patient@example.test", "This is already your email address."),
        ("caregiver@example.test", "This email address belongs to another account."),
        ("clinician@example.test", "This email address belongs to another account."),
        ("not an address", "Enter a valid email address."),
    ],
)
def test_an_address_that_cannot_be_taken_is_refused_in_words(
    client, patient, caregiver, clinician, email, refusal
):
    log_in(client, patient.user)
    response = client.post(reverse("account-email"), {"email": email})
    assert response.status_code == 200
    assert refusal in response.text
    assert deliver_emails() == []


def test_a_link_for_another_account_expired_or_forged_changes_nothing(
    client, patient, caregiver, monkeypatch
):
    log_in(client, patient.user)
    client.post(reverse("account-email"), {"email": "new@example.test"})
    url = confirmation_link(deliver_emails()[-1])
    log_in(client, caregiver)
    response = client.post(url)
    assert response.status_code == 400 and "This link is for another account." in response.text
    log_in(client, patient.user)
    assert client.post(url[:-3] + "xx/").status_code == 400
    later = time_module.time() + 25 * 3600  # the link's signature carries its own time
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    response = client.post(url)
    assert response.status_code == 400 and "This link has expired." in response.text
    assert User.objects.filter(email="new@example.test").count() == 0


@pytest.mark.parametrize(
    "name",
    [
        "account",
        "account-email",
        "account-settings",
        "account-devices",
        "account-calendar",
        "account-data",
        "account-delete",
    ],
)
def test_account_pages_need_a_sign_in(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
