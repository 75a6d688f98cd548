"""Channels with real parts on loopback: an SMTP server (aiosmtpd) and a web push service
(http.server) that checks the VAPID signature and decrypts the payload like a browser."""

import base64
import email
import email.policy
import json
import os
import re
import socket
import threading
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from time import monotonic, sleep

import http_ece
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from py_vapid import Vapid02

from portal import push
from portal.models import Delivery, PushSubscription, Reminder
from portal.reminders import replan_patient, send_due_reminders
from tests.helpers import log_in, push_keys

PLANNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
FORBIDDEN = (
    "t-vec",
    "imlygic",
    "talimogene",
    "virus",
    "herpes",
    "melanoma",
    "cancer",
    "dressing",
    "treatment",
)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def planned(patient, make_visit):
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    return Reminder.objects.get(patient=patient, rule="visit_reminder")


# --- Email over a real SMTP server ---------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 5},
        }
    }
    yield inbox
    controller.stop()


def test_email_reminder_goes_through_a_real_smtp_server(smtp_server, planned, patient):
    patient.user.language = "es"
    patient.user.save(update_fields=["language"])
    send_due_reminders(now=DUE)
    assert len(smtp_server.messages) == 1
    sender, recipients, raw = smtp_server.messages[0]
    assert recipients == [patient.email]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"http://testserver/reminders/{planned.code}/" in text
    assert '<html lang="es"' in html
    for word in FORBIDDEN:
        assert word not in (message["Subject"] + text + html).lower()
    assert planned.deliveries.get(channel="email").status == Delivery.Status.SENT
    # A repeat after a killed worker carries the same Message-ID, so mail systems keep one.
    assert message["Message-ID"] == f"<reminder-{planned.code}@testserver>"


# --- Web push through a real HTTP push service ------------------------------------------


class PushService:
    """A push service on loopback that answers with a chosen status and keeps what it got."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 201
        self.delay = 0.0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sleep(service.delay)
                service.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """The browser's half of a push subscription: its own P-256 key pair and auth secret."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.p256dh = b64u(point)

    def decrypt(self, body: bytes) -> dict:
        return json.loads(
            http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        )


def subscribe(client, user, endpoint: str, browser: Browser):
    log_in(client, user)
    response = client.post(
        reverse("api-push-subscriptions"),
        {"endpoint": endpoint, "keys": {"p256dh": browser.p256dh, "auth": b64u(browser.auth)}},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return PushSubscription.objects.get(code=response.json()["code"])


def test_push_is_signed_encrypted_and_discreet(client, push_service, vapid_key, planned, patient):
    browser = Browser()
    subscribe(client, patient.user, push_service.url + "/push/abc", browser)
    send_due_reminders(now=DUE)

    assert len(push_service.received) == 1
    path, headers, body = push_service.received[0]
    assert path == "/push/abc"
    assert headers["content-encoding"] == "aes128gcm"
    assert int(headers["ttl"]) > 0
    # A repeat replaces the first at the push service and on the device.
    assert headers["topic"] == planned.code.hex
    # The VAPID JWT is signed with our key, for this push service's origin.
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(part.split("=", 1) for part in params.split(","))
    assert fields["k"] == push.vapid_public_key()
    assert Vapid02.verify(headers["authorization"])
    claims = json.loads(base64.urlsafe_b64decode(fields["t"].split(".")[1] + "=="))
    assert claims["aud"] == push_service.url
    assert claims["sub"] == "mailto:ops@example.test"

    payload = browser.decrypt(body)
    assert payload["url"] == f"http://testserver/reminders/{planned.code}/"
    assert payload["title"] == "Home Care Companion"
    assert payload["tag"] == planned.code.hex
    for word in FORBIDDEN:
        assert word not in (payload["title"] + payload["body"]).lower()
    assert planned.deliveries.get(channel="push").status == Delivery.Status.SENT


def test_push_preview_names_the_reminder_when_discreet_mode_is_off(
    client, push_service, vapid_key, planned, patient
):
    patient.discreet = False
    patient.save(update_fields=["discreet"])
    browser = Browser()
    subscribe(client, patient.user, push_service.url + "/push/abc", browser)
    send_due_reminders(now=DUE)
    payload = browser.decrypt(push_service.received[0][2])
    assert payload["title"] == "Your treatment visit is tomorrow"
    assert payload["body"].startswith("Your next treatment visit is tomorrow")


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_removed(client, push_service, vapid_key, planned, patient, status):
    push_service.status = status
    subscription = subscribe(client, patient.user, push_service.url + "/push/gone", Browser())
    send_due_reminders(now=DUE)
    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()
    push_delivery = planned.deliveries.get(channel="push")
    assert (push_delivery.status, push_delivery.error) == ("failed", "push-gone")
    assert planned.deliveries.get(channel="inbox").status == "sent"


@pytest.mark.parametrize(
    ("p256dh", "auth"),
    [
        (b64u(b"\x04" + bytes(64)), None),  # 65 bytes, but not a point on P-256
        ("not a key", None),
        (None, b64u(bytes(8))),  # an auth secret of 8 bytes, not 16
    ],
    ids=["off-curve", "not-base64url", "short-secret"],
)
def test_a_device_with_unusable_keys_is_removed_not_retried(
    client, push_service, vapid_key, planned, patient, p256dh, auth
):
    """Keys stored before they were checked at subscription: each send failed with a generic
    error and was retried with backoff, for every reminder, for good."""
    subscription = subscribe(client, patient.user, push_service.url + "/push/old", Browser())
    PushSubscription.objects.filter(pk=subscription.pk).update(
        p256dh=p256dh or subscription.p256dh, auth=auth or subscription.auth
    )
    send_due_reminders(now=DUE)
    assert push_service.received == []
    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()
    push_delivery = planned.deliveries.get(channel="push")
    assert (push_delivery.status, push_delivery.error) == ("failed", "push-keys")
    assert planned.deliveries.get(channel="inbox").status == "sent"


def test_a_push_service_error_is_retried(client, push_service, vapid_key, planned, patient):
    push_service.status = 503
    subscribe(client, patient.user, push_service.url + "/push/busy", Browser())
    send_due_reminders(now=DUE)
    push_delivery = planned.deliveries.get(channel="push")
    assert (push_delivery.status, push_delivery.attempts, push_delivery.error) == (
        "pending",
        1,
        "push-busy",
    )
    push_service.status = 201
    send_due_reminders(now=push_delivery.next_attempt_at)
    push_delivery.refresh_from_db()
    assert (push_delivery.status, push_delivery.attempts) == ("sent", 2)
    assert len(push_service.received) == 2


def test_each_device_gets_its_own_push(client, push_service, vapid_key, planned, patient):
    phone, laptop = Browser(), Browser()
    subscribe(client, patient.user, push_service.url + "/push/phone", phone)
    subscribe(client, patient.user, push_service.url + "/push/laptop", laptop)
    send_due_reminders(now=DUE)
    assert sorted(path for path, _h, _b in push_service.received) == ["/push/laptop", "/push/phone"]
    assert planned.deliveries.filter(channel="push", status="sent").count() == 2


# --- The push API and keys ------------------------------------------------------------------


def test_public_key_is_served_to_the_app(client, patient, vapid_key):
    log_in(client, patient.user)
    response = client.get(reverse("api-push-key"))
    assert response.status_code == 200
    key = base64.urlsafe_b64decode(response.json()["public_key"] + "==")
    assert len(key) == 65 and key[0] == 4  # an uncompressed P-256 point


def test_the_api_needs_a_signed_in_user(client):
    assert client.get(reverse("api-push-key")).status_code == 403
    assert (
        client.post(reverse("api-push-subscriptions"), {}, content_type="application/json").status_code == 403
    )


def test_subscriptions_must_use_https_outside_loopback(client, patient):
    p256dh, auth = push_keys()
    log_in(client, patient.user)
    response = client.post(
        reverse("api-push-subscriptions"),
        {"endpoint": "http://10.0.0.5/push", "keys": {"p256dh": p256dh, "auth": auth}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["endpoint"]  # the keys are a browser's: only the address is refused


def test_a_user_can_remove_only_their_own_subscription(client, patient, caregiver):
    p256dh, auth = push_keys()
    mine = PushSubscription.objects.create(
        user=patient.user, endpoint="https://push.example/1", p256dh=p256dh, auth=auth
    )
    theirs = PushSubscription.objects.create(
        user=caregiver, endpoint="https://push.example/2", p256dh=p256dh, auth=auth
    )
    log_in(client, patient.user)
    assert client.delete(reverse("api-push-subscription", args=[theirs.code])).status_code == 404
    assert client.delete(reverse("api-push-subscription", args=[mine.code])).status_code == 204
    assert list(PushSubscription.objects.all()) == [theirs]


def test_vapid_key_is_generated_once_and_kept(settings, tmp_path):
    settings.VAPID_PRIVATE_KEY = None
    settings.VAR_DIR = tmp_path
    first = push.vapid_private_key()
    assert (tmp_path / "vapid_private_key").stat().st_mode & 0o777 == 0o600
    assert push.vapid_private_key() == first
    assert len(base64.urlsafe_b64decode(first + "=")) == 32


def test_slow_push_services_are_waited_for_side_by_side(
    client, push_service, vapid_key, planned, patient, settings
):
    settings.REMINDER_THREADS = 8
    push_service.delay = 0.5
    for device in range(8):
        subscribe(client, patient.user, f"{push_service.url}/push/{device}", Browser())
    started = monotonic()
    send_due_reminders(now=DUE)
    # One after another this would take 8 x 0.5 s.
    assert monotonic() - started < 2.5
    assert planned.deliveries.filter(channel="push", status="sent").count() == 8


def test_a_slow_push_service_does_not_hold_back_the_inbox(
    client, push_service, vapid_key, patient, make_visit
):
    """The worker's pipeline (issue 13): twenty reminders due at once, a push service that takes
    0.2 s, and room for two pushes at a time. The inbox copies of a full batch of new reminders
    go out at once and their pushes wait; then every push goes out, once each."""
    from datetime import timedelta

    from django.core import mail

    from portal.reminders.delivery import Sender

    push_service.delay = 0.2
    browser = Browser()
    subscribe(client, patient.user, f"{push_service.url}/push/phone", browser)
    visit = make_visit(patient, date(2026, 3, 10), time(10, 0))
    Reminder.objects.bulk_create(
        Reminder(
            recipient=patient.user,
            patient=patient,
            visit=visit,
            rule="dressing_check",
            audience="patient",
            day=date(2026, 3, 10) + timedelta(days=n),
            due_at=DUE,
            next_attempt_at=DUE,
        )
        for n in range(20)
    )
    now = [DUE]
    sender = Sender(clock=lambda: now[0], threads=2, capacity=2)
    first = sender.step(limit=10) + sender.step(limit=10)
    inbox = Delivery.objects.filter(channel="inbox", status=Delivery.Status.SENT)
    # Two full batches of new reminders: twenty inbox copies, every email and push put off.
    assert (first["claimed"], first["delivered"], first["put_off"]) == (20, 20, 40)
    assert inbox.count() == 20 and push_service.received == []
    for _ in range(300):
        if not Reminder.objects.filter(status=Reminder.Status.PENDING).exists():
            break
        now[0] += timedelta(seconds=1)
        sender.step(limit=10)
    sender.close()
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == 20
    assert Delivery.objects.filter(channel="push", status=Delivery.Status.SENT, attempts=1).count() == 20
    assert Delivery.objects.filter(channel="email", status=Delivery.Status.SENT, attempts=1).count() == 20
    assert len(mail.outbox) == 20
    # One push per reminder, each decrypted by the device: twenty distinct tags.
    tags = [browser.decrypt(body)["tag"] for _path, _headers, body in push_service.received]
    assert sorted(tags) == sorted(r.code.hex for r in Reminder.objects.all())


# --- Queries per pass ---------------------------------------------------------------------------


WRITES_SENT = re.compile(r'UPDATE "portal_delivery" SET "status" = \'sent\', "sent_at" = ')


def test_a_pass_makes_as_many_queries_for_many_reminders_as_for_few(
    push_service, smtp_server, vapid_key, clinic, make_patient, make_visit
):
    """A morning rush is one pass over many reminders: what a pass asks the database must not
    grow with them (one query per reminder would be a query per patient, 100,000 times)."""

    def one_pass(count: int, visit_day: date) -> int:
        for n in range(count):
            patient = make_patient(clinic, f"p{visit_day.day}-{n}@example.test")
            make_visit(patient, visit_day)
            browser = Browser()
            PushSubscription.objects.create(
                user=patient.user,
                endpoint=f"{push_service.url}/push/{visit_day.day}-{n}",
                p256dh=browser.p256dh,
                auth=b64u(browser.auth),
            )
            replan_patient(patient, now=PLANNED_AT)
        due = datetime.combine(visit_day - timedelta(days=1), time(9, 0), tzinfo=UTC)
        with CaptureQueriesContext(connection) as queries:
            done = send_due_reminders(now=due)
        # Every reminder due then went out on every channel.
        assert (done["claimed"], done["delivered"]) == (count, 3 * count)
        # Outcomes are written in groups as they arrive (one update for those that came
        # together), so how many updates depends on the sends' timing, not on the count.
        return sum(1 for q in queries.captured_queries if not WRITES_SENT.match(q["sql"]))

    few = one_pass(3, date(2026, 3, 10))
    Reminder.objects.filter(status=Reminder.Status.PENDING).delete()
    many = one_pass(30, date(2026, 3, 20))
    assert len(push_service.received) == 33 and len(smtp_server.messages) == 33
    assert many == few


def test_a_pass_asks_no_more_for_the_reminders_of_many_clinics_than_of_one(
    smtp_server, make_clinic, make_patient, make_visit
):
    """A rush spans every clinic in each batch: their settings come in one query, and each
    patient's text still uses their own clinic's dressing period."""
    from portal.models import ClinicReminderSettings  # noqa: PLC0415

    def one_pass(dressing_days: list[int | None], visit_day: date) -> tuple[int, dict[str, int]]:
        expected: dict[str, int] = {}
        for n, days in enumerate(dressing_days):
            clinic = make_clinic(f"Clinic {visit_day.day}-{n}")
            if days is not None:
                ClinicReminderSettings.objects.create(clinic=clinic, dressing_days=days)
            # Discreet mode off: the email then carries the text itself.
            patient = make_patient(clinic, f"c{visit_day.day}-{n}@example.test", discreet=False)
            make_visit(patient, visit_day)
            replan_patient(patient, now=PLANNED_AT)
            expected[patient.user.email] = days or 7  # no settings row: the default week
        due = Reminder.objects.filter(rule="dressing_check", day=visit_day).order_by("due_at")[0].due_at
        smtp_server.messages.clear()
        with CaptureQueriesContext(connection) as queries:
            done = send_due_reminders(now=due)
        assert done["claimed"] >= len(dressing_days)
        said: dict[str, int] = {}
        for _sender, recipients, content in smtp_server.messages:
            message = email.message_from_bytes(content, policy=email.policy.default)
            found = re.search(r"at least (\d+) days", message.get_body(("plain",)).get_content())
            if found:
                said[recipients[0]] = int(found.group(1))
        assert said == expected
        return sum(1 for q in queries.captured_queries if not WRITES_SENT.match(q["sql"]))

    one = one_pass([10], date(2026, 3, 10))
    Reminder.objects.filter(status=Reminder.Status.PENDING).delete()
    three = one_pass([10, None, 14], date(2026, 3, 20))
    assert three == one
